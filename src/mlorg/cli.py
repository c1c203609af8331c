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
from mlorg.monitoring.characteristics import (
    DETECTORS,
    SEQUENTIAL_DETECTORS,
    Monitor,
    OperatingPoint,
    default_threshold,
    meets_budget,
    operating_point,
    shift_from_psi,
    sweep,
)
from mlorg.results import MAX_REPLICATIONS, Replications, replicate
from mlorg.rng import distribution_moments
from mlorg.scenario import Distribution, ScenarioError, load
from mlorg.serving.analytic import erlang_c, mmc_mean_wait, mmc_response_percentile, pk_mean_wait
from mlorg.serving.capacity import cheapest, load_instances, service_percentile, tradeoff
from mlorg.serving.kernel import simulate_queue
from mlorg.store import RunStore, StoreError

EXIT_USAGE = 2
EXIT_FAILED_CHECK = 1
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PIPELINE_SCENARIO = ROOT / "scenarios" / "fraud_drift.toml"
DEFAULT_PIPELINE_DB = ROOT / "data" / "pipeline.duckdb"


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

    serving = sub.add_parser("serving", help="latency of a serving fleet: simulated per request, and by formula",
                             description="Simulate requests through c replicas x concurrency servers (FCFS) and "
                                         "print latency figures, with the analytic ones where a formula applies.")
    serving.add_argument("--arrival-rps", type=_float_option("--arrival-rps", 1e-6, 1e7), metavar="R",
                         help="requests per second (Poisson arrivals)")
    _service_options(serving, required=False)  # not required when the `plan` subcommand follows
    serving.add_argument("--replicas", type=_int_option("--replicas", 1, 100_000), metavar="C")
    serving.add_argument("--concurrency", type=_int_option("--concurrency", 1, 1024), default=1, metavar="K",
                         help="requests one replica serves at once (default 1)")
    serving.add_argument("--requests", type=_int_option("--requests", 1000, 50_000_000), default=1_000_000,
                         metavar="N", help="requests to simulate (default 1,000,000)")
    serving.add_argument("--seed", type=_int_option("--seed", 0, 2**63 - 1), default=0, metavar="S")
    serving.add_argument("--json", action="store_true")
    serving.set_defaults(handler=cmd_serving)
    serving_sub = serving.add_subparsers(dest="serving_command", metavar="plan")
    plan = serving_sub.add_parser("plan", help="cheapest instance type and replica count meeting a p99 SLO")
    plan.add_argument("--peak-rps", type=_float_option("--peak-rps", 1e-6, 1e7), required=True, metavar="R")
    _service_options(plan, required=True)
    plan.add_argument("--slo-p99-ms", type=_float_option("--slo-p99-ms", 1e-3, 1e6), required=True, metavar="L")
    plan.add_argument("--concurrency", type=_int_option("--concurrency", 1, 1024), metavar="K",
                      help="requests one replica serves at once (default: its vCPU count)")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(handler=cmd_serving_plan)

    monitor = sub.add_parser(
        "monitor", help="detection lag and false alarms of a drift detector setting",
        description="Expected detection lag and false alarms of one drift detector, from its statistic's sampling "
                    "distribution, beside the quickest-detection reference: a CUSUM tuned to the same drift with "
                    "the same false-alarm rate (Lorden 1971, Moustakides 1986).")
    monitor.add_argument("--detector", choices=DETECTORS, required=True)
    monitor.add_argument("--threshold", type=_float_option("--threshold", 1e-12, 1e6), metavar="X",
                         help="alarm threshold in the detector's terms (KS: a p-value); default: the detector's")
    monitor.add_argument("--window", type=_int_option("--window", 1, 10_000_000), required=True, metavar="N",
                         help="samples compared with the reference at each check")
    monitor.add_argument("--cadence-hours", type=_float_option("--cadence-hours", 1e-6, 8760), required=True,
                         metavar="H", help="hours between checks")
    monitor.add_argument("--drift-size", type=_float_option("--drift-size", 1e-6, 100), required=True, metavar="D",
                         help="σ of mean shift per sample, or the population PSI with --drift-kind psi")
    monitor.add_argument("--drift-kind", choices=("mean-shift", "psi"), default="mean-shift")
    monitor.add_argument("--traffic-per-hour", type=_float_option("--traffic-per-hour", 1e-6, 1e9), metavar="T",
                         help="samples per hour (default: window / cadence, one fresh window per check)")
    monitor.add_argument("--bins", type=_int_option("--bins", 2, 1000), default=10,
                         help="bins of PSI and Jensen–Shannon (default 10, the reference's deciles)")
    monitor.add_argument("--sweep", action="store_true", help="print the lag vs false-alarm trade-off over thresholds")
    monitor.add_argument("--budget", type=_float_option("--budget", 0, 1e6), default=1.0, metavar="F",
                         help="false alarms per month the sweep's recommended threshold may raise (default 1)")
    monitor.add_argument("--json", action="store_true")
    monitor.set_defaults(handler=cmd_monitor)

    pipeline = sub.add_parser("pipeline", help="the reference pipeline: a real fraud model run end to end")
    pipeline_sub = pipeline.add_subparsers(required=True, metavar="run")
    pipeline_run = pipeline_sub.add_parser(
        "run", help="generate, train, deploy, serve day by day, monitor and respond; print a summary",
        description="Run the reference pipeline of a scenario (its [pipeline] section, monitors and impact) into a "
                    "registry: a DuckDB file with the model artifacts in a folder beside it.")
    _pipeline_options(pipeline_run, "scenario file (default scenarios/fraud_drift.toml)")
    pipeline_run.add_argument("--db", type=Path, default=DEFAULT_PIPELINE_DB, metavar="PATH",
                              help="registry DuckDB file (default data/pipeline.duckdb)")
    pipeline_run.set_defaults(handler=cmd_pipeline_run)

    registry = sub.add_parser("registry", help="ask the reference pipeline's registry")
    registry_sub = registry.add_subparsers(required=True, metavar="lineage|history|verify")
    lineage = registry_sub.add_parser("lineage", help="which data and features trained the model that scored a "
                                                      "transaction")
    lineage.add_argument("tx_id", type=_int_option("TX_ID", 0, 2**62), metavar="TX_ID")
    history = registry_sub.add_parser("history", help="the deployment history: what, when, why, by which process")
    verify = registry_sub.add_parser("verify", help="check every model artifact against its hash (exit 1 if any "
                                                    "fails)")
    for command, handler in ((lineage, cmd_registry_lineage), (history, cmd_registry_history),
                             (verify, cmd_registry_verify)):
        command.add_argument("--db", type=Path, default=DEFAULT_PIPELINE_DB, metavar="PATH",
                             help="registry DuckDB file (default data/pipeline.duckdb)")
        command.add_argument("--json", action="store_true")
        command.set_defaults(handler=handler)

    calibrate = sub.add_parser(
        "calibrate", help="the simulator's monitor and latency model against the reference pipeline",
        description="Run the scenario's monitors on its reference pipeline's data (beside a model nobody corrects, "
                    "and on the same days without the injected causes) and predict them with the simulator's model: "
                    "detection lag and false alarms per monitor and cause, and scorer latency, side by side.")
    _pipeline_options(calibrate, "scenario file with a [pipeline] section that injects causes (default "
                                 "scenarios/fraud_drift.toml)")
    calibrate.set_defaults(handler=cmd_calibrate)
    add_sweep_commands(sub)
    return parser


