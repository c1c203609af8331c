"""The reference model's HTTP server: sustained requests a second at p99 < 10 ms, on one worker and on two, beside
the in-process scorer's rate measured in the same run.

A registry is made in a temporary folder with a gradient-boosted model of the reference pipeline's size (100 trees
over its features). For each worker count, ``mlorg serve`` runs as a process of its own and the open-loop generator
(``mlorg.serve.loadtest``, this process) offers Poisson load in steps; the sustained rate is the highest offered
rate whose answers all came back with p99 < 10 ms. On a 2-core machine the generator competes with the server for
CPU, so two workers are a reported figure, not a check; the generator's own lateness is printed beside each step.

Run: uv run python benchmarks/serve_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from mlorg.pipeline.features import FEATURES
from mlorg.pipeline.registry import Registry
from mlorg.pipeline.scorer import TreeScorer
from mlorg.serve.loadtest import loadtest
from mlorg.serve.process import start_server, stop_server

P99_TARGET_MS = 10.0


def make_registry(folder: Path) -> tuple[str, HistGradientBoostingClassifier, np.ndarray]:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(20_000, len(FEATURES)))
    labels = rows[:, 0] + rows[:, 1] * rows[:, 2] > 1.5
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(rows, labels)
    path = folder / "registry.duckdb"
    registry = Registry(path)
    try:
        frame = pd.DataFrame(rows, columns=list(FEATURES)).assign(ts=pd.Timestamp("2026-01-01"))
        dataset = registry.register_dataset("training", frame)
        features = registry.register_feature_set("features", "SELECT 1", {})
        version = registry.register_model(model, name="bench", params={}, metrics={"threshold": 0.5},
                                          dataset_id=dataset, feature_version=features, code_version="bench")
        registry.set_alias("champion", version, reason="benchmark", actor="benchmark")
    finally:
        registry.close()
    return str(path), model, rows


def in_process_rate(model: HistGradientBoostingClassifier, rows: np.ndarray, n: int = 20_000) -> float:
    scorer, sample = TreeScorer(model), rows[:n].tolist()
    started = time.perf_counter()
    for row in sample:
        scorer.probability(row)
    return n / (time.perf_counter() - started)


def sustained(port: int, rates: list[float], seconds: float) -> tuple[float, list[dict]]:
    best, steps = 0.0, []
    for rate in rates:
        summary = loadtest(f"http://127.0.0.1:{port}/score", rate, seconds, seed=int(rate)).summary()
        steps.append({"rate": rate, **summary})
        print(f"    offered {rate:>7,.0f}/s: answered {summary['throughput_rps']:>7,.0f}/s, p50 "
              f"{summary['p50_ms']:.2f} ms, p99 {summary['p99_ms']:.2f} ms, errors {summary['errors']}, generator "
              f"lateness p99 {summary['generator_lateness_p99_ms']:.2f} ms", flush=True)
        if summary["errors"] == 0 and summary["p99_ms"] < P99_TARGET_MS:
            best = rate
        else:
            break
    return best, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter steps (2 s instead of 5 s)")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else 5.0
    rates = [50.0, 100.0, 200.0, 400.0, 600.0, 800.0, 1200.0, 1600.0, 2400.0, 3200.0]
    print(f"machine: {os.cpu_count()} cores; p99 target {P99_TARGET_MS:g} ms; {seconds:g} s a step")
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("MLORG_CONFIG_DIR", folder)  # a registry key of its own, not the user's
        db, model, rows = make_registry(Path(folder))
        scorer_rate = in_process_rate(model, rows)
        print(f"in-process scorer (one core, no HTTP): {scorer_rate:,.0f} rows/s")
        for workers in (1, 2):
            process, port = start_server(db, workers)
            try:
                print(f"  {workers} worker(s):")
                best, _ = sustained(port, rates, seconds)
            finally:
                stop_server(process)
            print(f"  {workers} worker(s): sustained {best:,.0f} requests/s at p99 < {P99_TARGET_MS:g} ms "
                  f"({best / scorer_rate:.1%} of the in-process scorer's rate)")


if __name__ == "__main__":
    main()
