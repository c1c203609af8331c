"""``mlorg drift compare`` and ``mlorg drift tune`` on files. Compare: every feature of a current file against a
reference file, with the four distribution statistics of :mod:`mlorg.monitoring.detectors` and whether each
detector's threshold flags it.

Numeric features get PSI and Jensen–Shannon on the reference's deciles, the KS p-value and the Wasserstein
distance (normed by the reference's standard deviation), all computed on the reference sorted once
(:mod:`mlorg.monitoring.sorted_samples`). Categorical features get PSI and Jensen–Shannon over their values (a value
new in the current file is a bin of its own); KS and Wasserstein need an order, so they are not given. Missing
values are counted in their own bin, as the detectors do: a feature that turned null is drift.

Tune: :func:`tune_file` reads the reference in time order and hands each feature to
:mod:`mlorg.monitoring.file_tuning`.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlorg.monitoring.detectors import DEFAULTS
from mlorg.monitoring.feature_files import Column, FeatureFile, FeatureFileError, check_pair, skipped
from mlorg.monitoring.file_tuning import (
    FEW_WINDOWS,
    NullDraws,
    TunedThreshold,
    TuneSettings,
    Windows,
    null_draws,
    tuned,
)
from mlorg.monitoring.sorted_samples import (
    SortedReference,
    jensen_shannon_from_counts,
    numeric_statistics,
    psi_from_counts,
)

FILE_DETECTORS = ("psi", "ks", "wasserstein", "jensen_shannon")
WORKERS = 2  # DuckDB's fetches and numpy's sorts release the GIL: two columns at once on two cores


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's comparison. Statistics a kind of feature has no use for are NaN."""

    column: str
    kind: str  # "numeric" or "categorical"
    reference_rows: int
    current_rows: int
    reference_missing: float  # share of rows
    current_missing: float
    psi: float
    ks: float  # p-value
    ks_distance: float
    wasserstein: float
    jensen_shannon: float

    def score(self, detector: str) -> float:
        return getattr(self, detector)

    def drifted(self, detector: str, threshold: float | None = None) -> bool | None:
        """Whether ``detector`` flags this feature at ``threshold`` (its default if None), a tie counting as drift
        as in Evidently; None when the detector does not apply to this kind of feature."""
        score = self.score(detector)
        if math.isnan(score):
            return None
        limit = DEFAULTS[detector].threshold if threshold is None else threshold
        return score <= limit if DEFAULTS[detector].alarm_when == "below" else score >= limit


@dataclass(frozen=True)
class FileComparison:
    drifts: list[FeatureDrift]
    skipped: list[Column]  # identifiers left out, each with why


def compare_files(reference: str | Path, current: str | Path, columns: list[str] | None = None,
                  bins: int = 10) -> FileComparison:
    """Every compared column of ``current`` against ``reference``, in the reference's column order."""
    with FeatureFile(reference, "reference") as ref, FeatureFile(current, "current") as cur:
        picked = check_pair(ref, cur, columns)
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            drifts = list(pool.map(lambda column: _compare_column(ref, cur, column, bins), picked))
        return FileComparison(drifts, [] if columns else skipped(ref))


def _compare_column(ref: FeatureFile, cur: FeatureFile, column: Column, bins: int) -> FeatureDrift:
    if column.kind == "numeric":
        reference_values = ref.numeric(column.name)
        current_values = cur.numeric(column.name)
        stats = numeric_statistics(SortedReference(reference_values, bins), current_values)
        missing = (float(np.isnan(reference_values).mean()), float(np.isnan(current_values).mean()))
    else:
        reference_counts, current_counts = category_count_vectors(ref.category_counts(column.name),
                                                                  cur.category_counts(column.name))
        stats = {"psi": psi_from_counts(reference_counts, current_counts),
                 "jensen_shannon": jensen_shannon_from_counts(reference_counts, current_counts),
                 "ks": math.nan, "ks_distance": math.nan, "wasserstein": math.nan}
        missing = (reference_counts[-1] / reference_counts.sum(), current_counts[-1] / current_counts.sum())
    return FeatureDrift(column=column.name, kind=column.kind, reference_rows=ref.rows, current_rows=cur.rows,
                        reference_missing=float(missing[0]), current_missing=float(missing[1]), **stats)


def category_count_vectors(reference: dict, current: dict) -> tuple[np.ndarray, np.ndarray]:
    """Counts over the same bins: each reference value, each value only the current file has, then missing."""
    values = sorted(v for v in reference if v is not None)
    values += sorted(v for v in current if v is not None and v not in reference)
    ref = np.array([reference.get(v, 0) for v in values] + [reference.get(None, 0)], dtype=float)
    cur = np.array([current.get(v, 0) for v in values] + [current.get(None, 0)], dtype=float)
    return ref, cur


