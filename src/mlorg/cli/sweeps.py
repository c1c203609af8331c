"""``mlorg sweep``, ``mlorg sensitivity`` and ``mlorg optimise``: many replicated runs at once, on common random
numbers, in this process, on a local process pool or on Dask."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from mlorg.cli.options import (
    EXIT_FAILED_CHECK,
    UsageError,
    execution_keywords,
    execution_options,
    flag_prefixed,
    float_option,
    int_option,
    load_with_horizon,
)
from mlorg.cli.output import cell_text, columns, few_replications_note, fmt, json_value, metrics_json
from mlorg.cli.uncertainty import cmd_variance_shares, uncertainty_option
from mlorg.scenario import ScenarioError

SWEEP_SHOWN_METRICS = ("ttp_days_median", "ttp_days_p90", "models_shipped", "total_cost_usd")


def add_commands(sub) -> None:
    """``mlorg sweep``, ``mlorg sensitivity`` and ``mlorg optimise``: many replicated runs at once."""
    sweep_cmd = sub.add_parser(
        "sweep", help="run a grid of scenario edits with common random numbers; summarise or save every run",
        description="Vary scenario fields over a grid (PATH=VALUES: a dotted field path and comma-separated values "
                    "or inclusive ranges START..STOP[:STEP]), run every cell's replications on common random "
                    "numbers, and print each cell's mean and 95% CI; --out saves one row per run.")
    _vary_option(sweep_cmd)
    sweep_cmd.add_argument("--metric", action="append", metavar="NAME",
                           help="metric to show (repeatable; default: " + ", ".join(SWEEP_SHOWN_METRICS) + ")")
    sweep_cmd.add_argument("--out", type=Path, metavar="FILE",
                           help="write one row per (cell, replication) to FILE.csv, FILE.parquet or FILE.duckdb")
    sweep_cmd.set_defaults(handler=cmd_sweep)

    sensitivity = sub.add_parser(
        "sensitivity", help="one-at-a-time ±spread on each numeric input, ranked by effect (a tornado table)",
        description="Set each numeric input that can matter in the scenario to its value x (1 - spread) and "
                    "x (1 + spread), one at a time, and rank the inputs by how far that moves the metric (paired "
                    "95% CIs on common random numbers).")
    sensitivity.add_argument("--metric", default="ttp_days_p90", metavar="NAME",
                             help="metric to explain (default ttp_days_p90)")
    sensitivity.add_argument("--spread", type=float_option("--spread", 1e-6, 1.0), default=0.2, metavar="F",
                             help="relative change of each input (default 0.2: ±20%%)")
    sensitivity.add_argument("--input", action="append", dest="inputs", metavar="PATH",
                             help="vary only this input (repeatable; default: every numeric input that can matter)")
    uncertainty_option(sensitivity, "rank the scenario's uncertain inputs by the share of the metric's variance each "
                                    "explains, over N draws of them (instead of the one-at-a-time tornado)")
    sensitivity.set_defaults(handler=cmd_sensitivity)

    optimise = sub.add_parser(
        "optimise", help="the grid cell with the highest net value that meets a target with 95%% confidence",
        description="Sweep a grid and pick the cell with the highest mean --maximise metric (net value by default), "
                    "or the lowest mean --minimise metric, among those whose --target holds at the one-sided 95% "
                    "confidence bound; exit 1 when none does.")
    _vary_option(optimise)
    optimise.add_argument("--target", required=True, metavar="METRIC<=VALUE",
                          help="e.g. ttp_days_p90<=30 (also <, >=, >)")
    objective = optimise.add_mutually_exclusive_group()
    objective.add_argument("--maximise", metavar="NAME",
                           help="metric to maximise (default net_value_usd: value delivered − staff − serving − "
                                "business loss)")
    objective.add_argument("--minimise", metavar="NAME", help="metric to minimise instead, e.g. total_cost_usd")
    optimise.add_argument("--runners-up", type=int_option("--runners-up", 0, 100), default=3, metavar="K")
    optimise.set_defaults(handler=cmd_optimise)
    for command in (sweep_cmd, sensitivity, optimise):
        _execution_options(command)


def _vary_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vary", action="append", required=True, metavar="PATH=VALUES",
                        help="a field and its values, e.g. org.ml_engineers=0..8 or org.platform_engineers=0,3 "
                             "(repeatable: the grid is every combination)")


def _execution_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="SCENARIO")
    execution_options(parser)


def _sweep_context(args: argparse.Namespace) -> tuple:
    """The scenario (horizon overridden and checked) and the execution keywords of a sweep command."""
    return load_with_horizon(args.file, args.horizon_days), execution_keywords(args)


def _grid(args: argparse.Namespace) -> dict[str, list]:
    from mlorg.sweeps import SweepError, parse_values, parse_vary

    grid: dict[str, list] = {}
    problems = []
    for text in args.vary:
        try:
            path, spec = parse_vary(text)
            if path in grid:
                raise SweepError(f"--vary {path}: given twice; give all its values at once (e.g. {path}=1,2,4)")
            grid[path] = parse_values(path, spec)
        except SweepError as exc:
            problems.extend(m if m.startswith("--vary") else f"--vary {m}" for m in exc.messages)
    if problems:
        raise UsageError("\n".join(problems))
    return grid


def _sweep_call(function, *call_args, **kwargs):
    """Run a sweep function, turning its errors into the CLI's one-line messages (``--vary`` names the field)."""
    from mlorg.sweeps import SweepError

    try:
        return function(*call_args, **kwargs)
    except SweepError as exc:
        raise UsageError("\n".join(flag_prefixed(m) for m in exc.messages)) from None
    except ScenarioError as exc:
        raise ScenarioError([f"--vary {m}" for m in exc.messages]) from None


