"""Every wait on a Dask cluster ends: a scheduler that accepts and stays silent, a cluster that loses every
worker, a run that kills each worker that tries it. Each case has a cluster (or a fake one) of its own,
because the cases break what they are given."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import pytest

from mlorg import cli
from mlorg.sweeps import SweepError, execute, on_dask

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


@pytest.fixture
def silent_port():
    """A port on loopback that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    server.close()


def test_a_scheduler_that_accepts_but_never_answers_is_one_line_within_its_limits(silent_port):
    """distributed's handshake waits for the answer without a limit: this hung until killed at 150 s."""
    start = time.monotonic()
    with pytest.raises(SweepError) as info:
        on_dask.check_scheduler_answers(f"tcp://127.0.0.1:{silent_port}", connect_timeout=1, answer_timeout=1)
    took = time.monotonic() - start
    assert str(info.value) == (f"the Dask scheduler at tcp://127.0.0.1:{silent_port} accepted a connection but did "
                               "not answer within 2 s")
    assert took < 15  # the limit is 2 s; the rest is a generous allowance for a loaded machine


def test_the_cli_says_so_in_one_line_with_exit_2(silent_port, capsys, monkeypatch):
    monkeypatch.setattr(on_dask, "ANSWER_TIMEOUT_S", 1.0)
    monkeypatch.setattr(execute, "CONNECT_TIMEOUT_S", 1.0)
    code = cli.main(["sweep", "scenarios/first_mle.toml", "--vary", "org.ml_engineers=1", "--replications", "1",
                     "--backend", "dask", "--scheduler", f"tcp://127.0.0.1:{silent_port}"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.endswith("accepted a connection but did not answer within 2 s") and "\n" not in err


def test_a_real_scheduler_answers_the_check(cluster):
    on_dask.check_scheduler_answers(cluster.scheduler_address, connect_timeout=5, answer_timeout=5)


@pytest.fixture
def cluster():
    """One forked single-threaded worker (a spawned one would import for ~10 s before its first task)."""
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork",
                          "distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                     dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL) as cluster:
        yield cluster


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _exit_process(_: int) -> None:
    os._exit(1)


def test_losing_every_worker_stops_after_the_stated_wait(cluster):
    """Before, the tasks waited for a worker for as long as the per-run limit allowed (up to 100 minutes)."""
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(1, timeout=30)
        gone = threading.Timer(1.0, cluster.scale, args=(0,))
        gone.start()
        start = time.monotonic()
        with pytest.raises(SweepError) as info:
            on_dask.run_on_dask(client, _sleep, [(30,), (30,)], lambda result: None, call_timeout=600,
                                lost_workers_wait=1.0)
        took = time.monotonic() - start
        gone.join()
    assert str(info.value) == (f"the Dask scheduler at {cluster.scheduler_address} lost every worker and none came "
                               "back within 1 s; the sweep was stopped")
    assert took < 20


def test_a_run_that_kills_its_workers_stops_the_sweep_in_one_line(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(1, timeout=30)
        results = []
        with pytest.raises(SweepError, match=r"^a run killed every Dask worker that tried it \(KilledWorker: .*\); "
                                             r"the sweep was stopped$"):
            on_dask.run_on_dask(client, _exit_process, [(1,)], results.append, call_timeout=600,
                                lost_workers_wait=60)
    assert results == []


def test_results_arrive_and_a_caller_that_cancels_leaves_nothing_running(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(1, timeout=30)
        results = []
        on_dask.run_on_dask(client, _sleep, [(0.01,), (0.02,)], results.append, call_timeout=60)
        assert sorted(results) == [0.01, 0.02]

        def cancel(result: float) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            on_dask.run_on_dask(client, _sleep, [(0.01,)] + [(5,)] * 3, cancel, call_timeout=60)
        deadline = time.monotonic() + 10
        while client.processing() and any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(client.processing().values())


def test_no_result_for_the_call_limit_is_a_timeout(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(1, timeout=30)
        with pytest.raises(TimeoutError):
            on_dask.run_on_dask(client, _sleep, [(30,)], lambda result: None, call_timeout=0.5)
