"""``mlorg serve``: the registry's champion over HTTP; ``mlorg loadtest``: open-loop Poisson load against it."""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import sys
import time
from pathlib import Path

from mlorg.cli.options import UsageError, default_registry, float_option, int_option, json_option, seed_option
from mlorg.cli.output import columns, fmt, write_whole
from mlorg.serve.loadtest import MAX_DURATION_S, MAX_RATE, LoadTestError, loadtest
from mlorg.serve.process import LOOPBACK, start_server, stop_server

MAX_WORKERS = 8


def add_commands(sub) -> None:
    serve = sub.add_parser(
        "serve", help="serve the registry's champion over HTTP (POST /score, GET /health, GET /metrics)",
        description="Serve the model the registry's 'champion' alias points to, checked by the registry's key before "
                    "it is loaded, on 127.0.0.1 unless told otherwise. Ctrl-C stops it.")
    serve.add_argument("--db", type=Path, default=default_registry(), metavar="PATH",
                       help="registry DuckDB file (default data/pipeline.duckdb or $MLORG_REGISTRY_DB)")
    serve.add_argument("--host", default=LOOPBACK, help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int_option("--port", 1, 65535), default=8000, metavar="P",
                       help="port (default 8000)")
    serve.add_argument("--workers", type=int_option("--workers", 1, MAX_WORKERS), default=1, metavar="N",
                       help=f"server processes (default 1, at most {MAX_WORKERS})")
    serve.set_defaults(handler=cmd_serve)

    load = sub.add_parser(
        "loadtest", help="open-loop Poisson load against a server on this machine: throughput, p50/p95/p99, errors",
        description="Send POST requests at Poisson arrival times (whatever the server's state: a closed loop would "
                    "hide the queue) for --duration seconds, each on its own connection, and time every answer. "
                    "Loopback only.")
    load.add_argument("url", metavar="URL", help="e.g. http://127.0.0.1:8000/score")
    load.add_argument("--rate", type=float_option("--rate", 1e-3, MAX_RATE), required=True, metavar="R",
                      help=f"requests a second (at most {MAX_RATE:g})")
    load.add_argument("--duration", type=float_option("--duration", 1e-3, MAX_DURATION_S), required=True,
                      metavar="S", help=f"seconds of load (at most {MAX_DURATION_S:g})")
    load.add_argument("--timeout", type=float_option("--timeout", 1e-3, 60.0), default=5.0, metavar="S",
                      help="seconds a request may take before it counts as an error (default 5)")
    load.add_argument("--body", type=Path, metavar="FILE",
                      help="JSON body to send (default: one transaction's features for the reference model)")
    seed_option(load)
    json_option(load)
    load.set_defaults(handler=cmd_loadtest)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mlorg.serve.app import DB_ENV, champion_app

    app = champion_app(str(args.db))  # in this process first: a missing or failing model is one line, not 8
    _check_port(args.host, args.port)
    where = f"http://{args.host}:{args.port}"
    if args.host != LOOPBACK:
        print(f"mlorg: warning: serving on {args.host}, reachable from other machines", file=sys.stderr)
    print(f"Serving model {app.version} of {args.db} at {where} (POST /score, GET /health, GET /metrics) with "
          f"{args.workers} worker(s); Ctrl-C stops it.", flush=True)
    options = {"host": args.host, "port": args.port, "log_level": "warning", "access_log": False}
    try:
        if args.workers == 1:
            uvicorn.run(app, **options)
        else:
            os.environ[DB_ENV] = str(Path(args.db).resolve())  # each worker process loads the model itself
            uvicorn.run("mlorg.serve.app:create_app", factory=True, workers=args.workers, **options)
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        raise UsageError(f"--port: cannot serve on {args.host}:{args.port} (in use, or not allowed)") from exc
    return 0


