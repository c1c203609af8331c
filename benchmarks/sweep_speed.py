"""Sweep speed: what each backend costs per task against a bare loop, and what two workers buy.

Prints, from one run:
  * start-up of the process pool and of a local Dask cluster (two single-threaded worker processes);
  * per-task overhead of each backend (serial, process pool, Dask) against a bare loop calling the
    simulator, measured on runs of one simulated day so the overhead is most of the time. It is the
    worker-time each run costs beyond the simulation: (wall time × workers − bare loop) / runs, given per
    run and per task (a task carries a chunk of one cell's replications);
  * the speed-up of two workers over serial on a 200-run sweep of first_mle over two simulated years
    (target >= 1.7x on 2 cores), on the process pool and on Dask, and that the tables are identical.
Timings are the best of three turns in which the backends alternate.

The machine's load average, and how many cores two busy loops actually get, are printed too: on shared
cores the speed-up cannot exceed what the workers are given.
Run: uv run python benchmarks/sweep_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from mlorg.scenario import load
from mlorg.sweeps import sweep
from mlorg.sweeps.execute import chunks, run_chunk
from mlorg.sweeps.on_dask import CONNECT_TIMEOUT_S, dask_client

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
WORKERS = 2


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def bare_loop(scenario, grid: dict, replications: int) -> float:
    """The simulator alone: the same runs as a sweep, edited scenarios built beforehand (not timed), no
    backend; the wall time of the runs."""
    from mlorg.sweeps import cells

    scenarios = [c.scenario for c in cells(scenario, grid)]
    start = time.perf_counter()
    for index, s in enumerate(scenarios):
        run_chunk(s, index, 0, range(replications))
    return time.perf_counter() - start


def best_of(rounds: int, backends: dict[str, dict], scenario, grid: dict, replications: int) -> dict:
    """Each backend's shortest wall time (and its table) over ``rounds`` turns (options None: the bare
    loop): on shared cores the shortest is the one least disturbed by other work, and taking turns exposes
    each to the same load."""
    best: dict[str, tuple[float, pd.DataFrame]] = {}
    for _ in range(rounds):
        for name, options in backends.items():
            if options is None:
                wall, table = bare_loop(scenario, grid, replications), None
            else:
                wall, table = timed(sweep, scenario, grid, replications, **options)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, table)
    return best


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def _spin(seconds: float) -> float:
    """Busy-loop for ``seconds`` of wall time; return the CPU time the process got meanwhile."""
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start_wall < seconds:
        pass
    return time.process_time() - start_cpu


def cores_available(processes: int = WORKERS, seconds: float = 2.0) -> float:
    """CPU-seconds per second that ``processes`` busy loops get now: the most any parallel speed-up can be."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return sum(pool.map(_spin, [seconds] * processes)) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test of the script)")
    args = parser.parse_args()
    first_mle = load(SCENARIOS / "first_mle.toml")
    tiny = first_mle.replace(horizon_days=1.0)
    overhead_grid, overhead_reps = {"org.data_scientists": "1..20"}, (10 if args.quick else 40)
    sweep_grid, sweep_reps = {"org.ml_engineers": "0..9"}, (4 if args.quick else 20)
    two_years = first_mle.replace(horizon_days=730.0)
    rounds = 1 if args.quick else 3

    print(f"== {load_text()}; {WORKERS} busy loops get {cores_available():.2f} cores")
    print("\n== start-up")
    pool_start, _ = timed(sweep, tiny, {"org.ml_engineers": [1]}, WORKERS, backend="process", workers=WORKERS)
    print(f"process pool, {WORKERS} workers   {pool_start:6.2f} s (spawn, import mlorg in each worker)")
    start = time.perf_counter()
    with dask_client(None, WORKERS, CONNECT_TIMEOUT_S) as client:
        cluster_start = time.perf_counter() - start
        dask_first, _ = timed(sweep, tiny, {"org.ml_engineers": [1]}, WORKERS, backend="dask", scheduler=client)
        print(f"local Dask cluster, {WORKERS} workers {cluster_start:6.2f} s, first sweep (version check, imports) "
              f"{dask_first:.2f} s")

        runs = 20 * overhead_reps
        tasks = len(chunks(20, overhead_reps, WORKERS))
        backends = {"serial": {"backend": "serial"}, "process": {"backend": "process", "workers": WORKERS},
                    "dask": {"backend": "dask", "scheduler": client}}
        best = best_of(rounds, {"bare": None, **backends}, tiny, overhead_grid, overhead_reps)
        bare = best.pop("bare")[0]
        print(f"\n== per-task overhead: {runs} runs of one simulated day ({1000 * bare / runs:.2f} ms each in a "
              f"bare loop); a parallel backend sends them as {tasks} tasks. Best of {rounds}")
        print(f"{'backend':10} {'wall s':>8} {'overhead ms/run':>16} {'ms/task':>9}")
        for name, (wall, _) in best.items():
            workers = 1 if name == "serial" else WORKERS
            per_run = (wall * workers - bare) / runs
            per_task = per_run * runs / (runs if name == "serial" else tasks)
            print(f"{name:10} {wall:8.2f} {1000 * per_run:16.2f} {1000 * per_task:9.2f}")

        total = 10 * sweep_reps
        print(f"\n== {total}-run sweep: first_mle over two simulated years, org.ml_engineers 0..9 x {sweep_reps} "
              f"replications; best of {rounds}, the backends taking turns")
        best = best_of(rounds, backends, two_years, sweep_grid, sweep_reps)
    (serial_s, serial_table), (pool_s, pool_table), (dask_s, dask_table) = best.values()
    print(f"serial            {serial_s:7.2f} s   ({1000 * serial_s / total:.0f} ms a run)")
    print(f"process pool x{WORKERS}   {pool_s:7.2f} s   speed-up {serial_s / pool_s:.2f}x   (target >= 1.7x)")
    print(f"Dask x{WORKERS}           {dask_s:7.2f} s   speed-up {serial_s / dask_s:.2f}x")
    for table in (pool_table, dask_table):
        pd.testing.assert_frame_equal(table, serial_table, check_exact=True)
    print("tables identical across backends: yes")
    print(f"\n== {load_text()}; {WORKERS} busy loops get {cores_available():.2f} cores")


if __name__ == "__main__":
    main()
