"""Generated feature files for trying ``mlorg drift`` and for measuring it: a reference and a current file with the
same columns, five of them drifted in known ways, and an hourly time column with a daily cycle.

The columns are what a tabular model's feature table holds: amounts (lognormal), counts (Poisson), ratios,
scores, an autocorrelated hourly signal, a few categories and some missing values. The drifted ones, and how:

- ``amount_0``: lognormal amounts whose log shifts by +0.2 (amounts ≈ 22% higher): equal-width bins (Evidently's,
  when its PSI test is chosen) put nearly all of a heavy tail's mass in the first bin and miss it, while PSI on
  the reference's deciles scores it as it scores the log;
- ``score_0``: a normal score whose mean moves by 0.2 standard deviations;
- ``ratio_0``: a ratio whose spread grows by a quarter, with its mean unchanged;
- ``channel``: a category whose "web" share grows from 50% to 60%;
- ``count_0``: counts that turn missing for 5% of the rows (an upstream join failing).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

DRIFTED = ("amount_0", "score_0", "ratio_0", "channel", "count_0")
CHANNELS = ("web", "app", "store", "phone")
CHANNEL_SHARES = (0.5, 0.3, 0.15, 0.05)
DRIFTED_CHANNEL_SHARES = (0.6, 0.24, 0.12, 0.04)


def feature_frame(rows: int, seed: int, *, drifted: bool, columns: int = 20, start_hour: float = 0.0,
                  hours: float = 24.0 * 30) -> pd.DataFrame:
    """``rows`` rows of ``columns`` features (at least 8) over ``hours`` hours from ``start_hour``, with the five
    drifts of the module docstring applied when ``drifted``."""
    if columns < 8:
        raise ValueError(f"columns must be >= 8, got {columns!r}")
    rng = np.random.default_rng(seed)
    # Traffic follows a daily cycle (a trough at 04:00): draw hours with that intensity by thinning.
    times = np.sort(start_hour + rng.uniform(0.0, hours, size=rows * 2))
    keep = rng.uniform(size=times.size) < 0.5 * (1 + 0.6 * np.sin(2 * np.pi * (times % 24 - 10) / 24))
    times = np.sort(rng.choice(times[keep], size=rows, replace=times[keep].size < rows))
    daily = np.sin(2 * np.pi * (times % 24) / 24)
    frame = {"ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(times, unit="h")}
    frame["amount_0"] = rng.lognormal(3.0 + (0.2 if drifted else 0.0), 1.0, rows)
    frame["score_0"] = rng.normal(0.2 if drifted else 0.0, 1.0, rows)
    frame["ratio_0"] = rng.normal(0.5, 0.1 * (1.25 if drifted else 1.0), rows)
    frame["channel"] = rng.choice(CHANNELS, size=rows, p=DRIFTED_CHANNEL_SHARES if drifted else CHANNEL_SHARES)
    counts = rng.poisson(4.0, rows).astype(float)
    counts[rng.uniform(size=rows) < (0.06 if drifted else 0.01)] = np.nan
    frame["count_0"] = counts
    frame["hourly_load"] = 10 + 3 * daily + _ar1(rng, rows, 0.95)  # follows the clock and itself
    frame["segment"] = rng.choice(("retail", "business"), size=rows, p=(0.8, 0.2))
    for i in range(columns - 7):
        name = ("amount", "score", "ratio", "count")[i % 4]
        if name == "amount":
            values = rng.lognormal(2.0 + 0.1 * i, 0.8, rows)
        elif name == "score":
            values = rng.normal(0.0, 1.0, rows)
        elif name == "ratio":
            values = rng.beta(2.0, 5.0, rows)
        else:
            values = rng.poisson(2.0 + i, rows).astype(float)
        frame[f"{name}_{i + 1}"] = values
    return pd.DataFrame(frame)


def _ar1(rng: np.random.Generator, rows: int, phi: float) -> np.ndarray:
    """A stationary AR(1) series of unit variance."""
    noise = rng.normal(0.0, np.sqrt(1 - phi**2), rows)
    out = np.empty(rows)
    out[0] = rng.normal()
    # A recursion in numpy would need a loop per row; scipy's lfilter does it in C.
    from scipy.signal import lfilter
    out[1:] = lfilter([1.0], [1.0, -phi], noise[1:], zi=[phi * out[0]])[0]
    return out


def write_pair(directory: str | Path, rows: int, seed: int = 0, *, columns: int = 20,
               file_format: str = "parquet") -> tuple[Path, Path]:
    """Write ``reference.<format>`` (``rows`` rows over 30 days) and ``current.<format>`` (the next day, drifted,
    at the same traffic) into ``directory``; return their paths."""
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"file_format must be 'parquet' or 'csv', got {file_format!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    frames = {"reference": feature_frame(rows, seed, drifted=False, columns=columns),
              "current": feature_frame(max(rows // 30, 2), seed + 1, drifted=True, columns=columns,
                                       start_hour=24.0 * 30, hours=24.0)}
    paths = []
    con = duckdb.connect()
    try:
        for name, frame in frames.items():
            path = directory / f"{name}.{file_format}"
            con.register("frame", frame)
            options = "(FORMAT parquet)" if file_format == "parquet" else "(HEADER, DELIMITER ',')"
            con.execute(f"COPY frame TO '{_sql_text(path)}' {options}")
            con.unregister("frame")
            paths.append(path)
    finally:
        con.close()
    return paths[0], paths[1]


def _sql_text(path: Path) -> str:
    return path.as_posix().replace("'", "''")
