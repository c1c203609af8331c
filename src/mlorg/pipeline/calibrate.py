"""The simulator checked against the reference pipeline: the same monitors, measured on the pipeline's data and
predicted by the simulator's operating-characteristic model, side by side.

The measurement runs the pipeline's daily monitors (:mod:`mlorg.pipeline.monitors`, every one of them, with the
scenario's settings) in the shadow of the first model, which nobody corrects, twice: with the scenario's causes
and on the same days without them. The replay without causes gives the false alarms; a cause is detected by the
first check after it that alarms when the replay did not (an alarm the replay also raised is a false one).

The prediction is what the simulator would say for the same settings. The model works on a standardised signal
whose mean moves by ``shift`` σ (:mod:`mlorg.monitoring.characteristics`), so each monitor's signal is measured
on the pipeline's data — where it sits against the monitor's reference without the cause, and with it — and
that goes into the model:

* predictions (the alert rate): the alert indicator against the alert share the threshold was set for. Alerts
  come in bursts, so a window counts as n / dispersion independent samples (the dispersion of the holdout's daily
  alert rates), and the pipeline's two-sample z-test, which divides by √dispersion, is the model's one-sample test
  at the threshold t·√(1 + n/m);
* features: one monitor per watched feature, any of which alarms; each feature's shift is the one whose
  population PSI equals the feature's (bias-corrected) PSI against the reference, its bins are the quantile bins
  the reference leaves (count features have fewer than ten), and the finite reference enters through the
  effective window 1/(1/n + 1/m);
* performance (recall over the newest charged-back frauds): the simulator's recall monitor started from the
  recall the checks saw without the cause, losing what the cause costs, with the measured label delays' mean and
  spread (:mod:`mlorg.monitoring.labels`), and careful as the pipeline's check is: it waits for MIN_RECALL_FRAUDS,
  counts the frauds as clustered as measured (``dispersion``) and alarms RECALL_Z standard errors beyond the line.

Scorer latency is measured as the pipeline's real-time scorer runs (online features + the tree walk, one row at
a time) and predicted by the serving model (an M/G/1 queue at the pipeline's traffic, fed the measured service
time as the lognormal that fits it best).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mlorg.monitoring import detectors, labels, overlap
from mlorg.monitoring.characteristics import (
    HOURS_PER_MONTH,
    Monitor,
    PerformanceMonitor,
    shift_from_psi,
)
from mlorg.pipeline.data import EXAMPLE_CAUSES
from mlorg.pipeline.features import FEATURES, FeatureSet, OnlineStream
from mlorg.pipeline.monitors import (
    DRIFT_WATCHED,
    MIN_RECALL_FRAUDS,
    RECALL_Z,
    DailyMonitors,
    ScoredStream,
    fraud_dispersion,
)
from mlorg.pipeline.run import DAY, DAY_ZERO, Prepared, alert_frame, drift_reference, prepare
from mlorg.pipeline.scorer import TreeScorer
from mlorg.scenario import Distribution, PipelineCause, Scenario, validate
from mlorg.serving import analytic

CALIBRATED = ("features", "predictions", "performance")
EFFECT_DAYS = 14  # the signal after a cause is measured over this many days from its start
LATENCY_SAMPLE = 400  # transactions scored one by one to measure the real-time scorer


@dataclass
class Calibration:
    """Measured against predicted, for one scenario and seed."""

    scenario: str
    seed: int
    monitors: pd.DataFrame  # one row per monitor and cause (see COLUMNS)
    alarms: pd.DataFrame  # every alert the shadow monitors raised: day, monitor, detector, statistic, threshold, detail
    latency: pd.DataFrame  # quantile, measured_ms, predicted_ms

    def to_json(self) -> dict:
        def records(frame: pd.DataFrame) -> list[dict]:
            return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]

        return {"scenario": self.scenario, "seed": self.seed, "monitors": records(self.monitors),
                "alarms": records(self.alarms), "latency": records(self.latency)}


COLUMNS = ["monitor", "detector", "threshold", "cause", "start_day", "shift_before", "shift_after",
           "measured_lag_days", "predicted_lag_days", "predicted_lag_p05_days", "predicted_lag_p95_days",
           "measured_false_alarms", "checks", "measured_false_alarms_per_month",
           "predicted_false_alarms_per_month", "dispersion"]


def _clean(value):
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def calibrate(scenario: Scenario, *, seed: int = 0, days: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Measure the scenario's monitors on its reference pipeline and predict them with the simulator's model.

    Lags come from the run with the scenario's causes; false alarms from the same days replayed without them
    (every live day is then a day without drift, and the first days, before any cause, are the same days)."""
    days = days or scenario.pipeline.days
    if not any(c.kind != "bad_version" for c in scenario.pipeline.causes):
        raise ValueError("pipeline.causes: the scenario injects no cause the first model meets (a bad_version comes "
                         "with a retrain), so there is no detection lag to measure")
    steps = 2 * (days - scenario.pipeline.train_days - scenario.pipeline.holdout_days)

    def report(offset: int):
        return None if progress is None else (lambda done, total: progress(offset + done, steps))

    drifted = shadow(scenario, seed, days, report(0))
    quiet = shadow(scenario.replace(pipeline=dataclasses.replace(scenario.pipeline, causes=())), seed, days,
                   report(steps // 2))
    # A bad version comes with a retrain, and the shadow's first model is never retrained: nothing to measure.
    seen = [c for c in scenario.pipeline.causes if c.kind != "bad_version"]
    rows = [_row(name, cause, scenario, drifted, quiet) for cause in seen for name in CALIBRATED]
    with threadpool_limits(1):
        latency = _latency(drifted.prepared, np.random.default_rng(seed))
    return Calibration(scenario.name, seed, pd.DataFrame(rows, columns=COLUMNS), drifted.alarms, latency)


@dataclass
class Shadow:
    """The scenario's monitors, all of them, run day by day beside the first model, which nobody corrects."""

    prepared: Prepared
    stream: ScoredStream
    monitors: DailyMonitors
    alarms: pd.DataFrame
    readings: np.ndarray  # per check: labelled frauds the recall check saw, and how many of them had been flagged

    @property
    def checks(self) -> int:
        return len(self.readings)

    @property
    def traffic_per_hour(self) -> float:
        day = self.prepared.tx["day"].to_numpy()
        return float((day >= self.prepared.deploy_day).sum() / (self.checks * 24.0))

    def days(self, first: float, last: float) -> np.ndarray:
        """Rows of the live days from ``first`` up to (not including) ``last``."""
        day = self.prepared.tx["day"].to_numpy()
        return (day >= max(first, self.prepared.deploy_day)) & (day < last)


# The last two shadow runs, kept: calling calibrate again is instant, and scenarios that share a seed and days
# share the replay without causes. A full-scale run holds a few hundred MB.
_SHADOWS: OrderedDict[tuple, Shadow] = OrderedDict()
KEPT_SHADOWS = 2
_SHADOWS_LOCK = threading.Lock()


def shadow(scenario: Scenario, seed: int, days: int, progress: Callable[[int, int], None] | None = None) -> Shadow:
    """The shadow run of ``scenario``: every alert its monitors would have raised with nobody acting on them."""
    key = (scenario, seed, days)
    with _SHADOWS_LOCK:  # the app calls from one thread per session
        if key in _SHADOWS:
            _SHADOWS.move_to_end(key)
            return _SHADOWS[key]
    run = _shadow(scenario, seed, days, progress)
    with _SHADOWS_LOCK:
        _SHADOWS[key] = run
        while len(_SHADOWS) > KEPT_SHADOWS:
            _SHADOWS.popitem(last=False)
    return run


def _shadow(scenario: Scenario, seed: int, days: int, progress) -> Shadow:
    with threadpool_limits(1):
        prepared = prepare(scenario, seed, days)
        tx = prepared.tx
        live = tx["day"].to_numpy() >= prepared.deploy_day
        scores = np.full(len(tx), np.nan)
        scores[live] = prepared.estimator.predict_proba(prepared.served.loc[live, list(FEATURES)].to_numpy(float))[:, 1]
        stream = ScoredStream(tx, prepared.served, scores, scores >= prepared.threshold)
        monitors = DailyMonitors(scenario, drift_reference(prepared.offline, prepared.holdout,
                                                           np.random.default_rng(seed)),
                                 int(prepared.holdout.sum()), prepared.recall_estimate, prepared.precision_estimate,
                                 prepared.dispersion, all_monitors=True)
        alerts, readings = [], []
        day = tx["day"].to_numpy()
        for d in range(prepared.deploy_day, days):
            end = DAY_ZERO + (d + 1) * DAY
            alerts.extend(monitors.check(d, end, np.flatnonzero(day == d), stream, lambda: prepared.holdout_scores))
            reading = monitors.last_recall_reading
            seen = reading.positives if reading is not None and reading.positives else 0
            readings.append((seen, seen * reading.recall if seen else 0.0))
            if progress is not None:
                progress(d - prepared.deploy_day + 1, days - prepared.deploy_day)
    return Shadow(prepared, stream, monitors, alert_frame(alerts), np.array(readings, dtype=float))


# ------------------------------------------------------------------------------------------- one row


def _row(name: str, cause, scenario: Scenario, drifted: Shadow, quiet: Shadow) -> dict:
    # The cause is detected by the first check that alarms with it and would not have alarmed without it: an alarm the
    # quiet replay raised on the same day is a false alarm that happened to fall after the start.
    quiet_days = set(quiet.alarms.loc[_of(quiet.alarms, name), "day"])
    mine = drifted.alarms[_of(drifted.alarms, name)]
    detected = mine[(mine["day"] + 1 > cause.start_day) & ~mine["day"].isin(quiet_days)]
    measured_lag = float(detected["day"].min() + 1 - cause.start_day) if len(detected) else math.nan
    false_alarms = len(quiet_days)
    model = _MODELS[name](scenario, cause, drifted, quiet)
    per_month = HOURS_PER_MONTH / 24.0
    return {
        "monitor": name, "detector": model.detector, "threshold": model.threshold, "cause": cause.kind,
        "start_day": cause.start_day, "shift_before": model.shift_before, "shift_after": model.shift_after,
        "measured_lag_days": measured_lag, "predicted_lag_days": model.lag_days,
        "predicted_lag_p05_days": model.lag_p05_days, "predicted_lag_p95_days": model.lag_p95_days,
        "measured_false_alarms": false_alarms, "checks": quiet.checks,
        "measured_false_alarms_per_month": false_alarms / quiet.checks * per_month,
        "predicted_false_alarms_per_month": model.false_alarm_probability * per_month,
        "dispersion": model.dispersion,
    }


def _of(alarms: pd.DataFrame, name: str) -> pd.Series:
    """The alarms of monitor ``name`` that its model predicts: for performance, the recall check (the precision of
    reviewed alerts has no model in the simulator)."""
    mask = alarms["monitor"] == name
    return mask & (alarms["detector"] == "recall") if name == "performance" else mask


@dataclass
class _Prediction:
    detector: str
    threshold: float
    shift_before: float
    shift_after: float
    false_alarm_probability: float  # per daily check, at the shift the signal has before the cause
    lag_days: float
    lag_p05_days: float
    lag_p95_days: float
    dispersion: float = 1.0


def _lag_quantiles(p_of_fraction, window_hours: float, offset_hours: float = 0.0,
                   delay_cv: float = 0.0) -> tuple[float, float, float]:
    """Mean, 5th and 95th percentile of the lag in days of independent daily checks when the drift starts just
    after a check, as the pipeline's causes do (they start at midnight, when the day's check runs); the check k days
    later sees a share f of drifted samples and alarms with probability ``p_of_fraction(f)``."""
    reached, survive, mean, check = [], 1.0, 0.0, 0
    while True:
        check += 1
        f = labels.drifted_share(check * 24.0, window_hours, offset_hours, delay_cv)
        p = min(max(p_of_fraction(f), 0.0), 1.0)
        if f >= 1.0:
            break
        mean += survive * p * check
        survive *= 1.0 - p
        reached.append((check, 1.0 - survive))
    # From this check on every check sees a drifted window: the wait is a geometric number of checks.
    if p <= 0.0:
        return math.inf, _quantile(reached, survive, p, check, 0.05), math.inf
    mean += survive * (check - 1 + 1.0 / p)
    return mean, _quantile(reached, survive, p, check, 0.05), _quantile(reached, survive, p, check, 0.95)


def _quantile(reached: list[tuple[int, float]], survive: float, p: float, check: int, q: float) -> float:
    for day, probability in reached:
        if probability >= q:
            return float(day)
    if p <= 0.0:
        return math.inf
    if p >= 1.0:
        return float(check)
    return float(check - 1 + max(1, math.ceil(math.log((1.0 - q) / survive) / math.log(1.0 - p))))


def _lag_summary(lag_days: np.ndarray) -> tuple[float, float, float]:
    """Mean, 5th and 95th percentile of simulated lags (infinite where a drift is never detected)."""
    mean = float(np.mean(lag_days)) if np.isfinite(lag_days).all() else math.inf
    low, high = np.quantile(lag_days, [0.05, 0.95], method="inverted_cdf")  # no interpolation with infinity
    return mean, float(low), float(high)


def _predictions_model(scenario: Scenario, cause, drifted: Shadow, quiet: Shadow) -> _Prediction:
    m = scenario.monitoring.predictions
    if m.detector != "mean":
        raise NotImplementedError("only the alert-rate test is calibrated")
    a0 = scenario.pipeline.alert_share
    sd = math.sqrt(a0 * (1 - a0))
    shift_before = (quiet.stream.flagged[quiet.days(-math.inf, math.inf)].mean() - a0) / sd
    shift_after = (drifted.stream.flagged[drifted.days(cause.start_day, cause.start_day + EFFECT_DAYS)].mean()
                   - a0) / sd
    traffic = drifted.traffic_per_hour
    window = max(1, round(traffic * m.window_hours))
    # Alerts come in bursts (a fraud campaign is flagged together), so a window holds fewer independent samples
    # than transactions: the model's window is n / dispersion. The pipeline's two-sample z-test, divided by
    # √dispersion, is then the model's one-sample test at the threshold t·√(1 + n/m).
    dispersion = drifted.monitors.dispersion
    threshold = m.threshold * math.sqrt(1 + window / drifted.monitors.reference_rows)
    monitor = Monitor(detector="mean", threshold=threshold, window=max(1, round(window / dispersion)),
                      cadence_hours=24.0, traffic_per_hour=traffic / dispersion)
    blocks = monitor.blocks(shift_after)
    if blocks is not None:  # overlapping windows: the simulator's block simulation, the drift starting at a check
        mean, p05, p95 = _lag_summary(overlap.lags(blocks, 24.0, worst=True) / 24.0)
    else:
        mean, p05, p95 = _lag_quantiles(lambda f: monitor.alarm_probability(f * shift_after), m.window_hours)
    return _Prediction("mean", m.threshold, shift_before, shift_after, monitor.alarm_probability(shift_before),
                       mean, p05, p95, dispersion)


def _features_model(scenario: Scenario, cause, drifted: Shadow, quiet: Shadow) -> _Prediction:
    m = scenario.monitoring.features
    if m.detector != "psi":
        raise NotImplementedError("only PSI feature monitoring is calibrated")
    traffic = drifted.traffic_per_hour
    window = max(1, round(traffic * m.window_hours))
    reference = drifted.monitors.reference
    effective = max(1, round(1.0 / (1.0 / window + 1.0 / reference.shape[0])))
    before = quiet.stream.features[quiet.days(-math.inf, math.inf)]
    after = drifted.stream.features[drifted.days(cause.start_day, cause.start_day + EFFECT_DAYS)]
    monitors, shifts_before, shifts_after = [], [], []
    for name in DRIFT_WATCHED:
        j = FEATURES.index(name)
        bins = len(detectors.quantile_edges(reference[:, j], 10)) + 1
        shifts_before.append(_psi_shift(reference[:, j], before[:, j], bins))
        shifts_after.append(_psi_shift(reference[:, j], after[:, j], bins))
        monitors.append(Monitor(detector="psi", threshold=m.threshold, window=effective, cadence_hours=24.0,
                                traffic_per_hour=traffic, bins=max(bins, 2)))

    def any_alarm(shifts: list[float]) -> float:
        quiet_all = 1.0
        for monitor, shift in zip(monitors, shifts, strict=True):
            quiet_all *= 1.0 - monitor.alarm_probability(shift)
        return 1.0 - quiet_all

    # Windows of a day checked daily never overlap, so the checks are independent.
    mean, p05, p95 = _lag_quantiles(lambda f: any_alarm([f * s for s in shifts_after]), m.window_hours)
    return _Prediction("psi", m.threshold, max(shifts_before), max(shifts_after), any_alarm(shifts_before),
                       mean, p05, p95)


def _psi_shift(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    """The normal mean shift whose population PSI is this sample pair's PSI less its sampling bias."""
    if current.size == 0:
        return 0.0
    bias = (bins - 1) * (1.0 / reference.size + 1.0 / current.size)
    return shift_from_psi(max(0.0, detectors.psi(reference, current) - bias))


def _performance_model(scenario: Scenario, cause, drifted: Shadow, quiet: Shadow) -> _Prediction:
    m = scenario.monitoring.performance
    reference_recall = drifted.prepared.holdout_recall
    stream = quiet.stream
    frauds = stream.y & quiet.days(-math.inf, math.inf)
    delays = stream.label_hours[frauds] - stream.ts_hours[frauds]
    delay_hours = float(delays.mean()) if delays.size else 0.0
    delay_cv = float(delays.std() / delays.mean()) if delays.size > 1 and delays.mean() > 0 else 0.0
    fraud_rate = float(frauds.sum() / quiet.days(-math.inf, math.inf).sum())
    # The pipeline's careful check: it waits for MIN_RECALL_FRAUDS, frauds come in campaigns (the dispersion
    # measured on the live frauds), and it alarms beyond RECALL_Z standard errors, the holdout's own included.
    careful = {"z": RECALL_Z, "dispersion": fraud_dispersion(stream, frauds),
               "reference_positives": float((drifted.prepared.holdout & drifted.stream.y).sum())}

    def monitor(labelled_frauds: float) -> PerformanceMonitor:
        return PerformanceMonitor(max_drop=m.max_drop, window=quiet.monitors.labelled_window, cadence_hours=24.0,
                                  traffic_per_hour=quiet.traffic_per_hour,
                                  positive_rate=max(labelled_frauds, 1.0) / quiet.monitors.labelled_window,
                                  recall=reference_recall, label_delay_hours=delay_hours, **careful)

    # Without drift the signal is the recall of the frauds whose labels the checks saw: the first labels to come are
    # the quickest chargebacks, which need not be flagged as often as the holdout's frauds were.
    positives, flagged = quiet.readings[:, 0], quiet.readings[:, 1]
    seen = flagged.sum() / positives.sum() if positives.sum() else reference_recall
    loss_before = 1.0 - seen / reference_recall
    after = drifted.stream.y & drifted.days(cause.start_day, cause.start_day + EFFECT_DAYS)
    loss_after = 1.0 - drifted.stream.flagged[after].mean() / reference_recall if after.any() else loss_before
    # The labelled frauds a check sees grow from none (no live label has come yet) to a steady count: each check
    # alarms falsely with the probability its own count gives (a check that has not seen MIN_RECALL_FRAUDS does not
    # run), and the drift meets the steady check.
    false_alarm = float(np.mean([monitor(k).alarm_probability(loss_before) if k else 0.0 for k in positives]))
    if seen - reference_recall + m.max_drop <= 0:
        # Without drift the recall already sits on or below the alarm line: the check alarms nearly every day, and a
        # day it would not have alarmed without the drift hardly comes.
        return _Prediction("recall", m.max_drop, loss_before, loss_after, false_alarm, math.inf, math.inf, math.inf)
    # The simulator's recall monitor, started from the recall the checks saw (its alarm line kept where the
    # pipeline's is: max_drop below the holdout's recall), losing what the cause costs.
    steady = PerformanceMonitor(max_drop=seen - reference_recall + m.max_drop, window=quiet.monitors.labelled_window,
                                cadence_hours=24.0, traffic_per_hour=quiet.traffic_per_hour, positive_rate=fraud_rate,
                                recall=seen, label_delay_hours=delay_hours, label_delay_cv=delay_cv,
                                min_positives=MIN_RECALL_FRAUDS, **careful)
    loss = 1.0 - (1.0 - loss_after) / (1.0 - loss_before)
    blocks = steady.blocks(loss)
    if blocks is not None:
        mean, p05, p95 = _lag_summary(overlap.lags(blocks, 24.0, delay_hours, worst=True) / 24.0)
    else:
        mean, p05, p95 = _lag_quantiles(steady.detection_probability(loss), steady.window_hours,
                                        offset_hours=delay_hours, delay_cv=delay_cv)
    return _Prediction("recall", m.max_drop, loss_before, loss_after, false_alarm, mean, p05, p95,
                       careful["dispersion"])


_MODELS = {"features": _features_model, "predictions": _predictions_model, "performance": _performance_model}


# ------------------------------------------------------------------------------------------ latency


def _latency(prepared: Prepared, rng: np.random.Generator) -> pd.DataFrame:
    """The real-time scorer timed on a sample of live transactions, against the M/G/1 queue of the serving model
    fed the measured service time at the pipeline's traffic."""
    tx = prepared.tx
    live = np.flatnonzero(tx["day"].to_numpy() >= prepared.deploy_day)
    last = live[min(live.size - 1, 2 * LATENCY_SAMPLE)]
    sample = set(rng.choice(live[: np.searchsorted(live, last) + 1], LATENCY_SAMPLE, replace=False).tolist())
    stream = OnlineStream(tx, FeatureSet())
    scorer = TreeScorer(prepared.estimator)
    timings = []

    def visit(i: int, row: dict) -> None:
        started = time.perf_counter()
        values = stream.online.features(row)
        scorer.probability([values[f] for f in FEATURES])
        timings.append((time.perf_counter() - started) * 1000.0)

    stream.advance(last + 1, visit, only=sample)
    timings = np.asarray(timings)
    # The lognormal that fits the timings best (maximum likelihood: the mean and sd of their logs), spelled as the
    # serving model takes it; matching the raw mean and cv instead lets a few stalls of the machine set the shape.
    logs = np.log(timings)
    sigma2 = float(logs.var())
    service = Distribution(dist="lognormal", mean=float(math.exp(logs.mean() + sigma2 / 2)),
                           cv=float(math.sqrt(math.expm1(sigma2))))
    arrivals_per_ms = len(live) / ((tx["day"].max() + 1 - prepared.deploy_day) * 86_400_000.0)
    quantiles = (0.5, 0.9, 0.99)
    return pd.DataFrame({
        "quantile": quantiles,
        "measured_ms": [float(np.quantile(timings, q)) for q in quantiles],
        "predicted_ms": [analytic.mgc_response_percentile(arrivals_per_ms, service, 1, q) for q in quantiles]})


# ------------------------------------------------------------------------------- one monitor setting

MEASURABLE = {"psi": "features", "mean": "predictions"}  # detector -> the pipeline monitor that runs it


def measure_setting(scenario: Scenario, detector: str, threshold: float, window_hours: float, cause: str, *,
                    days: int = 120, transactions_per_day: float = 2000.0, seed: int = 0,
                    progress: Callable[[int, int], None] | None = None) -> pd.Series:
    """One detector setting measured on the scenario's reference pipeline and predicted by the model: PSI runs on
    the features, the window-mean z-test on the alert rate, checked daily over ``window_hours``. The pipeline is
    cut to ``days`` of ``transactions_per_day`` with ``cause`` (one of EXAMPLE_CAUSES, at its size) a third of the
    way into the live days.
    Returns the calibration row of that monitor."""
    if detector not in MEASURABLE:
        raise ValueError(f"detector: {detector!r} is not measured on the reference pipeline; it runs "
                         f"{' and '.join(MEASURABLE)}")
    if cause not in EXAMPLE_CAUSES:
        raise ValueError(f"cause: {cause!r} is not allowed; must be one of {', '.join(EXAMPLE_CAUSES)}")
    name = MEASURABLE[detector]
    size, feature, _ = EXAMPLE_CAUSES[cause]
    monitor = dataclasses.replace(getattr(scenario.monitoring, name), detector=detector, threshold=threshold,
                                  window_hours=window_hours, cadence_hours=24.0)
    history, train, holdout = 40, 40, 14
    start = train + holdout + (days - train - holdout) // 3
    pipeline = dataclasses.replace(
        scenario.pipeline, days=days, transactions_per_day=transactions_per_day,
        cards=int(5 * transactions_per_day), history_days=history, train_days=train, holdout_days=holdout,
        causes=(PipelineCause(kind=cause, start_day=start, size=size, feature=feature),))
    edited = validate(scenario.replace(monitoring=dataclasses.replace(scenario.monitoring, **{name: monitor}),
                                       pipeline=pipeline))
    result = calibrate(edited, seed=seed, progress=progress)
    return result.monitors.set_index("monitor").loc[name]
