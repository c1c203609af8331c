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
    pipeline_run.add_argument("file", nargs="?", type=Path, default=DEFAULT_PIPELINE_SCENARIO, metavar="SCENARIO",
                              help="scenario file (default scenarios/fraud_drift.toml)")
    pipeline_run.add_argument("--days", type=_int_option("--days", 30, 730), metavar="D",
                              help="override pipeline.days")
    pipeline_run.add_argument("--db", type=Path, default=DEFAULT_PIPELINE_DB, metavar="PATH",
                              help="registry DuckDB file (default data/pipeline.duckdb)")
    pipeline_run.add_argument("--seed", type=_int_option("--seed", 0, 2**32 - 1), default=0, metavar="S")
    pipeline_run.add_argument("--json", action="store_true")
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
    return parser


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


if __name__ == "__main__":
    sys.exit(main())
