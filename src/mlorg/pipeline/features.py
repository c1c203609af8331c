"""Card-fraud features: one SQL definition offline, the same features online, contracts, and a parity check.

Every feature is point-in-time: it reads only the card's transactions strictly before the current one and only
the labels already known at its time. "Before" is the order (ts, tx_id), so a transaction at the same instant with
a lower tx_id is before. A window of w holds the card's earlier transactions at most w old, ts − w <= ts' — one
exactly w before is in. A label is known when its label_time <= ts and its transaction came before the current
one, so no feature ever sees the current transaction's own label (not even one that arrives instantly); it counts
for category_risk until risk_days after it arrived (up to a transaction at exactly that instant).
Inputs need a unique tx_id in [0, 2**40) and a label_time not before ts (NaT: the label never arrives).

``offline_features`` computes them in DuckDB for training; ``OnlineFeatures`` keeps per-card state and computes
them for one incoming transaction, as a real-time scorer would; ``parity`` measures how far the two disagree
(training–serving skew). :mod:`mlorg.pipeline.contracts` rejects a batch whose values are impossible.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Container, Mapping
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd

FEATURES: tuple[str, ...] = (
    "log_amount",
    "hour",
    "is_ecom",
    "is_atm",
    "card_count_1h",
    "card_count_24h",
    "card_count_7d",
    "card_amount_24h",
    "card_amount_7d",
    "amount_vs_card_avg",
    "new_device",
    "foreign_country",
    "new_country",
    "category_risk",
)

INPUT_COLUMNS: tuple[str, ...] = (
    "tx_id",
    "ts",
    "card_id",
    "merchant_category",
    "amount",
    "channel",
    "device_id",
    "country",
    "home_country",
    "is_fraud",
    "label_time",
)

_HOUR_NS = 3_600_000_000_000
# The SQL orders transactions by ts_ns * _STEP + tx_id, so tx_id must lie in [0, _STEP / 2): the spare half keeps
# a label's "just before this instant" key clear of every transaction key.
_STEP = 2**41


def _hours_ns(hours: float) -> int:
    return int(round(hours * _HOUR_NS))


# --- the definition ----------------------------------------------------------------------------------------------

_SQL = """\
-- Two statements: the input is staged in a table first, which measured here halves the time of the windows.
CREATE OR REPLACE TEMP TABLE feature_input AS
    -- (ts, tx_id) folded into one ordered key k = ts_ns * 2^41 + tx_id, so "before" is simply a smaller k
    SELECT tx_id, card_id, amount, device_id, country, merchant_category,
           CAST(is_fraud AS INTEGER) AS fraud,
           hour(ts) AS hour, channel = 'ecom' AS is_ecom, channel = 'atm' AS is_atm,
           country <> home_country AS foreign_country,
           CAST(epoch_ns(ts) AS HUGEINT) * {step} + tx_id AS k,
           -- a label is known from label_k on: just before any transaction at label_time, or, when it arrives
           -- the instant its own transaction happens, just after that transaction
           CAST(epoch_ns(label_time) AS HUGEINT) * {step} + CASE WHEN label_time = ts THEN tx_id ELSE -1 END
               AS label_k
    FROM transactions;