def _pipeline_options(parser: argparse.ArgumentParser, file_help: str) -> None:
    """SCENARIO, --days, --seed and --json: what every command running the reference pipeline takes."""
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_PIPELINE_SCENARIO, metavar="SCENARIO",
                        help=file_help)
    parser.add_argument("--days", type=_int_option("--days", 30, 730), metavar="D", help="override pipeline.days")
    parser.add_argument("--seed", type=_int_option("--seed", 0, 2**32 - 1), default=0, metavar="S")
    parser.add_argument("--json", action="store_true")


def _service_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--service-ms", type=_float_option("--service-ms", 1e-6, 1e7), metavar="S",
                        required=required, help="mean service time per request (ms)")
    parser.add_argument("--service-cv", type=_float_option("--service-cv", 0.0, 10.0), default=1.0, metavar="CV",
                        help="coefficient of variation of the service time (default 1)")
    parser.add_argument("--dist", choices=("exponential", "deterministic", "lognormal", "gamma"),
                        default="exponential", help="service-time distribution (default exponential)")


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


def _service(args: argparse.Namespace) -> Distribution:
    if args.dist in ("lognormal", "gamma") and args.service_cv == 0:
        raise UsageError(f"--service-cv: 0 is not allowed for a {args.dist} distribution; must be > 0 "
                         "(use --dist deterministic for a fixed service time)")
    return Distribution(dist=args.dist, mean=args.service_ms, cv=args.service_cv)


