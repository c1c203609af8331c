"""What a fraud team knows, and when: reviewed alerts, chargebacks, and transactions presumed legitimate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlorg.pipeline.labels import CHARGEBACK_QUANTILE, LabelBook, chargeback_window_days
from mlorg.pipeline.monitors import clustered_share


def test_the_chargeback_window_is_the_quantile_of_the_delays_the_generator_draws():
    # The generator's chargeback delays: lognormal with mean 21 days and cv 0.6 (pipeline/data.py).
    mean, cv = 21.0, 0.6
    sigma2 = math.log1p(cv * cv)
    delays = np.random.default_rng(0).lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), 400_000)
    window = chargeback_window_days(mean, cv)
    # The empirical share within the window: binomial sd √(0.95·0.05/400,000) ≈ 0.00034, so 0.002 is 6 sd.
    assert np.mean(delays <= window) == pytest.approx(CHARGEBACK_QUANTILE, abs=0.002)
    assert 44 < window < 46  # ≈ 45 days: far beyond the 7 days the incident process once presumed


def book(oracle: bool = False) -> LabelBook:
    # Four transactions at hours 0, 10, 20, 30: frauds at 0 and 20 (chargebacks at hour 500 and 2,000).
    ts = np.array([0.0, 10.0, 20.0, 30.0])
    fraud = np.array([True, False, True, False])
    chargeback = np.array([500.0, np.inf, 2000.0, np.inf])
    return LabelBook(ts, fraud, chargeback, review_delay_days=1.0, window_days=40.0, oracle=oracle)


def test_a_reviewed_alert_is_labelled_a_day_after_its_transaction_fraud_or_not():
    labels = book()
    rows = np.arange(4)
    labels.review(np.array([0, 1]))
    assert labels.known_fraud(rows, 23.9).tolist() == [False, False, False, False]
    assert labels.known_fraud(rows, 24.0).tolist() == [True, False, False, False]
    assert labels.labelled(rows, 34.0).tolist() == [True, True, False, False]  # row 1 confirmed legitimate
    assert labels.reviewed(rows, 34.0).tolist() == [True, True, False, False]


def test_other_frauds_are_known_when_they_charge_back_and_the_rest_only_after_the_window():
    labels = book()
    rows = np.arange(4)
    assert labels.known_fraud(rows, 1999.0).tolist() == [True, False, False, False]  # the first charged back
    assert labels.known_fraud(rows, 2000.0).tolist() == [True, False, True, False]
    # Unreviewed and not charged back: labelled (presumed legitimate) 40 days = 960 hours after the transaction.
    assert labels.labelled(rows, 969.9).tolist() == [True, False, False, False]
    assert labels.labelled(rows, 970.0).tolist() == [True, True, False, False]
    assert labels.labelled(rows, 990.0).tolist() == [True, True, True, True]  # row 2: a fraud presumed legitimate
    assert not labels.known_fraud(np.array([2]), 990.0)[0]


def test_a_second_review_never_delays_a_label():
    labels = book()
    labels.review(np.array([2]))
    labels.reviewed_at[2] = 5.0  # as if reviewed early
    labels.review(np.array([2]))
    assert labels.reviewed_at[2] == 5.0


def test_the_oracle_knows_every_label_at_once():
    labels = book(oracle=True)
    rows = np.arange(4)
    assert labels.known_fraud(rows, 0.0).tolist() == [True, False, True, False]
    assert labels.labelled(rows, 0.0).all()


def test_a_clustered_share_widens_its_standard_error_when_hits_come_in_clusters():
    rng = np.random.default_rng(1)
    # 400 clusters of 5 that are all hit or all missed, against the same hits one by one.
    cluster_hits = np.repeat(rng.random(400) < 0.3, 5)
    clusters = np.repeat(np.arange(400), 5)
    share, se = clustered_share(cluster_hits, clusters)
    _, se_independent = clustered_share(cluster_hits, np.arange(2000))
    binomial = math.sqrt(share * (1 - share) / 2000)
    assert se_independent == pytest.approx(binomial, rel=0.01)
    # Whole clusters: the effective sample is 400, so the error is √5 times the binomial one.
    assert se == pytest.approx(binomial * math.sqrt(5), rel=0.01)


def test_the_clustered_standard_error_covers_the_truth_at_its_nominal_rate():
    rng = np.random.default_rng(2)
    truth, covered, trials = 0.6, 0, 400
    for _ in range(trials):
        sizes = rng.integers(1, 7, 150)  # campaigns of 1–6 frauds, all flagged or all missed, or mixed
        caught = rng.random(150) < truth
        mixed = rng.random(150) < 0.3
        hits = np.concatenate([np.where(m, rng.random(k) < truth, np.full(k, c)) for k, c, m in
                               zip(sizes, caught, mixed, strict=True)])
        share, se = clustered_share(hits, np.repeat(np.arange(150), sizes))
        covered += abs(share - truth) <= 1.96 * se
    # 95% nominal; 400 trials give a binomial sd of 1.1%, and the weighted-by-size mean is near but not exactly 0.6.
    assert 0.91 <= covered / trials <= 0.985