def _check_out(path: Path | None) -> None:
    from mlorg.sweeps.table import FORMATS

    if path is None:
        return
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"--out: {str(path)!r} is not allowed; must end in {', '.join(FORMATS)}")
    if not path.parent.is_dir():
        raise UsageError(f"--out: {path.parent}: no such folder")


def cmd_sweep(args: argparse.Namespace) -> int:
    from mlorg.sweeps import summarise_cells, sweep, write_table
    from mlorg.sweeps.table import check_metric

    scenario, execution = _sweep_context(args)
    grid = _grid(args)
    _check_out(args.out)
    shown = args.metric or list(SWEEP_SHOWN_METRICS)
    for name in shown:  # before hours of runs, not after
        _sweep_call(check_metric, name)
    table = _sweep_call(sweep, scenario, grid, args.replications, args.seed, **execution)
    summary = _sweep_call(summarise_cells, table, args.metric)  # every metric unless some are named
    if args.out is not None:
        import duckdb

        try:
            write_table(table, args.out)
        except (OSError, duckdb.Error) as exc:  # a read-only folder, a DuckDB file another process holds
            raise UsageError(f"--out: cannot write {args.out} ({str(exc).splitlines()[0]})") from None
    if args.json:
        print(json.dumps(_sweep_json(table, summary, args), allow_nan=False))
        return 0
    cells = table["cell"].nunique()
    print(f"{scenario.name}: {cells} cells x {args.replications} replications of {scenario.horizon_days:g} days, "
          f"seed {args.seed}, {execution['backend']} backend; mean and 95% CI\n")
    print(_cells_table(summary, list(grid), shown))
    if args.out is not None:
        print(f"\nwrote {len(table)} rows to {args.out}")
    return 0


def _sweep_json(table, summary, args: argparse.Namespace) -> dict:
    from mlorg.sweeps import parameters

    params = parameters(table)
    cells = []
    for cell, group in summary.groupby("cell", sort=True):
        first = group.iloc[0]
        cells.append({"cell": int(cell), "values": {p: json_value(first[p]) for p in params},
                      "metrics": metrics_json(group.set_index("metric"))})
    return {"scenario": table.attrs["scenario"], "seed": args.seed, "replications": args.replications,
            "parameters": params, "cells": cells, "out": str(args.out) if args.out else None}


def _cells_table(summary, params: list[str], shown: list[str]) -> str:
    rows = [(*params, *shown)]
    for _, group in summary.groupby("cell", sort=True):
        by_metric = group.set_index("metric")
        values = [cell_text(group.iloc[0][p]) for p in params]
        figures = []
        for name in shown:
            row = by_metric.loc[name]
            ci = f" [{fmt(row['ci95_low'])}, {fmt(row['ci95_high'])}]" if math.isfinite(row["ci95_low"]) else ""
            figures.append(fmt(row["mean"]) + ci)
        rows.append((*values, *figures))
    return columns(rows) + few_replications_note(int(summary["n"].max()) if len(summary) else 0)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from mlorg.sweeps import sensitivity

    if args.uncertainty is not None:
        if args.inputs:
            raise UsageError("--input: not allowed with --uncertainty, which weighs every uncertain input of the "
                             "scenario (mark or unmark them in its file)")
        return cmd_variance_shares(args)
    scenario, execution = _sweep_context(args)
    table = _sweep_call(sensitivity, scenario, args.metric, args.spread, args.replications, args.seed,
                        inputs=args.inputs, **execution)
    if args.json:
        print(json.dumps({"scenario": scenario.name, "metric": args.metric, "spread": args.spread,
                          "seed": args.seed, "replications": args.replications,
                          "inputs": [{k: json_value(v) for k, v in row.items()}
                                     for row in table.to_dict(orient="records")]}, allow_nan=False))
        return 0
    base = table["base_mean"].iloc[0] if len(table) else math.nan
    print(f"{scenario.name}: {args.metric} = {fmt(base)} at the base ({args.replications} replications, seed "
          f"{args.seed}); each input x (1 ± {args.spread:g}) in turn, ranked by swing = (at high) - (at low), "
          "95% CIs paired on common random numbers\n")
    print(_tornado_text(table))
    return 0


