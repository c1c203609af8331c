"""The reference model over HTTP and the open-loop load generator, on loopback at small scale: correct scores for
known rows, every bad request a 4xx that leaves the server serving, Poisson send times, percentiles computed right,
and the command line's one-line errors. Each server is started on a free port and stopped by its test."""

from __future__ import annotations

import http.client
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
import uvicorn
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier

from mlorg.cli import main
from mlorg.pipeline.features import FEATURES
from mlorg.pipeline.registry import Registry
from mlorg.scenario import load
from mlorg.serve import check
from mlorg.serve.app import MAX_BODY_BYTES, champion_app
from mlorg.serve.loadtest import LoadResult, arrival_times, loadtest, percentile
from mlorg.serving.analytic import mgc_response_percentile

THRESHOLD = 0.3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(2000, len(FEATURES))), columns=list(FEATURES))
    frame.iloc[::17, 3] = np.nan  # missing values, which the trees route as training did
    return frame


@pytest.fixture(scope="module")
def registry_path(tmp_path_factory, rows) -> str:
    """A registry whose champion is a small model fitted on random rows (signed with the session's test key)."""
    labels = (rows.iloc[:, 0].fillna(0) + rows.iloc[:, 1] > 1.0).to_numpy()
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(rows.to_numpy(), labels)
    path = tmp_path_factory.mktemp("serve") / "registry.duckdb"
    registry = Registry(path)
    try:
        dataset = registry.register_dataset("training", rows.assign(ts=pd.Timestamp("2026-01-01")))
        features = registry.register_feature_set("features", "SELECT 1", {})
        version = registry.register_model(model, name="test", params={}, metrics={"threshold": THRESHOLD},
                                          dataset_id=dataset, feature_version=features, code_version="test")
        registry.set_alias("champion", version, reason="test", actor="test")
    finally:
        registry.close()
    return str(path)


@pytest.fixture(scope="module")
def server(registry_path):
    """The champion served by uvicorn in a thread of this process; stopped (and joined) at the end."""
    app = champion_app(registry_path)
    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield app, port
    instance.should_exit = True
    thread.join(10)
    assert not thread.is_alive()


def call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def features_of(row: pd.Series) -> dict:
    return {name: (None if np.isnan(value) else float(value)) for name, value in row.items()}


def test_known_rows_get_the_models_own_scores(server, rows, registry_path):
    app, port = server
    estimator = Registry(registry_path).load_model(1)
    expected = estimator.predict_proba(rows.iloc[:40].to_numpy())[:, 1]
    for (_, row), want in zip(rows.iloc[:40].iterrows(), expected, strict=True):
        status, answer = call(port, "POST", "/score", json.dumps({"features": features_of(row)}).encode())
        assert status == 200
        assert answer["score"] == pytest.approx(want, abs=1e-12)
        assert answer["alert"] == (answer["score"] >= THRESHOLD) and answer["model_version"] == 1
    assert call(port, "GET", "/health") == (200, {"status": "ok", "model_version": 1})
    status, metrics = call(port, "GET", "/metrics")
    assert status == 200 and metrics["requests"] >= 40 and metrics["service_ms_p50"] > 0


