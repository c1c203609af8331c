"""Inputs whose value is a guess: each carries the distribution of what it might be.

A number is written ``x = { value = 4.0, uncertain = { dist = "lognormal", mean = 4.0, cv = 0.3 } }``; a field
that is already a distribution takes ``uncertain_mean`` (or ``uncertain_cv``) next to its ``mean``. The value is
what every ordinary run uses; the uncertainty is drawn only by ``mlorg run --uncertainty`` and its kin
(probabilistic sensitivity analysis), each input from its own named random stream, so adding one leaves the others'
draws unchanged.

Every draw must be a value the field allows: a bounded distribution (uniform, triangular) must lie within the
field's range, an unbounded one may stray outside it with a probability of at most ``MAX_OUTSIDE`` (those draws are
clamped to the range, which moves its mean by less than that share of the range). An integer field rounds each draw
to the nearest whole number (halves up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlorg.scenario.text import number_text, toml_text

# The parameters each distribution takes, all required.
UNCERTAIN_DISTS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "lognormal": ("mean", "cv"),
    "gamma": ("mean", "cv"),
    "normal": ("mean", "sd"),
}
MAX_OUTSIDE = 1e-3  # share of an unbounded distribution allowed beyond the field's range (clamped when drawn)
# Inputs that are tied to others (shares that add up to 1), describe the run rather than the organisation, or are
# measured by the reference pipeline: a draw of one alone would break the scenario or mean nothing.
NOT_UNCERTAIN = {
    "horizon_days": "the horizon is how long to simulate, not a fact about the organisation",
    "serving.realtime_share": "the serving shares must add up to 1",
    "serving.batch_share": "the serving shares must add up to 1",
    "serving.edge_share": "the serving shares must add up to 1",
}


@dataclass(frozen=True)
class Uncertainty:
    """What one input might be: its dotted path, the distribution its draws come from, and whether it is whole."""

    path: str  # org.ml_engineers, productionisation.effort_hours.mean, portfolio[0].value_per_day_usd.mean
    dist: str
    params: tuple[tuple[str, float], ...]  # (name, value) in UNCERTAIN_DISTS order
    integer: bool = False
    lo: float | None = None  # the field's range, which draws are clamped to
    hi: float | None = None

    @property
    def parameters(self) -> dict[str, float]:
        return dict(self.params)

    def frozen(self) -> Any:
        """The distribution as a frozen scipy.stats one (for drawing: reading a scenario does without SciPy, whose
        import costs a server's first page ≈ 1.5 s of CPU)."""
        from scipy import stats

        p = self.parameters
        if self.dist == "uniform":
            return stats.uniform(p["low"], p["high"] - p["low"])
        if self.dist == "triangular":
            width = p["high"] - p["low"]
            return stats.triang((p["mode"] - p["low"]) / width, p["low"], width)
        if self.dist == "lognormal":
            sigma2 = math.log1p(p["cv"] ** 2)  # chosen so that the draws have the mean and cv asked for
            return stats.lognorm(math.sqrt(sigma2), scale=p["mean"] * math.exp(-sigma2 / 2))
        if self.dist == "gamma":
            shape = 1.0 / p["cv"] ** 2
            return stats.gamma(shape, scale=p["mean"] / shape)
        return stats.norm(p["mean"], p["sd"])

    def values(self, uniforms: np.ndarray) -> np.ndarray:
        """Draws from uniforms in (0, 1) by the inverse distribution function, clamped to the field's range and
        rounded when the field is whole."""
        x = self.frozen().ppf(uniforms)
        x = np.clip(x, -np.inf if self.lo is None else self.lo, np.inf if self.hi is None else self.hi)
        return np.floor(x + 0.5) if self.integer else x

    def mean(self) -> float:
        p = self.parameters
        if self.dist == "uniform":
            return (p["low"] + p["high"]) / 2
        if self.dist == "triangular":
            return (p["low"] + p["mode"] + p["high"]) / 3
        return p["mean"]

    def outside(self, lo: float | None, hi: float | None) -> float:
        """The probability that a draw falls below ``lo`` or above ``hi`` (closed forms; SciPy for a gamma only)."""
        p = self.parameters
        if self.dist in ("uniform", "triangular"):
            low, high = p["low"], p["high"]
            return float((lo is not None and low < lo) or (hi is not None and high > hi))
        if self.dist == "gamma":
            frozen = self.frozen()
            return (frozen.cdf(lo) if lo is not None else 0.0) + (frozen.sf(hi) if hi is not None else 0.0)
        if self.dist == "normal":
            mu, sd = p["mean"], p["sd"]
        else:  # lognormal: its logarithm is normal
            sigma2 = math.log1p(p["cv"] ** 2)
            mu, sd = math.log(p["mean"]) - sigma2 / 2, math.sqrt(sigma2)
            lo = None if lo is None or lo <= 0 else math.log(lo)
            hi = None if hi is None else (math.log(hi) if hi > 0 else -math.inf)
        below = 0.5 * math.erfc(-(lo - mu) / (sd * math.sqrt(2))) if lo is not None else 0.0
        above = 0.5 * math.erfc((hi - mu) / (sd * math.sqrt(2))) if hi is not None else 0.0
        return below + above

    def as_table(self) -> dict[str, Any]:
        return {"dist": self.dist, **self.parameters}

    def describe(self) -> str:
        """``lognormal (mean 4, cv 0.3)``, ``uniform 40–90``: what a table shows next to the input."""
        p = self.parameters
        if self.dist == "uniform":
            text = f"uniform {number_text(p['low'])}–{number_text(p['high'])}"
        elif self.dist == "triangular":
            text = f"triangular {number_text(p['low'])}–{number_text(p['high'])}, mode {number_text(p['mode'])}"
        else:
            text = f"{self.dist} ({', '.join(f'{k} {number_text(v)}' for k, v in self.params)})"
        return text + (", rounded" if self.integer else "")


def parse_uncertainty(raw: Any, path: str, where: str, kind: type, meta: Mapping[str, Any],
                      errors: list[str]) -> Uncertainty | None:
    """Read the table ``raw`` given as the uncertainty of the field at ``path`` (declared with ``meta``), reporting
    problems under ``where`` (the key as written); None after reporting."""
    why = _not_uncertain(path)
    if why:
        errors.append(f"{where}: this input cannot be uncertain; {why}")
        return None
    if not isinstance(raw, dict):
        errors.append(f"{where}: {toml_text(raw)} is not allowed; must be a table such as "
                      "{ dist = \"uniform\", low = 1, high = 2 }")
        return None
    dist = raw.get("dist")
    if dist not in UNCERTAIN_DISTS:
        errors.append(f"{where}.dist: {toml_text(dist) if 'dist' in raw else 'missing'} is not allowed; must be one "
                      f"of {', '.join(UNCERTAIN_DISTS)}")
        return None
    names = UNCERTAIN_DISTS[dist]
    problems = [f"{where}.{k}: unknown key for a {dist} uncertainty; it takes {', '.join(names)}"
                for k in raw if k not in (*names, "dist")]
    params = []
    for name in names:
        value = raw.get(name)
        if name not in raw:
            problems.append(f"{where}.{name}: missing; a {dist} uncertainty needs {', '.join(names)}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(f"{where}.{name}: {toml_text(value)} is not allowed; must be a number")
        else:
            params.append((name, float(value)))
    if problems:
        errors.extend(problems)
        return None
    p = dict(params)
    shape_problem = _shape_problem(dist, p)
    if shape_problem:
        errors.append(f"{where}: {shape_problem}")
        return None
    lo, hi = meta.get("lo"), meta.get("hi")
    u = Uncertainty(path=path, dist=dist, params=tuple(params), integer=kind is int, lo=lo, hi=hi)
    range_problem = _range_problem(u, lo, hi, bool(meta.get("lo_open")))
    if range_problem:
        errors.append(f"{where}: {range_problem}")
        return None
    return u


def _not_uncertain(path: str) -> str:
    if path in NOT_UNCERTAIN:
        return NOT_UNCERTAIN[path]
    if path.startswith("pipeline."):
        return "the reference pipeline is measured, not simulated"
    if path.startswith("portfolio[") and path.endswith("].share"):
        return "the classes' shares must add up to 1"
    return ""


def _shape_problem(dist: str, p: dict[str, float]) -> str:
    if dist in ("uniform", "triangular") and not p["low"] < p["high"]:
        return f"low ({number_text(p['low'])}) must be below high ({number_text(p['high'])})"
    if dist == "triangular" and not p["low"] <= p["mode"] <= p["high"]:
        return f"mode ({number_text(p['mode'])}) must lie between low and high"
    if dist in ("lognormal", "gamma") and not (p["mean"] > 0 and p["cv"] > 0):
        return f"a {dist} needs mean > 0 and cv > 0 (got mean {number_text(p['mean'])}, cv {number_text(p['cv'])})"
    if dist == "normal" and not p["sd"] > 0:
        return f"a normal needs sd > 0 (got {number_text(p['sd'])})"
    return ""


def _range_problem(u: Uncertainty, lo: float | None, hi: float | None, lo_open: bool) -> str:
    """Why draws of ``u`` would fall outside the field's range too often, or ''."""
    rule = " and ".join(part for part in (
        f"{'>' if lo_open else '>='} {number_text(lo)}" if lo is not None else "",
        f"<= {number_text(hi)}" if hi is not None else "") if part)
    if u.dist in ("uniform", "triangular"):
        low_end, high_end = u.parameters["low"], u.parameters["high"]
        below = lo is not None and (low_end < lo or (lo_open and low_end <= lo))
        if below or (hi is not None and high_end > hi):
            return (f"{u.describe()} reaches outside what the field allows; low and high must be {rule}")
        return ""
    outside = u.outside(lo, hi)
    if outside > MAX_OUTSIDE:
        return (f"{u.describe()} falls outside what the field allows ({rule}) with probability "
                f"{outside:.2%}; at most {MAX_OUTSIDE:.1%} may (clamped when drawn): narrow it, or use a "
                "uniform or triangular within the range")
    return ""


def mean_value(u: Uncertainty) -> float | int:
    """The value of an input written with an uncertainty and no ``value``: the uncertainty's mean, rounded for a
    whole field."""
    m = u.mean()
    return int(math.floor(m + 0.5)) if u.integer else m


def nest(data: dict[str, Any], uncertainties: tuple[Uncertainty, ...]) -> dict[str, Any]:
    """Write each uncertainty back into the plain tables of a scenario (``as_data``'s output), as a file holds it:
    a distribution's parameter as ``uncertain_<name>`` beside it, any other number as ``{ value, uncertain }``.

    An uncertainty whose field is gone is dropped: a scenario edited in code (``replace(portfolio=...)``) may have
    removed the class or hire it belonged to."""
    for u in uncertainties:
        try:
            parent, key = _parent(data, u.path)
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict) or isinstance(parent.get(key), bool) or \
                not isinstance(parent.get(key), int | float):
            continue
        if set(parent) >= {"dist", "mean", "cv"} and key in ("mean", "cv"):
            parent[f"uncertain_{key}"] = u.as_table()
        else:
            parent[key] = {"value": parent[key], "uncertain": u.as_table()}
    return data


def set_value(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the leaf at a dotted path (``portfolio[0].value_per_day_usd.mean``) in plain tables, dropping any
    uncertainty written there: the value is now known."""
    parent, key = _parent(data, path)
    parent[key] = value
    parent.pop(f"uncertain_{key}", None)


def _parent(data: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    node: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        name, _, index = part.partition("[")
        node = node[name]
        if index:
            node = node[int(index.rstrip("]"))]
    return node, parts[-1]
