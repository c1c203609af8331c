"""The ``mlorg`` command line: a thin entry point over one module per command group.

Every user error (a bad scenario file, a bad option, a missing run) prints one readable line per problem to
stderr and exits with status 2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlorg import __version__
from mlorg.budget import OverBudget
from mlorg.cli import drift, fit, monitor, pipeline, run, serve, serving, sweeps, uncertainty
from mlorg.cli.options import EXIT_BUSY, EXIT_INTEGRITY, EXIT_USAGE, UsageError
from mlorg.cli.output import result_json, result_table
from mlorg.pipeline.registry import ArtifactError, RegistryError
from mlorg.scenario import ScenarioError
from mlorg.store import StoreError

COMMAND_GROUPS = (run, serving, serve, monitor, drift, pipeline, sweeps, fit, uncertainty)

__all__ = ["build_parser", "main", "result_json", "result_table"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlorg", description="Simulate an ML organisation: its people, models, "
                                     "serving, drift and incidents; and run a real reference ML pipeline beside it.")
    parser.add_argument("--version", action="version", version=f"mlorg {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ScenarioError, StoreError, UsageError, OverBudget) as exc:
        return _error(exc, EXIT_USAGE)
    except RegistryError as exc:
        # A registry another process holds is busy, not wrong; a record that fails its checks is an integrity failure.
        if isinstance(exc, ArtifactError):
            return _error(exc, EXIT_INTEGRITY)
        return _error(exc, EXIT_BUSY if "lock" in str(exc).lower() else EXIT_USAGE)
    except KeyboardInterrupt:
        print("mlorg: interrupted", file=sys.stderr)
        return 130


def _error(exc: Exception, code: int) -> int:
    for line in str(exc).splitlines():
        print(f"mlorg: error: {line}", file=sys.stderr)
    return code