FULL = dict.fromkeys(FEATURES, 1.0)
BAD_REQUESTS = [
    (b"{not json", 400, "the body is not JSON"),
    (b"\xff\xfe", 400, "the body is not JSON"),
    (json.dumps([1, 2]).encode(), 422, 'the body must be an object {"features"'),
    (json.dumps({"features": {k: v for k, v in FULL.items() if k != FEATURES[2]}}).encode(), 422,
     f"missing feature(s): {FEATURES[2]}"),
    (json.dumps({"features": {**FULL, "shoe_size": 44}}).encode(), 422, "unknown feature(s): shoe_size"),
    (json.dumps({"features": {**FULL, FEATURES[0]: "12"}}).encode(), 422,
     f'feature {FEATURES[0]}: "12" is not a number'),
    (json.dumps({"features": {**FULL, FEATURES[0]: True}}).encode(), 422,
     f"feature {FEATURES[0]}: true is not a number"),
    (b" " * (MAX_BODY_BYTES + 1), 413, "the body is over"),
    (b"x" * 1_000_000, 413, "the body is over"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_REQUESTS)
def test_a_bad_request_is_a_4xx_with_one_clear_line_and_the_server_keeps_serving(server, body, status, message):
    _, port = server
    got, answer = call(port, "POST", "/score", body)
    assert got == status and answer["error"].startswith(message), answer
    assert "\n" not in answer["error"]
    assert call(port, "POST", "/score", json.dumps({"features": FULL}).encode())[0] == 200


def test_wrong_paths_and_methods_are_named(server):
    _, port = server
    assert call(port, "GET", "/score") == (405, {"error": "GET is not allowed on /score"})
    status, answer = call(port, "GET", "/nowhere")
    assert status == 404 and answer["error"].startswith("no such path: /nowhere")


def test_the_generator_sends_at_poisson_times_open_loop_and_counts_every_answer(server):
    _, port = server
    rate, duration = 100.0, 3.0
    result = loadtest(f"http://127.0.0.1:{port}/score", rate, duration, seed=11)
    summary = result.summary()
    n = summary["requests"]
    assert abs(n - rate * duration) < 4 * np.sqrt(rate * duration)  # a Poisson count
    assert summary["ok"] == n and summary["errors"] == 0
    gaps = np.diff(np.sort(result.sent_s))
    # The sent times (not only the planned ones) are a Poisson process: exponential gaps at the rate.
    assert stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue > 0.001
    assert summary["generator_lateness_p99_ms"] < 5.0  # it kept its schedule
    assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"] < 1000


def test_arrival_times_are_seeded_exponential_gaps_within_the_duration():
    a, b = arrival_times(50.0, 100.0, seed=3), arrival_times(50.0, 100.0, seed=3)
    assert np.array_equal(a, b) and a.max() < 100.0
    assert stats.kstest(np.diff(a), "expon", args=(0, 1 / 50.0)).pvalue > 0.001
    assert not np.array_equal(a, arrival_times(50.0, 100.0, seed=4))


def test_percentiles_are_computed_right():
    values = np.arange(1.0, 101.0)
    assert percentile(values, 50) == 50.5 and percentile(values, 99) == pytest.approx(99.01)
    assert np.isnan(percentile(np.array([]), 50))
    result = LoadResult(planned_s=np.array([0.0, 0.1, 0.2, 0.3]), sent_s=np.array([0.0, 0.1, 0.2, 0.302]),
                        latency_ms=np.array([1.0, 3.0, np.nan, 2.0]), status=np.array([200, 200, 0, 500]),
                        duration_s=2.0)
    summary = result.summary()
    assert (summary["requests"], summary["ok"], summary["errors"]) == (4, 2, 2)
    assert summary["throughput_rps"] == 1.0 and summary["p50_ms"] == 2.0  # errors' latencies are left out
    assert summary["generator_lateness_p99_ms"] == pytest.approx(np.percentile([0, 0, 0, 2.0], 99))


@pytest.mark.parametrize(("argv", "message"), [
    (["loadtest", "http://10.0.0.1:8000/score", "--rate", "5", "--duration", "1"], "a load test targets loopback only"),
    (["loadtest", "https://127.0.0.1:8000/score", "--rate", "5", "--duration", "1"], "must be http://HOST:PORT/PATH"),
    (["loadtest", "http://127.0.0.1:8000/score", "--rate", "5000", "--duration", "600"], "requests is not allowed"),
    (["serve", "--db", "/nonexistent/registry.duckdb"], "no registry at /nonexistent/registry.duckdb"),
])
def test_the_command_line_refuses_in_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_serving_on_a_port_in_use_is_refused_in_one_line(registry_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--db", registry_path, "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == f"mlorg: error: --port: cannot serve on 127.0.0.1:{port} (Address already in use)"


def test_mlorg_serve_serves_until_stopped_and_loadtest_reports_it(registry_path, capsys):
    """The journey a user types: `mlorg serve` in one terminal, `mlorg loadtest` in another."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mlorg.cli", "serve", "--db", registry_path, "--port",
                                str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read()
            try:
                if call(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "mlorg serve did not answer within 60 s"
            time.sleep(0.2)
        assert main(["loadtest", f"http://127.0.0.1:{port}/score", "--rate", "50", "--duration", "1", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] == report["requests"] > 0 and report["errors"] == 0
    finally:
        process.terminate()
        process.wait(15)


def test_calibrate_serving_sets_the_model_beside_the_real_server_and_writes_what_it_measured(registry_path, tmp_path,
                                                                                            capsys):
    out = tmp_path / "calibrated.toml"
    code = main(["calibrate", "scenarios/fraud_drift.toml", "--serving", "--db", registry_path, "--repeats", "1",
                 "--seconds", "1", "--json", "--write", str(out)])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    base = report["low_load"]
    assert base["service_ms"] > 0 and base["overhead_ms"] >= 0 and base["requests"] >= 10
    assert [level["utilisation"] for level in report["levels"]] == [0.3, 0.5, 0.7, 0.85]
    for level in report["levels"]:  # checked: within 0.7, by a generator that kept its schedule
        assert level["checked"] == (level["utilisation"] <= 0.7 and level["lateness_p99_ms"] <= check.GENERATOR_LATE_MS)
    curve = [(point["rate"], point["service_ms"]) for point in report["service_curve"]]
    assert len(curve) == len(check.LADDER) and all(s > 0 for _, s in curve)
    for level in report["levels"]:
        p = level["predicted_ms"]
        if level["utilisation_here"] >= 1:  # the server ran slower here than on the curve (a loaded machine): the
            assert p["p50"] is None  # queue the model is given is unstable, and says so (JSON null)
        else:
            assert base["overhead_ms"] < p["p50"] <= p["p95"] <= p["p99"]
        # Each level's rate puts the measured service curve at its utilisation.
        assert level["rate"] * check.service_at(curve, level["rate"]) / 1000 == pytest.approx(level["utilisation"])
        assert level["utilisation_here"] == pytest.approx(level["rate"] * level["service_ms_here"] / 1000)
        assert level["measured_ms"]["p99"]["n"] == 1 and level["measured_ms"]["p99"]["mean"] > 0
    assert check.saved_path(registry_path).is_file()
    written = load(out)
    fraud = next(i for i, c in enumerate(written.portfolio) if c.serving_mode == "realtime")
    at_target = check.service_at(curve, check.rate_for(curve, check.SIMULATOR_UTILISATION))
    assert written.portfolio[fraud].service_ms == pytest.approx(at_target, rel=1e-3)
    assert written.serving.realtime.overhead_ms == pytest.approx(base["overhead_ms"], rel=1e-3, abs=1e-4)
    assert report["written"] == ["serving.realtime.overhead_ms", f"portfolio[{fraud}].service_ms"]


def test_the_prediction_is_the_overhead_plus_the_simulators_m_g_c_percentile():
    base = check.LowLoad(requests=100, latency_mean_ms=2.0, latency_cv=0.3, service_ms=1.2, overhead_ms=0.8)
    got = check.predicted(base, rate=500.0, servers=1)
    for q in (50, 95, 99):
        assert got[f"p{q}"] == 0.8 + mgc_response_percentile(0.5, base.service(), 1, q / 100)
    assert base.spread == pytest.approx(0.3 * 2.0 / 1.2)  # the low-load spread, all of it the service's
    assert check.predicted(base, rate=500.0, servers=1, service_ms=0.5)["p99"] < got["p99"]
    assert check.predicted(base, rate=1000.0, servers=1)["p99"] == math.inf  # 1000/s × 1.2 ms: unstable


def test_the_rate_for_a_utilisation_solves_it_on_the_measured_service_curve():
    curve = [(20.0, 1.4), (200.0, 0.8), (1600.0, 0.36)]
    assert check.service_at(curve, 20.0) == 1.4 and check.service_at(curve, 5.0) == 1.4  # flat beyond the ends
    assert check.service_at(curve, 1e5) == 0.36
    assert check.service_at(curve, math.sqrt(20.0 * 200.0)) == pytest.approx(1.1)  # halfway in log rate
    for rho in (0.05, 0.3, 0.7, 0.85, 2.0):
        rate = check.rate_for(curve, rho)
        assert rate * check.service_at(curve, rate) / 1000 == pytest.approx(rho, rel=1e-9)
    assert check.rate_for(curve, 0.5, servers=2) == pytest.approx(check.rate_for(curve, 1.0))


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_server_started_for_a_check_ends_when_its_starter_is_killed(registry_path):
    """`mlorg calibrate --serving` killed with -9 used to leave its `mlorg serve` running."""
    starter = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from mlorg.serve.process import start_server\n"
        f"process, port = start_server({registry_path!r})\n"
        "print(process.pid, flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    try:
        server = int(starter.stdout.readline())
    finally:
        starter.kill()
        starter.wait(10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(server, 9)
    pytest.fail("the server outlived the process that started it")


def test_the_low_load_runs_again_until_the_servers_cpu_clock_has_ticked(monkeypatch):
    """/proc counts CPU in 10 ms ticks: a light second may read 0, which is no service time; it is measured longer."""
    class Result:
        status = np.full(20, 200)
        latency_ms = np.full(20, 2.0)

    calls, ticks = [], iter([0.0, 0.0, 0.0, 0.01, 0.01, 0.02])  # before/after each run: 0, then 10 ms, 10 ms
    monkeypatch.setattr(check, "loadtest", lambda url, rate, seconds, seed: calls.append(seed) or Result())
    monkeypatch.setattr(check, "cpu_seconds", lambda pid: next(ticks))
    monkeypatch.setattr(check.os, "sysconf", lambda name: 100)  # Linux's usual clock: a tick is 10 ms
    base = check.low_load("http://127.0.0.1:1/score", 1, 1.0, seed=0)
    assert calls == [1_000, 0, 1, 2] and base.requests == 60  # the warm-up, then three runs until two ticks
    assert base.service_ms == pytest.approx(1000 * 0.02 / 60)
