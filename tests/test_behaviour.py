"""What the simulator must show about ML organisations (DESIGN.md), as outcomes of its mechanics."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import numpy as np

from mlorg.results import compare, mean_ci, replicate, simulate
from mlorg.scenario import Capabilities, load

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SEED = 7


@cache
def runs(name: str, replications: int = 20):
    return replicate(load(SCENARIOS / f"{name}.toml"), replications, seed=SEED)


def test_first_ml_engineer_beats_fifth_data_scientist():
    # Paired on common random numbers: replication r of both scenarios shares its random streams.
    diff = compare(runs("fifth_ds"), runs("first_mle"))  # first_mle − fifth_ds
    assert diff.loc["models_shipped", "ci95_low"] > 0
    assert diff.loc["ttp_days_median", "ci95_high"] < 0
    assert diff.loc["models_abandoned", "ci95_high"] <= 0


def test_notebook_shipping_builds_a_growing_wall_of_demos():
    unshipped = {day: [] for day in (182, 365, 546, 728)}
    for run in runs("notebook_shipping").runs:
        ts = run.timeseries
        for day in unshipped:
            row = ts.iloc[(ts["day"] - day).abs().argmin()]
            unshipped[day].append(row["trained_cum"] - row["shipped_cum"])
    means = [np.mean(v) for v in unshipped.values()]
    assert all(a < b for a, b in zip(means, means[1:], strict=False)), means
    year_one, year_two = np.array(unshipped[365]), np.array(unshipped[728])
    assert mean_ci(year_two - year_one)["ci95_low"] > 0
    assert runs("notebook_shipping").summary.loc["models_abandoned", "mean"] > 1


def test_data_scientists_without_ml_engineers_trade_research_for_production():
    notebook = runs("notebook_shipping").summary["mean"]
    first_mle = runs("first_mle").summary["mean"]
    assert notebook["time_share_data_scientist_productionisation"] > 0.05
    assert first_mle["time_share_data_scientist_productionisation"] == 0
    assert notebook["time_share_data_scientist_research"] < first_mle["time_share_data_scientist_research"] - 0.1


def test_platform_team_lowers_ttp_and_toil_over_its_first_year():
    # Time to deploy (to the first real users): the A/B tests' fixed weeks that follow it do not shrink.
    early_ttp, late_ttp, early_toil, late_toil = [], [], [], []
    for run in runs("platform_team", 10).runs:
        models, ts = run.models, run.timeseries
        early_ttp.append(models.loc[models["trained_day"] < 91, "deploy_days"].median())
        late_ttp.append(models.loc[models["trained_day"].between(365, 730), "deploy_days"].median())
        per_model = ts["model_toil_hours_per_week"] / ts["models_live"].where(ts["models_live"] > 0)
        early_toil.append(per_model[ts["day"].between(30, 91)].mean())
        late_toil.append(per_model[ts["day"] >= 365].mean())
    assert np.mean(late_ttp) < 0.5 * np.mean(early_ttp)
    # A run whose first models go live after day 91 has no early toil to compare.
    assert np.isfinite(early_toil).sum() >= 7
    assert np.mean(late_toil) < 0.5 * np.nanmean(early_toil)


def _engineering_load(scenario, seed: int = 1) -> tuple[float, float]:
    """Busy engineer-hours (ML + platform engineers, not idle) and live model-years over a run."""
    run = simulate(scenario, seed)
    use = run.time_use
    busy = use[(use["role"] != "data_scientist") & (use["activity"] != "idle")]["hours"].sum()
    return busy, run.extras["live_model_years"]


def test_platform_engineering_grows_sub_linearly_with_the_number_of_models():
    # Scale the organisation 1x, 4x, 16x (data scientists, and ML engineers with them, so nobody waits)
    # and fit the slope of log(engineering hours) on log(live model-years). With a platform, build and
    # upkeep are fixed costs and per-model work is cheaper, so the slope is well below 1; without one,
    # every model costs the same, so the slope is about 1. Nothing in the code names this curve.
    base = load(SCENARIOS / "platform_team.toml")
    no_platform = base.replace(platform=dataclasses.replace(base.platform, build_order=()))
    slopes = {}
    for label, scenario in (("platform", base), ("none", no_platform)):
        points = []
        for scale in (0.25, 1, 4):
            org = dataclasses.replace(scenario.org, data_scientists=round(40 * scale),
                                      ml_engineers=max(1, round(15 * scale)),
                                      platform_engineers=6 if label == "platform" else 0)
            points.append(_engineering_load(scenario.replace(org=org)))
        hours, model_years = np.log(np.array(points)).T
        slopes[label] = np.polyfit(model_years, hours, 1)[0]
    assert slopes["platform"] < 0.7, slopes
    assert 0.9 <= slopes["none"] < 1.1, slopes


def test_a_built_capability_cuts_productionisation_effort():
    base = load(SCENARIOS / "first_mle.toml")
    caps = base.platform.capabilities
    with_serving = base.replace(platform=dataclasses.replace(
        base.platform, capabilities=dataclasses.replace(caps, serving=dataclasses.replace(caps.serving, built=True))))
    assert Capabilities().serving.effort_factor < 1
    diff = compare(replicate(base, 20, SEED, keep_runs=False), replicate(with_serving, 20, SEED, keep_runs=False))
    assert diff.loc["ttp_days_median", "ci95_high"] < 0
    assert diff.loc["time_share_ml_engineer_productionisation", "ci95_high"] < 0


def test_a_models_random_draws_belong_to_whoever_trained_it():
    # Common random numbers: with engineers to spare (no queue) and no shared load (no toil, whose share per
    # engineer depends on headcount, and no retraining, which any data scientist may pick up), adding a 21st
    # ML engineer or a fifth data scientist changes nothing for the first four data scientists' models. One class
    # without governance: an A/B test's analysis is work any data scientist may pick up.
    base = load(SCENARIOS / "first_mle.toml").replace(portfolio=())
    lifecycle = dataclasses.replace(base.lifecycle, toil_hours_per_model_week=0.0, retrain_every_days=0.0,
                                    pipeline_hours_per_model_week=0.0, support_hours_per_data_scientist_week=0.0)
    roomy = base.replace(org=dataclasses.replace(base.org, ml_engineers=20), lifecycle=lifecycle)
    more_mle = roomy.replace(org=dataclasses.replace(roomy.org, ml_engineers=21))
    more_ds = roomy.replace(org=dataclasses.replace(roomy.org, data_scientists=5))
    reference = simulate(roomy, 3).models
    for variant in (more_mle, more_ds):
        models = simulate(variant, 3).models
        first_four = models[models["trained_by"].isin(reference["trained_by"].unique())]
        key = ["trained_by", "trained_day"]
        merged = reference.merge(first_four, on=key, suffixes=("", "_variant"))
        assert len(merged) == len(reference)
        assert np.allclose(merged["ttp_days"], merged["ttp_days_variant"], equal_nan=True)
