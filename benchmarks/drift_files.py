"""``mlorg drift compare`` on files against Evidently's default data-drift report, side by side in the same run:
speed, peak memory and which columns each flags.

Two Parquet files of ``--rows`` rows each (default 1,000,000) and 20 feature columns plus a ``ts`` timestamp are
generated with :func:`mlorg.monitoring.feature_examples.feature_frame` (seeded): a reference over 30 days and a
current file over the next 30 days with the five drifts of that module (``amount_0``: a shifted lognormal,
``score_0``, ``ratio_0``, ``channel``, ``count_0``). ``ts`` is left out of both tools' comparison.

Each tool runs in a fresh process of its own, so that their peak memories compare:

  * mlorg: :func:`mlorg.monitoring.file_drift.compare_files` on the two files (it reads them itself, with DuckDB,
    so its comparison time includes reading);
  * Evidently 0.7, in a virtual environment this benchmark creates with uv (``/tmp/evidently-venv`` by default,
    reused when it already imports; the comparison is skipped with a message if it cannot be installed): both
    files read with pandas (timed apart), then ``Report([DataDriftPreset()]).run(current, reference)`` with a
    ``DataDefinition`` declaring ``channel`` and ``segment`` categorical and the rest numerical.

Each process reports its time to import, read and compare, its RSS after imports (the baseline) and its peak RSS
(``ru_maxrss``) at the end. Printed: the timings and memories with the ratios Evidently / mlorg against the issue's
targets (>= 10x faster, <= 1/2 the peak memory; reported figures, not checks), and a table of per-column verdicts:
Evidently's, mlorg's with the test Evidently chose for that column (its defaults for more than 1000 rows:
normed Wasserstein at 0.1 for numbers, Jensen–Shannon at 0.1 for categories and for numbers of at most 5 values),
and mlorg's own default (PSI at 0.1), with the reason for every difference.

Run: uv run python benchmarks/drift_files.py [--rows N | --quick] [--skip-evidently] [--evidently-venv PATH]
(the full run takes a few minutes, most of it Evidently's; the first run also installs Evidently, ~700 MB).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from mlorg.monitoring.detectors import DEFAULTS
from mlorg.monitoring.feature_examples import DRIFTED, feature_frame

SPEED_TARGET = 10.0  # Evidently's time / mlorg's
MEMORY_TARGET = 0.5  # mlorg's peak memory / Evidently's
CATEGORICAL = ("channel", "segment")
DAYS = 30
EVIDENTLY_VENV = Path("/tmp/evidently-venv")
# Evidently 0.7.23 imports pandas.core.dtypes.common.infer_dtype_from_object, which pandas 3 removed, and does not
# pin pandas below 3 itself.
EVIDENTLY_REQUIREMENTS = ("evidently==0.7.*", "pandas<3", "pyarrow")
# Evidently's test names (as its ValueDrift metric reports them) -> the mlorg detector computing the same statistic.
SAME_TEST = {"Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensen_shannon",
             "K-S p_value": "ks", "PSI": "psi"}

# Shared by both children: the process's RSS now and its peak, in bytes.
_MEMORY = '''
import os, resource
def rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
def rss_peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
'''

MLORG_CHILD = _MEMORY + '''
import json, sys, time
started = time.perf_counter()
from mlorg.monitoring.feature_files import FeatureFile
from mlorg.monitoring.file_drift import compare_files
imported = time.perf_counter()
baseline, baseline_peak = rss_now(), rss_peak()
reference, current, out, mode = sys.argv[1:5]
start = time.perf_counter()
if mode == "read":  # only what compare_files does first: load both files into DuckDB
    with FeatureFile(reference, "reference"), FeatureFile(current, "current"):
        pass
    with open(out, "w") as f:
        json.dump({"read_s": time.perf_counter() - start}, f)
    sys.exit(0)
comparison = compare_files(reference, current)
compare_s = time.perf_counter() - start
peak = rss_peak()
columns = [{"column": d.column, "kind": d.kind, "reference_missing": d.reference_missing,
            "current_missing": d.current_missing, "psi": d.psi, "ks": d.ks, "wasserstein": d.wasserstein,
            "jensen_shannon": d.jensen_shannon} for d in comparison.drifts]
with open(out, "w") as f:
    json.dump({"import_s": imported - started, "compare_s": compare_s, "baseline": baseline,
               "baseline_peak": baseline_peak, "peak": peak, "columns": columns,
               "skipped": [c.name for c in comparison.skipped]}, f)
'''

EVIDENTLY_CHILD = _MEMORY + '''
import json, sys, time
started = time.perf_counter()
import pandas as pd
import evidently
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
imported = time.perf_counter()
baseline, baseline_peak = rss_now(), rss_peak()
reference_path, current_path, out = sys.argv[1:4]
numerical, categorical = json.loads(sys.argv[4]), json.loads(sys.argv[5])
start = time.perf_counter()
reference = pd.read_parquet(reference_path, columns=numerical + categorical)
current = pd.read_parquet(current_path, columns=numerical + categorical)
read_s = time.perf_counter() - start
start = time.perf_counter()
definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
reference_data = Dataset.from_pandas(reference, data_definition=definition)
current_data = Dataset.from_pandas(current, data_definition=definition)
dataset_s = time.perf_counter() - start
start = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data, reference_data)
report_s = time.perf_counter() - start
peak = rss_peak()
columns, drifted_count = [], None
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config["type"].endswith("ValueDrift"):
        method, threshold, value = config["method"], float(config["threshold"]), float(metric["value"])
        # Evidently's rule: a p-value drifts below its threshold, a distance at or above it.
        drifted = value < threshold if "p_value" in method else value >= threshold
        columns.append({"column": config["column"], "method": method, "threshold": threshold, "score": value,
                        "drifted": drifted})
    elif config["type"].endswith("DriftedColumnsCount"):
        drifted_count = int(metric["value"]["count"])
with open(out, "w") as f:
    json.dump({"version": evidently.__version__, "pandas": pd.__version__, "import_s": imported - started,
               "read_s": read_s, "dataset_s": dataset_s, "report_s": report_s, "compare_s": dataset_s + report_s,
               "baseline": baseline, "baseline_peak": baseline_peak, "peak": peak, "columns": columns,
               "drifted_count": drifted_count}, f)
'''


def write_files(folder: Path, rows: int, seed: int) -> tuple[Path, Path, list[str]]:
    """A reference (30 days) and a drifted current file (the next 30 days) of ``rows`` rows each, as Parquet."""
    paths, features = [], []
    con = duckdb.connect()
    try:
        for name, drifted, frame_seed in (("reference", False, seed), ("current", True, seed + 1)):
            frame = feature_frame(rows, frame_seed, drifted=drifted, columns=20,
                                  start_hour=24.0 * DAYS if drifted else 0.0, hours=24.0 * DAYS)
            features = [c for c in frame.columns if c != "ts"]
            path = folder / f"{name}.parquet"
            con.register("frame", frame)
            con.execute(f"COPY frame TO '{path.as_posix()}' (FORMAT parquet)")
            con.unregister("frame")
            del frame
            gc.collect()
            paths.append(path)
    finally:
        con.close()
    return paths[0], paths[1], features


def run_child(command: list[str], out: Path, env: dict[str, str] | None = None) -> dict:
    """Run a child process that writes its figures to ``out``; add its wall time as seen from here."""
    start = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    result["wall_s"] = wall
    return result


def evidently_python(venv: Path) -> Path | None:
    """The venv's Python with Evidently 0.7 importable, installing it with uv if needed; None (with a message) if
    it cannot be installed."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import evidently, pyarrow; from evidently.presets import DataDriftPreset; "
             "assert evidently.__version__.startswith('0.7.'), evidently.__version__"]

    def imports() -> bool:
        return python.exists() and subprocess.run(probe, capture_output=True).returncode == 0

    if imports():
        return python
    uv = shutil.which("uv")
    if uv is None:
        print("Evidently comparison skipped: uv is not on PATH to create its environment.")
        return None
    print(f"Installing {' '.join(EVIDENTLY_REQUIREMENTS)} into {venv} (once; ~700 MB) ...", flush=True)
    steps = ([] if python.exists() else [[uv, "venv", str(venv), "--python", "3.11"]])
    steps.append([uv, "pip", "install", "--python", str(python), *EVIDENTLY_REQUIREMENTS])
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            print(f"Evidently comparison skipped: `{' '.join(step[:3])} ...` failed: {last}")
            return None
    if not imports():
        print(f"Evidently comparison skipped: it installed into {venv} but does not import.")
        return None
    return python