def _check_port(host: str, port: int) -> None:
    """Refuse a port another process holds in one line, before uvicorn logs its own."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(f"--port: cannot serve on {host}:{port} ({exc.strerror or exc})") from None


def cmd_loadtest(args: argparse.Namespace) -> int:
    body = None
    if args.body is not None:
        try:
            body = args.body.read_bytes()[:1_000_001]
        except OSError as exc:
            raise UsageError(f"--body: cannot read {args.body} ({exc.strerror or exc})") from None
        if len(body) > 1_000_000:
            raise UsageError(f"--body: {args.body} is over 1 MB")
    try:
        result = loadtest(args.url, args.rate, args.duration, body=body, seed=args.seed, request_timeout=args.timeout)
    except LoadTestError as exc:
        raise UsageError(str(exc)) from None
    summary = result.summary()
    if args.json:
        print(json.dumps({"url": args.url, "rate": args.rate, "duration_s": args.duration, "seed": args.seed,
                          **summary}))
        return 0
    print(f"{summary['requests']:,} requests to {args.url} at {args.rate:g}/s for {args.duration:g} s "
          "(Poisson arrivals, open loop)\n")
    rows = [("figure", "value"),
            ("answered 200", f"{summary['ok']:,}"), ("errors", f"{summary['errors']:,}"),
            ("throughput (answered/s)", fmt(summary["throughput_rps"])),
            *((f"p{q} latency (ms)", fmt(summary[f"p{q}_ms"])) for q in (50, 95, 99)),
            ("generator lateness p99 (ms)", fmt(summary["generator_lateness_p99_ms"]))]
    print(columns(rows))
    return 0


# ------------------------------------------------------------------------------------------ calibrate --serving

def cmd_calibrate_serving(args: argparse.Namespace) -> int:
    from mlorg.serve import check
    from mlorg.serve.app import champion_app

    champion_app(str(args.db))  # here first: a missing registry or a failing model is one line
    try:
        process, port = start_server(args.db)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    url = f"http://{LOOPBACK}:{port}/score"
    try:
        base = check.low_load(url, process.pid, args.seconds, seed=args.seed)
        curve = check.service_curve(url, process.pid, max(1.0, args.seconds / 2), seed=args.seed)
        levels = check.check_levels(url, process.pid, base, curve, repeats=args.repeats, seconds=args.seconds,
                                    seed=args.seed)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    finally:
        stop_server(process)
    checked = check.to_json(base, curve, levels)
    result = {"registry": str(args.db), "repeats": args.repeats, "seconds": args.seconds, "seed": args.seed,
              "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"), **checked}
    write_whole(check.saved_path(args.db), json.dumps(result, indent=1, allow_nan=False), "--db")
    measured = _write_serving(args, base, curve) if args.write else []
    if args.json:
        print(json.dumps({**result, "written": [f"{m.table}.{m.key}" for m in measured]}, allow_nan=False))
        return 0
    print(f"the serving model against `mlorg serve` (one worker, loopback), {args.repeats} × {args.seconds:g} s "
          "a utilisation\n")
    print(f"low load ({check.LOW_LOAD_RATE:g}/s, {base.requests} requests): latency {fmt(base.latency_mean_ms)} ms "
          f"(cv {base.latency_cv:.2f}) = the server's CPU per request {fmt(base.service_ms)} ms + "
          f"{fmt(base.overhead_ms)} ms outside the queue (overhead)")
    print("the server's CPU per request (the service time) by load: "
          + ", ".join(f"{fmt(s)} ms at {r:g}/s" for r, s in curve) + "\n")
    rows = [("utilisation", "rate/s", "CPU/request", "p50 predicted", "p50 measured", "p99 predicted",
             "p99 measured", "p99 by low-load S", "generator late")]
    for level, row in zip(levels, checked["levels"], strict=True):
        cells = []
        for q in ("p50", "p99"):
            m = row["measured_ms"][q]
            ci = "" if m["ci95_low"] is None else f" [{fmt(m['ci95_low'])}, {fmt(m['ci95_high'])}]"
            cells += [fmt(level.predicted_ms[q]), fmt(m["mean"]) + ci]
        old = level.predicted_low_load_ms["p99"]
        mark = "" if level.checked else " (reported)" if level.utilisation > check.CHECKED_UP_TO else " (late)"
        rows.append((f"{level.utilisation:g}{mark}", f"{level.rate:,.0f}", f"{fmt(level.service_ms_here)} ms",
                     *cells, fmt(old) if math.isfinite(old) else "unstable", f"{fmt(level.lateness_p99_ms)} ms"))
    print(columns(rows))
    print(f"\nms; measured: mean [95% interval] over the repeats (p95 too with --json). Predicted: the overhead plus "
          "the M/G/c response with the service time measured at that load; 'p99 by low-load S' is what the model "
          f"said fed the low-load one. Above utilisation {check.CHECKED_UP_TO:g} the generator competes with the "
          f"server for this machine's cores: reported, not checked; so is a level where the generator fell more than "
          f"{check.GENERATOR_LATE_MS:g} ms behind its schedule (late). Saved for the Serving and cost page: "
          f"{check.saved_path(args.db)}")
    for m in measured:
        print(f"wrote {args.write}: {m.table}.{m.key} = {fmt(m.value)} ({m.how})")
    return 0


def _write_serving(args: argparse.Namespace, base, curve) -> list:
    """The scenario with the measured service time (its real-time fraud class's, at the load the simulator's
    autoscalers aim for) and overhead, written whole."""
    from mlorg.pipeline import calibrated
    from mlorg.scenario import load
    from mlorg.serve import check

    scenario = load(args.file)
    _, index = calibrated.fraud_class(scenario)
    rate = check.rate_for(curve, check.SIMULATOR_UTILISATION)
    service = check.service_at(curve, rate)
    where = "one worker of mlorg serve on this machine"
    measured = [calibrated.Measured("serving.realtime", "overhead_ms", base.overhead_ms,
                                    f"latency outside the queue at low load, {where}"),
                calibrated.Measured(f"portfolio[{index}]" if index >= 0 else "serving.realtime", "service_ms", service,
                                    f"the server's CPU per request at {rate:,.0f} requests/s (utilisation "
                                    f"{check.SIMULATOR_UTILISATION:g}), {where}")]
    text = calibrated.write(scenario, measured, f"mlorg calibrate --serving on {args.db}")
    write_whole(args.write, text, "--write")
    return measured
