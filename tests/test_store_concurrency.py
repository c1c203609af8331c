"""Saves that wait instead of failing: four processes saving ten runs each into one store, and twenty threads of one
process (app sessions) saving at once, all stored."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from mlorg.results import replicate
from mlorg.scenario import load
from mlorg.store import RunStore

FIRST_MLE = Path(__file__).resolve().parents[1] / "scenarios" / "first_mle.toml"
SAVER = """
import sys
from mlorg.results import replicate
from mlorg.scenario import load
from mlorg.store import RunStore
store, worker = RunStore(sys.argv[1]), int(sys.argv[2])
scenario = load(sys.argv[3]).replace(horizon_days=60)
for i in range(10):
    store.save(replicate(scenario, 2, seed=100 * worker + i, keep_runs=True))
print("saved", flush=True)
"""


def test_four_processes_saving_ten_runs_each_store_all_forty(tmp_path):
    db = tmp_path / "runs.duckdb"
    workers = [subprocess.Popen([sys.executable, "-c", SAVER, str(db), str(w), str(FIRST_MLE)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for w in range(4)]
    outcomes = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err for _, err in outcomes]
    runs = RunStore(db).list()
    assert len(runs) == 40 and sorted(runs["seed"]) == sorted(100 * w + i for w in range(4) for i in range(10))


def test_twenty_sessions_saving_at_once_all_succeed(tmp_path):
    store = RunStore(tmp_path / "new.duckdb")  # a new store: its tables are made by whichever save comes first
    scenario = load(FIRST_MLE).replace(horizon_days=60)
    runs = [replicate(scenario, 2, seed=s, keep_runs=True) for s in range(20)]
    errors, start = [], threading.Barrier(20)

    def save(run):
        start.wait()
        try:
            store.save(run)
        except Exception as exc:  # noqa: BLE001 - the test counts every failure
            errors.append(repr(exc))

    threads = [threading.Thread(target=save, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(store.list()) == 20
