"""``mlorg validate``, ``mlorg run`` and ``mlorg runs``: check scenarios, simulate one, and read saved runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlorg.cli.options import (
    db_option,
    horizon_option,
    int_option,
    json_option,
    progress_bar,
    replications_option,
    seed_option,
)
from mlorg.cli.output import metrics_json, metrics_table, result_json, result_table
from mlorg.cli.uncertainty import cmd_run_uncertain, uncertainty_option
from mlorg.results import replicate
from mlorg.scenario import ScenarioError, load
from mlorg.store import RunStore


def add_commands(sub) -> None:
    validate = sub.add_parser("validate", help="check scenario files")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(handler=cmd_validate)

    run = sub.add_parser("run", help="simulate a scenario and summarise its metrics")
    run.add_argument("file", type=Path, metavar="FILE")
    replications_option(run)
    seed_option(run)
    horizon_option(run)
    json_option(run, "print a JSON object instead of a table")
    run.add_argument("--save", action="store_true", help="save the run to the DuckDB file")
    run.add_argument("--allow-large", action="store_true",
                     help="run even above the work budget (mlorg.budget: 50,000 models a replication, 1,000,000 "
                          "in all, ≈ 2 GB and ≈ 17 minutes); the refusal says what this run would cost")
    db_option(run)
    uncertainty_option(run, "also run N draws of the scenario's uncertain inputs (replications each) and show the "
                            "interval that includes input uncertainty beside today's")
    run.set_defaults(handler=cmd_run)

    runs = sub.add_parser("runs", help="list saved runs, or show one")
    runs.add_argument("run_id", nargs="?", type=int_option("RUN_ID", 1, 2**31 - 1), metavar="RUN_ID")
    db_option(runs)
    json_option(runs)
    runs.set_defaults(handler=cmd_runs)


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
    if args.uncertainty is not None:
        return cmd_run_uncertain(args, scenario)
    reps = replicate(scenario, args.replications, args.seed, keep_runs=False, allow_large=args.allow_large,
                     progress=progress_bar("replications", show=not args.json))
    run_id = None
    if args.save:
        store = RunStore(args.db)
        run_id = store.find(reps)
        if run_id is None:
            run_id = store.save(reps)
        elif not args.json:
            print(f"an identical run (same scenario, seed and replications) is already saved as run {run_id}; "
                  "not saved again\n")
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
                          "metrics": metrics_json(saved.summary)}, allow_nan=False))
    else:
        print(f"run {saved.run_id}: {saved.label} (seed {saved.seed}, {saved.replications} replications, "
              f"saved {saved.created_at:%Y-%m-%d %H:%M} UTC)")
        print(metrics_table(saved.summary))
    return 0