def cmd_serving(args: argparse.Namespace) -> int:
    missing = [flag for flag, value in (("--arrival-rps", args.arrival_rps), ("--service-ms", args.service_ms),
                                        ("--replicas", args.replicas)) if value is None]
    if missing:
        raise UsageError(f"serving needs {', '.join(missing)} (or use `mlorg serving plan`)")
    service, servers = _service(args), args.replicas * args.concurrency
    utilisation = args.arrival_rps * args.service_ms / 1000.0 / servers
    if utilisation >= 1:
        raise UsageError(f"unstable queue: utilisation {utilisation:.3f} >= 1 ({args.arrival_rps:g} requests/s "
                         f"need more than {servers} servers of {args.service_ms:g} ms); the queue would grow "
                         "without bound, so it is not simulated")
    simulated = simulate_queue(args.arrival_rps, service, servers, args.requests, args.seed).summary()
    out = {**simulated, "servers": servers, "analytic": analytic_figures(args.arrival_rps, service, servers)}
    if args.json:
        print(json.dumps(out, allow_nan=False))
        return 0
    shape = f" (cv {service.cv:g})" if service.dist in ("lognormal", "gamma") else ""
    print(f"{args.requests:,} requests (the first 10% discarded as warm-up) at {args.arrival_rps:g}/s, "
          f"{args.dist} service of {args.service_ms:g} ms"
          f"{shape}, {servers} server{'' if servers == 1 else 's'}\n")
    rows = [("figure", "simulated", "analytic")]
    for key in ("utilization", "p_wait", "mean_wait_ms", "p50_ms", "p95_ms", "p99_ms"):
        formula = out["analytic"].get(key) if out["analytic"] else None
        rows.append((key, _fmt(simulated[key]), "" if formula is None else _fmt(formula)))
    print(_columns(rows))
    if not out["analytic"]:
        print("\n(no closed form for this queue: the figures are the simulation's)")
    return 0


def analytic_figures(arrival_rps: float, service: Distribution, servers: int) -> dict | None:
    """Closed-form figures where theory gives them: M/M/c (Erlang C) or M/G/1 (Pollaczek–Khinchine)."""
    mean_s = service.mean / 1000.0
    rate = 1.0 / mean_s
    if service.dist == "exponential":
        return {"utilization": arrival_rps * mean_s / servers, "p_wait": erlang_c(arrival_rps, rate, servers),
                "mean_wait_ms": 1000.0 * mmc_mean_wait(arrival_rps, rate, servers),
                "p50_ms": 1000.0 * mmc_response_percentile(arrival_rps, rate, servers, 0.50),
                "p95_ms": 1000.0 * mmc_response_percentile(arrival_rps, rate, servers, 0.95),
                "p99_ms": 1000.0 * mmc_response_percentile(arrival_rps, rate, servers, 0.99)}
    if servers == 1:
        _, variance = distribution_moments(service)
        return {"utilization": arrival_rps * mean_s, "p_wait": arrival_rps * mean_s,
                "mean_wait_ms": 1000.0 * pk_mean_wait(arrival_rps, mean_s, variance / 1e6)}
    return None