WITH history AS (
    -- a frame from (w * 2^41 + tx_id) before k reaches back exactly to ts - w, whatever the tx_ids
    SELECT *,
        COUNT(*) OVER (card RANGE BETWEEN ({w1} + tx_id) PRECEDING AND 1 PRECEDING) AS n1,
        COUNT(*) OVER (card RANGE BETWEEN ({w2} + tx_id) PRECEDING AND 1 PRECEDING) AS n2,
        COUNT(*) OVER (card RANGE BETWEEN ({w3} + tx_id) PRECEDING AND 1 PRECEDING) AS n3,
        COUNT(*) OVER (card RANGE BETWEEN ({avg} + tx_id) PRECEDING AND 1 PRECEDING) AS n_avg,
        SUM(amount) OVER (card RANGE BETWEEN ({w2} + tx_id) PRECEDING AND 1 PRECEDING) AS s2,
        SUM(amount) OVER (card RANGE BETWEEN ({w3} + tx_id) PRECEDING AND 1 PRECEDING) AS s3,
        SUM(amount) OVER (card RANGE BETWEEN ({avg} + tx_id) PRECEDING AND 1 PRECEDING) AS s_avg
    FROM feature_input
    WINDOW card AS (PARTITION BY card_id ORDER BY k)
),
-- the transactions that are a card's first use of a device, or of a country
first_device AS (
    SELECT arg_min(tx_id, k) AS tx_id FROM feature_input WHERE device_id IS NOT NULL GROUP BY card_id, device_id
),
first_country AS (
    SELECT arg_min(tx_id, k) AS tx_id FROM feature_input WHERE country IS NOT NULL GROUP BY card_id, country
),
-- a category's transactions, label arrivals and label expiries (risk_days after arrival) in one stream ordered by
-- key: each transaction's running totals count the labels known before it and not yet expired (at an equal key, an
-- instant label comes after its own transaction, and an expiry after the transaction too)
arrivals AS (
    SELECT merchant_category, k AS key, tx_id, CAST(NULL AS INTEGER) AS fraud, CAST(NULL AS INTEGER) AS label
    FROM feature_input
    UNION ALL
    SELECT merchant_category, label_k, NULL, fraud, 1 FROM feature_input
    WHERE label_k IS NOT NULL AND merchant_category IS NOT NULL
    UNION ALL
    SELECT merchant_category, label_k + {risk}, NULL, -fraud, -1 FROM feature_input
    WHERE label_k IS NOT NULL AND merchant_category IS NOT NULL
),
known AS (
    SELECT tx_id, SUM(fraud) OVER arrived AS frauds, SUM(label) OVER arrived AS labels
    FROM arrivals
    WINDOW arrived AS (PARTITION BY merchant_category ORDER BY key, tx_id NULLS LAST ROWS UNBOUNDED PRECEDING)
    QUALIFY tx_id IS NOT NULL
)
SELECT
    h.tx_id,
    CAST(ln(1 + h.amount) AS DOUBLE) AS log_amount,
    CAST(h.hour AS DOUBLE) AS hour,
    CAST(h.is_ecom AS DOUBLE) AS is_ecom,
    CAST(h.is_atm AS DOUBLE) AS is_atm,
    CAST(h.n1 AS DOUBLE) AS card_count_1h,
    CAST(h.n2 AS DOUBLE) AS card_count_24h,
    CAST(h.n3 AS DOUBLE) AS card_count_7d,
    CAST(COALESCE(h.s2, 0) AS DOUBLE) AS card_amount_24h,
    CAST(COALESCE(h.s3, 0) AS DOUBLE) AS card_amount_7d,
    CAST(h.amount / NULLIF(h.s_avg / NULLIF(h.n_avg, 0), 0) AS DOUBLE) AS amount_vs_card_avg,
    CAST(CASE WHEN h.device_id IS NULL THEN NULL ELSE fd.tx_id IS NOT NULL END AS DOUBLE) AS new_device,
    CAST(h.foreign_country AS DOUBLE) AS foreign_country,
    CAST(CASE WHEN h.country IS NULL THEN NULL ELSE fc.tx_id IS NOT NULL END AS DOUBLE) AS new_country,
    CAST((COALESCE(kn.frauds, 0) + {prior_count}) / (COALESCE(kn.labels, 0) + {strength}) AS DOUBLE) AS category_risk
