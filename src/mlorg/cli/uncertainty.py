"""``mlorg run --uncertainty``, ``mlorg sensitivity --uncertainty`` and ``mlorg decide``: what the figures look like
when the inputs marked uncertain are drawn from their distributions (probabilistic sensitivity analysis)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from mlorg import formatting
from mlorg.cli.options import (
    UsageError,
    execution_keywords,
    execution_options,
    flag_prefixed,
    int_option,
    load_with_horizon,
    progress_bar,
)
from mlorg.cli.output import columns, few_replications_note, finite_or_none, fmt, json_value

FEW_RUNS = 40
INTERVALS = ("95% CI over runs: the simulator's randomness at the point values (mlorg run's interval). 95% with "
             "inputs: where the expected figure lies once the uncertain inputs are drawn too (each draw's interval "
             "over its runs, mixed over the draws; the same as over runs when no input is uncertain).")


def uncertainty_option(parser: argparse.ArgumentParser, text: str) -> None:
    from mlorg.uncertainty import MAX_DRAWS

    parser.add_argument("--uncertainty", type=int_option("--uncertainty", 1, MAX_DRAWS), metavar="N", help=text)


def add_commands(sub) -> None:
    decide = sub.add_parser(
        "decide", help="weigh 2-4 scenarios under their uncertain inputs: expected net value, how often each is best, "
                       "and the expected value of perfect information (EVPI)",
        description="Run each scenario at N draws of its uncertain inputs (an input uncertain in several scenarios "
                    "draws the same values in each), and print each option's expected --metric (higher is better), "
                    "how often it is the best, the option to choose now, and what learning the inputs before "
                    "choosing would be worth: in all (EVPI) and input by input (EVPPI).")
    decide.add_argument("files", nargs="+", type=Path, metavar="SCENARIO")
    decide.add_argument("--uncertainty", type=int_option("--uncertainty", 2, 10_000), default=50, metavar="N",
                        help="draws of the uncertain inputs (default 50)")
    decide.add_argument("--metric", default="net_value_usd", metavar="NAME",
                        help="what the options are weighed on, higher being better (default net_value_usd)")
    execution_options(decide)
    decide.set_defaults(handler=cmd_decide)


def _call(function, *args, **kwargs):
    """A library call whose argument errors name the command's flags (``--uncertainty``, ``--metric``)."""
    from mlorg.sweeps import SweepError

    try:
        return function(*args, **kwargs)
    except SweepError as exc:
        raise UsageError("\n".join(flag_prefixed(m) for m in exc.messages)) from None


def _inputs_text(scenario) -> str:
    if not scenario.uncertain:
        return "no input is uncertain: both intervals are mlorg run's (mark an input with uncertain = { dist = ... })"
    width = max(len(u.path) for u in scenario.uncertain)
    return "uncertain inputs:\n" + "\n".join(f"  {u.path:<{width}}  {u.describe()}" for u in scenario.uncertain)


def cmd_run_uncertain(args: argparse.Namespace, scenario) -> int:
    """``mlorg run FILE --uncertainty N``: the metrics table with both intervals side by side."""
    from mlorg.uncertainty import run_uncertain

    if args.save:
        raise UsageError("--save: not allowed with --uncertainty; saved runs hold point values (run without "
                         "--uncertainty to save them)")
    # A process pool's start-up (seconds) outweighs a few dozen runs: those run here.
    workers = 1 if args.uncertainty * args.replications <= FEW_RUNS else None
    runs = _call(run_uncertain, scenario, args.uncertainty, args.replications, args.seed, allow_large=args.allow_large,
                 workers=workers, progress=progress_bar("runs", show=not args.json))
    summary = runs.summary
    if args.json:
        print(json.dumps({
            "scenario": scenario.name, "seed": args.seed, "replications": args.replications,
            "horizon_days": scenario.horizon_days, "draws": args.uncertainty,
            "uncertain_inputs": [{"path": u.path, **u.as_table()} for u in scenario.uncertain],
            "metrics": {name: {k: finite_or_none(row[k]) for k in ("mean", "ci95_low", "ci95_high", "mean_with_inputs",
                                                                    "low_with_inputs", "high_with_inputs")}
                        for name, row in summary.iterrows()}}, allow_nan=False))
        return 0
    draws = (f", and at {args.uncertainty} draws of its {len(scenario.uncertain)} uncertain inputs with "
             f"{args.replications} replications each" if scenario.uncertain else "")
    print(f"{scenario.name}: {scenario.description}\n{args.replications} replications of "
          f"{formatting.days(scenario.horizon_days)} at the point values{draws}, seed {args.seed}\n")
    print(_inputs_text(scenario) + "\n")
    rows = [("metric", "mean", "95% CI over runs", "mean over draws", "95% with inputs")]
    for name, row in summary.iterrows():
        if row["n"] == 0:
            continue
        rows.append((name, fmt(row["mean"]), _interval(row["ci95_low"], row["ci95_high"]),
                     fmt(row["mean_with_inputs"]), _interval(row["low_with_inputs"], row["high_with_inputs"])))
    print(columns(rows) + few_replications_note(args.replications))
    print(f"\n{INTERVALS}")
    return 0


