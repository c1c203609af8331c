"""``mlorg serving`` and ``mlorg serving plan``: a fleet's latency, simulated per request and by formula, and the
cheapest fleet that meets a p99 SLO."""

from __future__ import annotations

import argparse
import json
import math

from mlorg import formatting
from mlorg.cli.options import UsageError, input_option, json_option, seed_option
from mlorg.cli.output import columns, fmt
from mlorg.scenario import Distribution
from mlorg.serving.analytic import analytic_figures
from mlorg.serving.capacity import PlanError, load_instances, plan, tradeoff
from mlorg.serving.kernel import simulate_queue


def add_commands(sub) -> None:
    serving = sub.add_parser("serving", help="latency of a serving fleet: simulated per request, and by formula",
                             description="Simulate requests through c replicas x concurrency servers (FCFS) and "
                                         "print latency figures, with the analytic ones where a formula applies.")
    serving.add_argument("--arrival-rps", type=input_option("--arrival-rps", "arrival_rps"), metavar="R",
                         help="requests per second (Poisson arrivals)")
    _service_options(serving, required=False)  # not required when the `plan` subcommand follows
    serving.add_argument("--replicas", type=input_option("--replicas", "replicas"), metavar="C")
    serving.add_argument("--concurrency", type=input_option("--concurrency", "concurrency"), default=1, metavar="K",
                         help="requests one replica serves at once (default 1)")
    serving.add_argument("--requests", type=input_option("--requests", "requests"), default=1_000_000,
                         metavar="N", help="requests to simulate (default 1,000,000)")
    seed_option(serving)
    json_option(serving)
    serving.set_defaults(handler=cmd_serving)
    serving_sub = serving.add_subparsers(dest="serving_command", metavar="plan")
    plan = serving_sub.add_parser("plan", help="cheapest instance type and replica count meeting a p99 SLO")
    plan.add_argument("--peak-rps", type=input_option("--peak-rps", "arrival_rps"), required=True, metavar="R")
    _service_options(plan, required=True)
    plan.add_argument("--slo-p99-ms", type=input_option("--slo-p99-ms", "slo_p99_ms"), required=True, metavar="L")
    plan.add_argument("--concurrency", type=input_option("--concurrency", "concurrency"), metavar="K",
                      help="requests one replica serves at once (default: its vCPU count)")
    json_option(plan)
    plan.set_defaults(handler=cmd_serving_plan)


def _service_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--service-ms", type=input_option("--service-ms", "service_ms"), metavar="S",
                        required=required, help="mean service time per request (ms)")
    parser.add_argument("--service-cv", type=input_option("--service-cv", "service_cv"), default=1.0, metavar="CV",
                        help="coefficient of variation of the service time (default 1)")
    parser.add_argument("--dist", choices=("exponential", "deterministic", "lognormal", "gamma"),
                        default="exponential", help="service-time distribution (default exponential)")


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
          f"{args.dist} service of {args.service_ms:g} ms{shape}, {formatting.quantity(servers, 'server')}\n")
    rows = [("figure", "simulated", "analytic")]
    for key in ("utilization", "p_wait", "mean_wait_ms", "p50_ms", "p95_ms", "p99_ms"):
        formula = out["analytic"].get(key) if out["analytic"] else None
        rows.append((key, fmt(simulated[key]), "" if formula is None else fmt(formula)))
    print(columns(rows))
    if not out["analytic"]:
        print("\n(no closed form for this queue: the figures are the simulation's)")
    return 0


def cmd_serving_plan(args: argparse.Namespace) -> int:
    service = _service(args)
    instances = load_instances()
    try:
        found = plan(args.peak_rps, service, args.slo_p99_ms, instances, args.concurrency)
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    if found.best is None:
        raise UsageError(f"--slo-p99-ms: {args.slo_p99_ms:g} ms cannot be planned: {found.reason}")
    best = found.best
    instance = next(i for i in instances if i.name == best.instance)
    table = tradeoff(args.peak_rps, service, instance, concurrency=args.concurrency, slo_p99_ms=args.slo_p99_ms)
    if args.json:
        print(json.dumps({"cheapest": _option_json(best), "tradeoff": [_option_json(o) for o in table],
                          "service_p99_ms": found.floor_ms}, allow_nan=False))
        return 0
    print(f"cheapest meeting p99 <= {args.slo_p99_ms:g} ms at {args.peak_rps:g} requests/s: {best.replicas} x "
          f"{best.instance} (${best.usd_per_hour:.3f}/hour, {formatting.usd(best.usd_per_month)}/month), "
          f"utilisation {best.utilisation:.0%}")
    print(f"  p99 {_p99_text(best.p99_ms, best.p99_se_ms)}; confirmed with other random draws: "
          f"{_p99_text(best.p99_confirmed_ms, best.p99_confirmed_se_ms)}; the service time alone: "
          f"{found.floor_ms:.4g} ms\n")
    rows = [("replicas", "servers", "utilisation", "p99 ms", "$/hour", "$/month", "meets SLO")]
    for o in table:
        meets = "yes" if o.p99_ms <= args.slo_p99_ms else "no"
        rows.append((str(o.replicas), str(o.servers), f"{o.utilisation:.0%}", _p99_text(o.p99_ms, o.p99_se_ms, unit=""),
                     f"{o.usd_per_hour:.3f}", f"{o.usd_per_month:,.0f}", meets))
    print(f"cost / latency trade-off on {instance.name}:")
    print(columns(rows))
    return 0


def _p99_text(p99: float, se: float, unit: str = " ms") -> str:
    """A p99 with its standard error when it was measured (``69.41 ± 0.04 ms``), alone when it is exact."""
    if not math.isfinite(p99):
        return "never (the queue grows without bound)"
    return f"{p99:.4g}{f' ± {se:.2g}' if se > 0 else ''}{unit}"


def _option_json(o) -> dict:
    return {"instance": o.instance, "replicas": o.replicas, "servers": o.servers, "utilisation": o.utilisation,
            "p99_ms": o.p99_ms if math.isfinite(o.p99_ms) else None, "p99_se_ms": o.p99_se_ms,
            "p99_confirmed_ms": o.p99_confirmed_ms if math.isfinite(o.p99_confirmed_ms) else None,
            "p99_confirmed_se_ms": o.p99_confirmed_se_ms if math.isfinite(o.p99_confirmed_se_ms) else None,
            "usd_per_hour": o.usd_per_hour, "usd_per_month": o.usd_per_month}