def mb(value: float) -> str:
    return f"{value / 1e6:,.0f} MB"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.1f}x" if denominator > 0 else "n/a"


def mlorg_verdict(column: dict, detector: str) -> tuple[float, bool | None]:
    """mlorg's score for ``detector`` and whether its default threshold flags it (None: does not apply)."""
    score = column[detector]
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return math.nan, None
    default = DEFAULTS[detector]
    return score, (score <= default.threshold if default.alarm_when == "below" else score >= default.threshold)


def flag(value: bool | None) -> str:
    return "n/a" if value is None else ("DRIFT" if value else "-")


def print_timings(mlorg: dict, evidently: dict | None) -> None:
    print("\nTime and memory (each tool in a fresh process of its own):")
    print(f"  {'':34} {'mlorg':>10} {'Evidently':>10} {'Evidently / mlorg':>18}")
    rows = [("imports", "import_s", "import_s"),
            ("read the two files", "read_s", "read_s"),
            ("comparison", "compare_s", "compare_s"),
            ("read + comparison (after imports)", None, None),
            ("whole process, as seen from here", "wall_s", "wall_s")]
    for label, mkey, ekey in rows:
        m = mlorg["compare_s"] if mkey is None else mlorg[mkey]
        e = None if evidently is None else (evidently["read_s"] + evidently["compare_s"] if ekey is None
                                            else evidently[ekey])
        e_text = "" if e is None else f"{e:9.2f}s"
        r_text = "" if e is None else ratio(e, m)
        print(f"  {label:34} {m:9.2f}s {e_text:>10} {r_text:>18}")
    print("    (mlorg's compare_files reads the files itself: its comparison time includes its reading, shown apart "
          "as measured\n     in a process of its own. Evidently's comparison is Dataset.from_pandas "
          f"{'' if evidently is None else format(evidently['dataset_s'], '.2f') + ' s '}+ Report.run"
          f"{'' if evidently is None else ' ' + format(evidently['report_s'], '.2f') + ' s'}.)")
    for label, key in (("RSS after imports (baseline)", "baseline"), ("peak RSS", "peak")):
        e_text = "" if evidently is None else mb(evidently[key])
        r_text = "" if evidently is None else ratio(evidently[key], mlorg[key])
        print(f"  {label:34} {mb(mlorg[key]):>10} {e_text:>10} {r_text:>18}")
    m_extra = mlorg["peak"] - mlorg["baseline"]
    e_extra = None if evidently is None else evidently["peak"] - evidently["baseline"]
    print(f"  {'peak RSS - baseline':34} {mb(m_extra):>10} {'' if e_extra is None else mb(e_extra):>10} "
          f"{'' if e_extra is None else ratio(e_extra, m_extra):>18}")
    if evidently is None:
        return
    end_to_end = (evidently["read_s"] + evidently["compare_s"]) / mlorg["compare_s"]
    compare_only = evidently["compare_s"] / mlorg["compare_s"]
    memory = mlorg["peak"] / evidently["peak"]
    memory_extra = m_extra / e_extra if e_extra > 0 else math.nan
    print(f"\nAgainst the targets: speed {end_to_end:.1f}x reading included ({compare_only:.1f}x Evidently's "
          f"comparison alone against mlorg's reading and comparison; target >= {SPEED_TARGET:g}x) -> "
          f"{'met' if end_to_end >= SPEED_TARGET else 'NOT met'}; peak memory {memory:.2f} of Evidently's "
          f"({memory_extra:.2f} above the baselines; target <= {MEMORY_TARGET:g}) -> "
          f"{'met' if memory <= MEMORY_TARGET else 'NOT met'}.")


