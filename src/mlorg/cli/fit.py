"""``mlorg fit``: fit the simulator to a deploy history and write the fitted scenario."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from mlorg.cli.options import UsageError, int_option, json_option, seed_option
from mlorg.cli.output import write_whole
from mlorg.fit.estimate import REPLICATIONS, fit
from mlorg.fit.fitted_file import fitted_toml, report_text
from mlorg.fit.history import MAX_ROWS, HistoryError, read_history
from mlorg.scenario import load


def add_commands(sub) -> None:
    command = sub.add_parser(
        "fit", help="fit a scenario to a deploy history (one row per trained model version)",
        description="Estimate, from a deploy history, what it can tell (research pace, productionisation effort, "
                    "abandonment, retraining cadence, model lifetime) by the simulated method of moments, with the "
                    "base scenario's headcount and hiring over the history's period; report 95% intervals, what "
                    "it cannot identify and a KS check of time-to-production, and write a self-contained scenario.")
    command.add_argument("history", type=Path, metavar="HISTORY",
                         help=f"CSV or Parquet: model_id, version, trained_at, deployed_at (empty if never), and "
                              f"optionally retired_at, team, kind (new/retrain); at most {MAX_ROWS:,} rows")
    command.add_argument("--base", type=Path, required=True, metavar="SCENARIO",
                         help="scenario giving headcount and hiring over the history (day 0 = the history's start)")
    command.add_argument("--out", type=Path, metavar="FITTED.toml", help="write the fitted scenario here")
    command.add_argument("--start", metavar="DATE",
                         help="the history's day 0, YYYY-MM-DD (default: its first trained_at)")
    command.add_argument("--replications", type=int_option("--replications", 2, 100), default=REPLICATIONS,
                         metavar="N", help=f"replications averaged at each candidate (default {REPLICATIONS})")
    seed_option(command)
    json_option(command, "print the estimates as JSON")
    command.set_defaults(handler=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    base = load(args.base)
    try:
        history = read_history(args.history, args.start)
    except HistoryError as exc:
        raise UsageError(str(exc)) from None
    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out {args.out}: is a folder; name the scenario file to write")
    quiet = args.json or not sys.stderr.isatty()
    result = fit(history, base, seed=args.seed, replications=args.replications,
                 progress=None if quiet else lambda text: print(text, file=sys.stderr))
    if args.out is not None:  # whole or not at all: a killed fit leaves no half-written scenario
        write_whole(args.out, fitted_toml(result, str(args.base)), "--out")
    if args.json:
        print(json.dumps({
            "history": str(args.history), "rows": len(history.rows), "seconds": round(result.seconds, 2),
            "estimates": [{"path": e.path, "value": e.value, "ci95_low": e.low, "ci95_high": e.high, "base": e.base,
                           "source": e.source} for e in result.estimates],
            "unidentified": result.unidentified, "ks_statistic": _number(result.ks_statistic),
            "ks_pvalue": _number(result.ks_pvalue_simulated), "ks_pvalue_independent": _number(result.ks_pvalue),
            "out": str(args.out) if args.out else None}, allow_nan=False))
    else:
        print(report_text(result))
        if args.out is not None:
            print(f"\nwrote {args.out}")
    return 0


def _number(x: float) -> float | None:
    """NaN (no deployed model to compare) as JSON null."""
    return None if math.isnan(x) else x