def _interval(low: float, high: float) -> str:
    return f"{fmt(low)} – {fmt(high)}" if math.isfinite(low) and math.isfinite(high) else ""


def cmd_variance_shares(args: argparse.Namespace) -> int:
    """``mlorg sensitivity FILE --uncertainty N``: the uncertain inputs ranked by the variance they explain."""
    from mlorg.sweeps.table import check_metric
    from mlorg.uncertainty import explained_text, run_uncertain, shares_of

    scenario = load_with_horizon(args.file, args.horizon_days)
    _call(check_metric, args.metric)
    if not scenario.uncertain:
        raise UsageError(f"--uncertainty: {args.file} marks no input as uncertain, so there is no variance to share; "
                         "mark the inputs you are unsure of with uncertain = { dist = ..., ... }")
    runs = _call(run_uncertain, scenario, args.uncertainty, args.replications, args.seed, **execution_keywords(args))
    table = shares_of(runs, args.metric)
    attrs = table.attrs
    if args.json:
        print(json.dumps({"scenario": scenario.name, "metric": args.metric, "draws": args.uncertainty,
                          "seed": args.seed, "replications": args.replications, "method": attrs["method"],
                          "explained": json_value(attrs["explained"]), "noise_share": json_value(attrs["noise_share"]),
                          "inputs": [{k: json_value(v) for k, v in row.items()}
                                     for row in table.to_dict(orient="records")]}, allow_nan=False))
        return 0
    means = runs.draw_means(args.metric)
    print(f"{scenario.name}: {args.metric} over {attrs['draws']} draws of the uncertain inputs ({args.replications} "
          f"replications each, seed {args.seed}): mean {fmt(means.mean())}, sd {fmt(math.sqrt(attrs['variance']))} "
          f"between draws\n")
    rows = [("rank", "input", "uncertainty", "share of variance [95% CI]", "rises with it", "")]
    described = {u.path: u.describe() for u in scenario.uncertain}
    for rank, r in enumerate(table.itertuples(index=False), start=1):
        bar = "#" * round(20 * r.share) if math.isfinite(r.share) else ""
        direction = {1.0: "yes", -1.0: "no"}.get(r.direction, "")
        rows.append((str(rank), r.input, described[r.input],
                     f"{_pct(r.share)} [{_pct(r.share_low)}, {_pct(r.share_high)}]", direction, bar))
    print(columns(rows))
    noise = attrs["noise_share"]
    print("\n" + explained_text(table) + (f" The simulator's noise is at most {_pct(noise)} of the variance."
                                          if math.isfinite(noise) else ""))
    print(f"method: {attrs['method']}.")
    return 0


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if math.isfinite(x) else "n/a"


def cmd_decide(args: argparse.Namespace) -> int:
    from mlorg.sweeps.table import check_metric
    from mlorg.uncertainty import decide

    options = [load_with_horizon(path, args.horizon_days) for path in args.files]
    _call(check_metric, args.metric)
    decision = _call(decide, options, args.uncertainty, args.replications, args.seed, metric=args.metric,
                     **execution_keywords(args))
    table, evppi = decision.table, decision.evppi()
    if args.json:
        print(json.dumps({"metric": args.metric, "draws": args.uncertainty, "seed": args.seed,
                          "replications": args.replications, "chosen": decision.chosen,
                          "evpi": json_value(decision.evpi),
                          "options": [{k: json_value(v) for k, v in row.items()}
                                      for row in table.to_dict(orient="records")],
                          "evppi": {k: json_value(v) for k, v in evppi.items()}}, allow_nan=False))
        return 0
    print(f"{args.metric} of {len(options)} options over {args.uncertainty} draws of their uncertain inputs "
          f"({args.replications} replications each, seed {args.seed}; higher is better)\n")
    rows = [("option", "expected", "2.5%–97.5% over draws", "best in")]
    for r in table.itertuples(index=False):
        rows.append((r.option, fmt(r.expected), f"{fmt(r.low)} – {fmt(r.high)}", _pct(r.best_share)))
    print(columns(rows))
    print(f"\nchoose now: {decision.chosen} (the highest expected {args.metric}).")
    print(f"expected value of perfect information (EVPI): {fmt(decision.evpi)} — the most that learning every "
          "uncertain input before choosing could be worth, on average; 0 when one option is best in every draw.")
    if len(evppi):
        print("\nworth of learning one input alone (EVPPI):")
        print(columns([("input", "EVPPI")] + [(name, fmt(v)) for name, v in evppi.items()]))
    print("\nBoth are upper estimates: the simulator's noise in each draw's mean adds a little (more replications "
          "lower it). EVPPI by regression on the draws (Strong, Oakley & Brennan 2014).")
    return 0
