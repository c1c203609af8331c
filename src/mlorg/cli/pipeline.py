"""``mlorg pipeline run``, ``mlorg registry …`` and ``mlorg calibrate``: the reference pipeline, its registry, and
the simulator's model held against it. Each loads scikit-learn only when it runs."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from mlorg.cli.options import (
    DEFAULT_PIPELINE_SCENARIO,
    EXIT_INTEGRITY,
    UsageError,
    default_registry,
    float_option,
    int_option,
    json_option,
    progress_bar,
    seed_option,
)
from mlorg.cli.output import columns, fmt, write_whole
from mlorg.pipeline.scale import SCALES, at_scale
from mlorg.scenario import load, pipeline_minimum_days


def add_commands(sub) -> None:
    pipeline = sub.add_parser("pipeline", help="the reference pipeline: a real fraud model run end to end")
    pipeline_sub = pipeline.add_subparsers(required=True, metavar="run")
    pipeline_run = pipeline_sub.add_parser(
        "run", help="generate, train, deploy, serve day by day, monitor and respond; print a summary",
        description="Run the reference pipeline of a scenario (its [pipeline] section, monitors and impact) into a "
                    "registry: a DuckDB file with the model artifacts in a folder beside it.")
    _pipeline_options(pipeline_run, "scenario file (default scenarios/fraud_drift.toml)")
    pipeline_run.add_argument("--db", type=Path, default=default_registry(), metavar="PATH",
                              help="registry DuckDB file (default data/pipeline.duckdb or $MLORG_REGISTRY_DB)")
    pipeline_run.set_defaults(handler=cmd_pipeline_run)

    registry = sub.add_parser("registry", help="ask the reference pipeline's registry")
    registry_sub = registry.add_subparsers(required=True, metavar="lineage|history|verify")
    lineage = registry_sub.add_parser("lineage", help="which data and features trained the model that scored a "
                                                      "transaction")
    lineage.add_argument("tx_id", type=int_option("TX_ID", 0, 2**62), metavar="TX_ID")
    history = registry_sub.add_parser("history", help="the deployment history: what, when, why, by which process")
    verify = registry_sub.add_parser("verify", help="check every record's signature and chain, the aliases against "
                                                    "the history, and every artifact's path and hash (exit 4 if any "
                                                    "fails)")
    for command, handler in ((lineage, cmd_registry_lineage), (history, cmd_registry_history),
                             (verify, cmd_registry_verify)):
        command.add_argument("--db", type=Path, default=default_registry(), metavar="PATH",
                             help="registry DuckDB file (default data/pipeline.duckdb or $MLORG_REGISTRY_DB)")
        json_option(command)
        command.set_defaults(handler=handler)

    calibrate = sub.add_parser(
        "calibrate", help="the simulator's monitor and latency model against the reference pipeline",
        description="Run the scenario's monitors on its reference pipeline's data (beside a model nobody corrects, "
                    "and on the same days without the injected causes) and predict them with the simulator's model: "
                    "detection lag and false alarms per monitor and cause, and scorer latency, side by side.")
    _pipeline_options(calibrate, "scenario file with a [pipeline] section that injects causes (default "
                                 "scenarios/fraud_drift.toml)")
    calibrate.add_argument("--write", type=Path, metavar="OUT.toml",
                           help="also measure the simulator's inputs for the fraud model (drift sizes, healthy recall, "
                                "label delays, alert bursts, what each remedy wins back) and write the scenario with "
                                "them, self-contained, each marked with how it was measured")
    calibrate.add_argument("--serving", action="store_true",
                           help="instead: check the simulator's queueing model against `mlorg serve` under open-loop "
                                "load on this machine (the registry's champion, one worker); with --write, write the "
                                "measured service time and overhead into the scenario")
    calibrate.add_argument("--db", type=Path, default=default_registry(), metavar="PATH",
                           help="with --serving: the registry to serve (default data/pipeline.duckdb or "
                                "$MLORG_REGISTRY_DB)")
    calibrate.add_argument("--repeats", type=int_option("--repeats", 1, 20), default=3, metavar="N",
                           help="with --serving: load runs per utilisation (default 3)")
    calibrate.add_argument("--seconds", type=float_option("--seconds", 0.5, 120.0), default=5.0, metavar="S",
                           help="with --serving: seconds of each load run (default 5)")
    calibrate.set_defaults(handler=cmd_calibrate)


def _pipeline_options(parser: argparse.ArgumentParser, file_help: str) -> None:
    """SCENARIO, --days, --seed and --json: what every command running the reference pipeline takes."""
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_PIPELINE_SCENARIO, metavar="SCENARIO",
                        help=file_help)
    parser.add_argument("--days", type=int_option("--days", 1, 730), metavar="D",
                        help="override pipeline.days; at least the go-live day or the last cause's start day, "
                             "whichever is later, plus one window of the widest monitor (for the recall monitor, "
                             "its window and the label delay): the error says how many")
    parser.add_argument("--scale", choices=SCALES, default="full",
                        help="small: the same story on about a tenth of the transactions, in seconds (default full)")
    seed_option(parser, 2**32 - 1)
    json_option(parser)


def _scenario_and_days(args: argparse.Namespace):
    """The scenario at the scale asked for, with --days checked against the fewest days it needs before anything
    runs."""
    scenario = at_scale(load(args.file), args.scale)
    if args.days is not None:
        fewest, why = pipeline_minimum_days(scenario)
        if args.days < fewest:
            raise UsageError(f"--days: {args.days} is not allowed; must be >= {fewest} for {args.file}: {why}")
    return scenario


def cmd_pipeline_run(args: argparse.Namespace) -> int:
    from mlorg.pipeline.run import run_pipeline  # the pipeline pulls in scikit-learn: only load it when asked

    scenario = _scenario_and_days(args)
    try:
        result = run_pipeline(scenario, args.db, seed=args.seed, days=args.days,
                              progress=progress_bar("days", show=not args.json))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_json(), allow_nan=False))
        return 0
    print(f"{scenario.name}: reference pipeline, seed {args.seed}, registry {result.db_path}\n")
    rows = [("figure", "value"),
            ("transactions", f"{result.transactions:,}"),
            ("fraud rate", f"{result.fraud_rate:.4%}"),
            ("offline AUC (holdout)", f"{result.offline_auc:.3f}"),
            ("alerts", str(len(result.alerts))),
            ("rollbacks / promotions / retrains", f"{result.rollbacks} / {result.promotions} / {result.retrains}"),
            ("alerts reviewed by investigators", f"{result.reviewed_alerts:,}"),
            ("fraud losses (USD)", f"{result.fraud_losses_usd:,.0f}"),
            ("the same days with no monitoring (USD)", f"{result.fraud_losses_usd_without_monitoring:,.0f}"),
            ("saved by monitoring (USD)", f"{result.saving_usd:,.0f}"),
            ("the ceiling: the same actions knowing every label (USD)", f"{result.fraud_losses_usd_ceiling:,.0f}")]
    if result.shift_day is not None:
        since = result.losses_since_shift_usd
        to_model = "none" if result.time_to_model_days is None else f"{result.time_to_model_days:g}"
        rows += [(f"saved from day {result.shift_day:g} on (USD)",
                  f"{since['without_monitoring'] - since['monitored']:,.0f}"),
                 ("days from then to a new model in service", to_model)]
    rows.append(("real-time scorer p50 / p99 (ms)", f"{fmt(result.scorer_p50_ms)} / {fmt(result.scorer_p99_ms)}"))
    print(columns(rows))
    print("\nweek by week (recall with monitoring, without, and at the ceiling):")
    table = [("week", "from day", "AUC", "recall", "without", "ceiling", "alert rate", "precision", "reviewed",
              "losses USD", "champion")]
    for w in result.weekly.itertuples():
        table.append((str(w.week), str(w.start_day), fmt(w.auc), fmt(w.recall), fmt(w.recall_without_monitoring),
                      fmt(w.recall_ceiling), f"{w.alert_rate:.3%}", fmt(w.precision), f"{w.reviewed:,}",
                      f"{w.losses_usd:,.0f}", f"v{w.champion}"))
    print(columns(table))
    if len(result.actions):
        print("\nwhat the incident process did:")
        for a in result.actions.itertuples():
            print(f"  day {a.day}: {a.action} v{a.version}: {a.reason}")
    if result.detection_lag_days:
        print("\ndays from each injected cause to each monitor's first alert:")
        for cause, lags in result.detection_lag_days.items():
            found = ", ".join(f"{m} {v:g}" for m, v in lags.items() if v is not None) or "no monitor fired"
            print(f"  {cause}: {found}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    if args.serving:
        from mlorg.cli.serve import cmd_calibrate_serving

        return cmd_calibrate_serving(args)
    from mlorg.pipeline.calibrate import calibrate  # scikit-learn again: only when asked

    scenario = _scenario_and_days(args)
    try:
        result = calibrate(scenario, seed=args.seed, days=args.days,
                           progress=progress_bar("days", show=not args.json))
    except (ValueError, NotImplementedError) as exc:
        raise UsageError(str(exc)) from None
    measured = _write_calibrated(scenario, args) if args.write else []
    if args.json:
        out = result.to_json()
        if args.write:
            out["measured"] = [{"field": f"{m.table}.{m.key}", "value": m.value, "how": m.how, "kind": m.verb}
                               for m in measured]
        print(json.dumps(out, allow_nan=False))
        return 0
    if measured:
        print(f"wrote {args.write}: {scenario.name} with the inputs measured on its reference pipeline\n")
        for m in measured:
            print(f"  {m.table}.{m.key} = {fmt(m.value)}: {m.verb}, {m.how}")
        print()
    print(f"{scenario.name}: the simulator's model against the reference pipeline, seed {args.seed}\n")
    table = [("monitor", "cause", "shift", "lag measured", "lag predicted (90% range)", "false alarms/month",
              "predicted")]
    for r in result.monitors.itertuples():
        table.append((f"{r.monitor} ({r.detector})", r.cause, f"{fmt(r.shift_before)} → {fmt(r.shift_after)}",
                      "never" if math.isnan(r.measured_lag_days) else f"{r.measured_lag_days:g} d",
                      _lag_range(r.predicted_lag_days, r.predicted_lag_p05_days, r.predicted_lag_p95_days),
                      f"{r.measured_false_alarms_per_month:.2f} ({r.measured_false_alarms} in {r.checks} days)",
                      f"{r.predicted_false_alarms_per_month:.2f}"))
    print(columns(table))
    print("\nshift: the monitored signal before → after the cause, in the model's units (σ of the alert rate or of "
          "a feature; share of recall lost). Lags count days from the cause to the first alarm the same days without "
          "it would not have raised.")
    print("\nreal-time scorer (online features + tree walk), measured, against the serving model (M/G/1 at the "
          "pipeline's traffic, fed the measured service time):")
    latency = [("quantile", "measured ms", "predicted ms")]
    latency += [(f"p{round(q * 100)}", fmt(m), fmt(p)) for q, m, p in result.latency.itertuples(index=False)]
    print(columns(latency))
    return 0


def _write_calibrated(scenario, args: argparse.Namespace) -> list:
    """Measure the simulator's inputs and write the calibrated scenario to ``args.write`` (whole or not at all)."""
    from mlorg.pipeline import calibrated

    days = args.days or scenario.pipeline.days
    try:
        measured = calibrated.measure_inputs(scenario, args.seed, days)
        source = f"{args.file} at {args.scale} scale (seed {args.seed}, {days} days)"
        text = calibrated.write(scenario, measured, source)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    write_whole(args.write, text, "--write")
    return measured