def flagged(drifts: list[FeatureDrift], detector: str, thresholds: dict[str, float] | None = None) -> list[str]:
    """The columns ``detector`` flags, at per-column ``thresholds`` where given, else at its default."""
    thresholds = thresholds or {}
    return [d.column for d in drifts if d.drifted(detector, thresholds.get(d.column))]


def check_detector(detector: str) -> None:
    if detector not in FILE_DETECTORS:
        raise FeatureFileError(f"--detector: {detector!r} is not allowed; must be one of {', '.join(FILE_DETECTORS)}")


@dataclass(frozen=True)
class TuneResult:
    """Thresholds for every tuned feature, the draws behind them (for a feature's trade-off curve), and what the
    null rests on."""

    thresholds: list[TunedThreshold]
    draws: dict[str, NullDraws]
    settings: TuneSettings
    rows: int
    span_hours: float
    independent_windows: float  # windows the reference holds side by side

    @property
    def few_windows(self) -> bool:
        return self.independent_windows < FEW_WINDOWS


def tune_file(reference: str | Path, time_column: str, settings: TuneSettings, columns: list[str] | None = None,
              progress=None) -> TuneResult:
    """Tune ``settings.detector``'s threshold for every compared column of ``reference`` (see
    :mod:`mlorg.monitoring.file_tuning`); ``progress(done, total)`` after each column."""
    with FeatureFile(reference, "reference") as ref:
        hours = ref.hours(time_column)
        picked = [c for c in check_pair(ref, ref, columns) if c.name != time_column]
        if not picked:
            raise FeatureFileError(f"the reference file has no column to tune besides the time column {time_column}")
        if settings.detector in ("ks", "wasserstein"):
            text = [c.name for c in picked if c.kind == "categorical"]
            if text:
                raise FeatureFileError(f"--detector {settings.detector} needs numbers, and {', '.join(text)} "
                                       f"{'is' if len(text) == 1 else 'are'} categorical; tune psi or "
                                       "jensen_shannon, or leave them out with --columns")
        try:
            windows = Windows(hours, settings)
        except ValueError as exc:
            raise FeatureFileError(str(exc)) from None

        def one(column: Column) -> NullDraws:
            if column.kind == "numeric":
                values = ref.numeric(column.name, in_time_order=True)
            else:
                categories = sorted(v for v in ref.category_counts(column.name) if v is not None)
                values = ref.category_codes(column.name, categories, in_time_order=True)
            try:
                return null_draws(column.name, column.kind, values, windows, settings)
            except ValueError as exc:
                raise FeatureFileError(f"column {column.name}: {exc}") from None

        draws = {}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for done, result in enumerate(pool.map(one, picked), start=1):
                draws[result.column] = result
                if progress is not None:
                    progress(done, len(picked))
    thresholds = [tuned(d, settings, len(draws)) for d in draws.values()]
    return TuneResult(thresholds=thresholds, draws=draws, settings=settings, rows=ref.rows,
                      span_hours=windows.span, independent_windows=windows.independent)


def comparison_frame(drifts: list[FeatureDrift], detector: str, thresholds: dict[str, float] | None = None
                     ) -> pd.DataFrame:
    """One row per feature as the page shows it: missing shares, the four statistics (NaN where they do not
    apply), the threshold that decides and whether the feature drifts by it."""
    thresholds = thresholds or {}
    rows = []
    for d in drifts:
        verdict = d.drifted(detector, thresholds.get(d.column))
        rows.append({"feature": d.column, "kind": d.kind, "missing (reference)": d.reference_missing,
                     "missing (current)": d.current_missing, "PSI": d.psi, "KS p-value": d.ks,
                     "Wasserstein": d.wasserstein, "Jensen–Shannon": d.jensen_shannon,
                     "threshold": thresholds.get(d.column, DEFAULTS[detector].threshold),
                     "drift": "n/a" if verdict is None else ("drift" if verdict else "")})
    return pd.DataFrame(rows)


def thresholds_frame(result: TuneResult) -> pd.DataFrame:
    """One row per tuned feature: false alarms at the default, the tuned threshold, how it was read, and the lag."""
    default = DEFAULTS[result.settings.detector].threshold
    return pd.DataFrame([{"feature": t.column, "kind": t.kind, f"false alarms/month at {default:g}":
                          t.default_false_alarms_per_month, "tuned threshold": t.threshold, "tail": t.tail,
                          "lag (hours)": t.lag_hours, "worst lag (hours)": t.worst_lag_hours}
                         for t in result.thresholds])