FROM history h
JOIN known kn ON kn.tx_id = h.tx_id
LEFT JOIN first_device fd ON fd.tx_id = h.tx_id
LEFT JOIN first_country fc ON fc.tx_id = h.tx_id
"""


@dataclass(frozen=True)
class FeatureSet:
    """The parameters of the feature definitions; its ``version`` changes whenever they or the SQL change.

    ``windows_hours`` are the three count windows, in the slots named card_count_1h, _24h and _7d; the second and
    third also feed card_amount_24h and _7d. The names are the model's column names and stay fixed.
    """

    name: str = "card_fraud_v1"
    windows_hours: tuple[float, float, float] = (1, 24, 168)
    avg_days: float = 30
    risk_prior: float = 0.002
    risk_strength: float = 100.0
    # Labels count for category_risk while they are younger than this. A running total since the first label drifts
    # for months: frauds are labelled sooner (chargebacks, ~21 days) than legitimate transactions (30 days), and the
    # head start they had weighs less and less; a trailing window holds the same days of both and stays level.
    risk_days: float = 90.0

    def __post_init__(self):
        windows = tuple(float(w) for w in self.windows_hours)
        if len(windows) != 3 or not all(w > 0 for w in windows) or list(windows) != sorted(set(windows)):
            raise ValueError(f"windows_hours must be three increasing positive hours, got {self.windows_hours}")
        if not self.avg_days > 0:
            raise ValueError(f"avg_days must be > 0, got {self.avg_days}")
        # floats throughout, so that (1, 24, 168) and (1.0, 24.0, 168.0) are one version
        object.__setattr__(self, "windows_hours", windows)
        object.__setattr__(self, "avg_days", float(self.avg_days))
        object.__setattr__(self, "risk_prior", float(self.risk_prior))
        object.__setattr__(self, "risk_strength", float(self.risk_strength))
        object.__setattr__(self, "risk_days", float(self.risk_days))
        if not self.risk_days > 0:
            raise ValueError(f"risk_days must be > 0, got {self.risk_days}")
        if not 0 <= self.risk_prior <= 1:
            raise ValueError(f"risk_prior must be in [0, 1], got {self.risk_prior}")
        if not self.risk_strength > 0:
            raise ValueError(f"risk_strength must be > 0, got {self.risk_strength}")

    @property
    def sql(self) -> str:
        """The DuckDB query, over a relation named ``transactions``, with the parameters rendered in."""
        w1, w2, w3, avg = (_hours_ns(w) * _STEP for w in (*self.windows_hours, 24 * self.avg_days))
        return _SQL.format(
            step=_STEP,
            w1=w1,
            w2=w2,
            w3=w3,
            avg=avg,
            risk=_hours_ns(24 * self.risk_days) * _STEP,
            prior_count=repr(float(self.risk_prior * self.risk_strength)),
            strength=repr(float(self.risk_strength)),
        )

    @property
    def version(self) -> str:
        """The first 16 hex digits of the sha256 of the SQL and the parameters."""
        params = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256((self.sql + "\n" + params).encode()).hexdigest()[:16]


DEFAULT_FEATURE_SET = FeatureSet()


def _check_input(transactions: pd.DataFrame) -> None:
    missing = [c for c in INPUT_COLUMNS if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions lack columns {missing}")
    tx_id = transactions["tx_id"]
    if not tx_id.is_unique:
        raise ValueError("tx_id must be unique: it orders transactions at the same instant")
    if len(tx_id) and not (0 <= tx_id.min() and tx_id.max() < _STEP // 2):
        raise ValueError(f"tx_id must lie in [0, 2**40), got {tx_id.min()}..{tx_id.max()}")
    early = (transactions["label_time"] < transactions["ts"]).to_numpy()
    if early.any():
        first = transactions.loc[early, "tx_id"].iloc[0]
        raise ValueError(f"{int(early.sum())} labels arrive before their transaction (first tx_id {first})")


def offline_features(
    transactions: pd.DataFrame,
    feature_set: FeatureSet = DEFAULT_FEATURE_SET,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """One row per transaction — tx_id and FEATURES as float64, NaN for NULL — in tx_id order, computed in DuckDB.

    With ``con`` the query runs on a cursor of it; without, on a private in-memory database.
    """
    _check_input(transactions)
    cursor = con.cursor() if con is not None else duckdb.connect()
    try:
        cursor.register("transactions", transactions[list(INPUT_COLUMNS)])
        result = cursor.execute(feature_set.sql).df()
    finally:
        cursor.close()
    # measured here, sorting in pandas is cheaper than an ORDER BY in the query
    result = result.sort_values("tx_id", kind="stable", ignore_index=True)
    return result.astype({"tx_id": "int64", **dict.fromkeys(FEATURES, "float64")})


# --- online --------------------------------------------------------------------------------------------------------


def _ns(ts) -> int:
    """Nanoseconds since the epoch, from an int (already ns), a Timestamp, a datetime64 or a datetime."""
    if isinstance(ts, (int, np.integer)):
        return int(ts)
    stamp = pd.Timestamp(ts)
    if stamp is pd.NaT:
        raise ValueError("a transaction needs a timestamp, got NaT")
    return stamp.value


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


class _Card:
    """One card's recent history, oldest first, and everything it has used."""

    __slots__ = ("times", "amounts", "start", "devices", "countries")

    def __init__(self):
        self.times: list[int] = []
        self.amounts: list[float] = []
        self.start = 0  # entries before it have left every window
        self.devices: set = set()
        self.countries: set = set()


