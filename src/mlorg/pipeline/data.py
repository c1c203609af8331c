"""Synthetic card transactions with fraud campaigns and injectable causes of model failure.

``generate(DataSpec(), seed)`` returns one row per transaction, sorted by time. Cards have a home country, a
spending level, one to three devices, usual hours and categories, trips abroad and a heavy-tailed activity
rate. Fraud arrives in campaigns (card testing, account takeover, stolen card) at ``fraud_rate`` of all
transactions, and its labels arrive weeks late, as chargebacks do.

The calibration target (tested in ``tests/test_pipeline_data.py``): scikit-learn's
``HistGradientBoostingClassifier(l2_regularization=1.0)`` on the point-in-time card features of
``pipeline/features.py``, trained on days 0–60, scores ROC-AUC ≈ 0.94 on days 60–88 (0.94 ± 0.013 over 20
seeds); amounts follow the ULB/Kaggle card data (fraud mean 122, median 9; legitimate mean 88, median 22).
Fraud shows in the features as: card testing — bursts (card_count_1h), tiny ecom amounts, often a new device or
a foreign country on its first transaction; account takeover — large amounts against the card's average, a new
device, foreign or night-time; stolen card — several mid-to-large purchases within the hour, often abroad. A
share of takeovers and stolen cards copy the owner's habits and give away only their pace and doubled amounts.

Randomness comes from named streams of :class:`mlorg.rng.Streams`, and every cause draws from its own stream
and changes only transactions from its start on, so a frame with a cause equals the frame without it before
the cause starts.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlorg.rng import Streams

CAUSE_KINDS = ("fraud_pattern_shift", "covariate_shift", "upstream_break", "skew", "label_delay")
BREAKABLE_SOURCES = ("device_id", "country")
# A typical size of the causes a monitor should see, for demonstrations (the monitoring tuner): kind -> (size,
# feature, what it does).
EXAMPLE_CAUSES = {
    "covariate_shift": (0.2, "", "a new segment of cards (20% of traffic, 2.5× the spending)"),
    "fraud_pattern_shift": (0.6, "", "a new fraud pattern (60% of fraud a new kind, built from its victims' habits)"),
    "upstream_break": (0.3, "device_id", "the device source turns null for 30% of transactions"),
}
COLUMNS = ("tx_id", "ts", "day", "card_id", "merchant_id", "merchant_category", "amount", "channel", "device_id",
           "country", "home_country", "is_fraud", "campaign", "label_time")
CHANNELS = ("pos", "ecom", "atm")
CAMPAIGNS = ("card_testing", "account_takeover", "stolen_card", "new_pattern")

# Category: share of legitimate spend choices, amount multiplier on the card's level, share of ecom.
CATEGORIES = ("grocery", "restaurant", "fuel", "pharmacy", "online_retail", "electronics", "travel",
              "digital_goods", "gambling", "atm")
_CATEGORY_WEIGHT = np.array([0.26, 0.19, 0.11, 0.06, 0.14, 0.03, 0.02, 0.08, 0.02, 0.09])
_CATEGORY_AMOUNT = np.array([1.0, 0.75, 1.3, 0.6, 1.3, 5.0, 9.0, 0.3, 1.5, 2.5])
_CATEGORY_ECOM = np.array([0.05, 0.1, 0.0, 0.05, 1.0, 0.5, 0.7, 1.0, 0.9, 0.0])
_ATM = CATEGORIES.index("atm")

# Countries: the first block are home countries of the base population, then travel destinations, then
# countries seen mostly in fraud; "BR" is the home of the covariate-shift segment and used nowhere else.
COUNTRIES = ("US", "GB", "CA", "DE", "FR", "MX", "JP", "IT", "ES", "NL", "RO", "NG", "RU", "ID", "VN", "UA", "BR")
_HOME_WEIGHT = {"US": 0.80, "GB": 0.05, "CA": 0.05, "DE": 0.03, "FR": 0.03, "MX": 0.02, "JP": 0.02}
_DESTINATIONS = ("US", "GB", "CA", "DE", "FR", "MX", "JP", "IT", "ES", "NL")
_FRAUD_COUNTRIES = ("RO", "NG", "RU", "ID", "VN", "UA", "GB", "MX", "NL", "FR")
_SEGMENT_HOME = "BR"

_HOUR_PROFILE = np.array([0.6, 0.4, 0.3, 0.25, 0.25, 0.4, 1.0, 2.0, 3.2, 4.0, 4.5, 5.0,
                          5.8, 5.5, 5.0, 4.8, 5.0, 5.5, 6.0, 5.8, 5.0, 4.0, 2.6, 1.4])
_WEEKDAY = np.array([0.95, 0.95, 0.97, 1.0, 1.12, 1.15, 0.86])  # Monday .. Sunday
_SECONDS_PER_DAY = 86_400

# Legitimate behaviour.
_LEVEL_MEDIAN = 24.0       # median of the cards' spending levels, USD
_LEVEL_SIGMA = 0.9         # spread of spending levels across cards (log scale)
_AMOUNT_SIGMA = 1.15       # spread of one card's amounts in one category (log scale)
_RATE_SIGMA = 1.0          # spread of activity across cards (log scale): a heavy tail of busy cards
_USUAL_HOURS = 0.75        # share of a card's transactions around its own usual hour
_PREFERENCE = 0.8          # Dirichlet concentration scale: lower means cards stick to fewer categories
_TRIP_BLOCK_DAYS = 30.0    # at most one trip per card per block
_CROSS_BORDER_ECOM = 0.03  # share of ecom purchases from a foreign merchant
_SEGMENT_LEVEL = 2.5       # spending of the covariate-shift segment relative to the base cards
_BURST_CANDIDATES = 0.3    # share of legitimate transactions that may start a burst (if digital and ecom)
_BURST_CATEGORIES = [CATEGORIES.index(c) for c in ("digital_goods", "gambling")]
_BURST_EXTRA = 1.5         # follow-ups per burst: 1 + Poisson(this), at most _BURST_MAX
_BURST_MAX = 6
_BURST_GAP_MINUTES = 4.0
_BURST_AMOUNT = 4.0        # median follow-up amount, USD
_BURST_SIGMA = 0.8
_BURST_SHARE = (_BURST_CANDIDATES * float(_CATEGORY_WEIGHT[_BURST_CATEGORIES] @ _CATEGORY_ECOM[_BURST_CATEGORIES])
                * sum(min(1 + k, _BURST_MAX) * math.exp(-_BURST_EXTRA) * _BURST_EXTRA**k / math.factorial(k)
                      for k in range(40)))  # expected follow-ups per drawn legitimate transaction


@dataclass(frozen=True)
class _Kind:
    """How one fraud campaign kind behaves."""

    share: float                # share of campaigns of this kind
    size_min: int               # transactions per campaign: size_min + Poisson(size_extra)
    size_extra: float
    gap_minutes: float          # mean gap between its transactions (exponential)
    night: float                # probability that it starts between midnight and 6 am
    amount_median: float
    amount_sigma: float
    categories: dict[str, float]
    ecom: float                 # probability of an ecom transaction (atm category is always atm)
    new_device: float           # probability that the fraudster's own device is used
    foreign: float              # probability that the transactions come from a foreign country
    stealth: float              # probability that it copies the owner's habits (device, country, categories,
                                # daytime) and spends only _STEALTH_AMOUNT times the usual; still quick in succession


_KINDS = {
    "card_testing": _Kind(0.26, 3, 3.0, 1.5, 0.3, 2.5, 0.8, {"digital_goods": 0.6, "online_retail": 0.3,
                                                             "gambling": 0.1}, 1.0, 0.7, 0.35, 0.0),
    "account_takeover": _Kind(0.44, 1, 1.0, 45.0, 0.3, 160.0, 1.0,
                              {"electronics": 0.35, "online_retail": 0.3, "digital_goods": 0.1, "travel": 0.1,
                               "gambling": 0.15}, 1.0, 0.6, 0.35, 0.15),
    "stolen_card": _Kind(0.30, 2, 1.5, 40.0, 0.1, 110.0, 1.1,
                         {"electronics": 0.3, "travel": 0.15, "atm": 0.15, "grocery": 0.15, "fuel": 0.1,
                          "restaurant": 0.15}, 0.15, 0.3, 0.4, 0.15),
}
_STEALTH_AMOUNT = 2.0             # a stealthy campaign spends this many times the owner's usual amount
# The new pattern after a fraud_pattern_shift (see _pattern_shift). Assumptions, stated: 3–6 purchases a campaign,
# hours apart, at 1.5× the owner's usual spend in the category, half of them from a browser the card has not used.
_NEW_PATTERN_SIZE = (3, 6)
_NEW_PATTERN_GAP_HOURS = 3.0
_NEW_PATTERN_AMOUNT = 1.5
_NEW_PATTERN_NEW_DEVICE = 0.5
_NEW_PATTERN_CATEGORIES = {"online_retail": 0.45, "digital_goods": 0.3, "electronics": 0.25}
_FRAUD_DEVICES = 400              # devices of the fraud rings, reused across victims
_LABEL_DELAY_CV = 0.6


@dataclass(frozen=True)
class Cause:
    """A cause of model failure, active from ``start_day`` (days after the start) to the end.

    ``size`` by kind: fraud_pattern_shift — share (0..1] of fraud transactions that come from the new
    "new_pattern" campaign, a new modus operandi built from the victims' habits (see _pattern_shift);
    covariate_shift — share (0..1) of transactions from a new segment of cards with home country BR and 2.5×
    higher spending; upstream_break — share (0..1] of transactions whose ``feature`` source ("device_id" or
    "country") is null; skew — the magnitude the online feature path applies to ``feature`` (the generator only
    records it); label_delay — factor (> 0) on the label delays of transactions from the start on.
    """

    kind: str
    start_day: float
    size: float
    feature: str = ""

    def __post_init__(self):
        if self.kind not in CAUSE_KINDS:
            raise ValueError(f"cause.kind must be one of {CAUSE_KINDS}, got {self.kind!r}")
        if not _finite(self.start_day) or self.start_day < 0:
            raise ValueError(f"cause.start_day must be a finite number >= 0 days, got {self.start_day!r}")
        lo, hi, lo_open, hi_open = _SIZE_RANGE[self.kind]
        if (not _finite(self.size) or self.size < lo or self.size > hi or (lo_open and self.size == lo)
                or (hi_open and self.size == hi)):
            allowed = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
            raise ValueError(f"cause.size of {self.kind} must be in {allowed}, got {self.size!r}")
        if self.kind == "upstream_break" and self.feature not in BREAKABLE_SOURCES:
            raise ValueError(f"cause.feature of upstream_break must be one of {BREAKABLE_SOURCES}, "
                             f"got {self.feature!r}")
        if self.kind == "skew" and (not isinstance(self.feature, str) or not self.feature):
            raise ValueError(f"cause.feature of skew must name the feature computed differently, got {self.feature!r}")
        if self.kind not in ("upstream_break", "skew") and self.feature != "":
            raise ValueError(f"cause.feature must be empty for {self.kind}, got {self.feature!r}")


_SIZE_RANGE = {  # kind: (lo, hi, lo open, hi open)
    "fraud_pattern_shift": (0.0, 1.0, True, False),
    "covariate_shift": (0.0, 1.0, True, True),
    "upstream_break": (0.0, 1.0, True, False),
    "skew": (0.0, 1e6, False, False),
    "label_delay": (0.0, 100.0, True, False),
}


@dataclass(frozen=True)
class DataSpec:
    """What to generate: how long, how busy, how much fraud, how late the labels, and which causes."""

    days: int = 120
    transactions_per_day: float = 4000.0
    cards: int = 20_000
    merchants: int = 800
    fraud_rate: float = 0.002
    fraud_label_delay_days: float = 21.0  # mean chargeback delay (lognormal, cv 0.6)
    legit_label_delay_days: float = 30.0  # a legitimate transaction is confirmed when no chargeback came within this
    causes: tuple[Cause, ...] = ()
    start: str = "2026-01-01"

    def __post_init__(self):
        _check_int("days", self.days, 1, 3650)
        _check_number("transactions_per_day", self.transactions_per_day, 0.0, 1e6, lo_open=True)
        _check_int("cards", self.cards, 1, 10_000_000)
        _check_int("merchants", self.merchants, len(CATEGORIES), 1_000_000)
        _check_number("fraud_rate", self.fraud_rate, 0.0, 0.5, lo_open=True)
        _check_number("fraud_label_delay_days", self.fraud_label_delay_days, 0.0, 3650.0, lo_open=True)
        _check_number("legit_label_delay_days", self.legit_label_delay_days, 0.0, 3650.0, lo_open=True)
        if self.transactions_per_day * self.days > 20e6:
            raise ValueError(f"transactions_per_day × days must be <= 20,000,000 (a limit that keeps one run from "
                             f"exhausting memory), got {self.transactions_per_day * self.days:,.0f}")
        if not isinstance(self.causes, tuple) or not all(isinstance(c, Cause) for c in self.causes):
            raise ValueError(f"causes must be a tuple of Cause, got {self.causes!r}")
        seen = set()
        for i, cause in enumerate(self.causes):
            if cause.start_day >= self.days:
                raise ValueError(f"causes[{i}].start_day must be < days ({self.days}), got {cause.start_day!r}")
            if (cause.kind, cause.feature) in seen:
                raise ValueError(f"causes[{i}] repeats kind {cause.kind!r} with feature {cause.feature!r}")
            seen.add((cause.kind, cause.feature))
        try:
            start = pd.Timestamp(self.start)
        except (ValueError, TypeError) as error:
            raise ValueError(f"start must be a date such as '2026-01-01', got {self.start!r}") from error
        if start.tz is not None:
            raise ValueError(f"start must be a naive date without a time zone, got {self.start!r}")


def _finite(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")


def _check_number(name: str, value, lo: float, hi: float, lo_open: bool = False) -> None:
    if not _finite(value) or value < lo or value > hi or (lo_open and value == lo):
        raise ValueError(f"{name} must be in {'(' if lo_open else '['}{lo}, {hi}], got {value!r}")


# ----------------------------------------------------------------------------------------------- generation


def generate(spec: DataSpec, seed: int) -> pd.DataFrame:
    """One row per transaction, sorted by ``ts``; identical for the same ``spec`` and ``seed``."""
    streams = Streams(seed)
    causes = {c.kind: c for c in spec.causes}
    merchants = _merchants(spec.merchants, streams.generator("pipeline/merchants"))
    cards = _cards(spec.cards, _HOME_WEIGHT, _LEVEL_MEDIAN, spec.days, 0, streams.generator("pipeline/cards"))
    ring_devices = int(cards["device_base"][-1] + cards["devices"][-1])  # fraud rings' devices follow the cards'
    segment = causes.get("covariate_shift")
    if segment is not None:
        extra = _cards(max(1, round(spec.cards * segment.size)), {_SEGMENT_HOME: 1.0}, _LEVEL_MEDIAN * _SEGMENT_LEVEL,
                       spec.days, ring_devices + _FRAUD_DEVICES, streams.generator("pipeline/segment/cards"))
        cards = {key: np.concatenate([cards[key], extra[key]]) for key in cards}

    rows = _legit(spec, cards, merchants, streams, segment)
    fraud = _fraud(spec, cards, merchants, streams, ring_devices, segment)
    if "fraud_pattern_shift" in causes:
        fraud = _pattern_shift(spec, causes["fraud_pattern_shift"], cards, merchants, fraud, streams)
    rows = {key: np.concatenate([rows[key], fraud[key]]) for key in rows}  # drops fraud's campaign bookkeeping
    for cause in spec.causes:
        late = rows["t"] >= cause.start_day
        if cause.kind == "label_delay":
            rows["delay"] = np.where(late, rows["delay"] * cause.size, rows["delay"])
        elif cause.kind == "upstream_break":
            rng = streams.generator(f"pipeline/cause/upstream_break/{cause.feature}")
            broken = late & (rng.random(len(late)) < cause.size)
            source = "device" if cause.feature == "device_id" else "country"
            rows[source] = np.where(broken, -1, rows[source])
    return _frame(spec, rows, cards)


def _merchants(count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Merchants sorted by category; ``lookup`` maps ``category + u`` (u uniform) to a merchant by popularity."""
    category = np.concatenate([np.arange(len(CATEGORIES)),
                               rng.choice(len(CATEGORIES), count - len(CATEGORIES), p=_CATEGORY_WEIGHT)])
    order = np.argsort(rng.permutation(category), kind="stable")
    category = np.sort(category)
    popularity = rng.pareto(1.2, count) + 0.05
    lookup = np.empty(count)
    for c in range(len(CATEGORIES)):  # ten categories, not a per-transaction loop
        members = category == c
        weights = np.cumsum(popularity[members])
        lookup[members] = c + weights / weights[-1]
    return {"id": order, "lookup": lookup}


