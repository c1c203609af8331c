"""What several commands share: the usage error, bounded numeric options, and the options of each family of
commands (the reference pipeline's, a service time's, a sweep's execution), and progress bars on stderr."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

from mlorg.inputs import INPUTS
from mlorg.results import MAX_REPLICATIONS

# Exit codes (README, "Exit codes"): 1 a check that failed (an optimisation that found nothing), 2 bad input, 3 a file
# another process holds, 4 an integrity failure (a record or artifact that is not what the registry wrote).
EXIT_FAILED_CHECK = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
EXIT_INTEGRITY = 4
ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PIPELINE_SCENARIO = ROOT / "scenarios" / "fraud_drift.toml"
DEFAULT_PIPELINE_DB = ROOT / "data" / "pipeline.duckdb"
MAX_SEED = 2**63 - 1


def default_registry() -> Path:
    """The reference pipeline's registry: ``$MLORG_REGISTRY_DB`` (as the app's Registry page reads), else
    ``data/pipeline.duckdb``."""
    return Path(os.environ.get("MLORG_REGISTRY_DB", DEFAULT_PIPELINE_DB))


class UsageError(Exception):
    """A problem with what the user asked for; its message is shown as is."""


def int_option(name: str, lo: int, hi: int):
    return bounded_option(name, int, "an integer", lo, hi)


def float_option(name: str, lo: float, hi: float):
    return bounded_option(name, float, "a number", lo, hi)


def bounded_option(name: str, kind: type, kind_text: str, lo: float, hi: float):
    """An argparse type that names the value and the allowed range when it refuses one."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; must be {kind_text}") from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise argparse.ArgumentTypeError(f"{text} is not allowed; must be >= {_plain(lo)} and <= {_plain(hi)}")
        return value
    parse.__name__ = name
    return parse


def input_option(flag: str, name: str):
    """An argparse type for an input of :data:`mlorg.inputs.INPUTS`: the same rule, and the same words, as the
    app's form gives it."""
    rule = INPUTS[name]

    def parse(text: str):
        try:
            value = rule.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; must be {rule.rule}") from None
        refusal = rule.refusal(value)
        if refusal is not None:
            raise argparse.ArgumentTypeError(refusal)
        return value
    parse.__name__ = flag
    return parse


def _plain(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def seed_option(parser: argparse.ArgumentParser, hi: int = MAX_SEED) -> None:
    parser.add_argument("--seed", type=int_option("--seed", 0, hi), default=0, metavar="S",
                        help="random seed (default 0; the same seed gives the same results)")


def replications_option(parser: argparse.ArgumentParser, what: str = "independent replications") -> None:
    parser.add_argument("--replications", type=int_option("--replications", 1, MAX_REPLICATIONS), default=10,
                        metavar="N", help=f"{what} (default 10)")


def horizon_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--horizon-days", type=float_option("--horizon-days", 1, 36500), metavar="D",
                        help="override the scenario's horizon_days")


def db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, metavar="PATH", help="DuckDB file (default data/mlorg.duckdb or $MLORG_DB)")


def json_option(parser: argparse.ArgumentParser, help_text: str = "print JSON instead of a table") -> None:
    parser.add_argument("--json", action="store_true", help=help_text)


def progress_bar(unit: str, *, show: bool) -> Callable[[int, int], None] | None:
    """A progress callback drawing ``[####   ] 3/10 UNIT`` on stderr; None when ``show`` is false (JSON output,
    or stderr is not a terminal)."""
    if not show or not sys.stderr.isatty():
        return None

    def draw(done: int, total: int) -> None:
        bar = "#" * (30 * done // total)
        print(f"\r[{bar:<30}] {done}/{total} {unit}", end="" if done < total else "\n", file=sys.stderr)

    return draw


def execution_options(parser: argparse.ArgumentParser) -> None:
    """Replications, seed, horizon, where the runs execute and the work budget: every many-run command's options."""
    from mlorg.sweeps import BACKENDS, DEFAULT_TIMEOUT_S

    replications_option(parser, "replications of every cell")
    seed_option(parser)
    horizon_option(parser)
    parser.add_argument("--backend", choices=BACKENDS, metavar="|".join(BACKENDS),
                        help="where runs execute: a local process pool (default), this process, or Dask")
    parser.add_argument("--workers", type=int_option("--workers", 1, 1024), metavar="N",
                        help="processes of the pool (default: every core), or of a local Dask cluster (default 2)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies --backend dask; default: a local "
                             "cluster)")
    parser.add_argument("--timeout", type=float_option("--timeout", 1e-3, 1e7), default=DEFAULT_TIMEOUT_S,
                        metavar="SECONDS", help=f"longest one run may take on a pool or cluster (default "
                                                f"{DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--allow-large", action="store_true",
                        help="run even above the work budget (mlorg.budget: 50,000 models a replication, 1,000,000 "
                             "in all, ≈ 2 GB and ≈ 17 minutes); the refusal says what this run would cost")
    json_option(parser)


def load_with_horizon(path: Path, horizon_days: float | None):
    """A scenario file, its horizon overridden by ``--horizon-days`` and checked."""
    from mlorg.scenario import ScenarioError, load, validate

    scenario = load(path)
    if horizon_days is not None:
        try:
            scenario = validate(scenario.replace(horizon_days=horizon_days))
        except ScenarioError as exc:
            raise ScenarioError([f"--horizon-days: {m}" for m in exc.messages]) from None
    return scenario


def execution_keywords(args: argparse.Namespace) -> dict:
    """Where and how the runs of a many-run command execute, from its options."""
    backend = args.backend or ("dask" if args.scheduler else "process")
    if args.scheduler and backend != "dask":
        raise UsageError(f"--scheduler: only the dask backend uses a scheduler (--backend is {backend})")
    return {"backend": backend, "workers": args.workers, "scheduler": args.scheduler,
            "progress": progress_bar("runs", show=not args.json), "timeout": args.timeout,
            "allow_large": args.allow_large}


def flag_prefixed(message: str) -> str:
    """A library message names its argument (``metric: …``); the CLI names the flag (``--metric: …``)."""
    flags = ("metric", "maximise", "minimise", "target", "inputs", "replications", "backend", "workers", "scheduler",
             "out", "uncertainty")
    name, sep, _ = message.partition(":")
    return f"--{'input' if name == 'inputs' else name}{message[len(name):]}" if sep and name in flags else message
