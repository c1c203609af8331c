"""The organisation simulator against queueing theory.

With data scientists who only research (exponential cycles, so each is a Poisson source and together
they are one), ML engineers who only productionise (exponential effort), and nothing else going on (no
toil, pipeline work or support, review, release train, retraining, retirement or abandonment; one class of models
with no governance), trained models queue for ML
engineers exactly as customers queue in M/M/1 or M/M/c, and time-to-production is the sojourn time.

Warm-up and tolerances: each replication starts empty; models trained in the first 10% of the horizon
are dropped (warm-up) and so are models trained in the last 30 days (their sojourn may not have ended).
The standard error of the replicated mean is ≈ 1% for these run sizes (measured over 80 replications),
so the 5% tolerance is four to five standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlorg.scenario import loads
from mlorg.serving.analytic import mmc_mean_sojourn
from mlorg.sim import HOURS_PER_DAY, run_once

HORIZON_DAYS = 1200
WARM_UP = 0.1 * HORIZON_DAYS * HOURS_PER_DAY
CUT_OFF = (HORIZON_DAYS - 30) * HOURS_PER_DAY


def queue_scenario(scientists: int, cycle_hours: float, effort_hours: float, engineers: int,
                   hours_per_week: float = 168.0, engineer_efficiency: float = 1.0) -> object:
    return loads(f"""
horizon_days = {HORIZON_DAYS}
[org]
data_scientists = {scientists}
ml_engineers = {engineers}
productive_hours_per_week = {hours_per_week}
[skills.ml_engineer]
productionisation = {engineer_efficiency}
[policy]
data_scientists_productionise = "never"
[research]
cycle_hours = {{ dist = "exponential", mean = {cycle_hours} }}
[productionisation]
effort_hours = {{ dist = "exponential", mean = {effort_hours} }}
abandon_after_days = 36500
[deploy]
review_hours = {{ dist = "deterministic", mean = 0.0 }}
release_every_days = 0
[lifecycle]
toil_hours_per_model_week = 0
pipeline_hours_per_model_week = 0
support_hours_per_data_scientist_week = 0
retrain_every_days = 0
lifetime_days = 0
""")


def steady_state_sojourns(scenario, replications: int, seed: int = 11) -> np.ndarray:
    """Mean TTP (hours) of each replication, over models trained between warm-up and cut-off."""
    means = []
    for r in range(replications):
        out = run_once(scenario, seed, r)
        ttp = [m.live_at - m.trained_at for m in out.models if WARM_UP < m.trained_at < CUT_OFF]
        assert not np.isnan(ttp).any(), "every model in the window must have shipped"
        means.append(np.mean(ttp))
    return np.array(means)


@pytest.mark.parametrize(
    ("utilisation", "replications", "hours_per_week", "efficiency"),
    [(0.5, 40, 168.0, 1.0), (0.7, 60, 168.0, 1.0), (0.5, 40, 84.0, 0.5)],
    ids=["rho0.5", "rho0.7", "rho0.5-part-time-half-efficiency"],
)
def test_one_ml_engineer_is_an_mm1_queue(utilisation, replications, hours_per_week, efficiency):
    # Arrivals: 4 scientists, 40 productive hours per cycle; a person works hours_per_week/168 of the time,
    # so calendar rates scale by that, and an engineer at efficiency e serves e times as fast.
    scientists, cycle = 4, 40.0
    availability = hours_per_week / 168.0
    arrival_rate = scientists * availability / cycle
    effort = utilisation * efficiency * availability / arrival_rate
    service_rate = efficiency * availability / effort
    expected = 1.0 / (service_rate - arrival_rate)  # M/M/1 sojourn time
    scenario = queue_scenario(scientists, cycle, effort, 1, hours_per_week, efficiency)
    observed = steady_state_sojourns(scenario, replications).mean()
    assert observed == pytest.approx(expected, rel=0.05)


def test_several_ml_engineers_are_an_mmc_queue():
    scientists, cycle, effort, engineers = 4, 40.0, 20.0, 3
    arrival_rate, service_rate = scientists / cycle, 1.0 / effort
    expected = mmc_mean_sojourn(arrival_rate, service_rate, engineers)  # Erlang C wait + service
    assert arrival_rate / (engineers * service_rate) == pytest.approx(2 / 3)
    observed = steady_state_sojourns(queue_scenario(scientists, cycle, effort, engineers), 40).mean()
    assert observed == pytest.approx(expected, rel=0.05)


def test_more_engineers_than_arrivals_need_means_no_wait():
    # 40 engineers for a load of 0.2 Erlang: Erlang C says P(wait) < 1e-40, so TTP is the service time.
    observed = steady_state_sojourns(queue_scenario(2, 40.0, 4.0, 40), 10).mean()
    assert observed == pytest.approx(4.0, rel=0.05)


def test_littles_law_on_the_backlog():
    # L = λ W over the window after warm-up: time-average backlog versus arrival rate × mean sojourn.
    scenario = queue_scenario(4, 40.0, 7.0, 1)
    ratios = []
    for r in range(20):
        out = run_once(scenario, 5, r)
        window = [m for m in out.models if WARM_UP <= m.trained_at < CUT_OFF]
        arrival_rate = len(window) / (CUT_OFF - WARM_UP)
        mean_sojourn = np.mean([m.live_at - m.trained_at for m in window])
        backlog = out.levels["backlog"].mean(WARM_UP, CUT_OFF)
        ratios.append(backlog / (arrival_rate * mean_sojourn))
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.03)


def test_backlog_integral_equals_total_time_in_system():
    # The sample-path form of Little's law is exact: starting empty, the integral of the backlog over
    # [0, H] equals the sum over models of the time each spent trained-but-not-live within [0, H].
    out = run_once(queue_scenario(4, 40.0, 9.0, 1), 3, 0)
    horizon = out.horizon
    in_system = sum(min(m.live_at if m.live_at == m.live_at else horizon, horizon) - m.trained_at
                    for m in out.models)
    assert out.levels["backlog"].integral(0.0, horizon) == pytest.approx(in_system, rel=1e-9)