def cmd_serving_plan(args: argparse.Namespace) -> int:
    service = _service(args)
    instances = load_instances()
    try:
        best = cheapest(args.peak_rps, service, args.slo_p99_ms, instances, args.concurrency)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if best is None:
        floor = service_percentile(service, 0.99)
        raise UsageError(f"no configuration meets p99 <= {args.slo_p99_ms:g} ms: the service time alone has a p99 "
                         f"of {floor:.3g} ms")
    instance = next(i for i in instances if i.name == best.instance)
    table = tradeoff(args.peak_rps, service, instance, concurrency=args.concurrency)
    if args.json:
        print(json.dumps({"cheapest": _option_json(best), "tradeoff": [_option_json(o) for o in table]},
                         allow_nan=False))
        return 0
    print(f"cheapest meeting p99 <= {args.slo_p99_ms:g} ms at {args.peak_rps:g} requests/s: {best.replicas} x "
          f"{best.instance} (${best.usd_per_hour:.3f}/hour, ${best.usd_per_month:,.0f}/month), "
          f"p99 {best.p99_ms:.1f} ms, utilisation {best.utilisation:.0%}\n")
    rows = [("replicas", "servers", "utilisation", "p99 ms", "$/hour", "$/month", "meets SLO")]
    for o in table:
        rows.append((str(o.replicas), str(o.servers), f"{o.utilisation:.0%}", _fmt(o.p99_ms), f"{o.usd_per_hour:.3f}",
                     f"{o.usd_per_month:,.0f}", "yes" if o.p99_ms <= args.slo_p99_ms else "no"))
    print(f"cost / latency trade-off on {instance.name}:")
    print(_columns(rows))
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    shift = shift_from_psi(args.drift_size) if args.drift_kind == "psi" else args.drift_size
    traffic = args.traffic_per_hour if args.traffic_per_hour is not None else args.window / args.cadence_hours
    threshold = args.threshold if args.threshold is not None else default_threshold(args.detector)
    try:
        monitor = Monitor(detector=args.detector, threshold=threshold, window=args.window,
                          cadence_hours=args.cadence_hours, traffic_per_hour=traffic, bins=args.bins)
    except ValueError as exc:
        raise UsageError(f"--{str(exc).replace('_', '-')}") from None
    point = operating_point(monitor, shift)
    points = sweep(monitor, shift) if args.sweep else []
    best = meets_budget(points, args.budget) if args.sweep else None
    if args.json:
        out = _point_json(point)
        if args.sweep:
            out["sweep"] = [_point_json(p) for p in points]
            out["budget"] = {"false_alarms_per_month": args.budget,
                             "threshold": best.threshold if best else None}
        print(json.dumps(out, allow_nan=False))
        return 0
    checks = "observation" if args.detector in SEQUENTIAL_DETECTORS else "check"
    print(f"{args.detector} at threshold {threshold:g}: window {args.window:,} samples every {args.cadence_hours:g} h "
          f"at {traffic:g} samples/h; drift of {shift:.3g}σ per sample"
          + (f" (population PSI {args.drift_size:g})" if args.drift_kind == "psi" else "") + "\n")
    rows = [("figure", "value"),
            (f"false alarm probability per {checks}", _fmt(point.false_alarm_probability)),
            ("false alarms per month", _fmt(point.false_alarms_per_month)),
            ("ARL0 (samples between false alarms)", _fmt(point.arl0_samples)),
            ("detection lag (hours, drift at a random moment)", _fmt(point.detection_lag_hours)),
            ("detection lag (samples)", _fmt(point.detection_lag_samples)),
            ("worst-case lag (samples)", _fmt(point.worst_case_lag_samples)),
            ("optimal CUSUM delay at the same ARL0 (samples)", _fmt(point.optimal_delay_samples)),
            ("ln(ARL0) / KL, its first-order approximation", _fmt(point.lorden_approx_samples))]
    print(_columns(rows))
    if not math.isfinite(point.arl0_samples):
        print("\nno false alarm is expected at this threshold, so there is no finite ARL0 to compare with")
    if args.sweep:
        print(f"\nlag vs false alarms over thresholds ({args.detector}):")
        table = [("threshold", "false alarms/month", "lag hours", "lag samples", "optimal samples")]
        for p in points:
            table.append((f"{p.threshold:.4g}", _fmt(p.false_alarms_per_month), _fmt(p.detection_lag_hours),
                          _fmt(p.detection_lag_samples), _fmt(p.optimal_delay_samples)))
        print(_columns(table))
        if best is None:
            print(f"\nno threshold swept keeps false alarms within {args.budget:g} per month")
        else:
            print(f"\nwithin {args.budget:g} false alarm(s) per month: threshold {best.threshold:.4g} detects in "
                  f"{_fmt(best.detection_lag_hours)} hours with {_fmt(best.false_alarms_per_month)} false alarms "
                  "per month")
    return 0


