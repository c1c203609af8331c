"""Card-fraud features: hand-computed values, point-in-time properties, agreement with a plain-Python reference,
online–offline parity, contracts and versions.

The window convention under test: a window of w holds the card's transactions strictly before the current one in
(ts, tx_id) order with ts' >= ts − w, so one exactly w before is in and one w + 1 ns before is out. A label counts
when label_time <= ts and its transaction came before the current one, so a transaction never sees its own label.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlorg.pipeline.contracts import DEFAULT_CONTRACT, ContractError, check_contract
from mlorg.pipeline.features import (
    DEFAULT_FEATURE_SET,
    FEATURES,
    FeatureSet,
    OnlineFeatures,
    offline_features,
    parity,
    replay_online,
)

T0 = pd.Timestamp("2024-03-01 00:00:00")
MIN = pd.Timedelta(minutes=1)
HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
NS = pd.Timedelta(1, "ns")


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """Transactions in the input schema from (tx_id, ts, card, amount, channel, device, country, home, category,
    is_fraud, label_time) tuples, sorted by (ts, tx_id)."""
    names = ["tx_id", "ts", "card_id", "amount", "channel", "device_id", "country", "home_country",
             "merchant_category", "is_fraud", "label_time"]
    frame = pd.DataFrame(rows, columns=names)
    frame = frame.sort_values(["ts", "tx_id"], ignore_index=True)
    return _schema(frame)


def _schema(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["ts"] = frame["ts"].astype("datetime64[ns]")
    frame["label_time"] = frame["label_time"].astype("datetime64[ns]")
    frame["day"] = ((frame["ts"] - frame["ts"].min()) // DAY).astype("int64")
    frame["merchant_id"] = np.arange(len(frame), dtype="int64") % 7
    frame["campaign"] = ""
    frame["device_id"] = pd.array(frame["device_id"], dtype="Int64")
    frame["country"] = frame["country"].astype(object).where(frame["country"].notna(), None)
    return frame.astype({"tx_id": "int64", "card_id": "int64", "amount": "float64", "is_fraud": "bool"})


def random_transactions(seed: int, n: int = 3000, cards: int = 20, days: int = 40,
                        instant_labels: float = 0.3) -> pd.DataFrame:
    """A random frame on a 30-minute grid, so that ties and exact window edges (1 h, 24 h, 7 d, 30 d) are common;
    with null devices and countries, instant labels and a few labels that never arrive."""
    rng = np.random.default_rng(seed)
    slots = rng.integers(0, days * 48, n)
    ts = T0 + pd.to_timedelta(slots * 30, unit="min")
    card = rng.integers(0, cards, n)
    countries = np.array(["FR", "DE", "US", "GB"], dtype=object)
    home = countries[card % 2]
    country = np.where(rng.random(n) < 0.8, home, countries[rng.integers(0, 4, n)]).astype(object)
    country[rng.random(n) < 0.03] = None
    device = pd.array(card * 10 + rng.integers(0, 4, n), dtype="Int64")
    device[rng.random(n) < 0.03] = pd.NA
    delay = np.where(rng.random(n) < instant_labels, 0, rng.integers(1, 20 * 48, n) * 30)
    label_time = pd.Series(ts + pd.to_timedelta(delay, unit="min"))
    label_time[rng.random(n) < 0.02] = pd.NaT
    frame = pd.DataFrame({
        "tx_id": rng.permutation(n).astype("int64"),  # tx_id order is not time order
        "ts": ts,
        "card_id": card,
        "amount": np.round(rng.lognormal(3, 1, n), 2),
        "channel": np.array(["pos", "ecom", "atm"], dtype=object)[rng.integers(0, 3, n)],
        "device_id": device,
        "country": country,
        "home_country": home,
        "merchant_category": np.array(["grocery", "travel", "games", "fuel"], dtype=object)[rng.integers(0, 4, n)],
        "is_fraud": rng.random(n) < 0.1,
        "label_time": label_time.to_numpy(),
    })
    return _schema(frame.sort_values(["ts", "tx_id"], ignore_index=True))


def assert_same_features(actual: pd.DataFrame, expected: pd.DataFrame, rtol: float = 1e-9) -> None:
    assert list(actual["tx_id"]) == list(expected["tx_id"])
    for name in FEATURES:
        np.testing.assert_allclose(actual[name].to_numpy(float), expected[name].to_numpy(float), rtol=rtol,
                                   atol=1e-9, equal_nan=True, err_msg=name)


# --- hand-computed values ----------------------------------------------------------------------------------------

# Card 1 (home FR), card 2 (home DE), card 3 (home FR). Labels: tx 2, 4 and 8 arrive the instant they happen.
HAND = _frame([
    (1, T0, 1, 100.0, "pos", 10, "FR", "FR", "grocery", False, T0 + HOUR),
    (2, T0 + 30 * MIN, 1, 50.0, "ecom", 11, "DE", "FR", "grocery", True, T0 + 30 * MIN),
    (3, T0 + HOUR, 1, 20.0, "atm", None, None, "FR", "grocery", False, T0 + 3 * DAY),
    (4, T0 + 90 * MIN, 1, 10.0, "pos", 10, "FR", "FR", "travel", False, T0 + 90 * MIN),
    (5, T0 + 90 * MIN, 1, 30.0, "ecom", 12, "DE", "FR", "travel", True, T0 + 10 * DAY),
    (6, T0 + 25 * HOUR, 1, 40.0, "pos", 11, "US", "FR", "grocery", False, T0 + 40 * DAY),
    (7, T0 + 30 * DAY + 30 * MIN, 1, 60.0, "pos", 10, "FR", "FR", "grocery", False, T0 + 31 * DAY + 30 * MIN),
    (8, T0 + HOUR, 2, 200.0, "ecom", 20, "DE", "DE", "grocery", True, T0 + HOUR),
    (9, T0 + 2 * DAY, 2, 5.0, "pos", 20, "DE", "DE", "grocery", False, T0 + 2 * DAY + HOUR),
    (10, T0 + 7 * DAY + HOUR, 2, 10.0, "pos", 21, "FR", "DE", "grocery", False, T0 + 60 * DAY),
    (11, T0, 3, 1.0, "pos", 30, "FR", "FR", "travel", False, T0 + 60 * DAY),
    (12, T0 + HOUR + NS, 3, 3.0, "pos", 30, "FR", "FR", "travel", False, T0 + 60 * DAY),
])

nan = math.nan
# FEATURES order: log_amount, hour, is_ecom, is_atm, count_1h, count_24h, count_7d, amount_24h, amount_7d,
# amount_vs_card_avg, new_device, foreign_country, new_country, category_risk (prior 0.2 / strength 100).
HAND_EXPECTED = {
    # first of its card: no history, so no average; grocery has no labels yet
    1: (math.log(101), 0, 0, 0, 0, 0, 0, 0, 0, nan, 1, 0, 1, 0.2 / 100),
    # its own label arrives at its own instant and is not counted
    2: (math.log(51), 0, 1, 0, 1, 1, 1, 100, 100, 0.5, 1, 1, 1, 0.2 / 100),
    # tx 1 exactly 1 h before is in the 1 h window; null device and country; tx 8's instant label (same ts,
    # later tx_id) is not yet known, tx 1's (label_time == ts) and tx 2's are
    3: (math.log(21), 1, 0, 1, 2, 2, 2, 150, 150, 20 / 75, nan, nan, nan, 1.2 / 102),
    # card 2's first: tx 1 and tx 2 are known grocery labels, its own instant label is not
    8: (math.log(201), 1, 1, 0, 0, 0, 0, 0, 0, nan, 1, 0, 1, 1.2 / 102),
    # tx 2 exactly 1 h before is in; tx 5 at the same instant has a later tx_id, so it is not before
    4: (math.log(11), 1, 0, 0, 2, 3, 3, 170, 170, 10 / (170 / 3), 0, 0, 0, 0.2 / 100),
    # the tie tx 4 (lower tx_id) is before, and so is its instant label
    5: (math.log(31), 1, 1, 0, 3, 4, 4, 180, 180, 30 / 45, 1, 1, 0, 0.2 / 101),
    # tx 3 exactly 24 h before is in the 24 h window; tx 8's instant label is known by now
    6: (math.log(41), 1, 0, 0, 0, 3, 5, 60, 210, 40 / 42, 0, 1, 1, 2.2 / 103),
    9: (math.log(6), 0, 0, 0, 0, 0, 1, 0, 200, 5 / 200, 0, 0, 0, 2.2 / 103),
    # tx 8 exactly 7 d before is in the 7 d window
    10: (math.log(11), 1, 0, 0, 0, 0, 2, 0, 205, 10 / 102.5, 1, 1, 1, 2.2 / 105),
    # tx 2 exactly 30 d before is in the average, tx 1 is not: (50 + 20 + 10 + 30 + 40) / 5 = 30
    7: (math.log(61), 0, 0, 0, 0, 0, 0, 0, 0, 60 / 30, 0, 0, 0, 2.2 / 105),
    11: (math.log(2), 0, 0, 0, 0, 0, 0, 0, 0, nan, 1, 0, 1, 0.2 / 100),
    # tx 11 is 1 h + 1 ns before: out of the 1 h window, in the 24 h one
    12: (math.log(4), 1, 0, 0, 0, 1, 1, 1, 1, 3.0, 0, 0, 0, 0.2 / 100),
}


def _expected_frame(expected: dict[int, tuple]) -> pd.DataFrame:
    rows = [(tx_id, *values) for tx_id, values in sorted(expected.items())]
    return pd.DataFrame(rows, columns=["tx_id", *FEATURES]).astype({"tx_id": "int64"})


def test_offline_features_equal_hand_computed_values():
    assert_same_features(offline_features(HAND), _expected_frame(HAND_EXPECTED), rtol=1e-12)


def test_online_features_equal_hand_computed_values():
    assert_same_features(replay_online(HAND), _expected_frame(HAND_EXPECTED), rtol=1e-12)


def test_output_is_one_float_row_per_transaction_in_tx_id_order():
    features = offline_features(random_transactions(1, n=500))
    assert list(features.columns) == ["tx_id", *FEATURES]
    assert features["tx_id"].tolist() == list(range(500))
    assert features["tx_id"].dtype == "int64"
    assert all(features[name].dtype == "float64" for name in FEATURES)


# --- point in time -----------------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cut=st.floats(0.05, 0.95))
def test_later_transactions_and_later_labels_do_not_change_earlier_features(seed, cut):
    tx = random_transactions(seed, n=300, cards=6, days=20)
    rng = np.random.default_rng(seed)
    k = int(cut * len(tx))  # rows [0, k] are "earlier"; the frame is in (ts, tx_id) order
    cut_ts = tx["ts"].iloc[k]
    changed = tx.copy()
    later = np.arange(len(tx)) > k
    m = int(later.sum())
    # everything about the later transactions changes, and they move later still
    changed.loc[later, "ts"] = tx.loc[later, "ts"] + pd.to_timedelta(rng.integers(0, 3, m) * 30, unit="min")
    changed.loc[later, "amount"] = rng.uniform(1, 1000, m)
    changed.loc[later, "card_id"] = rng.integers(0, 6, m)
    changed.loc[later, "channel"] = rng.choice(["pos", "ecom", "atm"], m)
    changed.loc[later, "device_id"] = rng.integers(0, 100, m)
    changed.loc[later, "country"] = rng.choice(["FR", "DE", "NG"], m)
    changed.loc[later, "merchant_category"] = rng.choice(["grocery", "travel", "games", "fuel"], m)
    changed.loc[later, "is_fraud"] = rng.random(m) < 0.5
    changed.loc[later, "label_time"] = changed.loc[later, "ts"] + pd.to_timedelta(rng.integers(0, 5, m), unit="h")
    # labels that arrive after the cut change, whoever they belong to
    late_label = (tx["label_time"] > cut_ts).to_numpy()
    changed.loc[late_label, "is_fraud"] = ~tx.loc[late_label, "is_fraud"]
    changed = changed.sort_values(["ts", "tx_id"], ignore_index=True)

    earlier_ids = tx["tx_id"].iloc[: k + 1]
    before = offline_features(tx).set_index("tx_id").loc[earlier_ids].reset_index()
    after = offline_features(changed).set_index("tx_id").loc[earlier_ids].reset_index()
    assert_same_features(after, before)


def test_no_feature_sees_its_own_label():
    # every label arrives the instant its transaction happens, the case a "label_time <= ts" rule would leak
    tx = random_transactions(7, n=600, instant_labels=1.0)
    base = offline_features(tx).set_index("tx_id")
    rng = np.random.default_rng(7)
    for row in rng.choice(len(tx), 15, replace=False):
        flipped = tx.copy()
        flipped.loc[row, "is_fraud"] = not tx.loc[row, "is_fraud"]
        tx_id = tx.loc[row, "tx_id"]
        own = offline_features(flipped).set_index("tx_id").loc[tx_id]
        np.testing.assert_array_equal(own.to_numpy(), base.loc[tx_id].to_numpy())


def test_a_label_is_counted_by_the_next_transaction_at_its_instant():
    # the same instant, the same category: tx 2 sees tx 1's instant fraud label, tx 1 does not
    tx = _frame([
        (1, T0, 1, 10.0, "pos", 1, "FR", "FR", "grocery", True, T0),
        (2, T0, 2, 10.0, "pos", 2, "FR", "FR", "grocery", False, T0 + DAY),
    ])
    risk = offline_features(tx)["category_risk"].tolist()
    assert risk == [0.2 / 100, 1.2 / 101]


# --- agreement with a plain-Python reference ---------------------------------------------------------------------


def reference_features(tx: pd.DataFrame, fs: FeatureSet = DEFAULT_FEATURE_SET) -> pd.DataFrame:
    """The definitions read literally: scan the earlier transactions of the card, and the earlier transactions of
    the category whose labels have arrived."""
    rows = tx.sort_values(["ts", "tx_id"]).to_dict("records")
    hour_ns = 3_600_000_000_000
    windows = [w * hour_ns for w in fs.windows_hours]
    avg = 24 * fs.avg_days * hour_ns
    out = []
    for i, r in enumerate(rows):
        t = r["ts"].value
        earlier = rows[:i]
        card = [p for p in earlier if p["card_id"] == r["card_id"]]

        def within(w, card=card, t=t):
            return [p for p in card if p["ts"].value >= t - w]

        last_30d = within(avg)
        mean = sum(p["amount"] for p in last_30d) / len(last_30d) if last_30d else None
        device, country = r["device_id"], r["country"]
        key = t * 2**41 + r["tx_id"]
        labelled = [p for p in earlier if p["merchant_category"] == r["merchant_category"]
                    and not pd.isna(p["label_time"]) and p["label_time"].value <= t
                    and key <= label_key(p) + round(fs.risk_days * 24 * hour_ns) * 2**41]  # not expired yet
        out.append({
            "tx_id": r["tx_id"],
            "log_amount": math.log(1 + r["amount"]),
            "hour": r["ts"].hour,
            "is_ecom": float(r["channel"] == "ecom"),
            "is_atm": float(r["channel"] == "atm"),
            "card_count_1h": len(within(windows[0])),
            "card_count_24h": len(within(windows[1])),
            "card_count_7d": len(within(windows[2])),
            "card_amount_24h": sum(p["amount"] for p in within(windows[1])),
            "card_amount_7d": sum(p["amount"] for p in within(windows[2])),
            "amount_vs_card_avg": r["amount"] / mean if mean else nan,
            "new_device": nan if pd.isna(device) else float(all(p["device_id"] != device for p in card
                                                                 if not pd.isna(p["device_id"]))),
            "foreign_country": nan if country is None else float(country != r["home_country"]),
            "new_country": nan if country is None else float(all(p["country"] != country for p in card)),
            "category_risk": (sum(p["is_fraud"] for p in labelled) + fs.risk_prior * fs.risk_strength)
            / (len(labelled) + fs.risk_strength),
        })
    return pd.DataFrame(out).sort_values("tx_id", ignore_index=True)


def label_key(p: dict) -> int:
    """When a label arrives, in the (ts, tx_id) order: just after its own transaction if it arrives that instant,
    else just before any transaction at its time."""
    instant = p["label_time"] == p["ts"]
    return p["label_time"].value * 2**41 + (p["tx_id"] if instant else -1)


def test_offline_features_equal_the_reference_on_a_random_frame():
    tx = random_transactions(11, n=2500)
    assert_same_features(offline_features(tx), reference_features(tx))


def test_other_parameters_follow_the_reference():
    # risk_days of 2 on the 30-minute grid: labels expire exactly at some transactions' instants, and between them
    fs = FeatureSet(windows_hours=(0.5, 6, 48), avg_days=3, risk_prior=0.1, risk_strength=10, risk_days=2)
    tx = random_transactions(12, n=800, cards=8, days=10)
    assert_same_features(offline_features(tx, fs), reference_features(tx, fs))
    assert_same_features(replay_online(tx, fs), reference_features(tx, fs))


# --- online, and parity ------------------------------------------------------------------------------------------


def test_replay_online_has_parity_with_offline():
    tx = random_transactions(21)
    offline, online = offline_features(tx), replay_online(tx)
    report = parity(tx, offline, online)
    assert list(report["feature"]) == list(FEATURES)
    assert (report["rows"] == len(tx)).all()
    assert not report["skewed"].any(), report
    assert (report["mismatch_share"] == 0).all()
    assert report["first_mismatch_ts"].isna().all()


def test_parity_reports_an_injected_skew_on_that_feature_only_from_its_start():
    tx = random_transactions(22)
    start = tx["ts"].iloc[len(tx) // 2]
    offline = offline_features(tx)
    online = replay_online(tx, skew=("amount_vs_card_avg", 0.01, start))
    report = parity(tx, offline, online).set_index("feature")
    assert report.index[report["skewed"]].tolist() == ["amount_vs_card_avg"]

    ts = tx.set_index("tx_id").loc[offline["tx_id"], "ts"].to_numpy()
    value = offline["amount_vs_card_avg"].to_numpy()
    affected = (ts >= start.to_datetime64()) & ~np.isnan(value)
    row = report.loc["amount_vs_card_avg"]
    assert row["mismatches"] == affected.sum() > 0
    assert row["first_mismatch_ts"] >= start
    np.testing.assert_allclose(online["amount_vs_card_avg"][affected], 1.01 * value[affected], rtol=1e-12)
    np.testing.assert_allclose(online["amount_vs_card_avg"][~affected], value[~affected], rtol=1e-12)


def test_parity_counts_a_null_against_a_number_as_a_mismatch():
    tx = random_transactions(23, n=200)
    offline = offline_features(tx)
    online = offline.copy()
    online.loc[3, "new_device"] = nan if not np.isnan(offline.loc[3, "new_device"]) else 1.0
    report = parity(tx, offline, online).set_index("feature")
    assert report.loc["new_device", "mismatches"] == 1
    assert report.loc["new_device", "max_abs_diff"] == math.inf
    assert report["skewed"].sum() == 1


def test_online_state_follows_added_transactions_and_labels():
    online = OnlineFeatures()
    tx = {"tx_id": 1, "ts": T0, "card_id": 5, "merchant_category": "travel", "amount": 10.0, "channel": "pos",
          "device_id": 3, "country": "FR", "home_country": "FR"}
    first = online.features(tx)
    assert (first["card_count_1h"], first["new_device"], first["category_risk"]) == (0, 1, 0.002)
    online.add(tx)
    arrived = pd.DataFrame({"merchant_category": ["travel", "travel", "fuel"], "is_fraud": [True, False, True]})
    online.add_labels(arrived)
    second = online.features({**tx, "tx_id": 2, "ts": T0 + MIN, "device_id": pd.NA, "country": None})
    assert second["card_count_1h"] == 1 and second["card_amount_24h"] == 10.0
    assert math.isnan(second["new_device"]) and math.isnan(second["new_country"])
    assert second["category_risk"] == pytest.approx(1.2 / 102)
    with pytest.raises(ValueError, match="time order"):
        online.add({**tx, "ts": T0 - MIN})
    with pytest.raises(ValueError, match="one of FEATURES"):
        OnlineFeatures(skew=("amount", 0.1, T0))


def test_online_skew_applies_from_its_start_only():
    online = OnlineFeatures(skew=("log_amount", 99.0, T0 + HOUR))
    tx = {"tx_id": 1, "ts": T0, "card_id": 5, "merchant_category": "travel", "amount": 10.0, "channel": "pos",
          "device_id": 3, "country": "FR", "home_country": "FR"}
    assert online.features(tx)["log_amount"] == math.log(11)
    assert online.features({**tx, "ts": T0 + HOUR})["log_amount"] == pytest.approx(100 * math.log(11))


# --- input checks ------------------------------------------------------------------------------------------------


def test_input_errors_are_named():
    tx = random_transactions(31, n=50)
    with pytest.raises(ValueError, match="lack columns"):
        offline_features(tx.drop(columns=["country"]))
    with pytest.raises(ValueError, match="unique"):
        offline_features(tx.assign(tx_id=0))
    early = tx.copy()
    early.loc[4, "label_time"] = early.loc[4, "ts"] - MIN
    with pytest.raises(ValueError, match="1 labels arrive before their transaction"):
        offline_features(early)
    with pytest.raises(ValueError, match="windows_hours"):
        FeatureSet(windows_hours=(24, 1, 168))
    with pytest.raises(ValueError, match="risk_prior"):
        FeatureSet(risk_prior=1.5)


def test_a_caller_connection_is_used_through_a_cursor_and_left_clean():
    import duckdb

    tx = random_transactions(32, n=300)
    con = duckdb.connect()
    assert_same_features(offline_features(tx, con=con), offline_features(tx))
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'feature_input'").fetchone() == (0,)


# --- contracts ---------------------------------------------------------------------------------------------------


def test_a_clean_batch_passes_its_contract():
    check_contract(offline_features(random_transactions(41)))


def test_a_broken_device_source_fails_the_contract_naming_new_device():
    tx = random_transactions(42)
    tx["device_id"] = pd.array([pd.NA] * len(tx), dtype="Int64")
    with pytest.raises(ContractError) as caught:
        check_contract(offline_features(tx))
    assert caught.value.violations == [
        f"new_device: null share 1.000 exceeds max 0.050 ({len(tx)} of {len(tx)} rows null)"
    ]


def test_every_violation_is_listed():
    features = offline_features(random_transactions(43, n=500))
    features.loc[0, "card_count_1h"] = -1
    features.loc[1, "hour"] = 25
    features.loc[2, "is_ecom"] = 0.5
    features.loc[3, "category_risk"] = math.inf
    features["card_count_7d"] = features["card_count_7d"].astype("int64")
    with pytest.raises(ContractError) as caught:
        check_contract(features.drop(columns=["log_amount"]))
    violations = caught.value.violations
    assert [v.split(":")[0] for v in violations] == [
        "log_amount", "card_count_7d", "hour", "is_ecom", "card_count_1h", "category_risk"
    ]
    assert "log_amount: missing column" in violations
    assert "card_count_7d: dtype int64, expected float64" in violations
    assert any(v.startswith("hour: 1 value(s) outside [0, 23]: 25") for v in violations)
    assert any(v.startswith("card_count_1h: 1 value(s) outside [0, inf]: -1") for v in violations)
    assert "is_ecom: 1 value(s) not in {0, 1}: 0.5" in violations
    assert "category_risk: 1 infinite value(s): inf" in violations
    message = str(caught.value)
    assert message.startswith("feature contract violated (6):")
    assert all(v in message for v in violations)


def test_default_contract_covers_every_feature():
    assert list(DEFAULT_CONTRACT.rules) == list(FEATURES)
    assert list(DEFAULT_CONTRACT.dtypes) == ["tx_id", *FEATURES]


# --- versions ----------------------------------------------------------------------------------------------------


def test_same_parameters_give_the_same_version_and_any_change_a_new_one():
    base = FeatureSet()
    assert base.version == FeatureSet().version == FeatureSet(windows_hours=(1.0, 24.0, 168.0)).version
    assert len(base.version) == 16 and int(base.version, 16) >= 0
    changed = [
        FeatureSet(name="card_fraud_v2"),
        FeatureSet(windows_hours=(2, 24, 168)),
        FeatureSet(windows_hours=(1, 12, 168)),
        FeatureSet(windows_hours=(1, 24, 24 * 14)),
        FeatureSet(avg_days=14),
        FeatureSet(risk_prior=0.01),
        FeatureSet(risk_strength=50),
    ]
    versions = {base.version, *(fs.version for fs in changed)}
    assert len(versions) == 1 + len(changed)


def test_a_change_to_the_sql_changes_the_version():
    class Edited(FeatureSet):
        @property
        def sql(self) -> str:
            return super().sql.replace("ln(1 + h.amount)", "ln(2 + h.amount)")

    assert Edited().sql != FeatureSet().sql
    assert Edited().version != FeatureSet().version


def test_the_sql_has_its_parameters_rendered_in():
    sql = FeatureSet(risk_strength=50).sql
    assert "{" not in sql and "+ 50.0)" in sql and "0.1)" in sql


# --- the generator's data ----------------------------------------------------------------------------------------


def test_generated_transactions_pass_the_contract_and_have_parity():
    data = pytest.importorskip("mlorg.pipeline.data")
    tx = data.generate(data.DataSpec(days=45, transactions_per_day=300, cards=400), seed=3)
    offline = offline_features(tx)
    check_contract(offline)
    assert not parity(tx, offline, replay_online(tx))["skewed"].any()
    assert offline["category_risk"].nunique() > 1  # labels arrived within the 45 days


# --- speed (reported, not asserted) ------------------------------------------------------------------------------


def test_speed_report(record_property):
    tx = random_transactions(51, n=1_000_000, cards=50_000, days=90, instant_labels=0.05)
    started = time.perf_counter()
    offline = offline_features(tx)
    offline_seconds = time.perf_counter() - started
    sample = tx.iloc[:100_000]
    started = time.perf_counter()
    replay_online(sample)
    online_us = (time.perf_counter() - started) / len(sample) * 1e6
    record_property("offline_seconds_1m_rows", round(offline_seconds, 2))
    record_property("online_us_per_tx", round(online_us, 1))
    print(f"\noffline_features: {len(tx):,} rows in {offline_seconds:.2f} s; online: {online_us:.1f} µs/tx")
    assert len(offline) == len(tx)