def difference_reasons(column: str, kind: str, m: dict, e: dict | None, same: str | None) -> list[str]:
    """Why mlorg's verdicts differ from Evidently's for one column, from the scores and the two tools' methods."""
    if e is None:
        return []
    reasons = []
    e_flag = e["drifted"]
    missing_moved = abs(m["current_missing"] - m["reference_missing"]) >= 0.001
    missing_text = f"missing {m['reference_missing']:.1%} -> {m['current_missing']:.1%}"
    nan_dropped = ("Evidently drops NaN before any test (evidently/legacy/calculations/data_drift.py, "
                   "get_one_column_drift: .dropna())")
    if same is None:
        reasons.append(f"mlorg has no {e['method']} test")
    else:
        score, verdict = mlorg_verdict(m, same)
        if verdict is not None and verdict != e_flag:
            if same == "jensen_shannon" and kind == "numeric":
                why = ("Evidently's Jensen-Shannon bins a numeric column by its values (<= 20 distinct) or by "
                       "Sturges' equal-width bins over both files; mlorg's by the reference deciles")
            elif same in ("jensen_shannon", "psi") and missing_moved:
                why = f"{missing_text}: mlorg counts missing values as a bin of their own; {nan_dropped}"
            else:
                why = f"the same statistic on either side of {e['threshold']:g}: rounding"
            reasons.append(f"{same} {score:.4f} (mlorg) vs {e['score']:.4f} (Evidently): {why}")
    psi, psi_flag = mlorg_verdict(m, "psi")
    if psi_flag != e_flag:
        if psi_flag and missing_moved:
            why = (f"{missing_text}: mlorg's PSI counts missing values as a bin of their own; {nan_dropped}, so a "
                   "column turning null shows only if its remaining values move")
        elif e["method"] == "Wasserstein distance (normed)":
            why = ("different statistics, whose 0.1s are different sizes of change: a normal shifted by d standard "
                   "deviations has PSI ~ d^2 but a normed Wasserstein distance ~ d (spread grown by a factor k: "
                   "~ 0.8 (k - 1)), so PSI's 0.1 waits for a shift of ~0.3 sd where Wasserstein's flags ~0.1 sd")
        elif e["method"] == "Jensen-Shannon distance":
            why = ("different statistics: for small shifts the Jensen-Shannon distance is about sqrt(PSI / 8), so "
                   "PSI 0.1 ~ JS 0.11")
        else:
            why = "different statistics"
        reasons.append(f"mlorg psi {psi:.4f} ({flag(psi_flag)}) vs Evidently {e['method']} {e['score']:.4f} "
                       f"({flag(e_flag)}): {why}")
    return reasons