def _lag_range(mean: float, low: float, high: float) -> str:
    """Mean lag and its 5–95% range; a drift some runs never detect has no mean."""
    if not math.isfinite(low):
        return "never"
    days = f"({low:g}–{f'{high:g}' if math.isfinite(high) else 'never'})"
    return f"{mean:.1f} d {days}" if math.isfinite(mean) else f"some never {days}"


def _registry(args: argparse.Namespace):
    from mlorg.pipeline.registry import Registry

    if not args.db.exists():
        raise UsageError(f"--db: {args.db}: no such registry (run `mlorg pipeline run --db {args.db}` first)")
    return Registry(args.db)


def cmd_registry_lineage(args: argparse.Namespace) -> int:
    from mlorg.pipeline.registry import RegistryError

    with _registry(args) as registry:
        try:
            found = registry.lineage(args.tx_id)
        except RegistryError as exc:
            raise UsageError(str(exc)) from None
    print(json.dumps(found, default=str) if args.json else _lineage_text(found))
    return 0


def _lineage_text(found: dict) -> str:
    lines = []
    for key, value in found.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {v}" for k, v in value.items())
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def cmd_registry_history(args: argparse.Namespace) -> int:
    with _registry(args) as registry:
        history = registry.history()
    if args.json:
        print(history.to_json(orient="records", date_format="iso"))
    elif history.empty:
        print(f"no deployments in {args.db}")
    else:
        print(history.to_string(index=False))
    return 0


def cmd_registry_verify(args: argparse.Namespace) -> int:
    import pandas as pd

    with _registry(args) as registry:
        problems = registry.verify()
        runs = registry.runs()
    # A run killed part-way is not an integrity failure: its rows are kept apart under its own id.
    unfinished = [f"pipeline run {r.run_id} ({r.scenario}, seed {r.seed}) started {r.started_at:%Y-%m-%d %H:%M} and "
                  "never finished; its scores and alerts are kept apart under its id"
                  for r in runs.itertuples() if pd.isna(r.finished_at)]
    if args.json:
        print(json.dumps({"ok": not problems, "problems": problems, "unfinished_runs": unfinished}))
    else:
        for problem in problems:
            print(f"mlorg: {problem}", file=sys.stderr)
        for note in unfinished:
            print(f"note: {note}")
        if not problems:
            print(f"{args.db}: every record carries the registry's signature and every artifact matches its hash")
    return EXIT_INTEGRITY if problems else 0