def cmd_pipeline_run(args: argparse.Namespace) -> int:
    from mlorg.pipeline.run import run_pipeline  # the pipeline pulls in scikit-learn: only load it when asked

    scenario = load(args.file)
    progress = None if args.json or not sys.stderr.isatty() else _day_progress
    try:
        result = run_pipeline(scenario, args.db, seed=args.seed, days=args.days, progress=progress)
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
            ("fraud losses (USD)", f"{result.fraud_losses_usd:,.0f}"),
            ("the same days with no monitoring (USD)", f"{result.fraud_losses_usd_without_monitoring:,.0f}"),
            ("real-time scorer p50 / p99 (ms)", f"{_fmt(result.scorer_p50_ms)} / {_fmt(result.scorer_p99_ms)}")]
    print(_columns(rows))
    print("\nweek by week:")
    table = [("week", "from day", "AUC", "recall", "alert rate", "losses USD", "champion")]
    for w in result.weekly.itertuples():
        table.append((str(w.week), str(w.start_day), _fmt(w.auc), _fmt(w.recall), f"{w.alert_rate:.3%}",
                      f"{w.losses_usd:,.0f}", f"v{w.champion}"))
    print(_columns(table))
    if result.detection_lag_days:
        print("\ndays from each injected cause to each monitor's first alert:")
        for cause, lags in result.detection_lag_days.items():
            found = ", ".join(f"{m} {v:g}" for m, v in lags.items() if v is not None) or "no monitor fired"
            print(f"  {cause}: {found}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from mlorg.pipeline.calibrate import calibrate  # scikit-learn again: only when asked

    scenario = load(args.file)
    progress = None if args.json or not sys.stderr.isatty() else _day_progress
    try:
        result = calibrate(scenario, seed=args.seed, days=args.days, progress=progress)
    except (ValueError, NotImplementedError) as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_json(), allow_nan=False))
        return 0
    print(f"{scenario.name}: the simulator's model against the reference pipeline, seed {args.seed}\n")
    table = [("monitor", "cause", "shift", "lag measured", "lag predicted (90% range)", "false alarms/month",
              "predicted")]
    for r in result.monitors.itertuples():
        table.append((f"{r.monitor} ({r.detector})", r.cause, f"{_fmt(r.shift_before)} → {_fmt(r.shift_after)}",
                      "never" if math.isnan(r.measured_lag_days) else f"{r.measured_lag_days:g} d",
                      _lag_range(r.predicted_lag_days, r.predicted_lag_p05_days, r.predicted_lag_p95_days),
                      f"{r.measured_false_alarms_per_month:.2f} ({r.measured_false_alarms} in {r.checks} days)",
                      f"{r.predicted_false_alarms_per_month:.2f}"))
    print(_columns(table))
    print("\nshift: the monitored signal before → after the cause, in the model's units (σ of the alert rate or of "
          "a feature; share of recall lost). Lags count days from the cause to the first alarm the same days without "
          "it would not have raised.")
    print("\nreal-time scorer (online features + tree walk), measured, against the serving model (M/G/1 at the "
          "pipeline's traffic, fed the measured service time):")
    latency = [("quantile", "measured ms", "predicted ms")]
    latency += [(f"p{round(q * 100)}", _fmt(m), _fmt(p)) for q, m, p in result.latency.itertuples(index=False)]
    print(_columns(latency))
    return 0


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
    with _registry(args) as registry:
        problems = registry.verify()
    if args.json:
        print(json.dumps({"ok": not problems, "problems": problems}))
    else:
        for problem in problems:
            print(f"mlorg: {problem}", file=sys.stderr)
        if not problems:
            print(f"{args.db}: every artifact matches its hash")
    return EXIT_FAILED_CHECK if problems else 0