def print_verdicts(mlorg: dict, evidently: dict | None) -> None:
    by_column = {} if evidently is None else {c["column"]: c for c in evidently["columns"]}
    print("\nPer-column verdicts (DRIFT = flagged at the default threshold; * = a drift planted in the data):")
    header = (f"  {'column':13} {'kind':11} {'Evidently test':34} {'Evidently':>16} {'mlorg, same test':>17} "
              f"{'mlorg psi':>16}")
    print(header)
    notes = []
    for m in mlorg["columns"]:
        column, kind = m["column"], m["kind"]
        e = by_column.get(column)
        if e is None:
            same = "wasserstein" if kind == "numeric" else "jensen_shannon"  # what Evidently would choose
            test_text, e_text = "(not run)", ""
        else:
            same = SAME_TEST.get(e["method"])
            test_text = f"{e['method']} {e['threshold']:g}"
            e_text = f"{e['score']:.4f} {flag(e['drifted'])}"
        same_text = "n/a"
        if same is not None:
            score, verdict = mlorg_verdict(m, same)
            same_text = f"{score:.4f} {flag(verdict)}"
        psi, psi_flag = mlorg_verdict(m, "psi")
        planted = "*" if column in DRIFTED else " "
        print(f"  {column + planted:13} {kind:11} {test_text:34} {e_text:>16} {same_text:>17} "
              f"{psi:10.4f} {flag(psi_flag):>5}")
        notes += [f"  {column}: {reason}" for reason in difference_reasons(column, kind, m, e, same)]
    if evidently is not None:
        listed = sum(c["drifted"] for c in evidently["columns"])
        if evidently["drifted_count"] is not None and evidently["drifted_count"] != listed:
            notes.append(f"  Evidently's DriftedColumnsCount says {evidently['drifted_count']}, its per-column "
                         f"results {listed}")
    summary = {"mlorg psi": [m["column"] for m in mlorg["columns"] if mlorg_verdict(m, "psi")[1]]}
    if evidently is not None:
        summary["Evidently"] = [c["column"] for c in evidently["columns"] if c["drifted"]]
        summary["mlorg, Evidently's tests"] = [
            m["column"] for m in mlorg["columns"]
            if (same := SAME_TEST.get(by_column.get(m["column"], {}).get("method", ""))) and mlorg_verdict(m, same)[1]]
    print("\nFlagged columns (planted: " + ", ".join(DRIFTED) + "):")
    for name, columns in summary.items():
        missed = [c for c in DRIFTED if c not in columns]
        false = [c for c in columns if c not in DRIFTED]
        print(f"  {name:25} {', '.join(columns) or '(none)'}; planted but not flagged: {', '.join(missed) or 'none'}"
              f"; flagged but not planted: {', '.join(false) or 'none'}")
    if evidently is not None:
        print("\nDifferences and their reasons:" if notes else "\nNo differences between the tools' verdicts.")
    for note in notes:
        print(note)
    misses = [f"  {m['column']}: {reason}" for m in mlorg["columns"] if m["column"] in DRIFTED
              for reason in miss_reasons(m, by_column.get(m["column"]))]
    if misses:
        print("\nPlanted drifts left unflagged, and why:")
        for miss in misses:
            print(miss)


