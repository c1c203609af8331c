"""Charts: band numbers against hand computation, and each chart's encodings and data rows."""

import math

import altair as alt
import numpy as np
import pandas as pd
import pytest

from mlorg import charts

T_975_2DF = 4.302652729911275  # Student t, 97.5th percentile, 2 degrees of freedom (printed tables: 4.303)


def three_replications() -> list[pd.DataFrame]:
    return [
        pd.DataFrame({"day": [0.0, 7.0], "models_live": [1, 4], "backlog": [0, 2], "abandoned_cum": [0, 0]}),
        pd.DataFrame({"day": [0.0, 7.0], "models_live": [3, 6], "backlog": [0, 2], "abandoned_cum": [0, 1]}),
        pd.DataFrame({"day": [0.0, 7.0], "models_live": [5, 11], "backlog": [0, 5], "abandoned_cum": [0, 2]}),
    ]


def rows(spec: dict) -> list[dict]:
    return spec["datasets"][spec["data"]["name"]]


# ------------------------------------------------------------------------------------------------ bands

def test_bands_ci_matches_hand_computation():
    out = charts.bands(three_replications(), ["models_live"])
    assert list(out.columns) == ["day", "series", "mean", "low", "high", "n"]
    assert out["day"].tolist() == [0.0, 7.0]
    assert out["series"].tolist() == ["models_live", "models_live"]
    assert out["n"].tolist() == [3, 3]
    # day 0: 1, 3, 5 -> mean 3, sd 2; day 7: 4, 6, 11 -> mean 7, sd sqrt(13)
    half0 = T_975_2DF * 2 / math.sqrt(3)
    half7 = T_975_2DF * math.sqrt(13) / math.sqrt(3)
    assert out["mean"].tolist() == pytest.approx([3.0, 7.0])
    # The hand-computed lows are below zero; models live never are, so the band stops at zero.
    assert out["low"].tolist() == pytest.approx([max(0.0, 3 - half0), max(0.0, 7 - half7)])
    assert out["high"].tolist() == pytest.approx([3 + half0, 7 + half7])


def test_bands_range_is_middle_95_percent_of_replications():
    out = charts.bands(three_replications(), ["models_live"], interval="range")
    # linear quantiles of three values: position 0.025 * 2 = 0.05 and 0.975 * 2 = 1.95
    assert out["low"].tolist() == pytest.approx([1 + 0.05 * 2, 4 + 0.05 * 2])
    assert out["high"].tolist() == pytest.approx([3 + 0.95 * 2, 6 + 0.95 * 5])
    assert out["mean"].tolist() == pytest.approx([3.0, 7.0])


def test_bands_keeps_series_order_and_accepts_a_long_frame():
    frames = three_replications()
    listed = charts.bands(frames, ["backlog", "models_live"])
    assert listed["series"].tolist() == ["backlog", "backlog", "models_live", "models_live"]
    long = pd.concat([f.assign(replication=i) for i, f in enumerate(frames)], ignore_index=True)
    pd.testing.assert_frame_equal(charts.bands(long, ["backlog", "models_live"]), listed)


def test_bands_without_spread_have_zero_width_and_one_replication_has_no_band():
    constant = charts.bands(three_replications(), ["backlog"])
    assert constant.loc[0, ["low", "high"]].tolist() == [0.0, 0.0]
    single = charts.bands(three_replications()[:1], ["models_live"])
    assert single["mean"].tolist() == [1.0, 4.0]
    assert single["low"].isna().all() and single["high"].isna().all()


def test_bands_reject_bad_arguments():
    with pytest.raises(ValueError, match="not in the frames"):
        charts.bands(three_replications(), ["no_such_column"])
    with pytest.raises(ValueError, match="interval"):
        charts.bands(three_replications(), ["models_live"], interval="sd")
    with pytest.raises(ValueError, match="at least one"):
        charts.bands([], ["models_live"])


# ------------------------------------------------------------------------------------- models over time

