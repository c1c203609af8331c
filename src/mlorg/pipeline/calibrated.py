"""The simulator's inputs measured on the reference pipeline, and a scenario that uses them (`mlorg calibrate --write`).

Measured beside the untouched first model, with the scenario's fraud-pattern shift and on the same days without it
(:func:`mlorg.pipeline.calibrate.shadow`), over EFFECT_DAYS from the shift:

* the healthy recall (the first model's, over the live days without the shift) and the share of it the shift costs;
* the alert rate's move in σ of one transaction's alert, against the same days without the shift (paired days, so
  the model's slow ageing does not count), and how bursty the alerts are (the holdout's dispersion);
* the chargeback delays' mean and cv, and the share of frauds investigators label first (those the model alerts on);
* the recall check as the pipeline runs it: its margin in standard errors and the frauds it waits for (settings,
  copied), and how clustered the frauds are (campaigns hit one card), measured;
* what the interim remedy wins back (flagging interim_alert_share instead of alert_share), and what a retrain wins
  back when trained RETRAIN_AFTER_DAYS after the shift on the labels known then (reviewed alerts and chargebacks),
  written as the fraud class's retrain_half_labels: the labels at which the simulator's rule (share × labels /
  (labels + half)) gives the measured recovery for the scenario's share.

Only what does not depend on the pipeline's size is written: the share of frauds investigators review depends on
their capacity against the alerts of the simulated issuer's traffic, which the pipeline does not have.

The written scenario is the input scenario merged (no ``extends``) with these values, each line marked with how it
was measured. The scorer's in-process latency is reported by ``mlorg calibrate`` but not written: a request to a
served model costs more than the in-process call, and ``mlorg calibrate --serving`` measures and writes that one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from mlorg.pipeline.calibrate import EFFECT_DAYS, Shadow, shadow
from mlorg.pipeline.labels import LabelBook
from mlorg.pipeline.monitors import MIN_RECALL_FRAUDS, RECALL_Z, fraud_dispersion
from mlorg.pipeline.training import THRESHOLD_DAYS, retrain, threshold_for
from mlorg.scenario import Scenario, to_toml, validate

RETRAIN_AFTER_DAYS = 28  # a retrain this long after the shift: four weeks of reviewed alerts and early chargebacks


@dataclass(frozen=True)
class Measured:
    """One input measured: where it goes in the scenario (table path, key), its value and how it was measured."""

    table: str  # e.g. "drift.concept", or "portfolio[0]"
    key: str
    value: float | int
    how: str
    verb: str = "measured"  # or "set": a setting of the pipeline that the simulator copies


def measure_inputs(scenario: Scenario, seed: int, days: int) -> list[Measured]:
    """The simulator's inputs for the scenario's fraud model, measured on its reference pipeline."""
    shift = next((c for c in scenario.pipeline.causes if c.kind == "fraud_pattern_shift"), None)
    if shift is None:
        raise ValueError("pipeline.causes: measuring the simulator's inputs needs a fraud_pattern_shift cause")
    p = scenario.pipeline
    drifted = shadow(scenario.replace(pipeline=dataclasses.replace(p, causes=(shift,))), seed, days)
    quiet = shadow(scenario.replace(pipeline=dataclasses.replace(p, causes=())), seed, days)
    start, end = shift.start_day, shift.start_day + EFFECT_DAYS
    where = f"seed {seed}, {days} days, the shift on day {start:g}"
    healthy = _recall(quiet, quiet.days(-math.inf, math.inf))
    after = _recall(drifted, drifted.days(start, end))
    loss = _clip(1.0 - after / healthy)
    sd = math.sqrt(p.alert_share * (1 - p.alert_share))
    alerts_without = quiet.stream.flagged[quiet.days(start, end)].mean()
    alerts_with = drifted.stream.flagged[drifted.days(start, end)].mean()
    prediction_shift = abs(alerts_with - alerts_without) / sd
    frauds = quiet.stream.y & quiet.days(-math.inf, math.inf)
    delays = (quiet.stream.label_hours[frauds] - quiet.stream.ts_hours[frauds]) / 24.0
    interim = _interim_recovery(drifted, start, end, p.alert_share, p.interim_alert_share, healthy)
    retrained, labelled = _retrain_recovery(drifted, scenario, start, healthy, seed)
    cls, index = fraud_class(scenario)
    share = scenario.incidents.recovery.retrain.concept
    out = [
        Measured("drift.concept", "prediction_shift", prediction_shift,
                 f"alert rate {alerts_with:.4f} with the shift against {alerts_without:.4f} without, days "
                 f"{start:g}–{end - 1:g} ({where})"),
        Measured("drift.concept", "performance_loss", loss,
                 f"recall {after:.3f} over days {start:g}–{end - 1:g} against {healthy:.3f} without the shift "
                 f"({where})"),
        Measured("monitoring.predictions", "dispersion", drifted.monitors.dispersion,
                 "variance of the holdout's daily alert rate over the binomial one"),
        # The recall check as the pipeline runs it: its margin and its wait are settings, its dispersion measured.
        Measured("monitoring.performance", "z", RECALL_Z, "as the reference pipeline's recall check", "set"),
        Measured("monitoring.performance", "min_positives", MIN_RECALL_FRAUDS,
                 "as the reference pipeline's recall check", "set"),
        Measured("monitoring.performance", "dispersion", fraud_dispersion(quiet.stream, frauds),
                 f"squared ratio of the card-clustered to the binomial standard error of recall over the live frauds "
                 f"({where})"),
        Measured("incidents.recovery.interim", "concept", interim,
                 f"flagging {p.interim_alert_share:.0%} instead of {p.alert_share:.0%} after the shift ({where})"),
    ]
    model = f"portfolio[{index}]" if cls is not None else "impact"
    out += [
        Measured(model, "recall", healthy, f"the first model's recall over the live days without the shift ({where})"),
        Measured(model, "label_delay_days", float(delays.mean()), "mean chargeback delay of the live frauds"),
        Measured(model, "label_delay_cv", float(delays.std() / delays.mean()), "cv of the chargeback delays"),
    ]
    if cls is not None:
        out.append(Measured(f"{model}.value_loss", "concept", loss,
                            "the share of recall the shift costs (the fraud a model stops is its value)"))
        if 0 < retrained < share and labelled > 0:
            # The simulator's retrain wins back share × labels / (labels + half): solved for half at this point.
            out.append(Measured(model, "retrain_half_labels", labelled * (share / retrained - 1.0),
                                f"a retrain {RETRAIN_AFTER_DAYS} days after the shift, with {labelled:.0f} post-shift "
                                f"frauds labelled, won back {retrained:.2f} of what the shift cost; with "
                                f"incidents.recovery.retrain.concept = {share:g}, half of it comes at this many "
                                f"labelled frauds ({where})"))
    return out


def calibrated(scenario: Scenario, measured: list[Measured]) -> Scenario:
    """``scenario`` with the measured inputs in place (validated)."""
    data = _as_plain(scenario)
    for m in measured:
        value = m.value if isinstance(m.value, int) else float(f"{m.value:.4g}")  # the measurement is no finer
        _table(data, m.table)[m.key] = value
    from mlorg.scenario import from_dict

    return validate(from_dict(data))


def write(scenario: Scenario, measured: list[Measured], source: str) -> str:
    """The calibrated scenario as TOML, self-contained, each measured line marked with how it was measured."""
    text = to_toml(calibrated(scenario, measured))
    marks = {(m.table, m.key): m for m in measured}
    lines, table, portfolio = [], "", -1
    for line in text.splitlines():
        if line.startswith("[[portfolio]]"):
            portfolio += 1
            table = f"portfolio[{portfolio}]"
        elif line.startswith("[portfolio."):
            table = f"portfolio[{portfolio}]" + line.strip("[]")[len("portfolio"):]
        elif line.startswith("["):
            table = line.strip("[]")
        key = line.split("=", 1)[0].strip() if "=" in line and not line.startswith("[") else None
        mark = marks.get((table, key))
        lines.append(f"{line}  # {mark.verb} by mlorg calibrate: {mark.how}" if mark else line)
    header = [f"# {scenario.name}, calibrated by `mlorg calibrate --write` on the reference pipeline of {source}.",
              "# Every value marked 'measured' comes from that run, every one marked 'set' is the pipeline's setting;",
              "# the rest is the scenario as written, merged.", ""]
    return "\n".join(header + lines) + "\n"


# ------------------------------------------------------------------------------------------------ measures

def _recall(run: Shadow, rows: np.ndarray) -> float:
    frauds = rows & run.stream.y
    return float(run.stream.flagged[frauds].mean()) if frauds.any() else math.nan


def _clip(x: float) -> float:
    return float(min(max(x, 0.0), 1.0)) if math.isfinite(x) else 0.0


def _interim_recovery(run: Shadow, start: float, end: float, share: float, interim: float, healthy: float) -> float:
    """What flagging ``interim`` instead of ``share`` of each day's transactions wins back of the recall lost."""
    rows = run.days(start, end)
    scores, fraud = run.stream.scores[rows], run.stream.y[rows]
    usual = (scores >= threshold_for(scores, share))[fraud].mean()
    wider = (scores >= threshold_for(scores, interim))[fraud].mean()
    lost = healthy - usual
    return _clip((wider - usual) / lost) if lost > 0 else 0.0