def miss_reasons(m: dict, e: dict | None) -> list[str]:
    """Why a planted drift is not flagged: each unflagging statistic's score against its threshold."""
    reasons = []
    psi, psi_flag = mlorg_verdict(m, "psi")
    if not psi_flag:
        lognormal = (" (its bins are the reference deciles, so a lognormal scores as its log does: the heavy tail "
                     "hides nothing)") if m["column"].startswith("amount") else ""
        reasons.append(f"mlorg psi {psi:.4f} < {DEFAULTS['psi'].threshold:g}: the planted change is smaller than "
                       f"PSI's default asks for{lognormal}")
    if e is not None and not e["drifted"]:
        text = f"Evidently {e['method']} {e['score']:.4f} < {e['threshold']:g} (mlorg's the same)"
        if abs(m["current_missing"] - m["reference_missing"]) >= 0.001 and "Wasserstein" in e["method"]:
            text += (f": the change is in the missing share ({m['reference_missing']:.1%} -> "
                     f"{m['current_missing']:.1%}), and Wasserstein compares the values present only, in both tools")
        reasons.append(text)
    return reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each file (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    parser.add_argument("--skip-evidently", action="store_true", help="measure mlorg only")
    parser.add_argument("--evidently-venv", type=Path, default=EVIDENTLY_VENV,
                        help=f"where to create (or reuse) Evidently's environment (default {EVIDENTLY_VENV})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = 100_000 if args.quick else args.rows
    began = time.perf_counter()

    python = None if args.skip_evidently else evidently_python(args.evidently_venv)
    with tempfile.TemporaryDirectory(prefix="mlorg-drift-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        reference, current, features = write_files(folder, rows, args.seed)
        size = (reference.stat().st_size + current.stat().st_size) / 1e6
        print(f"Two Parquet files of {rows:,} rows x {len(features)} features (+ ts, not compared), {size:.0f} MB, "
              f"generated in {time.perf_counter() - start:.1f} s.", flush=True)

        print("mlorg: compare_files ...", flush=True)
        mlorg = run_child([sys.executable, "-c", MLORG_CHILD, str(reference), str(current),
                           str(folder / "mlorg.json"), "compare"], folder / "mlorg.json")
        # How much of that is reading, in a process of its own so as not to touch the figures above.
        mlorg["read_s"] = run_child([sys.executable, "-c", MLORG_CHILD, str(reference), str(current),
                                     str(folder / "read.json"), "read"], folder / "read.json")["read_s"]
        evidently = None
        if python is not None:
            numerical = [c for c in features if c not in CATEGORICAL]
            categorical = [c for c in features if c in CATEGORICAL]
            print("Evidently: Report([DataDriftPreset()]) ...", flush=True)
            evidently = run_child([str(python), "-c", EVIDENTLY_CHILD, str(reference), str(current),
                                   str(folder / "evidently.json"), json.dumps(numerical), json.dumps(categorical)],
                                  folder / "evidently.json", env={"DO_NOT_TRACK": "1"})
            print(f"  Evidently {evidently['version']} (pandas {evidently['pandas']}), numerical and categorical "
                  f"columns declared with a DataDefinition ({', '.join(categorical)} categorical).")

    print_timings(mlorg, evidently)
    print_verdicts(mlorg, evidently)
    print(f"\nBenchmark took {time.perf_counter() - began:.0f} s in all.")


if __name__ == "__main__":
    main()