def _cards(count: int, home_weight: dict[str, float], level_median: float, days: int, first_device: int,
           rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The cards' fixed traits: home, spending level, activity, devices, usual hour, categories and trips."""
    homes = np.array([COUNTRIES.index(c) for c in home_weight])
    home = homes[rng.choice(len(homes), count, p=np.array(list(home_weight.values())))]
    devices = rng.choice(3, count, p=[0.5, 0.35, 0.15]) + 1
    preference = rng.dirichlet(_CATEGORY_WEIGHT * len(CATEGORIES) * _PREFERENCE, count)
    blocks = int(math.ceil(days / _TRIP_BLOCK_DAYS))
    travels = rng.beta(0.6, 6.0, count)
    trip = rng.random((count, blocks)) < travels[:, None]
    length = 2.0 + rng.exponential(5.0, (count, blocks))
    trip_start = np.arange(blocks) * _TRIP_BLOCK_DAYS + rng.random((count, blocks)) * (_TRIP_BLOCK_DAYS - 2.0)
    destination = _foreign(np.repeat(home[:, None], blocks, axis=1), rng.random((count, blocks)), _DESTINATIONS)
    return {
        "home": home,
        "level": level_median * np.exp(_LEVEL_SIGMA * rng.standard_normal(count)),
        "rate": np.exp(_RATE_SIGMA * rng.standard_normal(count)),
        "devices": devices,
        "device_base": first_device + np.cumsum(devices) - devices,
        "hour": np.clip(rng.normal(14.0, 2.5, count), 7.0, 22.0),
        "preference": np.cumsum(preference, axis=1),
        "trip_start": np.where(trip, trip_start, np.inf),
        "trip_end": np.where(trip, trip_start + length, -np.inf),
        "trip_country": destination,
        "segment": np.full(count, _SEGMENT_HOME in home_weight),
    }


def _foreign(home: np.ndarray, u: np.ndarray, countries: tuple[str, ...]) -> np.ndarray:
    """A country of ``countries`` other than ``home``, chosen by ``u`` uniform in [0, 1)."""
    codes = np.array([COUNTRIES.index(c) for c in countries])
    index = np.minimum((u * len(codes)).astype(np.int64), len(codes) - 1)
    return np.where(codes[index] == home, codes[(index + 1) % len(codes)], codes[index])


def _choose(rng: np.random.Generator, members: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    return members[rng.choice(len(members), count, p=weights / weights.sum())]


def _legit(spec: DataSpec, cards, merchants, streams: Streams, segment: Cause | None) -> dict[str, np.ndarray]:
    """Legitimate transactions: a weekly rhythm of days, cards by activity, hours around each card's habit."""
    rng = streams.generator("pipeline/legit")
    weekday = (pd.Timestamp(spec.start).day_of_week + np.arange(spec.days)) % 7
    mean = spec.transactions_per_day * (1 - spec.fraud_rate) / (1 + _BURST_SHARE)
    per_day = rng.poisson(mean * _WEEKDAY[weekday] / _WEEKDAY.mean())
    day = np.repeat(np.arange(spec.days), per_day)
    count = len(day)
    base = np.flatnonzero(~cards["segment"])
    card = _choose(rng, base, cards["rate"][base], count)
    hours = _HourDraws(rng, count)
    t = day + hours.of(cards["hour"][card]) / 24.0
    if segment is not None:  # its own stream, so the base draws stay as they are without the cause
        rng_segment = streams.generator("pipeline/segment/legit")
        members = np.flatnonzero(cards["segment"])
        other = _choose(rng_segment, members, cards["rate"][members], count)
        t_other = day + hours.of(cards["hour"][other]) / 24.0
        move = (t_other >= segment.start_day) & (rng_segment.random(count) < segment.size)
        card, t = np.where(move, other, card), np.where(move, t_other, t)
    rows = {**_behave(rng, cards, merchants, card, t), "t": t, "card": card}
    rows = _bursts(streams.generator("pipeline/legit/bursts"), rows, spec.days)
    count = len(rows["t"])
    return {**rows, "is_fraud": np.zeros(count, bool), "campaign": np.full(count, -1),
            "delay": np.full(count, spec.legit_label_delay_days)}


def _bursts(rng: np.random.Generator, rows, days: int) -> dict[str, np.ndarray]:
    """Legitimate bursts: some in-app, game and betting purchases are followed within minutes by small ones.

    They make quick runs of small digital payments a habit of real customers too, not only of card testers.
    The draws have fixed sizes, so a cause that changes later transactions leaves earlier bursts alone.
    """
    count = len(rows["t"])
    candidate = np.flatnonzero(rng.random(count) < _BURST_CANDIDATES)
    follow = np.minimum(1 + rng.poisson(_BURST_EXTRA, len(candidate)), _BURST_MAX)
    gaps = rng.exponential(_BURST_GAP_MINUTES / 1440.0, (len(candidate), _BURST_MAX))
    amounts = _BURST_AMOUNT * np.exp(_BURST_SIGMA * rng.standard_normal((len(candidate), _BURST_MAX)))
    bursting = np.isin(rows["category"][candidate], _BURST_CATEGORIES) & (rows["channel"][candidate] == 1)
    seed, follow, gaps, amounts = candidate[bursting], follow[bursting], gaps[bursting], amounts[bursting]
    used = np.arange(_BURST_MAX) < follow[:, None]
    source = np.repeat(seed, follow)
    extra = {key: value[source] for key, value in rows.items()}
    extra["t"] = np.minimum(extra["t"] + np.cumsum(gaps, axis=1)[used], days - 1e-6)
    extra["amount"] = _round_amount(amounts[used], extra["category"])
    return {key: np.concatenate([rows[key], extra[key]]) for key in rows}


class _HourDraws:
    """Random draws for hours of day, applied to any card: near its usual hour, or from the daily profile."""

    def __init__(self, rng: np.random.Generator, count: int):
        self.noise = rng.normal(0.0, 3.0, count)
        self.profile = rng.choice(24, count, p=_HOUR_PROFILE / _HOUR_PROFILE.sum()) + rng.random(count)
        self.own = rng.random(count) < _USUAL_HOURS

    def of(self, usual: np.ndarray) -> np.ndarray:
        return np.where(self.own, (usual + self.noise) % 24.0, self.profile)


def _behave(rng: np.random.Generator, cards, merchants, card: np.ndarray, t: np.ndarray,
            amount_factor: float = 1.0) -> dict[str, np.ndarray]:
    """What cards' owners do at times ``t``: category, merchant, amount, channel, device and country."""
    count = len(card)
    u = rng.random((6, count))
    category = np.zeros(count, dtype=np.int64)
    for c in range(len(CATEGORIES) - 1):  # inverse CDF over ten categories
        category += u[0] > cards["preference"][card, c]
    channel = np.where(category == _ATM, 2, (u[2] < _CATEGORY_ECOM[category]).astype(np.int64))
    amount = cards["level"][card] * _CATEGORY_AMOUNT[category] * amount_factor
    amount = _round_amount(amount * np.exp(_AMOUNT_SIGMA * rng.standard_normal(count)), category)
    others = cards["devices"][card] - 1  # the first device is the main one (70% of use)
    other = 1 + np.minimum((u[3] - 0.7) / 0.3 * others, np.maximum(others - 1, 0)).astype(np.int64)
    device = cards["device_base"][card] + np.where((u[3] < 0.7) | (others == 0), 0, other)
    block = np.minimum((t // _TRIP_BLOCK_DAYS).astype(np.int64), cards["trip_start"].shape[1] - 1)
    away = (cards["trip_start"][card, block] <= t) & (t < cards["trip_end"][card, block]) & (channel != 1)
    home = cards["home"][card]
    country = np.where(away & (u[4] < 0.9), cards["trip_country"][card, block], home)
    cross_border = (channel == 1) & (u[5] < _CROSS_BORDER_ECOM)
    country = np.where(cross_border, _foreign(home, u[5] / _CROSS_BORDER_ECOM, _DESTINATIONS), country)
    return {"category": category, "merchant": _merchant(merchants, category, u[1]), "amount": amount,
            "channel": channel, "device": device, "country": country}


def _merchant(merchants, category: np.ndarray, u: np.ndarray) -> np.ndarray:
    return merchants["id"][np.searchsorted(merchants["lookup"], category + np.clip(u, 1e-12, 1 - 1e-12))]


def _round_amount(amount: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Cents, at least 50¢; cash in twenties."""
    cash = np.maximum(20.0, np.round(amount / 20.0) * 20.0)
    return np.where(category == _ATM, cash, np.maximum(0.5, np.round(amount, 2)))


def _fill(total: int, size: np.ndarray) -> np.ndarray:
    """The first campaign sizes that add up to exactly ``total`` transactions (the last one cut short)."""
    before = np.cumsum(size) - size
    size = size[before < total].copy()
    if len(size):
        size[-1] = total - before[len(size) - 1]
    return size


def _spread(size: np.ndarray, start: np.ndarray, gap: np.ndarray, lo: float, hi: float):
    """Transaction times of campaigns: ``start`` then cumulative gaps, the whole campaign moved into [lo, hi)."""
    campaign = np.repeat(np.arange(len(size)), size)
    first = np.cumsum(size) - size
    gap = gap.copy()
    gap[first] = 0.0
    offset = np.cumsum(gap)
    offset -= offset[first][campaign]
    length = offset[first + size - 1]
    start = np.maximum(lo, np.minimum(start, hi - 1e-6 - length))
    return campaign, start, np.clip(start[campaign] + offset, lo, hi - 1e-6)


def _fraud(spec: DataSpec, cards, merchants, streams: Streams, ring_devices: int,
           segment: Cause | None) -> dict[str, np.ndarray]:
    """Fraud campaigns filling a Poisson number of transactions, so that given the total it is binomial."""
    rng = streams.generator("pipeline/fraud")
    kinds = list(_KINDS.values())
    param = {name: np.array([getattr(k, name) for k in kinds]) for name in
             ("share", "size_min", "size_extra", "gap_minutes", "night", "amount_median", "amount_sigma", "ecom",
              "new_device", "foreign", "stealth")}
    total = int(rng.poisson(spec.transactions_per_day * spec.days * spec.fraud_rate))
    kind = rng.choice(len(kinds), total + 1, p=param["share"])  # more campaigns than can be needed
    size = _fill(total, param["size_min"][kind] + rng.poisson(param["size_extra"][kind]))
    campaigns = len(size)
    kind = kind[:campaigns]
    night = rng.random(campaigns) < param["night"][kind]
    hour = np.where(night, rng.random(campaigns) * 6.0, 6.0 + rng.random(campaigns) * 18.0)
    stealthy = rng.random(campaigns) < param["stealth"][kind]
    hour = np.where(stealthy, 9.0 + rng.random(campaigns) * 11.0, hour)
    start = rng.integers(0, spec.days, campaigns) + hour / 24.0
    gap = rng.exponential(1.0, total) * param["gap_minutes"][kind][np.repeat(np.arange(campaigns), size)] / 1440.0
    campaign, start, t = _spread(size, start, gap, 0.0, spec.days)
    tx_kind = kind[campaign]

    base = np.flatnonzero(~cards["segment"])
    victim = base[rng.integers(0, len(base), campaigns)]
    if segment is not None:
        rng_segment = streams.generator("pipeline/segment/fraud")
        members = np.flatnonzero(cards["segment"])
        other = members[rng_segment.integers(0, len(members), campaigns)]
        victim = np.where((start >= segment.start_day) & (rng_segment.random(campaigns) < segment.size), other, victim)
    card = victim[campaign]
    preference = np.cumsum([[k.categories.get(c, 0.0) for c in CATEGORIES] for k in kinds], axis=1)
    u = rng.random((3, total))
    category = np.zeros(total, dtype=np.int64)
    for c in range(len(CATEGORIES) - 1):
        category += u[0] > preference[tx_kind, c]
    channel = np.where(category == _ATM, 2, (u[1] < param["ecom"][tx_kind]).astype(np.int64))
    amount = param["amount_median"][tx_kind] * np.exp(param["amount_sigma"][tx_kind] * rng.standard_normal(total))
    new_device = rng.random(campaigns) < param["new_device"][kind]
    ring_device = ring_devices + rng.integers(0, _FRAUD_DEVICES, campaigns)
    device = np.where(new_device, ring_device, cards["device_base"][victim])[campaign]
    home = cards["home"][victim]
    foreign = rng.random(campaigns) < param["foreign"][kind]
    country = np.where(foreign, _foreign(home, rng.random(campaigns), _FRAUD_COUNTRIES), home)[campaign]
    delay = _label_delays(rng, spec.fraud_label_delay_days, campaigns)[campaign]
    rows = {"category": category, "merchant": _merchant(merchants, category, u[2]),
            "amount": _round_amount(amount, category), "channel": channel, "device": device, "country": country}
    habits = _behave(streams.generator("pipeline/fraud/habits"), cards, merchants, card, t, _STEALTH_AMOUNT)
    rows = {key: np.where(stealthy[campaign], habits[key], value) for key, value in rows.items()}
    return {**rows, "t": t, "card": card, "is_fraud": np.ones(total, bool), "campaign": tx_kind, "delay": delay,
            "campaign_id": campaign, "campaign_start": start[campaign]}


def _label_delays(rng: np.random.Generator, mean: float, count: int) -> np.ndarray:
    """Chargeback delays in days: lognormal with the given mean and cv 0.6, one per campaign."""
    sigma2 = math.log1p(_LABEL_DELAY_CV**2)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), count)


def _pattern_shift(spec: DataSpec, cause: Cause, cards, merchants, fraud, streams: Streams):
    """Replace a share of the campaigns starting after the shift by as many new_pattern transactions.

    The new modus operandi is remote purchase fraud with card details bought after a data breach (card-not-present
    fraud is the largest part of card fraud losses: UK Finance, Annual Fraud Report 2023; ECB, Report on card
    fraud 2021). It is built from the victim's own habits so that no single value gives it away: the owner's home
    country, daytime hours, ordinary online categories. What differs is its pace and mix: NEW_PATTERN_SIZE
    purchases spread over a day (hours apart, so not a card-testing burst), each NEW_PATTERN_AMOUNT times what the
    owner spends in that category, always online, from the fraudster's browser (a device the card has not used)
    for NEW_PATTERN_NEW_DEVICE of the campaigns and from a spoofed fingerprint of the owner's for the rest. The old
    fraud kinds taught a model to look for bursts, large amounts, foreign countries and night; a retrained model can
    learn the new mix from card_count_24h, amount_vs_card_avg, is_ecom and new_device together.
    """
    rng = streams.generator("pipeline/cause/fraud_pattern_shift")
    campaigns = int(fraud["campaign_id"].max()) + 1 if len(fraud["campaign_id"]) else 0
    chosen = rng.random(campaigns) < cause.size
    replaced = chosen[fraud["campaign_id"]] & (fraud["campaign_start"] >= cause.start_day)
    total = int(replaced.sum())
    kept = {key: value[~replaced] for key, value in fraud.items()}
    lo, hi = _NEW_PATTERN_SIZE
    size = _fill(total, rng.integers(lo, hi + 1, total + 1))
    base = np.flatnonzero(~cards["segment"])
    victim = base[rng.integers(0, len(base), len(size))]
    start = np.floor(rng.uniform(cause.start_day, spec.days, len(size))) + rng.uniform(8.0, 14.0, len(size)) / 24.0
    gaps = rng.exponential(_NEW_PATTERN_GAP_HOURS / 24.0, total)
    campaign, start, t = _spread(size, start, gaps, cause.start_day, spec.days)
    card = victim[campaign]
    new = _behave(rng, cards, merchants, card, t, _NEW_PATTERN_AMOUNT)
    # Online purchases in the categories card details are resold for.
    u = rng.random((2, total))
    categories = np.array([CATEGORIES.index(c) for c in _NEW_PATTERN_CATEGORIES])
    weights = np.cumsum(list(_NEW_PATTERN_CATEGORIES.values()))
    category = categories[np.minimum(np.searchsorted(weights, u[0] * weights[-1], side="right"), len(categories) - 1)]
    level = cards["level"][card] * _CATEGORY_AMOUNT[category] * _NEW_PATTERN_AMOUNT
    new["category"] = category
    new["merchant"] = _merchant(merchants, category, u[1])
    new["amount"] = _round_amount(level * np.exp(_AMOUNT_SIGMA * 0.5 * rng.standard_normal(total)), category)
    new["channel"] = np.ones(total, dtype=np.int64)
    browser = rng.random(len(size)) < _NEW_PATTERN_NEW_DEVICE
    fresh = cards["device_base"][-1] + cards["devices"][-1] + _FRAUD_DEVICES + rng.integers(0, 10**6, len(size))
    new["device"] = np.where(browser, fresh, cards["device_base"][victim])[campaign]
    new["country"] = cards["home"][card]
    new.update({"t": t, "card": card, "is_fraud": np.ones(total, bool), "campaign": np.full(total, 3),
                "delay": _label_delays(rng, spec.fraud_label_delay_days, len(size))[campaign],
                "campaign_id": campaigns + campaign, "campaign_start": start[campaign]})
    return {key: np.concatenate([kept[key], new[key]]) for key in kept}


def _frame(spec: DataSpec, rows, cards) -> pd.DataFrame:
    seconds = np.clip(np.round(rows["t"] * _SECONDS_PER_DAY).astype(np.int64), 0, spec.days * _SECONDS_PER_DAY - 1)
    order = np.lexsort((rows["card"], seconds))
    seconds = seconds[order]
    rows = {key: value[order] for key, value in rows.items()}
    ts = np.datetime64(pd.Timestamp(spec.start).to_datetime64(), "ns") + seconds * np.timedelta64(1_000_000_000, "ns")
    delay = np.round(rows["delay"] * _SECONDS_PER_DAY).astype(np.int64) * np.timedelta64(1_000_000_000, "ns")
    country = np.array((*COUNTRIES, None), dtype=object)[rows["country"]]  # code -1 (broken) is None
    return pd.DataFrame({
        "tx_id": np.arange(len(seconds), dtype=np.int64),
        "ts": ts,
        "day": seconds // _SECONDS_PER_DAY,
        "card_id": rows["card"].astype(np.int64),
        "merchant_id": rows["merchant"].astype(np.int64),
        "merchant_category": pd.Series(np.array(CATEGORIES)[rows["category"]], dtype="str"),
        "amount": rows["amount"].astype(np.float64),
        "channel": pd.Series(np.array(CHANNELS)[rows["channel"]], dtype="str"),
        "device_id": pd.arrays.IntegerArray(rows["device"].astype(np.int64), rows["device"] < 0),
        "country": pd.Series(country, dtype=object),
        "home_country": pd.Series(np.array(COUNTRIES)[cards["home"][rows["card"]]], dtype="str"),
        "is_fraud": rows["is_fraud"].astype(bool),
        "campaign": pd.Series(np.array(("", *CAMPAIGNS))[rows["campaign"] + 1], dtype="str"),
        "label_time": ts + delay,
    })
