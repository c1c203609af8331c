"""The queueing model the simulator sizes fleets with, against the real server under open-loop load.

What a request costs the server is measured apart from how long it takes: the server's CPU time (read from
``/proc``; one worker serves one request at a time, so its CPU per request is the service time that queues),
divided by the requests it answered. That is the model's input; the latency percentiles are its output.

1. **Low load** (``LOW_LOAD_RATE``): a request's latency with no queue, L. The part the server's CPU does not
   explain, the overhead D = mean(L) − S, is spent outside the queue (the client, the network stack, opening a
   connection): it occupies no server.
2. **The service time depends on the load.** Measured here, the server's CPU per request falls from ≈ 1.4 ms at 20
   requests/s to ≈ 0.36 ms above 1,000/s: a lone request pays for waking the idle event loop and refilling its caches,
   requests that arrive together share that. A model fed the low-load service time puts the server at ρ = 0.85 when
   it is at 0.25, and predicts 2–5× the p99 measured. So S is measured on a ladder of rates (``service_curve``) and
   each utilisation's rate solves λ·S(λ) = ρ (``rate_for``).
3. **Prediction** at each level: D plus the simulator's M/G/c response percentiles
   (:func:`mlorg.serving.analytic.mgc_response_percentile`) for a lognormal service time of mean S(λ) — the CPU per
   request measured in that level's own runs — and the low-load spread (all of it attributed to the service: an
   assumption). The low-load service time's prediction is kept beside it, to show what the old model said.
4. **Measurement**: the load generator offers each rate ``repeats`` times for ``seconds``; each percentile's mean and
   95% interval over the repeats, and the generator's own lateness.

On a 2-core machine the generator and the server compete for CPU: utilisations above ``CHECKED_UP_TO``, and any level
where the generator fell more than ``GENERATOR_LATE_MS`` behind its schedule, are reported, not checked.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mlorg.results import mean_ci
from mlorg.scenario import Distribution
from mlorg.serve.loadtest import PERCENTILES, loadtest
from mlorg.serving.analytic import mgc_response_percentile

UTILISATIONS = (0.3, 0.5, 0.7, 0.85)
CHECKED_UP_TO = 0.7
LOW_LOAD_RATE = 20.0  # requests a second: the server idles between them
MIN_CPU_TICKS = 2  # of /proc's CPU clock, for a service time to be measured at all at the low load
MAX_LOW_LOAD_RUNS = 5
LADDER = (20.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0)  # rates the service curve is measured at
SIMULATOR_UTILISATION = 0.6  # the simulator's autoscalers aim here: the service time a calibrated scenario gets
# A generator this late (p99 of sent − planned) was short of CPU itself: it reads its answers late too, so the
# latency it measured is not the server's alone, and the level is reported, not checked.
GENERATOR_LATE_MS = 5.0


@dataclass(frozen=True)
class LowLoad:
    requests: int
    latency_mean_ms: float
    latency_cv: float
    service_ms: float  # the server's CPU per request at low load
    overhead_ms: float  # the latency outside the queue: mean latency − service

    @property
    def spread(self) -> float:
        """The service time's cv: the low-load latency's spread, all of it the service's (an assumption)."""
        return min(max(self.latency_cv * self.latency_mean_ms / self.service_ms, 0.05), 10.0)

    def service(self, mean_ms: float | None = None) -> Distribution:
        return Distribution(dist="lognormal", mean=self.service_ms if mean_ms is None else mean_ms, cv=self.spread)


@dataclass(frozen=True)
class Level:
    utilisation: float  # the target: λ·S(λ)
    rate: float
    service_ms_here: float  # the server's CPU per request in this level's runs
    utilisation_here: float  # rate × that: the utilisation it really ran at
    predicted_ms: dict[str, float]  # p50, p95, p99 with the service time measured here
    predicted_low_load_ms: dict[str, float]  # the same with the low-load service time (inf: an unstable queue)
    measured_ms: dict[str, dict[str, float]]  # per percentile: mean, ci95_low, ci95_high, n over the repeats
    lateness_p99_ms: float  # the generator's own lateness (worst repeat)
    checked: bool  # at or below CHECKED_UP_TO, with a generator that kept its schedule


def saved_path(db: str | os.PathLike) -> Path:
    """Where the last check of a registry's champion is kept (the Serving and cost page shows it)."""
    return Path(db).with_suffix(".serving_check.json")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured_run(url: str, pid: int, rate: float, seconds: float, seed: int) -> tuple[dict, float, np.ndarray]:
    """One load run: its summary, the server's CPU ms per answered request, and the answered latencies."""
    before = cpu_seconds(pid)
    result = loadtest(url, rate, seconds, seed=seed)
    used = cpu_seconds(pid) - before
    summary = result.summary()
    per_request = 1000.0 * used / summary["ok"] if summary["ok"] else math.nan
    return summary, per_request, result.latency_ms[result.status == 200]