def _retrain_recovery(run: Shadow, scenario: Scenario, start: float, healthy: float, seed: int) -> tuple[float, float]:
    """A model retrained RETRAIN_AFTER_DAYS after the shift on the labels known then (the first model's alerts
    reviewed, chargebacks arrived, the rest presumed legitimate), scored on the EFFECT_DAYS after it: the share of the
    lost recall it wins back, and the post-shift frauds it had labels for."""
    from mlorg.pipeline.features import FEATURES
    from mlorg.pipeline.labels import chargeback_window_days
    from mlorg.pipeline.live import DAY_ZERO_HOURS

    p, prepared = scenario.pipeline, run.prepared
    day = prepared.tx["day"].to_numpy()
    trained = int(math.ceil(start)) + RETRAIN_AFTER_DAYS
    if trained + 1 >= day.max():
        return 0.0, 0.0
    stream = run.stream
    window = chargeback_window_days(scenario.impact.label_delay_days * 0.7, scenario.impact.label_delay_cv)
    book = LabelBook(stream.ts_hours, stream.y, stream.label_hours, p.review_delay_days, window)
    book.review(np.flatnonzero(stream.flagged))
    now = DAY_ZERO_HOURS + trained * 24.0
    rows = np.flatnonzero((day >= max(0, trained - p.retrain_window_days)) & (day < trained))
    known = book.known_fraud(rows, now)
    features = prepared.offline[list(FEATURES)].to_numpy(float)
    with threadpool_limits(1):
        model = retrain(features[rows], known, day[rows] >= trained - THRESHOLD_DAYS, p.alert_share, seed, trained)
        later = run.days(trained, trained + EFFECT_DAYS)
        scores = model.scores(prepared.served[list(FEATURES)].to_numpy(float)[later])
    fraud = stream.y[later]
    recall_retrained = (scores >= model.threshold)[fraud].mean() if fraud.any() else math.nan
    recall_kept = stream.flagged[later][fraud].mean() if fraud.any() else math.nan
    lost = healthy - recall_kept
    labelled = float(known[day[rows] >= start].sum())
    return (_clip((recall_retrained - recall_kept) / lost) if lost > 0 else 0.0), labelled


def fraud_class(scenario: Scenario):
    """The portfolio class the pipeline's model stands for: the first real-time one (None without a portfolio)."""
    for i, cls in enumerate(scenario.portfolio):
        if cls.serving_mode == "realtime":
            return cls, i
    return None, -1


def _as_plain(scenario: Scenario) -> dict:
    import tomllib

    return tomllib.loads(to_toml(scenario))


def _table(data: dict, path: str) -> dict:
    node = data
    for part in path.split("."):
        if part.endswith("]"):
            name, index = part[:-1].split("[")
            node = node[name][int(index)]
        else:
            node = node.setdefault(part, {})
    return node
