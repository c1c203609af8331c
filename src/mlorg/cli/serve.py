"""``mlorg serve``: the registry's champion over HTTP; ``mlorg loadtest``: open-loop Poisson load against it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mlorg.cli.options import UsageError, default_registry, float_option, int_option, json_option, seed_option
from mlorg.cli.output import columns, fmt
from mlorg.serve.loadtest import MAX_DURATION_S, MAX_RATE, LoadTestError, loadtest

MAX_WORKERS = 8
LOOPBACK = "127.0.0.1"


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