def low_load(url: str, pid: int, seconds: float, seed: int = 0) -> LowLoad:
    """The server's service time (its CPU per request) and latency at a load it idles under. /proc counts CPU in
    clock ticks (10 ms), which a second of 20 light requests may not fill: the load runs again, up to
    MAX_LOW_LOAD_RUNS times in all, until the server has used MIN_CPU_TICKS, rather than report no CPU at all."""
    loadtest(url, LOW_LOAD_RATE, min(seconds, 2.0), seed=seed + 1_000)  # warm the server up; not counted
    used, answered, latencies = 0.0, 0, []
    tick = 1.0 / os.sysconf("SC_CLK_TCK")
    for run in range(MAX_LOW_LOAD_RUNS):
        before = cpu_seconds(pid)
        result = loadtest(url, LOW_LOAD_RATE, seconds, seed=seed + run)
        used += cpu_seconds(pid) - before
        ok = result.status == 200
        answered += int(ok.sum())
        latencies.append(result.latency_ms[ok])
        if used >= MIN_CPU_TICKS * tick - 1e-9:
            break
    latency = np.concatenate(latencies)
    service = 1000.0 * used / answered if answered else math.nan
    if latency.size < 10:
        raise RuntimeError(f"the server at {url} answered {latency.size} low-load requests; run longer (--seconds)")
    if not service > 0:
        raise RuntimeError("the server used no measurable CPU: run longer (--seconds)")
    mean = float(latency.mean())
    return LowLoad(int(latency.size), mean, float(latency.std(ddof=1) / mean), service, max(mean - service, 0.0))


def service_curve(url: str, pid: int, seconds: float, seed: int = 0,
                  rates: tuple[float, ...] = LADDER) -> list[tuple[float, float]]:
    """(rate, the server's CPU ms per request) on a ladder of rates."""
    curve = []
    for i, rate in enumerate(rates):
        _, service, _ = measured_run(url, pid, rate, seconds, seed + 31 * i)
        if math.isfinite(service) and service > 0:
            curve.append((rate, service))
    if not curve:
        raise RuntimeError("the server answered none of the service-curve runs")
    return curve


def service_at(curve: list[tuple[float, float]], rate: float) -> float:
    """S(λ): interpolated in log rate between the measured rates, held flat beyond them."""
    rates, services = np.log([r for r, _ in curve]), np.array([s for _, s in curve])
    return float(np.interp(math.log(rate), rates, services))


def rate_for(curve: list[tuple[float, float]], utilisation: float, servers: int = 1) -> float:
    """The rate λ with λ·S(λ) = utilisation × servers (the product grows with λ over the measured curve)."""
    low, high = 1e-3, 1.0
    while high * service_at(curve, high) / 1000.0 < utilisation * servers:
        high *= 2.0
    for _ in range(100):
        middle = math.sqrt(low * high)
        if middle * service_at(curve, middle) / 1000.0 < utilisation * servers:
            low = middle
        else:
            high = middle
    return high


def predicted(base: LowLoad, rate: float, servers: int, service_ms: float | None = None) -> dict[str, float]:
    """The overhead plus the M/G/c response percentiles at ``rate`` (inf when the queue would be unstable)."""
    service = base.service(service_ms)
    if rate * service.mean / 1000.0 >= servers:
        return {f"p{q}": math.inf for q in PERCENTILES}
    return {f"p{q}": base.overhead_ms + mgc_response_percentile(rate / 1000.0, service, servers, q / 100)
            for q in PERCENTILES}


def check_levels(url: str, pid: int, base: LowLoad, curve: list[tuple[float, float]], *, servers: int = 1,
                 repeats: int = 3, seconds: float = 5.0, seed: int = 0,
                 utilisations: tuple[float, ...] = UTILISATIONS) -> list[Level]:
    levels = []
    for rho in utilisations:
        rate = rate_for(curve, rho, servers)
        runs, services = [], []
        for r in range(repeats):
            summary, service, _ = measured_run(url, pid, rate, seconds, seed + 7919 * r + int(rho * 100))
            runs.append(summary)
            services.append(service)
        here = float(np.nanmean(services))
        late = max(s["generator_lateness_p99_ms"] for s in runs)
        measured = {f"p{q}": mean_ci(np.array([s[f"p{q}_ms"] for s in runs])) for q in PERCENTILES}
        levels.append(Level(rho, rate, here, rate * here / 1000.0 / servers, predicted(base, rate, servers, here),
                            predicted(base, rate, servers), measured,
                            late, rho <= CHECKED_UP_TO and late <= GENERATOR_LATE_MS))
    return levels


def to_json(base: LowLoad, curve: list[tuple[float, float]], levels: list[Level]) -> dict:
    """The check as JSON-ready values (an interval that one repeat cannot give, or an unstable queue, is null)."""
    return _finite({"low_load": {**asdict(base), "service_cv": base.spread},
                    "service_curve": [{"rate": r, "service_ms": s} for r, s in curve],
                    "levels": [asdict(level) for level in levels], "checked_up_to": CHECKED_UP_TO})


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
