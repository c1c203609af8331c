"""What a history says, as the statistics the fit matches; and the one parameter it gives without simulating.

The same functions read a real history and a simulated one, so a simulated statistic is the real one's exact
counterpart (censoring at the end of the history included). Each statistic is on a scale where it is close to
normal and moves smoothly with its parameter: logs of a count and of medians, the logit of a share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# The statistics matched, with the least data each needs: below it, the history is too short to identify the
# parameter it pins down.
MOMENTS = ("new_models", "ttp_median", "ship_share", "ttp_p90", "retrain_gap_median")
MINIMUM = {"new_models": 10, "ttp_median": 10, "ship_share": 10, "ttp_p90": 10, "retrain_gap_median": 5}
MINIMUM_RETIREMENTS = 5
WHAT = {"new_models": "new models trained", "ttp_median": "new models deployed", "ttp_p90": "new models deployed",
        "ship_share": "new models trained", "retrain_gap_median": "retrained versions following a deployed one"}


def new_models(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["kind"] == "new"]


def ttp_days(rows: pd.DataFrame) -> np.ndarray:
    """Time-to-production of each deployed new model, in days."""
    new = new_models(rows)
    return (new["deployed_day"] - new["trained_day"]).dropna().to_numpy(dtype=float)


def retrain_gaps(rows: pd.DataFrame) -> np.ndarray:
    """Days from a version going live to the next version of the same model being trained."""
    ordered = rows.sort_values(["model_id", "version"], kind="stable")
    same = ordered["model_id"].eq(ordered["model_id"].shift())
    gaps = ordered["trained_day"] - ordered["deployed_day"].shift()
    return gaps[same].dropna().to_numpy(dtype=float)


def counts(rows: pd.DataFrame) -> dict[str, int]:
    """How much data each statistic rests on."""
    new = new_models(rows)
    return {"new_models": len(new), "ttp_median": int(new["deployed_day"].notna().sum()),
            "ship_share": len(new), "ttp_p90": int(new["deployed_day"].notna().sum()),
            "retrain_gap_median": len(retrain_gaps(rows))}


def moments(rows: pd.DataFrame, names: tuple[str, ...] = MOMENTS) -> np.ndarray:
    """The statistics, in ``names``' order; NaN where a history has no data for one."""
    new = new_models(rows)
    ttp, gaps = ttp_days(rows), retrain_gaps(rows)
    shipped = float(new["deployed_day"].notna().sum())
    values = {
        "new_models": math.log(len(new)) if len(new) else math.nan,
        "ttp_median": math.log(max(float(np.median(ttp)), 1e-3)) if len(ttp) else math.nan,
        # Half a model added to each side keeps a share of 0 or 1 finite.
        "ship_share": math.log((shipped + 0.5) / (len(new) - shipped + 0.5)) if len(new) else math.nan,
        # The slow tail: where trained models that wait too long are abandoned, it ends near that wait.
        "ttp_p90": math.log(max(float(np.quantile(ttp, 0.9)), 1e-3)) if len(ttp) else math.nan,
        "retrain_gap_median": math.log(max(float(np.median(gaps)), 1e-3)) if len(gaps) else math.nan,
    }
    return np.array([values[name] for name in names])


@dataclass(frozen=True)
class Lifetime:
    """The mean time a model stays live, from its retirements: exponential lifetimes, censored at the end."""

    retirements: int
    exposure_days: float
    mean_days: float
    low: float
    high: float


def lifetime(rows: pd.DataFrame, end_day: float) -> Lifetime:
    """Maximum-likelihood mean lifetime (exposure / retirements) with the exact chi-square 95% interval for an
    exponential mean. A model retires when its last deployed version stops serving."""
    deployed = rows[rows["deployed_day"].notna()].sort_values(["model_id", "version"], kind="stable")
    if deployed.empty:
        return Lifetime(0, 0.0, math.nan, math.nan, math.nan)
    first_live = deployed.groupby("model_id", sort=False)["deployed_day"].min()
    last = deployed.drop_duplicates("model_id", keep="last").set_index("model_id")
    retired = last["retired_day"].reindex(first_live.index)  # the last deployed version's end, if any
    ends = retired.fillna(end_day)
    exposure = float((ends - first_live).clip(lower=0.0).sum())
    r = int(retired.notna().sum())
    if r == 0:
        return Lifetime(0, exposure, math.nan, math.nan, math.nan)
    low = 2 * exposure / stats.chi2.ppf(0.975, 2 * r + 2)  # time-censored: the upper count uses 2r + 2
    high = 2 * exposure / stats.chi2.ppf(0.025, 2 * r)
    return Lifetime(r, exposure, exposure / r, float(low), float(high))
