"""The ``mlorg`` command line.

Every user error (a bad scenario file, a bad option, a missing run) prints one readable line per
problem to stderr and exits with status 2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from mlorg import __version__
from mlorg.results import MAX_REPLICATIONS, Replications, replicate
from mlorg.scenario import ScenarioError, load
from mlorg.store import RunStore, StoreError

EXIT_USAGE = 2


class UsageError(Exception):
    """A problem with what the user asked for; its message is shown as is."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ScenarioError, StoreError, UsageError) as exc:
        for line in str(exc).splitlines():
            print(f"mlorg: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mlorg: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlorg", description="Simulate an ML organisation.")
    parser.add_argument("--version", action="version", version=f"mlorg {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="check scenario files")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(handler=cmd_validate)

    run = sub.add_parser("run", help="simulate a scenario and summarise its metrics")
    run.add_argument("file", type=Path, metavar="FILE")
    run.add_argument("--replications", type=_int_option("--replications", 1, MAX_REPLICATIONS), default=10,
                     metavar="N", help="independent replications (default 10)")
    run.add_argument("--seed", type=_int_option("--seed", 0, 2**63 - 1), default=0, metavar="S",
                     help="random seed (default 0; the same seed gives the same results)")
    run.add_argument("--horizon-days", type=_float_option("--horizon-days", 1, 36500), metavar="D",
                     help="override the scenario's horizon_days")
    run.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    run.add_argument("--save", action="store_true", help="save the run to the DuckDB file")
    run.add_argument("--db", type=Path, metavar="PATH", help="DuckDB file (default data/mlorg.duckdb or $MLORG_DB)")
    run.set_defaults(handler=cmd_run)

    runs = sub.add_parser("runs", help="list saved runs, or show one")
    runs.add_argument("run_id", nargs="?", type=_int_option("RUN_ID", 1, 2**31 - 1), metavar="RUN_ID")
    runs.add_argument("--db", type=Path, metavar="PATH", help="DuckDB file (default data/mlorg.duckdb or $MLORG_DB)")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(handler=cmd_runs)
    return parser


def _int_option(name: str, lo: int, hi: int):
    return _bounded_option(name, int, "an integer", lo, hi)


def _float_option(name: str, lo: float, hi: float):
    return _bounded_option(name, float, "a number", lo, hi)


def _plain(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _bounded_option(name: str, kind: type, kind_text: str, lo: float, hi: float):
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


# ---------------------------------------------------------------------------------------------- commands

def cmd_validate(args: argparse.Namespace) -> int:
    problems = []
    for path in args.files:
        try:
            load(path)
            print(f"{path}: ok")
        except ScenarioError as exc:
            problems.extend(exc.messages)
    if problems:
        raise ScenarioError(problems)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    scenario = load(args.file)
    if args.horizon_days is not None:
        scenario = scenario.replace(horizon_days=args.horizon_days)
    progress = None if args.json or not sys.stderr.isatty() else _progress
    reps = replicate(scenario, args.replications, args.seed, progress=progress, keep_runs=False)
    run_id = RunStore(args.db).save(reps) if args.save else None
    if args.json:
        print(json.dumps(result_json(reps, run_id), allow_nan=False))
    else:
        print(result_table(reps, run_id))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    store = RunStore(args.db)
    if args.run_id is None:
        runs = store.list()
        if args.json:
            print(runs.to_json(orient="records", date_format="iso"))
        elif runs.empty:
            print(f"no saved runs in {store.path}")
        else:
            print(runs.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
        return 0
    saved = store.load(args.run_id)
    if args.json:
        print(json.dumps({"run_id": saved.run_id, "label": saved.label, "scenario": saved.scenario.name,
                          "seed": saved.seed, "replications": saved.replications,
                          "metrics": _metrics_json(saved.summary)}, allow_nan=False))
    else:
        print(f"run {saved.run_id}: {saved.label} (seed {saved.seed}, {saved.replications} replications, "
              f"saved {saved.created_at:%Y-%m-%d %H:%M} UTC)")
        print(_table(saved.summary))
    return 0


# ------------------------------------------------------------------------------------------------ output

def _finite_or_none(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _metrics_json(summary) -> dict:
    return {name: {"mean": _finite_or_none(row["mean"]), "ci95_low": _finite_or_none(row["ci95_low"]),
                   "ci95_high": _finite_or_none(row["ci95_high"])} for name, row in summary.iterrows()}


def result_json(reps: Replications, run_id: int | None = None) -> dict:
    out = {"scenario": reps.scenario.name, "seed": reps.seed, "replications": reps.n,
           "horizon_days": reps.scenario.horizon_days, "metrics": _metrics_json(reps.summary)}
    if run_id is not None:
        out["run_id"] = run_id
    return out


def result_table(reps: Replications, run_id: int | None = None) -> str:
    s = reps.scenario
    head = (f"{s.name}: {s.description}\n{reps.n} replications of {s.horizon_days:g} days, seed {reps.seed}"
            + (f"; saved as run {run_id}" if run_id is not None else ""))
    return head + "\n\n" + _table(reps.summary)


def _table(summary) -> str:
    rows = [("metric", "mean", "95% CI")]
    for name, row in summary.iterrows():
        if row["n"] == 0:
            continue  # e.g. time shares of a role the organisation never had
        ci = "" if not math.isfinite(row["ci95_low"]) else f"{_fmt(row['ci95_low'])} – {_fmt(row['ci95_high'])}"
        rows.append((name, _fmt(row["mean"]), ci))
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>12}  {r[2]}" for r in rows]
    lines.insert(1, "-" * (width + 30))
    return "\n".join(lines)


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _progress(done: int, total: int) -> None:
    bar = "#" * (30 * done // total)
    print(f"\r[{bar:<30}] {done}/{total} replications", end="" if done < total else "\n", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
