"""Drift detectors: hand-computed cases, agreement with scipy / scikit-learn, and agreement with theory.

Theory checks are seeded and state their tolerance against the standard error of the replicated mean:
PSI's null mean (chi-square, about 2.7% standard error over 300 draws, tolerance 10%), the KS test's size at
0.05 (binomial, 400 draws), and CUSUM's in-control and 1σ run lengths (Siegmund's approximations, standard errors
about 2.5% and 0.6%, tolerance 10%).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import roc_auc_score

from mlorg.monitoring.detectors import (
    DEFAULTS,
    Cusum,
    LabelDelayedPerformance,
    PageHinkley,
    PerformanceReading,
    bin_shares,
    jensen_shannon,
    ks_pvalue,
    ks_statistic,
    psi,
    quantile_edges,
    recall_at,
    roc_auc,
    wasserstein,
)

# 1..100: its deciles are 10.9, 20.8, ..., 90.1 (numpy's linear interpolation), so each decile bin holds
# exactly ten values and the value 10j + 5 sits in bin j.
PERCENT = np.arange(1.0, 101.0)
DECILE_MIDDLES = np.arange(5.0, 100.0, 10.0)


def decile_sample(counts: list[int]) -> np.ndarray:
    """A current sample with ``counts[j]`` values in decile bin j of ``PERCENT``."""
    return np.repeat(DECILE_MIDDLES, counts)


# --- defaults --------------------------------------------------------------------------------------------------


def test_defaults_hold_the_documented_thresholds():
    expected = {
        "psi": (0.1, "above"),
        "ks": (0.05, "below"),
        "wasserstein": (0.1, "above"),
        "jensen_shannon": (0.1, "above"),
        "cusum": (5.0, "above"),
        "page_hinkley": (50.0, "above"),
        "performance": (0.05, "above"),
    }
    assert {name: (d.threshold, d.alarm_when) for name, d in DEFAULTS.items()} == expected
    assert "convention" in DEFAULTS["performance"].source
    assert all(d.source for d in DEFAULTS.values())


# --- bins and PSI ----------------------------------------------------------------------------------------------


def test_quantile_edges_are_reference_deciles_and_bins_are_right_closed():
    edges = quantile_edges(PERCENT)
    np.testing.assert_allclose(edges, 1 + 99 * np.arange(1, 10) / 10)
    np.testing.assert_allclose(bin_shares(PERCENT, edges), np.full(10, 0.1))
    # A value on an edge belongs to the bin below it.
    np.testing.assert_allclose(bin_shares([edges[0], edges[0] + 0.01], edges), [0.5, 0.5] + [0.0] * 8)
    # NaN falls in no bin but still counts in the denominator.
    np.testing.assert_allclose(bin_shares([np.nan, 5.0], edges), [0.5] + [0.0] * 9)


def test_psi_of_identical_samples_is_zero():
    sample = np.random.default_rng(1).normal(size=1000)
    assert psi(sample, sample) == 0.0


def test_psi_matches_the_hand_formula():
    current = decile_sample([20, 5, 10, 10, 10, 10, 10, 10, 10, 5])
    hand = (0.2 - 0.1) * math.log(0.2 / 0.1) + 2 * (0.05 - 0.1) * math.log(0.05 / 0.1)
    assert psi(PERCENT, current) == pytest.approx(hand, rel=1e-12)


def test_psi_replaces_an_empty_bin_share_with_epsilon():
    current = decile_sample([20, 0, 10, 10, 10, 10, 10, 10, 10, 10])
    for epsilon in (1e-4, 1e-3):
        hand = (0.2 - 0.1) * math.log(2) + (epsilon - 0.1) * math.log(epsilon / 0.1)
        assert psi(PERCENT, current, epsilon=epsilon) == pytest.approx(hand, rel=1e-12)


def test_psi_on_a_discrete_feature_ignores_the_empty_bins_between_repeated_edges():
    reference = np.array([0.0] * 7 + [1.0] * 3)  # edges 0 ×6, 0.3, 1, 1: zeros in bin 0, ones in bin 7
    assert psi(reference, reference) == 0.0
    hand = (0.5 - 0.7) * math.log(0.5 / 0.7) + (0.5 - 0.3) * math.log(0.5 / 0.3)
    assert psi(reference, [0.0, 1.0]) == pytest.approx(hand, rel=1e-12)


def test_psi_flags_an_upstream_break_to_a_constant():
    reference = np.random.default_rng(2).normal(size=5000)
    assert psi(reference, np.full(1000, 0.3)) > 1.0


def test_psi_catches_a_feature_turning_null_through_the_missing_bin():
    reference = np.random.default_rng(3).normal(size=5000)
    epsilon = 1e-4
    hand = (1 - epsilon) * math.log(1 / epsilon) + 10 * (epsilon - 0.1) * math.log(epsilon / 0.1)
    assert psi(reference, np.full(500, np.nan)) == pytest.approx(hand, rel=1e-9)
    # A third of the values turning null is major drift for PSI, while KS, which only sees numbers, sees none.
    current = np.random.default_rng(4).normal(size=3000)
    current[:1000] = np.nan
    assert psi(reference, current) > 0.25
    assert ks_pvalue(reference, current) > 0.05


def test_psi_null_mean_matches_the_chi_square_approximation():
    rng = np.random.default_rng(5)
    reference = rng.normal(size=200_000)
    n, bins = 2000, 10
    mean = np.mean([psi(reference, rng.normal(size=n), bins=bins) for _ in range(300)])
    expected = (bins - 1) * (1 / n + 1 / reference.size)
    assert mean == pytest.approx(expected, rel=0.10)


# --- Kolmogorov–Smirnov ----------------------------------------------------------------------------------------


def test_ks_agrees_with_scipy():
    rng = np.random.default_rng(6)
    reference, current = rng.normal(size=700), rng.normal(0.2, 1.1, size=300)
    result = stats.ks_2samp(reference, current, method="asymp")
    assert ks_statistic(reference, current) == result.statistic
    n, m = reference.size, current.size
    assert ks_pvalue(reference, current) == pytest.approx(stats.kstwo.sf(result.statistic, round(n * m / (n + m))))
    assert ks_pvalue(reference, current) == pytest.approx(result.pvalue)


def test_ks_pvalue_rejects_about_five_percent_under_no_drift():
    # 1000 against 500 values: kstwo.sf is slow for an effective size between about 100 and 150.
    rng = np.random.default_rng(7)
    rejections = [ks_pvalue(rng.normal(size=1000), rng.normal(size=500)) <= 0.05 for _ in range(400)]
    assert 0.02 <= np.mean(rejections) <= 0.09


def test_ks_drops_nans_but_an_all_nan_current_is_maximal_drift():
    rng = np.random.default_rng(8)
    reference, current = rng.normal(size=500), rng.normal(size=200)
    with_nans = np.append(current, [np.nan] * 50)
    assert ks_statistic(reference, with_nans) == ks_statistic(reference, current)
    assert ks_pvalue(reference, with_nans) == ks_pvalue(reference, current)
    assert ks_statistic(reference, [np.nan, np.nan]) == 1.0
    assert ks_pvalue(reference, [np.nan, np.nan]) == 0.0


# --- Wasserstein -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [0.5, 1.0, 3.0])
def test_wasserstein_reads_a_shift_in_reference_standard_deviations(shift):
    rng = np.random.default_rng(9)
    reference, current = rng.normal(5, 2, size=100_000), rng.normal(5, 2, size=100_000)
    assert wasserstein(reference, current + shift * 2) == pytest.approx(shift, abs=0.02)


def test_wasserstein_is_scale_invariant():
    rng = np.random.default_rng(10)
    reference, current = rng.normal(size=1000), rng.gamma(2.0, size=800)
    assert wasserstein(10 * reference, 10 * current) == pytest.approx(wasserstein(reference, current), rel=1e-12)


def test_wasserstein_edge_cases():
    assert wasserstein([3.0, 3.0, 3.0], [4.0, 4.0]) == 1.0  # constant reference: not scaled
    assert wasserstein([1.0, 2.0, 3.0], [2.0, np.nan]) == wasserstein([1.0, 2.0, 3.0], [2.0])
    assert wasserstein([1.0, 2.0, 3.0], [np.nan]) == math.inf


# --- Jensen–Shannon --------------------------------------------------------------------------------------------


def test_jensen_shannon_matches_scipy_on_the_bin_shares():
    rng = np.random.default_rng(11)
    reference, current = rng.normal(size=3000), rng.normal(0.3, 1.2, size=1000)
    edges = quantile_edges(reference)
    expected = jensenshannon(bin_shares(reference, edges), bin_shares(current, edges))
    assert jensen_shannon(reference, current) == pytest.approx(expected, rel=1e-12)
    assert jensen_shannon(reference, reference) == 0.0


def test_jensen_shannon_is_bounded_by_sqrt_ln2():
    rng = np.random.default_rng(12)
    reference = rng.normal(size=2000)
    for shift in (0.0, 1.0, 5.0, 100.0):
        assert 0.0 <= jensen_shannon(reference, rng.normal(shift, size=500)) <= math.sqrt(math.log(2))
    # All-null current shares no bin with the reference: the bound itself.
    assert jensen_shannon(reference, [np.nan] * 10) == pytest.approx(math.sqrt(math.log(2)), rel=1e-12)


# --- CUSUM -----------------------------------------------------------------------------------------------------


def test_cusum_hand_trace():
    # mean 10, sd 2 -> z = 0, 1.5, 1, 2, -0.5, 3, -2. Upper side with k = 0.5, h = 2:
    # 0, 1.0, 1.5, 3.0 (> 2: alarm, reset to 0), 0, 2.5 (alarm, reset), 0.
    xs = [10, 13, 12, 14, 9, 16, 6]
    upper = Cusum(k=0.5, h=2, mean=10, sd=2)
    trace = [(upper.update(x), upper.statistic) for x in xs]
    assert trace == [(False, 0.0), (False, 1.0), (False, 1.5), (True, 0.0), (False, 0.0), (True, 0.0), (False, 0.0)]
    # Two-sided: the lower side L = max(0, L - z - k) stays 0 until the last step, 0 + 2 - 0.5 = 1.5.
    both = Cusum(k=0.5, h=2, mean=10, sd=2, direction="both")
    assert both.run(xs).tolist() == [3, 5]
    assert both.statistic == 1.5


def test_cusum_first_alarm_carries_on_from_the_current_state():
    warmed = Cusum(k=0.5, h=2, mean=10, sd=2)
    warmed.update(13)
    warmed.update(12)  # S = 1.5, so 14 (z = 2) takes it to 3.0
    assert warmed.first_alarm([14, 14]) == 0
    assert Cusum(k=0.5, h=2, mean=10, sd=2).first_alarm([14, 14]) == 1  # 1.5, then 3.0
    assert Cusum().first_alarm([0.0] * 100) == -1


def cusum_run_lengths(mean: float, observations: int, seed: int) -> np.ndarray:
    """Run lengths of an upper CUSUM (k = 0.5, h = 5) over one seeded N(mean, 1) stream.

    The statistic restarts at 0 after each alarm, so the gaps between alarms are independent runs from a fresh
    start; the stream goes in chunks to show that run() carries its state from one call to the next.
    """
    rng = np.random.default_rng(seed)
    cusum, alarms = Cusum(k=0.5, h=5.0), []
    chunk = 100_000
    for start in range(0, observations, chunk):
        alarms.append(cusum.run(rng.normal(mean, size=min(chunk, observations - start))) + start)
    return np.diff(np.concatenate([[-1], *alarms]))


def test_cusum_in_control_run_length_matches_siegmund():
    # Siegmund: ARL0 = (exp(2kb) - 2kb - 1) / (2k²) with b = h + 1.166 gives 938 (exact value about 930).
    # About 1600 runs, standard error about 2.5%, so the 10% tolerance is four standard errors.
    lengths = cusum_run_lengths(0.0, 1_500_000, seed=13)
    assert len(lengths) > 1000
    assert lengths.mean() == pytest.approx(938, rel=0.10)


def test_cusum_delay_for_a_one_sigma_shift_matches_siegmund():
    # Siegmund with Δ = 1 - k = 0.5: (exp(-2Δb) + 2Δb - 1) / (2Δ²) = 10.34.
    lengths = cusum_run_lengths(1.0, 30_000, seed=14)[:2000]
    assert len(lengths) == 2000
    assert lengths.mean() == pytest.approx(10.3, rel=0.10)


def test_cusum_directions():
    rng = np.random.default_rng(15)
    up, down = rng.normal(2, size=500), rng.normal(-2, size=500)
    assert Cusum(direction="up").run(down).size == 0
    assert Cusum(direction="up").run(up).size > 0
    assert Cusum(direction="down").run(up).size == 0
    assert Cusum(direction="down").first_alarm(down) >= 0
    assert Cusum(direction="both").first_alarm(up) >= 0
    assert Cusum(direction="both").first_alarm(down) >= 0


# --- Page–Hinkley ----------------------------------------------------------------------------------------------


def test_page_hinkley_hand_trace():
    # delta 0.1, no forgetting. xs 0, 0, 0: mean 0, m = -0.1, -0.2, -0.3 (its minimum), M = 0.1, 0.2, 0.3.
    # x = 3: mean 0.75, deviation 2.25; m = -0.3 + 2.25 - 0.1 = 1.85, rise 1.85 + 0.3 = 2.15;
    # M = 0.3 + 2.25 + 0.1 = 2.65 is a new maximum, fall 0.
    # x = 3: mean 1.2, deviation 1.8; m = 3.55, rise 3.85 > 2.5: alarm. Then a fresh start: 100 is its own mean.
    detector = PageHinkley(delta=0.1, threshold=2.5, alpha=1.0, min_instances=1)
    trace = [(detector.update(x), round(detector.statistic, 12)) for x in [0, 0, 0, 3, 3, 100]]
    assert trace == [(False, 0.0), (False, 0.0), (False, 0.0), (False, 2.15), (True, 0.0), (False, 0.0)]
    # The decrease side mirrors it: x = -3 gives M = 0.3 - 2.25 + 0.1 = -1.85, fall 0.3 + 1.85 = 2.15.
    falling = PageHinkley(delta=0.1, threshold=2.5, alpha=1.0, min_instances=1, mode="down")
    falling.run([0, 0, 0, -3])
    assert falling.statistic == pytest.approx(2.15)


def test_page_hinkley_forgets_old_deviations_but_not_the_mean():
    # alpha 0.5, delta 0. xs 1, 3, 0, 4: running means 1, 2, 4/3, 2; deviations 0, 1, -4/3, 2;
    # m = 0, 1, 0.5 - 4/3 = -5/6 (minimum), -5/12 + 2 = 19/12; rise 19/12 + 5/6 = 29/12.
    detector = PageHinkley(delta=0.0, threshold=100, alpha=0.5, min_instances=1, mode="up")
    statistics = []
    for x in [1, 3, 0, 4]:
        detector.update(x)
        statistics.append(detector.statistic)
    assert statistics == pytest.approx([0.0, 1.0, 0.0, 29 / 12])


def test_page_hinkley_waits_for_min_instances():
    xs = [0.0] * 10 + [1000.0] * 40  # drift far beyond the threshold from the 11th value on
    assert PageHinkley().run(xs[:29]).size == 0
    assert PageHinkley().first_alarm(xs) == 29


def test_page_hinkley_detects_a_three_sigma_step_with_defaults():
    rng = np.random.default_rng(16)
    xs = np.concatenate([rng.normal(size=300), rng.normal(3, size=100)])
    assert 300 <= PageHinkley().first_alarm(xs) < 350
    assert PageHinkley(mode="down").run(xs).size == 0


# --- performance on delayed labels -----------------------------------------------------------------------------


def test_roc_auc_agrees_with_scikit_learn_with_ties():
    rng = np.random.default_rng(17)
    labels = rng.integers(0, 2, size=500)
    scores = np.round(rng.random(500) + 0.3 * labels, 1)  # one decimal: many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), rel=1e-12)
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_recall_at_counts_positives_at_or_above_the_threshold():
    labels = [1, 1, 1, 1, 0, 0]
    scores = [0.9, 0.5, 0.7, 0.2, 0.95, 0.1]
    assert recall_at(labels, scores, 0.5) == 0.75
    assert math.isnan(recall_at([0, 0], [0.9, 0.1], 0.5))


# Six predictions, shuffled so that nothing depends on their order. At now = 5 the labels of the two missed
# frauds (scores 0.1 and 0.2, labelled at times 10 and 11) have not arrived: recall looks perfect but is 0.5.
PREDICTION_TIMES = np.array([0, 1, 2, 3, 4, 5.0])
SCORES = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.7])
LABELS = np.array([1, 1, 1, 1, 0, 0.0])
LABEL_TIMES = np.array([2, 3, 10, 11, 4, 5.0])
ORDER = np.array([3, 5, 0, 2, 4, 1])


def performance_reading(now: float, window: int | None = None) -> PerformanceReading:
    monitor = LabelDelayedPerformance(reference_recall=0.9, alert_threshold=0.5, window=window)
    return monitor.reading(now, PREDICTION_TIMES[ORDER], SCORES[ORDER], LABELS[ORDER], LABEL_TIMES[ORDER])


def test_label_delayed_performance_counts_only_arrived_labels():
    assert performance_reading(5) == PerformanceReading(labelled=4, positives=2, auc=1.0, recall=1.0)
    assert performance_reading(11) == PerformanceReading(labelled=6, positives=4, auc=0.5, recall=0.5)
    empty = performance_reading(0)
    assert (empty.labelled, empty.positives, math.isnan(empty.recall)) == (0, 0, True)


def test_label_delayed_performance_window_keeps_the_most_recent_predictions():
    # Arrived by 11: all six. The 3 newest by prediction time are times 3, 4, 5 (one fraud, missed); by label
    # time they would be 11, 10, 5 (two frauds).
    assert performance_reading(11, window=3).positives == 1
    assert performance_reading(11, window=3).recall == 0.0
    assert performance_reading(11, window=2).labelled == 2
    assert math.isnan(performance_reading(11, window=2).recall)


def test_label_delayed_performance_alarms_on_a_drop_beyond_max_drop():
    monitor = LabelDelayedPerformance(reference_recall=0.9, alert_threshold=0.5, max_drop=0.05)

    def reading(recall: float) -> PerformanceReading:
        return PerformanceReading(labelled=100, positives=10, auc=0.9, recall=recall)

    assert monitor.alarm(reading(0.84))
    assert not monitor.alarm(reading(0.86))
    assert not monitor.alarm(reading(math.nan))
    assert not monitor.alarm(performance_reading(5))
    assert monitor.alarm(performance_reading(11))


# --- bad arguments ---------------------------------------------------------------------------------------------

SAMPLE = [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: psi([], SAMPLE), "reference"),
        (lambda: psi(SAMPLE, []), "current"),
        (lambda: psi(SAMPLE, SAMPLE, bins=1), "bins"),
        (lambda: psi(SAMPLE, SAMPLE, epsilon=0), "epsilon"),
        (lambda: jensen_shannon(SAMPLE, SAMPLE, bins=2.5), "bins"),
        (lambda: quantile_edges([np.nan, np.nan]), "reference"),
        (lambda: bin_shares(SAMPLE, [2.0, 1.0]), "edges"),
        (lambda: ks_statistic([[1.0, 2.0]], SAMPLE), "reference"),
        (lambda: ks_pvalue(SAMPLE, []), "current"),
        (lambda: wasserstein([], SAMPLE), "reference"),
        (lambda: Cusum(k=-0.1), "k"),
        (lambda: Cusum(h=0), "h"),
        (lambda: Cusum(sd=0), "sd"),
        (lambda: Cusum(direction="left"), "direction"),
        (lambda: Cusum().update(np.nan), "x"),
        (lambda: Cusum().run([0.0, np.nan]), "xs"),
        (lambda: Cusum().first_alarm([[0.0]]), "xs"),
        (lambda: PageHinkley(delta=-1), "delta"),
        (lambda: PageHinkley(threshold=0), "threshold"),
        (lambda: PageHinkley(alpha=1.5), "alpha"),
        (lambda: PageHinkley(min_instances=0), "min_instances"),
        (lambda: PageHinkley(mode="sideways"), "mode"),
        (lambda: roc_auc([1, 0], [0.5]), "labels and scores"),
        (lambda: roc_auc([2, 0], [0.5, 0.1]), "labels"),
        (lambda: recall_at([1, 0], [np.nan, 0.1], 0.5), "scores"),
        (lambda: LabelDelayedPerformance(reference_recall=1.5, alert_threshold=0.5), "reference_recall"),
        (lambda: LabelDelayedPerformance(0.9, alert_threshold=math.inf), "alert_threshold"),
        (lambda: LabelDelayedPerformance(0.9, 0.5, max_drop=-0.1), "max_drop"),
        (lambda: LabelDelayedPerformance(0.9, 0.5, window=0), "window"),
        (lambda: LabelDelayedPerformance(0.9, 0.5).reading(1.0, [0.0], [0.5], [1.0], [0.0, 1.0]), "label_times"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, argument):
    with pytest.raises(ValueError, match=rf"\b{argument}\b"):
        call()