class OnlineFeatures:
    """The same features for one incoming transaction from current state (per-card recent history, devices and
    countries seen, per-category label counts), as a real-time scorer would compute them.

    Score with ``features`` and then ``add`` the transaction; transactions must be added in (ts, tx_id) order.
    ``skew = (feature, size, start)`` injects a training–serving bug: from ``start`` on, ``feature`` comes out
    multiplied by 1 + size (a unit bug such as cents for dollars). The offline path is never skewed.
    """

    def __init__(
        self,
        feature_set: FeatureSet = DEFAULT_FEATURE_SET,
        skew: tuple[str, float, pd.Timestamp] | None = None,
    ):
        self.feature_set = feature_set
        w1, w2, w3 = (_hours_ns(w) for w in feature_set.windows_hours)
        self._windows = (w1, w2, w3, _hours_ns(24 * feature_set.avg_days))
        self._horizon = max(self._windows)
        self._prior_count = float(feature_set.risk_prior * feature_set.risk_strength)
        self._strength = float(feature_set.risk_strength)
        self._cards: dict[object, _Card] = {}
        self._risk_key = _hours_ns(24 * feature_set.risk_days) * _STEP
        self._labels: dict[object, list] = {}  # category -> [frauds, labels, heap of (expiry key, fraud)]
        self._last = None
        self._skew = None
        if skew is not None:
            feature, size, start = skew
            if feature not in FEATURES:
                raise ValueError(f"skew feature must be one of FEATURES, got {feature!r}")
            self._skew = (feature, 1.0 + float(size), _ns(start))

    def features(self, tx: Mapping) -> dict[str, float]:
        """The features of ``tx`` from the state before it joins; NaN for NULL."""
        t = _ns(tx["ts"])
        amount = float(tx["amount"])
        card = self._cards.get(tx["card_id"])
        if card is None:
            n1 = n2 = n3 = n_avg = 0
            s2 = s3 = s_avg = 0.0
            devices = countries = ()
        else:
            times, amounts = card.times, card.amounts
            hi = bisect_right(times, t, card.start)
            lo1, lo2, lo3, lo_avg = (bisect_left(times, t - w, card.start, hi) for w in self._windows)
            n1, n2, n3, n_avg = hi - lo1, hi - lo2, hi - lo3, hi - lo_avg
            s2, s3, s_avg = sum(amounts[lo2:hi]), sum(amounts[lo3:hi]), sum(amounts[lo_avg:hi])
            devices, countries = card.devices, card.countries
        mean = s_avg / n_avg if n_avg else 0.0
        device, country, home = tx["device_id"], tx["country"], tx["home_country"]
        country_missing = _missing(country)
        frauds, labels = self._known_labels(tx["merchant_category"], t * _STEP + int(tx.get("tx_id", 0)))
        channel = tx["channel"]
        values = {
            "log_amount": math.log(1 + amount),
            "hour": float((t // _HOUR_NS) % 24),
            "is_ecom": float(channel == "ecom"),
            "is_atm": float(channel == "atm"),
            "card_count_1h": float(n1),
            "card_count_24h": float(n2),
            "card_count_7d": float(n3),
            "card_amount_24h": float(s2),
            "card_amount_7d": float(s3),
            "amount_vs_card_avg": amount / mean if mean else math.nan,
            "new_device": math.nan if _missing(device) else float(device not in devices),
            "foreign_country": math.nan if country_missing or _missing(home) else float(country != home),
            "new_country": math.nan if country_missing else float(country not in countries),
            "category_risk": (frauds + self._prior_count) / (labels + self._strength),
        }
        if self._skew is not None and t >= self._skew[2]:
            values[self._skew[0]] *= self._skew[1]
        return values

    def add(self, tx: Mapping) -> None:
        """Let ``tx`` join its card's history (after it was scored)."""
        device, country = tx["device_id"], tx["country"]
        self.add_values(_ns(tx["ts"]), tx["card_id"], float(tx["amount"]), None if _missing(device) else device,
                        None if _missing(country) else country)

    def add_values(self, t: int, card_id, amount: float, device, country) -> None:
        """``add`` for one transaction given as values: ns timestamp, and None for a missing device or country."""
        if self._last is not None and t < self._last:
            raise ValueError(f"transactions must be added in time order: {t} ns after {self._last} ns")
        self._last = t
        card = self._cards.get(card_id)
        if card is None:
            card = self._cards[card_id] = _Card()
        card.times.append(t)
        card.amounts.append(amount)
        if device is not None:
            card.devices.add(device)
        if country is not None:
            card.countries.add(country)
        if card.times[card.start] < t - self._horizon:
            card.start = bisect_left(card.times, t - self._horizon, card.start)
            if card.start > 64 and 2 * card.start > len(card.times):  # drop the expired prefix now and then
                del card.times[: card.start], card.amounts[: card.start]
                card.start = 0

    def add_labels(self, labelled: pd.DataFrame) -> None:
        """Count labels arriving now (after the last transaction added): rows of (merchant_category, is_fraud)."""
        now = (self._last or 0) * _STEP + _STEP // 2
        for category, fraud in zip(labelled["merchant_category"], labelled["is_fraud"], strict=True):
            self.add_label(category, bool(fraud), now)

    def add_label(self, category, fraud: bool, key: int) -> None:
        """Count one label arrived at ``key`` (ts_ns · 2**41 + tx_id order, as the SQL's label_k); it expires
        risk_days later."""
        if _missing(category):  # offline, a null category matches no label either
            return
        counts = self._labels.get(category)
        if counts is None:
            counts = self._labels[category] = [0, 0, []]
        counts[0] += fraud
        counts[1] += 1
        heapq.heappush(counts[2], (key + self._risk_key, fraud))

    def _known_labels(self, category, key: int) -> tuple[int, int]:
        """Frauds and labels of ``category`` that count for a transaction at ``key``: expired ones leave first."""
        counts = self._labels.get(category)
        if counts is None:
            return 0, 0
        expiring = counts[2]
        while expiring and expiring[0][0] < key:
            _, fraud = heapq.heappop(expiring)
            counts[0] -= fraud
            counts[1] -= 1
        return counts[0], counts[1]


def _stream_order(transactions: pd.DataFrame) -> np.ndarray:
    return np.lexsort((transactions["tx_id"].to_numpy(), transactions["ts"].to_numpy()))


def _objects(column: pd.Series) -> list:
    """Python values with None for every missing one."""
    return [None if _missing(v) else v for v in column.astype(object).tolist()]


class OnlineStream:
    """Transactions fed to ``OnlineFeatures`` in (ts, tx_id) order, each label added once its label_time has come
    and its transaction has been scored: the state a real-time scorer sees, built as the stream goes by."""

    def __init__(self, transactions: pd.DataFrame, feature_set: FeatureSet = DEFAULT_FEATURE_SET,
                 skew: tuple[str, float, pd.Timestamp] | None = None):
        _check_input(transactions)
        self.order = _stream_order(transactions)
        frame = transactions.iloc[self.order]
        times = frame["ts"].to_numpy().astype("datetime64[ns]").astype("int64").tolist()
        columns = {name: frame[name].tolist() for name in ("tx_id", "card_id", "merchant_category", "amount",
                                                           "channel")}
        columns |= {"ts": times, "home_country": _objects(frame["home_country"])}
        columns |= {"device_id": _objects(frame["device_id"]), "country": _objects(frame["country"])}
        self._columns = columns
        label_times = frame["label_time"].to_numpy().astype("datetime64[ns]")
        arrived = np.flatnonzero(~np.isnat(label_times))
        self._arrival = arrived[np.lexsort((arrived, label_times[arrived].astype("int64")))].tolist()
        self._arrival_times = label_times[self._arrival].astype("int64").tolist()
        self._categories, self._frauds = frame["merchant_category"].tolist(), frame["is_fraud"].tolist()
        self.online = OnlineFeatures(feature_set, skew)
        self.position = 0  # stream positions [0, position) are in the state
        self._next_label = 0

    def row(self, position: int) -> dict:
        """The transaction at a stream position, as the online path receives it."""
        return {name: values[position] for name, values in self._columns.items()}

    def advance(self, stop: int, visit=None, only: Container[int] | None = None) -> None:
        """Feed stream positions up to ``stop``; ``visit(position, row)`` is called for each (or for the positions in
        ``only``) before it joins the state, with the labels that have arrived by then already counted."""
        online, arrival, arrival_times = self.online, self._arrival, self._arrival_times
        c = self._columns
        times, cards, amounts, devices, countries = c["ts"], c["card_id"], c["amount"], c["device_id"], c["country"]
        for i in range(self.position, stop):
            t = times[i]
            # A label with label_time <= ts whose transaction is not scored yet arrived at this very instant for a
            # tied later transaction; everything after it in arrival order waits too.
            while (self._next_label < len(arrival) and arrival_times[self._next_label] <= t
                   and arrival[self._next_label] < i):
                j = arrival[self._next_label]
                label_ns = arrival_times[self._next_label]
                # the SQL's label_k: just after its own transaction if it arrives that instant, else just before
                key = label_ns * _STEP + (c["tx_id"][j] if label_ns == times[j] else -1)
                online.add_label(self._categories[j], bool(self._frauds[j]), key)
                self._next_label += 1
            if visit is not None and (only is None or i in only):
                visit(i, self.row(i))
            # The columns are already plain values with None for missing, so the checks of ``add`` are skipped.
            online.add_values(t, cards[i], float(amounts[i]), devices[i], countries[i])
        self.position = max(self.position, stop)


def replay_online(
    transactions: pd.DataFrame,
    feature_set: FeatureSet = DEFAULT_FEATURE_SET,
    skew: tuple[str, float, pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """Stream every transaction through ``OnlineStream`` and compute its features on the way: one row per
    transaction, like ``offline_features``."""
    stream = OnlineStream(transactions, feature_set, skew)
    out = []
    stream.advance(len(stream.order), lambda _i, row: out.append(stream.online.features(row)))
    result = pd.DataFrame(out, columns=list(FEATURES))
    result.insert(0, "tx_id", transactions["tx_id"].to_numpy()[stream.order].astype("int64"))
    return result.sort_values("tx_id", kind="stable").reset_index(drop=True)


# --- parity --------------------------------------------------------------------------------------------------------


def parity(
    transactions: pd.DataFrame, offline: pd.DataFrame, online: pd.DataFrame, tolerance: float = 1e-9
) -> pd.DataFrame:
    """Per feature, how the online values disagree with the offline ones on the transactions scored online.

    Two values match when both are NaN or |a − b| <= tolerance · max(1, |a|, |b|); a NaN against a number is a
    mismatch of infinite size. Columns: feature, rows, mismatches, mismatch_share, max_abs_diff, first_mismatch_ts
    (the earliest ts of a mismatching transaction, NaT if none) and skewed (mismatch_share > 0).
    """
    unknown = ~online["tx_id"].isin(offline["tx_id"])
    if unknown.any():
        example = online["tx_id"][unknown].iloc[0]
        raise ValueError(f"{int(unknown.sum())} online rows have no offline row (e.g. tx_id {example})")
    both = online[["tx_id", *FEATURES]].merge(offline[["tx_id", *FEATURES]], on="tx_id", suffixes=("_on", "_off"))
    ts = both[["tx_id"]].merge(transactions[["tx_id", "ts"]], on="tx_id", how="left")["ts"].to_numpy()
    records = []
    for name in FEATURES:
        a = both[f"{name}_on"].to_numpy(dtype="float64")
        b = both[f"{name}_off"].to_numpy(dtype="float64")
        a_nan, b_nan = np.isnan(a), np.isnan(b)
        with np.errstate(invalid="ignore"):
            diff = np.where(a_nan | b_nan, np.where(a_nan & b_nan, 0.0, np.inf), np.abs(a - b))
            scale = np.maximum(1.0, np.maximum(np.abs(np.nan_to_num(a)), np.abs(np.nan_to_num(b))))
        bad = diff > tolerance * scale
        rows = int(a.size)
        records.append(
            {
                "feature": name,
                "rows": rows,
                "mismatches": int(bad.sum()),
                "mismatch_share": float(bad.mean()) if rows else 0.0,
                "max_abs_diff": float(diff.max()) if rows else 0.0,
                "first_mismatch_ts": pd.Timestamp(ts[bad].min()) if bad.any() else pd.NaT,
                "skewed": bool(bad.any()),
            }
        )
    return pd.DataFrame(records)