def test_models_over_time_layers_band_and_mean_line():
    chart = charts.models_over_time(three_replications())
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict()
    area, line = spec["layer"]
    assert area["mark"]["type"] == "area" and line["mark"]["type"] == "line"
    # The x axis ends at the last simulated week, not at the next round number.
    assert area["encoding"]["x"] == {"field": "day", "type": "quantitative", "title": "time (days)",
                                     "scale": {"domain": [0, 7.0], "nice": False}}
    assert area["encoding"]["y"]["field"] == "low" and area["encoding"]["y2"]["field"] == "high"
    assert line["encoding"]["y"]["field"] == "mean" and line["encoding"]["y"]["title"] == "models"
    assert line["encoding"]["color"]["field"] == "label"
    data = pd.DataFrame(rows(spec))
    assert len(data) == 3 * 2  # three series, two weeks
    assert set(data["label"]) == set(charts.MODEL_SERIES.values())
    live = data[data["series"] == "models_live"]
    assert live["mean"].tolist() == pytest.approx([3.0, 7.0])
    abandoned = data[data["series"] == "abandoned_cum"]
    assert abandoned["mean"].tolist() == pytest.approx([0.0, 1.0])
    assert "confidence interval" in spec["title"]


# ------------------------------------------------------------------------------------------ ttp histogram

def models_frames() -> list[pd.DataFrame]:
    return [pd.DataFrame({"model_id": [0, 1, 2], "ttp_days": [1.0, 2.5, np.nan]}),
            pd.DataFrame({"model_id": [0, 1], "ttp_days": [3.0, 11.0]})]


def test_ttp_bins_pool_replications_and_skip_unshipped_models():
    out = charts.ttp_bins(models_frames(), bin_days=5)
    assert out["bin_start"].tolist() == [0.0, 5.0, 10.0]
    assert out["bin_end"].tolist() == [5.0, 10.0, 15.0]
    assert out["models"].tolist() == [3, 0, 1]
    assert out["share"].tolist() == pytest.approx([0.75, 0.0, 0.25])


def test_ttp_bins_choose_a_round_width_and_put_edges_in_the_upper_bin():
    frame = pd.DataFrame({"ttp_days": [0.0, 10.0, 59.0]})
    out = charts.ttp_bins(frame)  # 59 / 30 bins -> 1.97 -> width 2
    assert out["bin_end"].iloc[0] - out["bin_start"].iloc[0] == 2.0
    assert out.loc[out["models"] > 0, "bin_start"].tolist() == [0.0, 10.0, 58.0]


def test_ttp_histogram_encodes_bins_and_shares():
    spec = charts.ttp_histogram(models_frames(), bin_days=5).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "bin_start" and spec["encoding"]["x"]["bin"] == "binned"
    assert spec["encoding"]["x"]["title"] == "time to production (days)"
    assert spec["encoding"]["x2"]["field"] == "bin_end"
    assert spec["encoding"]["y"]["field"] == "share"
    assert [r["models"] for r in rows(spec)] == [3, 0, 1]


def test_ttp_histogram_of_no_shipped_model_is_empty():
    empty = pd.DataFrame({"ttp_days": [np.nan, np.nan]})
    assert charts.ttp_bins(empty).empty
    spec = charts.ttp_histogram(empty).to_dict()
    assert rows(spec) == []


# ------------------------------------------------------------------------------------------------ time use

def time_use_frames() -> list[pd.DataFrame]:
    def frame(research: float, toil: float) -> pd.DataFrame:
        return pd.DataFrame({
            "role": ["data_scientist", "data_scientist", "ml_engineer", "ml_engineer"],
            "activity": ["research", "toil", "research", "toil"],
            "hours": [research, toil, 0.0, 0.0],
            "share": [research / (research + toil), toil / (research + toil), np.nan, np.nan],
        })
    return [frame(30.0, 10.0), frame(50.0, 10.0)]


def test_time_use_shares_average_hours_and_drop_empty_roles():
    out = charts.time_use_shares(time_use_frames())
    assert out["role"].tolist() == ["data_scientist", "data_scientist"]
    assert out["activity"].tolist() == ["research", "toil"]
    assert out["hours"].tolist() == pytest.approx([40.0, 10.0])
    assert out["share"].tolist() == pytest.approx([0.8, 0.2])


def test_time_use_stacks_activity_shares_per_role():
    spec = charts.time_use(time_use_frames()).to_dict()
    assert spec["mark"]["type"] == "bar"
    enc = spec["encoding"]
    assert enc["y"]["field"] == "role_label"
    assert enc["x"]["field"] == "share" and enc["x"]["stack"] == "zero"
    assert enc["x"]["title"] == "share of the role's working time"
    assert enc["color"]["field"] == "activity"
    assert enc["color"]["scale"]["domain"] == ["research", "toil"]
    data = rows(spec)
    assert [(r["role_label"], r["activity"]) for r in data] == [("data scientists", "research"),
                                                               ("data scientists", "toil")]
    assert [r["share"] for r in data] == pytest.approx([0.8, 0.2])