def _day_progress(done: int, total: int) -> None:
    bar = "#" * (30 * done // total)
    print(f"\r[{bar:<30}] day {done}/{total}", end="" if done < total else "\n", file=sys.stderr)


def _point_json(p: OperatingPoint) -> dict:
    return {"detector": p.detector, "threshold": p.threshold, "shift_sd": p.shift,
            "false_alarm_probability": _finite_or_none(p.false_alarm_probability),
            "detection_lag_samples": _finite_or_none(p.detection_lag_samples),
            "detection_lag_hours": _finite_or_none(p.detection_lag_hours),
            "worst_case_lag_samples": _finite_or_none(p.worst_case_lag_samples),
            "false_alarms_per_month": _finite_or_none(p.false_alarms_per_month),
            "arl0_samples": _finite_or_none(p.arl0_samples),
            "optimal_delay_samples": _finite_or_none(p.optimal_delay_samples),
            "lorden_approx_samples": _finite_or_none(p.lorden_approx_samples)}


def _option_json(o) -> dict:
    return {"instance": o.instance, "replicas": o.replicas, "servers": o.servers, "utilisation": o.utilisation,
            "p99_ms": o.p99_ms if math.isfinite(o.p99_ms) else None, "usd_per_hour": o.usd_per_hour,
            "usd_per_month": o.usd_per_month}


def _columns(rows: list[tuple[str, ...]]) -> str:
    """Rows as aligned text columns: the first left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells))
    return "\n".join(lines)


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


# ---------------------------------------------------------------------------------- sweeps and goal-seeking

SWEEP_SHOWN_METRICS = ("ttp_days_median", "ttp_days_p90", "models_shipped", "total_cost_usd")


def add_sweep_commands(sub) -> None:
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
    sensitivity.add_argument("--spread", type=_float_option("--spread", 1e-6, 1.0), default=0.2, metavar="F",
                             help="relative change of each input (default 0.2: ±20%%)")
    sensitivity.add_argument("--input", action="append", dest="inputs", metavar="PATH",
                             help="vary only this input (repeatable; default: every numeric input that can matter)")
    sensitivity.set_defaults(handler=cmd_sensitivity)

    optimise = sub.add_parser(
        "optimise", help="the cheapest grid cell that meets a target with 95% confidence",
        description="Sweep a grid and pick the cell with the lowest mean --minimise metric among those whose "
                    "--target holds at the one-sided 95% confidence bound; exit 1 when none does.")
    _vary_option(optimise)
    optimise.add_argument("--target", required=True, metavar="METRIC<=VALUE",
                          help="e.g. ttp_days_p90<=30 (also <, >=, >)")
    optimise.add_argument("--minimise", default="total_cost_usd", metavar="NAME",
                          help="metric to minimise (default total_cost_usd)")
    optimise.add_argument("--runners-up", type=_int_option("--runners-up", 0, 100), default=3, metavar="K")
    optimise.set_defaults(handler=cmd_optimise)
    for command in (sweep_cmd, sensitivity, optimise):
        _execution_options(command)


def _vary_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vary", action="append", required=True, metavar="PATH=VALUES",
                        help="a field and its values, e.g. org.ml_engineers=0..8 or org.platform_engineers=0,3 "
                             "(repeatable: the grid is every combination)")


def _execution_options(parser: argparse.ArgumentParser) -> None:
    from mlorg.sweeps import BACKENDS, DEFAULT_TIMEOUT_S

    parser.add_argument("file", type=Path, metavar="SCENARIO")
    parser.add_argument("--replications", type=_int_option("--replications", 1, MAX_REPLICATIONS), default=10,
                        metavar="N", help="replications of every cell (default 10)")
    parser.add_argument("--seed", type=_int_option("--seed", 0, 2**63 - 1), default=0, metavar="S")
    parser.add_argument("--horizon-days", type=_float_option("--horizon-days", 1, 36500), metavar="D",
                        help="override the scenario's horizon_days")
    parser.add_argument("--backend", choices=BACKENDS, metavar="|".join(BACKENDS),
                        help="where runs execute: a local process pool (default), this process, or Dask")
    parser.add_argument("--workers", type=_int_option("--workers", 1, 1024), metavar="N",
                        help="processes of the pool (default: every core), or of a local Dask cluster (default 2)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies --backend dask; default: a local "
                             "cluster)")
    parser.add_argument("--timeout", type=_float_option("--timeout", 1e-3, 1e7), default=DEFAULT_TIMEOUT_S,
                        metavar="SECONDS", help=f"longest one run may take on a pool or cluster (default "
                                                f"{DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--json", action="store_true")


def _sweep_context(args: argparse.Namespace) -> tuple:
    """The scenario (horizon overridden and checked) and the execution keywords of a sweep command."""
    from mlorg.scenario import validate

    scenario = load(args.file)
    if args.horizon_days is not None:
        try:
            scenario = validate(scenario.replace(horizon_days=args.horizon_days))
        except ScenarioError as exc:
            raise ScenarioError([f"--horizon-days: {m}" for m in exc.messages]) from None
    backend = args.backend or ("dask" if args.scheduler else "process")
    if args.scheduler and backend != "dask":
        raise UsageError(f"--scheduler: only the dask backend uses a scheduler (--backend is {backend})")
    progress = None if args.json or not sys.stderr.isatty() else _runs_progress
    return scenario, {"backend": backend, "workers": args.workers, "scheduler": args.scheduler,
                      "progress": progress, "timeout": args.timeout}


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
        raise UsageError("\n".join(_flag_prefixed(m) for m in exc.messages)) from None
    except ScenarioError as exc:
        raise ScenarioError([f"--vary {m}" for m in exc.messages]) from None


def _flag_prefixed(message: str) -> str:
    """A library message names its argument (``metric: …``); the CLI names the flag (``--metric: …``)."""
    flags = ("metric", "minimise", "target", "inputs", "replications", "backend", "workers", "scheduler", "out")
    name, sep, _ = message.partition(":")
    return f"--{'input' if name == 'inputs' else name}{message[len(name):]}" if sep and name in flags else message


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
        cells.append({"cell": int(cell), "values": {p: _json_value(first[p]) for p in params},
                      "metrics": _metrics_json(group.set_index("metric"))})
    return {"scenario": table.attrs["scenario"], "seed": args.seed, "replications": args.replications,
            "parameters": params, "cells": cells, "out": str(args.out) if args.out else None}


def _json_value(value):
    """A numpy scalar from a table as a plain JSON value."""
    value = value.item() if hasattr(value, "item") else value
    return _finite_or_none(value) if isinstance(value, float) else value


def _cells_table(summary, params: list[str], shown: list[str]) -> str:
    rows = [(*params, *shown)]
    for _, group in summary.groupby("cell", sort=True):
        by_metric = group.set_index("metric")
        values = [_cell_text(group.iloc[0][p]) for p in params]
        figures = []
        for name in shown:
            row = by_metric.loc[name]
            ci = f" [{_fmt(row['ci95_low'])}, {_fmt(row['ci95_high'])}]" if math.isfinite(row["ci95_low"]) else ""
            figures.append(_fmt(row["mean"]) + ci)
        rows.append((*values, *figures))
    return _columns(rows)


def _cell_text(value) -> str:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from mlorg.sweeps import sensitivity

    scenario, execution = _sweep_context(args)
    table = _sweep_call(sensitivity, scenario, args.metric, args.spread, args.replications, args.seed,
                        inputs=args.inputs, **execution)
    if args.json:
        print(json.dumps({"scenario": scenario.name, "metric": args.metric, "spread": args.spread,
                          "seed": args.seed, "replications": args.replications,
                          "inputs": [{k: _json_value(v) for k, v in row.items()}
                                     for row in table.to_dict(orient="records")]}, allow_nan=False))
        return 0
    base = table["base_mean"].iloc[0] if len(table) else math.nan
    print(f"{scenario.name}: {args.metric} = {_fmt(base)} at the base ({args.replications} replications, seed "
          f"{args.seed}); each input x (1 ± {args.spread:g}) in turn, ranked by swing = (at high) - (at low), "
          "95% CIs paired on common random numbers\n")
    print(_tornado_text(table))
    return 0


def _tornado_text(table) -> str:
    widest = table["swing_mean"].abs().max() if len(table) else 0.0
    rows = [("rank", "input", "base", "low", "high", "low - base", "high - base", "swing [95% CI]", "")]
    for r in table.itertuples(index=False):
        bar = "#" * round(20 * abs(r.swing_mean) / widest) if widest > 0 and math.isfinite(r.swing_mean) else ""
        rows.append((str(r.rank), r.input, _cell_text(r.base_value), _side_text(r.low_value),
                     _side_text(r.high_value), _fmt(r.low_delta_mean), _fmt(r.high_delta_mean),
                     f"{_fmt(r.swing_mean)} [{_fmt(r.swing_ci95_low)}, {_fmt(r.swing_ci95_high)}]", bar))
    return _columns(rows)


def _side_text(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else _cell_text(value)


def cmd_optimise(args: argparse.Namespace) -> int:
    from mlorg.sweeps import optimise

    scenario, execution = _sweep_context(args)
    grid = _grid(args)
    result = _sweep_call(optimise, scenario, grid, args.target, args.minimise, args.replications, args.seed,
                         runners_up=args.runners_up, **execution)
    params = result.parameters
    if args.json:
        print(json.dumps(_optimum_json(result, params), allow_nan=False))
        return 0 if result.best is not None else EXIT_FAILED_CHECK
    bound = "upper" if result.target.upper else "lower"
    if result.best is None:
        print(f"no cell meets {result.target} with 95% confidence ({bound} bound); every cell's evidence:\n")
    else:
        b = result.best
        print(f"cheapest cell meeting {result.target} with 95% confidence: {_cell_label(b, params)}\n"
              f"  {result.minimise} {_fmt(b['objective_mean'])} [{_fmt(b['objective_ci95_low'])}, "
              f"{_fmt(b['objective_ci95_high'])}]; {result.target.metric} {_fmt(b['target_mean'])} "
              f"({bound} bound {_fmt(b['target_bound'])})")
        for r in result.runners_up.to_dict(orient="records"):
            print(f"  runner-up {_cell_label(r, params)}: {result.minimise} +{_fmt(r['extra_mean'])} "
                  f"[{_fmt(r['extra_ci95_low'])}, {_fmt(r['extra_ci95_high'])}] more (paired), "
                  f"{result.target.metric} {_fmt(r['target_mean'])} ({bound} bound {_fmt(r['target_bound'])})")
        print()
    rows = [(*params, f"{result.target.metric} mean", f"{bound} bound", "meets", f"{result.minimise} mean")]
    for r in result.cells.to_dict(orient="records"):
        rows.append((*(_cell_text(r[p]) for p in params), _fmt(r["target_mean"]), _fmt(r["target_bound"]),
                     "yes" if r["meets_target"] else "no", _fmt(r["objective_mean"])))
    print(_columns(rows))
    return 0 if result.best is not None else EXIT_FAILED_CHECK


def _cell_label(row, params: list[str]) -> str:
    return ", ".join(f"{p}={_cell_text(row[p])}" for p in params)


def _optimum_json(result, params: list[str]) -> dict:
    def record(row) -> dict:
        return {"values": {p: _json_value(row[p]) for p in params},
                **{k: _json_value(v) for k, v in row.items() if k not in params}}

    return {"target": str(result.target), "minimise": result.minimise, "confidence": result.confidence,
            "best": record(result.best) if result.best is not None else None,
            "runners_up": [record(r) for r in result.runners_up.to_dict(orient="records")],
            "cells": [record(r) for r in result.cells.to_dict(orient="records")]}


def _runs_progress(done: int, total: int) -> None:
    bar = "#" * (30 * done // total)
    print(f"\r[{bar:<30}] {done}/{total} runs", end="" if done < total else "\n", file=sys.stderr)



if __name__ == "__main__":
    sys.exit(main())
