"""What a fraud team knows about its transactions on a given day, as fraud teams learn it.

Dal Pozzolo et al., "Credit card fraud detection: a realistic modeling and a novel learning strategy" (IEEE TNNLS
2018): investigators review the alerts, as many as they can a day, and label them within a day or two (feedback);
every other fraud comes to light when the cardholder disputes it, as a chargeback weeks later (delayed labels).
A transaction nobody reviewed is presumed legitimate only once the chargeback window has passed: the
CHARGEBACK_QUANTILE quantile of the chargeback delay. Some frauds charge back later still and stay mislabelled, as
in any fraud team's data.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

CHARGEBACK_QUANTILE = 0.95


def chargeback_window_days(mean_days: float, cv: float) -> float:
    """The CHARGEBACK_QUANTILE quantile of a lognormal chargeback delay with this mean and cv."""
    sigma2 = math.log1p(cv * cv)
    return math.exp(math.log(mean_days) - sigma2 / 2 + math.sqrt(sigma2) * NormalDist().inv_cdf(CHARGEBACK_QUANTILE))


class LabelBook:
    """Labels known at any time: reviewed alerts, arrived chargebacks, and transactions past the chargeback window.

    Times are hours since the epoch. ``oracle`` knows every true label the moment a transaction happens (the ceiling:
    what a team that knew everything could have done)."""

    def __init__(self, ts_hours: np.ndarray, is_fraud: np.ndarray, chargeback_hours: np.ndarray,
                 review_delay_days: float, window_days: float, *, oracle: bool = False):
        self.ts_hours = ts_hours
        self.is_fraud = is_fraud
        self.chargeback_hours = np.where(is_fraud, chargeback_hours, np.inf)  # legitimate ones never charge back
        self.review_delay_hours = review_delay_days * 24.0
        self.window_hours = window_days * 24.0
        self.oracle = oracle
        self.reviewed_at = np.full(len(ts_hours), np.inf)

    def review(self, rows: np.ndarray) -> None:
        """Investigators review ``rows`` (alerts): each is labelled review_delay_days after its transaction."""
        self.reviewed_at[rows] = np.minimum(self.reviewed_at[rows], self.ts_hours[rows] + self.review_delay_hours)

    def reviewed(self, rows: np.ndarray, now_hours: float) -> np.ndarray:
        """Which of ``rows`` have a review label by ``now_hours``."""
        return self.reviewed_at[rows] <= now_hours

    def known_fraud(self, rows: np.ndarray, now_hours: float) -> np.ndarray:
        """Which of ``rows`` are known frauds by ``now_hours``: reviewed and fraud, or charged back."""
        if self.oracle:
            return self.is_fraud[rows].copy()
        return self.is_fraud[rows] & ((self.reviewed_at[rows] <= now_hours)
                                      | (self.chargeback_hours[rows] <= now_hours))

    def labelled(self, rows: np.ndarray, now_hours: float) -> np.ndarray:
        """Which of ``rows`` have a label by ``now_hours``: reviewed, charged back, or past the chargeback window."""
        if self.oracle:
            return np.ones(len(rows), dtype=bool)
        return ((self.reviewed_at[rows] <= now_hours) | (self.chargeback_hours[rows] <= now_hours)
                | (self.ts_hours[rows] + self.window_hours <= now_hours))
