"""The simulator gives byte-identical results for the same seed: each shipped scenario's results against reference
files written by the simulator as it was before its speed-up (commit eb4a496).

Each file holds, per replication, the metrics, levels and extras as JSON (floats by ``repr``, so equal bytes mean
equal floats) and a SHA-256 of every results frame, so any changed draw, event order or float shows up. The one
figure allowed to move is the kernel's count of events, and only down: it measures the kernel's work, not a result.
A change that is meant to alter results regenerates the files, and says so in its commit:

    uv run python -m tests.test_sim_reference --write
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlorg.results import RunResult, to_frames
from mlorg.scenario import load
from mlorg.sim import run_once

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
REFERENCE = Path(__file__).resolve().parent / "data" / "sim_reference"
REPLICATIONS = (0, 1, 2)
UBER_HORIZON_DAYS = 730.0  # two years of uber_scale (serving on) take about a second; the others run in full
FRAMES = ("events", "models", "timeseries", "time_use", "incidents")


def _plain(value):
    """A frame cell as a JSON value: numpy scalars as Python numbers, missing values as null."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, np.floating):
        return float(value)
    return value


def frame_digest(frame: pd.DataFrame) -> str:
    rows = [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    text = json.dumps({"columns": list(frame.columns), "dtypes": [str(d) for d in frame.dtypes], "rows": rows})
    return hashlib.sha256(text.encode()).hexdigest()


def run_record(run: RunResult) -> dict:
    return {"replication": run.replication, "metrics": run.metrics, "level_means": run.level_means,
            "level_ends": run.level_ends, "extras": run.extras,
            "frames_sha256": {name: frame_digest(getattr(run, name)) for name in FRAMES}}


def scenario_results(path: Path) -> str:
    """The scenario's results for seed 0 and the first replications, as the JSON text stored for it."""
    scenario = load(path)
    if path.stem == "uber_scale":
        scenario = scenario.replace(horizon_days=UBER_HORIZON_DAYS)
    runs = [run_record(to_frames(run_once(scenario, 0, r))) for r in REPLICATIONS]
    return json.dumps({"scenario": path.stem, "horizon_days": scenario.horizon_days, "seed": 0, "runs": runs},
                      sort_keys=True, indent=1) + "\n"


SHIPPED = sorted(SCENARIOS.glob("*.toml"))


def _apart_from_event_counts(text: str) -> tuple[str, list[float]]:
    """The results text without the kernel's count of scheduled events, and the counts. The count is how much work
    the kernel did, not a result: skipping an event that would only schedule another for the same instant lowers it
    and changes nothing else."""
    results = json.loads(text)
    counts = [run["extras"].pop("event_count") for run in results["runs"]]
    return json.dumps(results, sort_keys=True, indent=1) + "\n", counts


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_results_are_byte_identical_to_the_reference(path):
    expected, reference_counts = _apart_from_event_counts((REFERENCE / f"{path.stem}.json").read_text())
    actual, counts = _apart_from_event_counts(scenario_results(path))
    if actual != expected:
        # Name the first figures that moved, not just "files differ".
        pytest.fail(f"{path.stem}: results differ from the reference, first at {_moved(expected, actual)[:5]}")
    assert all(0 < count <= reference for count, reference in zip(counts, reference_counts, strict=True)), \
        f"{path.stem}: the kernel scheduled more events than the reference: {counts} against {reference_counts}"


def _moved(expected: str, actual: str) -> list[tuple[int, str, str]]:
    """(replication, section, key) of each figure or frame digest that differs between two results texts."""
    old, new = json.loads(expected), json.loads(actual)
    return [(r, section, key) for r, (a, b) in enumerate(zip(old["runs"], new["runs"], strict=True))
            for section in a if isinstance(a[section], dict)
            for key in a[section] if json.dumps(a[section][key]) != json.dumps(b[section].get(key))]


def test_every_shipped_scenario_has_a_reference():
    assert sorted(p.stem for p in REFERENCE.glob("*.json")) == [p.stem for p in SHIPPED]


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.test_sim_reference --write")
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for scenario_path in SHIPPED:
        (REFERENCE / f"{scenario_path.stem}.json").write_text(scenario_results(scenario_path))
        print("wrote", REFERENCE / f"{scenario_path.stem}.json")