def _tornado_text(table) -> str:
    widest = table["swing_mean"].abs().max() if len(table) else 0.0
    rows = [("rank", "input", "base", "low", "high", "low - base", "high - base", "swing [95% CI]", "")]
    for r in table.itertuples(index=False):
        bar = "#" * round(20 * abs(r.swing_mean) / widest) if widest > 0 and math.isfinite(r.swing_mean) else ""
        rows.append((str(r.rank), r.input, cell_text(r.base_value), _side_text(r.low_value),
                     _side_text(r.high_value), fmt(r.low_delta_mean), fmt(r.high_delta_mean),
                     f"{fmt(r.swing_mean)} [{fmt(r.swing_ci95_low)}, {fmt(r.swing_ci95_high)}]", bar))
    return columns(rows)


def _side_text(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else cell_text(value)


def cmd_optimise(args: argparse.Namespace) -> int:
    from mlorg.sweeps import objective_of, optimise

    scenario, execution = _sweep_context(args)
    grid = _grid(args)
    objective = _sweep_call(objective_of, args.maximise, args.minimise)
    result = _sweep_call(optimise, scenario, grid, args.target, objective, args.replications, args.seed,
                         runners_up=args.runners_up, **execution)
    metric = result.objective.metric
    params = result.parameters
    if args.json:
        print(json.dumps(_optimum_json(result, params), allow_nan=False))
        return 0 if result.best is not None else EXIT_FAILED_CHECK
    bound = "upper" if result.target.upper else "lower"
    if result.best is None:
        print(f"no cell meets {result.target} with 95% confidence ({bound} bound); every cell's evidence:\n")
    else:
        b = result.best
        best = "highest" if result.objective.maximise else "lowest"
        print(f"the {best} {metric} among cells meeting {result.target} with 95% confidence: "
              f"{_cell_label(b, params)}\n"
              f"  {metric} {fmt(b['objective_mean'])} [{fmt(b['objective_ci95_low'])}, "
              f"{fmt(b['objective_ci95_high'])}]; {result.target.metric} {fmt(b['target_mean'])} "
              f"({bound} bound {fmt(b['target_bound'])})")
        for r in result.runners_up.to_dict(orient="records"):
            print(f"  runner-up {_cell_label(r, params)}: {metric} {_signed(r['extra_mean'])} "
                  f"[{_signed(r['extra_ci95_low'])}, {_signed(r['extra_ci95_high'])}] against the pick (paired), "
                  f"{result.target.metric} {fmt(r['target_mean'])} ({bound} bound {fmt(r['target_bound'])})")
        print()
    rows = [(*params, f"{result.target.metric} mean", f"{bound} bound", "meets", f"{metric} mean")]
    for r in result.cells.to_dict(orient="records"):
        rows.append((*(cell_text(r[p]) for p in params), fmt(r["target_mean"]), fmt(r["target_bound"]),
                     "yes" if r["meets_target"] else "no", fmt(r["objective_mean"])))
    print(columns(rows))
    return 0 if result.best is not None else EXIT_FAILED_CHECK


def _signed(value: float) -> str:
    return fmt(value) if value < 0 else f"+{fmt(value)}"


def _cell_label(row, params: list[str]) -> str:
    return ", ".join(f"{p}={cell_text(row[p])}" for p in params)


def _optimum_json(result, params: list[str]) -> dict:
    def record(row) -> dict:
        return {"values": {p: json_value(row[p]) for p in params},
                **{k: json_value(v) for k, v in row.items() if k not in params}}

    return {"target": str(result.target), result.objective.verb: result.objective.metric,
            "confidence": result.confidence,
            "best": record(result.best) if result.best is not None else None,
            "runners_up": [record(r) for r in result.runners_up.to_dict(orient="records")],
            "cells": [record(r) for r in result.cells.to_dict(orient="records")]}
