"""Uncertain inputs (probabilistic sensitivity analysis): the syntax and its checks, draws from named streams, the
interval with input uncertainty (today's when nothing is uncertain), variance shares against a model whose answer
is known, and the value of information against hand-computed figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlorg import cli
from mlorg.results import replicate
from mlorg.scenario import ScenarioError, load, loads, to_toml, validate
from mlorg.sweeps import edit
from mlorg.uncertainty import (
    best_shares,
    decide,
    draw_table,
    drawn_scenarios,
    evpi,
    evppi,
    mixture_interval,
    run_uncertain,
    shares_of,
    variance_shares,
)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

# A small organisation whose staff cost is exactly linear in the role costs: no attrition, no hiring, so each role's
# person-years are fixed and staff_cost_usd = Σ people × years × cost.
LINEAR_ORG = """
name = "linear"
horizon_days = 365
[org]
data_scientists = 4
ml_engineers = 2
[costs]
data_scientist = { value = 190000, uncertain = { dist = "uniform", low = 150000, high = 230000 } }
ml_engineer = { value = 210000, uncertain = { dist = "normal", mean = 210000, sd = 30000 } }
[productionisation]
effort_hours = { dist = "lognormal", mean = 48, cv = 0.8, uncertain_mean = { dist = "uniform", low = 40, high = 90 } }
"""


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------- the syntax

def test_uncertain_inputs_are_read_with_their_point_values_and_round_trip():
    s = loads(LINEAR_ORG)
    assert s.costs.data_scientist == 190000.0 and s.productionisation.effort_hours.mean == 48.0
    assert [u.path for u in s.uncertain] == ["costs.data_scientist", "costs.ml_engineer",
                                             "productionisation.effort_hours.mean"]
    assert s.uncertain[0].parameters == {"low": 150000.0, "high": 230000.0}
    assert loads(to_toml(s)) == s and validate(s) == s  # written back as a file writes them, read back equal


def test_a_number_without_value_takes_its_uncertainty_mean_and_an_integer_rounds():
    s = loads('[org]\nml_engineers = { uncertain = { dist = "triangular", low = 1, mode = 2, high = 6 } }\n')
    assert s.org.ml_engineers == 3 and isinstance(s.org.ml_engineers, int)  # mean 3
    draws = draw_table(s, 500, seed=1)["org.ml_engineers"]
    assert set(draws.unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0, 6.0} and draws.min() == 1.0
    scenarios = drawn_scenarios(s, draws.iloc[:5].to_frame())
    assert [x.org.ml_engineers for x in scenarios] == [int(v) for v in draws.iloc[:5]]
    assert all(not x.uncertain for x in scenarios)


def test_editing_a_field_makes_it_known():
    s = loads(LINEAR_ORG)
    edited = edit(s, {"costs.data_scientist": 100000.0, "productionisation.effort_hours.mean": 50.0})
    assert [u.path for u in edited.uncertain] == ["costs.ml_engineer"]


@pytest.mark.parametrize(("text", "message"), [
    ('[org]\nml_engineers = { value = 2, uncertain = { dist = "weibull", low = 1 } }',
     'org.ml_engineers.uncertain.dist: "weibull" is not allowed; must be one of uniform, triangular'),
    ('[org]\nml_engineers = { value = 2, uncertain = { dist = "uniform", low = -1, high = 4 } }',
     "org.ml_engineers.uncertain: uniform -1–4, rounded reaches outside what the field allows; low and high must "
     "be >= 0 and <= 5000"),
    ('[org]\nml_engineers = { value = 2, uncertain = { dist = "uniform", low = 4, high = 1 } }',
     "org.ml_engineers.uncertain: low (4) must be below high (1)"),
    ('[org]\nml_engineers = { value = 2, uncertain = { dist = "uniform", low = 1 } }',
     "org.ml_engineers.uncertain.high: missing; a uniform uncertainty needs low, high"),
    ('[org]\nml_engineers = { value = 2, uncertain = { dist = "lognormal", mean = 2, cv = 0.3, sd = 1 } }',
     "org.ml_engineers.uncertain.sd: unknown key for a lognormal uncertainty; it takes mean, cv"),
    ('[org]\nml_engineers = { value = -2, uncertain = { dist = "uniform", low = 1, high = 3 } }',
     "org.ml_engineers.value: -2 is not allowed; must be an integer >= 0 and <= 5000"),
    ('[org]\nml_engineers = { value = 2 }', "org.ml_engineers: {value = 2} is not allowed"),
    ('[org]\nproductive_hours_per_week = { value = 32, uncertain = { dist = "normal", mean = 32, sd = 30 } }',
     "falls outside what the field allows (>= 1 and <= 168) with probability 15.07%"),
    ('[policy]\nmax_toil_share = { value = 0.5, uncertain = { dist = "lognormal", mean = 0.5, cv = 1 } }',
     "max_toil_share.uncertain: lognormal (mean 0.5, cv 1) falls outside"),
    ('horizon_days = { value = 300, uncertain = { dist = "uniform", low = 100, high = 400 } }',
     "horizon_days.uncertain: this input cannot be uncertain; the horizon is how long to simulate"),
    ('[serving]\nbatch_share = { value = 0.2, uncertain = { dist = "uniform", low = 0.1, high = 0.3 } }',
     "serving.batch_share.uncertain: this input cannot be uncertain; the serving shares must add up to 1"),
    ('[research]\ncycle_hours = { dist = "lognormal", mean = 600, cv = 0.5, uncertain_mean = { dist = "gamma", '
     'mean = 0, cv = 1 } }', "research.cycle_hours.uncertain_mean: a gamma needs mean > 0 and cv > 0"),
    ('[research]\ncycle_hours = { dist = "lognormal", mean = { value = 600, uncertain = { dist = "uniform", low = 500, '
     'high = 700 } }, cv = 0.5, uncertain_mean = { dist = "uniform", low = 500, high = 700 } }',
     "research.cycle_hours.mean: its uncertainty is given twice"),
    ('[research]\ncycle_hours = { dist = "lognormal", mean = 600, cv = 0.5, uncertain_dist = 3 }',
     "research.cycle_hours.uncertain_dist: unknown key"),
    ('[org]\nname = { value = 2, uncertain = { dist = "uniform", low = 1, high = 3 } }', "org.name: unknown key"),
])
def test_a_bad_uncertainty_names_the_field_the_value_and_what_is_allowed(text, message):
    with pytest.raises(ScenarioError) as caught:
        loads(text)
    assert any(message in m for m in caught.value.messages), caught.value.messages


def test_the_cli_refuses_a_bad_uncertainty_in_one_line_with_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[org]\nml_engineers = { value = 2, uncertain = { dist = "uniform", low = 3, high = 1 } }\n')
    code, _, err = run_main(capsys, "validate", str(path))
    assert code == 2 and "org.ml_engineers.uncertain: low (3) must be below high (1)" in err
    assert "Traceback" not in err


def test_every_shipped_uncertainty_brackets_its_point_value_or_sits_at_its_edge():
    marked = 0
    for path in sorted(SCENARIOS.glob("*.toml")):
        s = load(path)
        for u in s.uncertain:
            marked += 1
            value = _get(s, u.path)
            low, high = u.frozen().support()
            assert low <= value <= high, (path.name, u.path)
    assert marked >= 6  # notebook_shipping (3, inherited by first_mle and fifth_ds), platform_team (2), fraud (1)


def _get(obj, path: str):
    for part in path.split("."):
        name, _, index = part.partition("[")
        obj = getattr(obj, name)
        if index:
            obj = obj[int(index.rstrip("]"))]
    return obj


# ---------------------------------------------------------------------------------------------- the draws

def test_each_input_draws_from_its_own_stream():
    s = loads(LINEAR_ORG)
    alone = s.replace(uncertain=s.uncertain[:1])
    both = draw_table(s, 40, seed=3)
    assert np.array_equal(draw_table(alone, 40, seed=3)["costs.data_scientist"], both["costs.data_scientist"])
    assert np.array_equal(draw_table(s, 10, seed=3), both.iloc[:10])  # the first 10 of 40 are the 10
    assert not np.array_equal(draw_table(s, 40, seed=4), both)
    u = s.uncertain[1]  # normal(210000, 30000): the draws follow it
    assert stats.kstest(draw_table(s, 4000, seed=5)[u.path], u.frozen().cdf).pvalue > 0.001


def test_a_draw_that_breaks_a_rule_across_fields_is_named():
    text = ('[org]\ndata_scientists = 1\n[[org.hiring]]\nrole = "ml_engineer"\nday = { value = 10, uncertain = '
            '{ dist = "uniform", low = 0, high = 2000 } }\n')
    s = loads(text)
    with pytest.raises(ScenarioError) as caught:
        drawn_scenarios(s, draw_table(s, 20, seed=0))
    assert "draw " in caught.value.messages[0] and "org.hiring[0].day =" in caught.value.messages[0]
    assert "must be <= horizon_days" in caught.value.messages[0]


# ------------------------------------------------------------------------------------------- the intervals

def test_the_mixture_of_identical_draws_is_todays_t_interval():
    values = np.random.default_rng(1).normal(5.0, 2.0, 10)
    half = stats.t.ppf(0.975, 9) * values.std(ddof=1) / math.sqrt(10)
    low, high = mixture_interval([values] * 30)
    assert low == pytest.approx(values.mean() - half, rel=1e-9) and high == pytest.approx(values.mean() + half,
                                                                                          rel=1e-9)
    # Spread draws widen it to about the spread of their means.
    low, high = mixture_interval([values + 10 * i for i in range(100)])
    assert low < values.mean() + 30 and high > values.mean() + 960
    assert mixture_interval([np.array([1.0]), np.array([3.0])] * 20) == (1.0, 3.0)  # single runs: point masses


def test_with_no_input_uncertain_the_uncertainty_run_is_todays_run_exactly(tmp_path, capsys):
    s = load(SCENARIOS / "first_mle.toml").replace(horizon_days=180.0, uncertain=())
    today = replicate(s, 4, seed=7).summary
    runs = run_uncertain(s, 5, 4, seed=7, backend="serial")
    summary = runs.summary
    pd.testing.assert_frame_equal(summary[["mean", "ci95_low", "ci95_high", "n"]], today)
    for ours, theirs in (("mean_with_inputs", "mean"), ("low_with_inputs", "ci95_low"),
                         ("high_with_inputs", "ci95_high")):
        assert summary[ours].equals(today[theirs])
    path = tmp_path / "certain.toml"
    path.write_text(to_toml(s))
    code, out, _ = run_main(capsys, "run", str(path), "--replications", "4", "--seed", "7", "--json")
    plain = json.loads(out)["metrics"]
    code, out, _ = run_main(capsys, "run", str(path), "--replications", "4", "--seed", "7", "--uncertainty", "3",
                            "--json")
    drawn = json.loads(out)["metrics"]
    assert code == 0
    for name, figures in plain.items():
        assert {k: drawn[name][k] for k in figures} == figures
        assert (drawn[name]["low_with_inputs"], drawn[name]["high_with_inputs"]) == (figures["ci95_low"],
                                                                                     figures["ci95_high"])


def test_uncertain_inputs_widen_the_interval_of_the_figures_they_move():
    s = loads(LINEAR_ORG)
    summary = run_uncertain(s, 30, 3, seed=2, backend="serial").summary.loc["staff_cost_usd"]
    assert summary["ci95_high"] - summary["ci95_low"] < 1.0  # no attrition: staff cost has no noise at all
    assert summary["high_with_inputs"] - summary["low_with_inputs"] > 200_000  # ± tens of thousands a person


# ------------------------------------------------------------------------------------------------ the shares

def test_variance_shares_of_a_linear_model_match_the_analytic_shares():
    rng = np.random.default_rng(0)
    n = 4000
    x = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.uniform(0, 10, n), "c": rng.lognormal(0, 0.5, n)})
    y = 3 * x["a"] + 0.5 * x["b"] - 2 * x["c"]
    variances = np.array([9.0, 0.25 * 100 / 12, 4 * (math.exp(0.25) - 1) * math.exp(0.25)])
    analytic = dict(zip("abc", variances / variances.sum(), strict=True))  # 0.717, 0.166, 0.116
    table = variance_shares(x, y.to_numpy()).set_index("input")
    for name, share in analytic.items():
        assert table.loc[name, "share"] == pytest.approx(share, abs=0.04)
        assert table.loc[name, "share_low"] <= share + 0.02 and table.loc[name, "share_high"] >= share - 0.02
    assert table.attrs["explained"] == pytest.approx(1.0, abs=0.06)
    assert list(table.index) == ["a", "b", "c"] and list(table["direction"]) == [1.0, 1.0, -1.0]


def test_variance_shares_through_the_simulator_match_the_staff_cost_formula():
    s = loads(LINEAR_ORG)
    runs = run_uncertain(s, 300, 1, seed=11, backend="serial")
    table = shares_of(runs, "staff_cost_usd").set_index("input")
    # staff cost = 4 × c_DS + 2 × c_MLE over one year: shares 16·Var(c_DS) : 4·Var(c_MLE); effort explains none.
    ds, mle = 16 * 80_000**2 / 12, 4 * 30_000**2
    assert table.loc["costs.data_scientist", "share"] == pytest.approx(ds / (ds + mle), abs=0.05)
    assert table.loc["costs.ml_engineer", "share"] == pytest.approx(mle / (ds + mle), abs=0.05)
    assert table.loc["productionisation.effort_hours.mean", "share"] < 0.03
    assert table.attrs["explained"] == pytest.approx(1.0, abs=0.05)


# ------------------------------------------------------------------------------------ the value of information

def test_evpi_by_hand():
    values = np.array([[10.0, 5.0], [10.0, 20.0], [10.0, 0.0], [10.0, 17.0]])  # B's mean 10.5 beats A's 10
    # Choose B now: 10.5. Knowing each draw: max = 10, 20, 10, 17, mean 14.25. EVPI = 3.75.
    assert evpi(values) == pytest.approx(3.75)
    assert list(best_shares(values)) == [0.5, 0.5]
    dominated = np.array([[10.0, 5.0], [12.0, 6.0], [9.0, 1.0]])
    assert evpi(dominated) == 0.0


def test_evpi_and_evppi_against_the_analytic_value():
    # A pays 10; B pays 2θ with θ ~ U(0, 10): E[B] = 10, E[max(10, 2θ)] = 12.5, so EVPI = 2.5, all of it θ's.
    rng = np.random.default_rng(3)
    theta, noise = rng.uniform(0, 10, 20_000), rng.uniform(0, 1, 20_000)
    values = np.column_stack([np.full_like(theta, 10.0), 2 * theta])
    assert evpi(values) == pytest.approx(2.5, abs=0.1)
    assert evppi(theta, values) == pytest.approx(2.5, abs=0.15)
    assert evppi(noise, values) < 0.05


def test_decide_runs_the_options_on_shared_draws(tmp_path, capsys):
    cheap = loads(LINEAR_ORG).replace(horizon_days=120.0)
    dear = edit(cheap, {"name": "dear", "costs.platform_engineer": 300000.0, "org.platform_engineers": 1})
    decision = decide([cheap, dear], 12, 2, seed=1, backend="serial")
    assert decision.chosen == "linear" and decision.evpi == 0.0  # a platform engineer's cost, nothing built yet
    assert list(decision.table["best_share"]) == [1.0, 0.0]
    assert set(decision.draws.columns) == {u.path for u in cheap.uncertain}
    a, b = (tmp_path / "a.toml", tmp_path / "b.toml")
    a.write_text(to_toml(cheap))
    b.write_text(to_toml(dear))
    code, out, _ = run_main(capsys, "decide", str(a), str(b), "--uncertainty", "4", "--replications", "2",
                            "--backend", "serial", "--json")
    assert code == 0 and json.loads(out)["chosen"] == "linear" and json.loads(out)["evpi"] == 0.0


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "{first}", "--uncertainty", "0"], "--uncertainty: 0 is not allowed"),
    (["run", "{first}", "--uncertainty", "3", "--save"], "--save: not allowed with --uncertainty"),
    (["sensitivity", "{certain}", "--uncertainty", "3"], "marks no input as uncertain"),
    (["sensitivity", "{first}", "--uncertainty", "3", "--input", "org.ml_engineers"], "--input: not allowed with"),
    (["sensitivity", "{first}", "--uncertainty", "3", "--metric", "ttp_p90"], "--metric: 'ttp_p90' is not allowed"),
    (["decide", "{first}"], "options: 1 scenarios is not allowed; a decision weighs 2 to 4"),
    (["decide", "{certain}", "{certain2}", "--backend", "serial"], "no option has an uncertain input"),
])
def test_bad_uncertainty_commands_exit_2_with_the_reason(tmp_path, capsys, argv, message):
    certain = load(SCENARIOS / "first_mle.toml").replace(uncertain=())
    paths = {"first": str(SCENARIOS / "first_mle.toml"), "certain": str(tmp_path / "c.toml"),
             "certain2": str(tmp_path / "c2.toml")}
    Path(paths["certain"]).write_text(to_toml(certain))
    Path(paths["certain2"]).write_text(to_toml(certain.replace(name="other")))
    try:
        code, _, err = run_main(capsys, *(a.format(**paths) for a in argv))
    except SystemExit as exit_:  # argparse's own refusal
        code, err = exit_.code, capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_an_uncertainty_whose_field_an_edit_in_code_removed_is_dropped():
    fraud = load(SCENARIOS / "fraud_drift.toml")
    assert [u.path for u in fraud.uncertain] == ["portfolio[0].value_per_day_usd.mean"]
    one_class = validate(fraud.replace(portfolio=()))  # the single class made from [impact]
    assert one_class.uncertain == () and one_class.model_classes()[0].name == "model"
    replicate(fraud.replace(portfolio=(), horizon_days=30.0), 1, seed=0)  # runs, as it did before uncertainties


@pytest.mark.parametrize("table", [
    {"dist": "normal", "mean": 32, "sd": 30}, {"dist": "lognormal", "mean": 0.5, "cv": 1.0},
    {"dist": "lognormal", "mean": 5, "cv": 2.0}, {"dist": "gamma", "mean": 0.5, "cv": 1.5},
    {"dist": "uniform", "low": 0.5, "high": 2.0}, {"dist": "triangular", "low": 0.0, "mode": 0.2, "high": 0.9}])
def test_the_closed_forms_match_scipy(table):
    from mlorg.scenario.uncertain import Uncertainty

    u = Uncertainty(path="x", dist=table["dist"], params=tuple((k, float(v)) for k, v in table.items() if k != "dist"))
    frozen = u.frozen()
    assert u.mean() == pytest.approx(frozen.mean(), rel=1e-12)
    if u.dist not in ("uniform", "triangular"):
        assert u.outside(1.0, 40.0) == pytest.approx(frozen.cdf(1.0) + frozen.sf(40.0), rel=1e-9, abs=1e-15)
        assert u.outside(None, 1.0) == pytest.approx(frozen.sf(1.0), rel=1e-9, abs=1e-15)


def test_reading_a_scenario_with_uncertain_inputs_does_not_import_scipy():
    import subprocess
    import sys

    from mlorg.monitoring.characteristics import SEQUENTIAL_DETECTORS
    from mlorg.scenario.drift import SEQUENTIAL_MONITOR_DETECTORS

    assert SEQUENTIAL_MONITOR_DETECTORS == SEQUENTIAL_DETECTORS  # the schema's copy, kept to spare the import

    code = ("import sys; from mlorg.scenario import load; s = load('scenarios/fraud_drift.toml'); "
            "assert s.uncertain; print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=SCENARIOS.parent)
    assert out.stdout.strip() == "False"
