"""Which uncertain input explains how much of a figure's variance: first-order variance shares from the draws.

The share of input i is Var(E[Y | X_i]) / Var(Y), its first-order Sobol index. It is estimated by regression on
the draws already run (no extra runs, unlike Saltelli's design, which needs N·(k + 2)): E[Y | X_i] is fitted as a
cubic polynomial in X_i (lower for an integer input with few values), and the share is that fit's adjusted R²,
which takes out what a polynomial explains of pure noise. A cubic holds the linear and the bent-but-monotone
effects these inputs have; an input whose effect is not a smooth function of its own value alone (interactions)
leaves that part unexplained, so the shares sum to less than 1 by exactly the interactions and the noise. For an
additive model the shares sum to ≈ 1 and match the analytic a_i²·Var(X_i) / Σ a_j²·Var(X_j) of a linear one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

METHOD = ("first-order variance shares (Sobol indices) estimated by regression on the draws: the adjusted R² of a "
          "cubic fit of the figure on each input alone")
MAX_DEGREE = 3
BOOTSTRAP = 200  # resamples of the draws for each share's 95% interval


def variance_shares(inputs: pd.DataFrame, output: np.ndarray | pd.Series, *, noise_variance: float | None = None,
                    seed: int = 0) -> pd.DataFrame:
    """One row per input, largest share first: ``input``, ``share`` and its bootstrap 95% interval
    (``share_low``, ``share_high``), and ``direction`` (+1 when the figure rises with the input, −1 when it
    falls, by rank correlation). ``attrs`` holds ``explained`` (the shares' sum), ``variance`` (of the output over
    the draws), ``noise_share`` (``noise_variance`` — the simulator's part of each draw's mean — over that
    variance, when given), ``draws`` and ``method``. Draws where the output is undefined are left out."""
    y = np.asarray(output, dtype=float)
    keep = ~np.isnan(y)
    x_all, y = inputs.loc[keep], y[keep]
    rng = np.random.default_rng(seed)
    resamples = rng.integers(0, len(y), size=(BOOTSTRAP, len(y))) if len(y) else np.zeros((0, 0), dtype=int)
    rows = []
    for name in inputs.columns:
        x = x_all[name].to_numpy(dtype=float)
        boot = np.array([_share(x[idx], y[idx]) for idx in resamples]) if len(y) else np.array([])
        boot = boot[~np.isnan(boot)]
        rows.append({"input": name, "share": _share(x, y),
                     "share_low": float(np.quantile(boot, 0.025)) if len(boot) else math.nan,
                     "share_high": float(np.quantile(boot, 0.975)) if len(boot) else math.nan,
                     "direction": _direction(x, y)})
    table = pd.DataFrame(rows, columns=["input", "share", "share_low", "share_high", "direction"])
    table = table.sort_values("share", ascending=False, kind="stable", na_position="last").reset_index(drop=True)
    variance = float(np.var(y, ddof=1)) if len(y) > 1 else math.nan
    table.attrs.update(explained=float(table["share"].sum(min_count=1)), variance=variance, draws=int(len(y)),
                       method=METHOD,
                       noise_share=(min(1.0, noise_variance / variance)
                                    if noise_variance is not None and variance > 0 else math.nan))
    return table


def _share(x: np.ndarray, y: np.ndarray) -> float:
    """Adjusted R² of the polynomial fit of y on x alone (clipped at 0); NaN when it cannot be told."""
    degree = min(MAX_DEGREE, len(np.unique(x)) - 1)
    n = len(y)
    total = float(np.sum((y - y.mean()) ** 2)) if n else 0.0
    if degree < 1 or n <= degree + 2 or total <= 0:
        return math.nan if total <= 0 or n <= degree + 2 else 0.0
    r2 = 1.0 - float(np.sum((y - _polynomial_fit(x, y, degree)) ** 2)) / total
    adjusted = 1.0 - (1.0 - r2) * (n - 1) / (n - degree - 1)
    return max(0.0, adjusted)


def _polynomial_fit(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    """The least-squares polynomial of ``degree`` in x (standardised, for a well-conditioned fit) at each x."""
    design = np.vander((x - x.mean()) / x.std(), degree + 1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return design @ coef


def _direction(x: np.ndarray, y: np.ndarray) -> float:
    if len(y) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    rho = float(np.corrcoef(rx, ry)[0, 1])
    return math.copysign(1.0, rho) if rho != 0 else 0.0


def fitted(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """E[y | x] as the same polynomial fit gives it at each draw (for the value of partial information)."""
    degree = min(MAX_DEGREE, len(np.unique(x)) - 1, len(y) - 2)
    return _polynomial_fit(x, y, degree) if degree >= 1 else np.full_like(y, y.mean())


def explained_text(table: pd.DataFrame) -> str:
    """What the shares add up to, in words: above 100% only by the estimate's own noise, which more draws narrow."""
    explained = table.attrs["explained"]
    if not math.isfinite(explained):
        return "The figure did not vary over the draws."
    if explained > 1.0:
        return (f"The inputs one at a time explain about all of the variance (the estimate, {explained:.0%}, is above "
                "100% by the draws' own noise; more draws narrow it).")
    return (f"The inputs one at a time explain {explained:.0%}; the rest is their interactions and the simulator's "
            "noise.")
