"""Running calls on a Dask cluster with every wait bounded.

A cluster is checked before anything is sent to it: something at the address must answer as a Dask
scheduler within ``answer_timeout`` (distributed's own handshake waits for that answer without a limit, so a
port that accepts and stays silent would hang the client), it must have workers, and every worker must import
mlorg at this process's version (a worker that cannot unpickle a task dies, and the task waits forever).
While the calls run, a cluster that has lost every worker is given ``LOST_WORKERS_WAIT_S`` for one to come
back; a call with no result for ``call_timeout`` stops them all.

The defaults, stated once (each is a keyword argument too):

=====================  =====  ==========================================================================
``CONNECT_TIMEOUT_S``  10 s   to open a connection to the scheduler, and to find a worker there
``ANSWER_TIMEOUT_S``   10 s   for the scheduler to answer once connected
``PROBE_TIMEOUT_S``    60 s   for every worker to answer the version check (a fresh worker imports first)
``LOST_WORKERS_WAIT_S`` 60 s  for a worker to come back after the last one is lost
``HEARTBEAT_S``        5 s    between this client's heartbeats to the scheduler (Dask's default)
=====================  =====  ==========================================================================
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import logging
import re
import time
import types
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mlorg import __version__
from mlorg.sweeps.grid import SweepError

CONNECT_TIMEOUT_S = 10.0
ANSWER_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 60.0
LOST_WORKERS_WAIT_S = 60.0
HEARTBEAT_S = 5.0
POLL_S = 0.25  # how often a sweep looks for finished calls; its chunks take 0.5–5 s, so this costs nothing
SCHEDULER_ADDRESS = re.compile(r"((tcp|tls|ws|wss|ucx)://)?[\w.\-\[\]:]+:\d{1,5}")  # host:port, maybe a scheme


@contextlib.contextmanager
def dask_client(scheduler: Any, workers: int | None, connect_timeout: float,
                answer_timeout: float | None = None) -> Iterator[Any]:
    """A client to the cluster asked for: an existing ``distributed.Client``, a cluster object or a scheduler
    address, or ``None``/``"local"`` for a local cluster of ``workers`` (default 2) single-threaded processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepError("backend: dask needs the optional extra: pip install 'mlorg[dask]' "
                         "(or uv sync --extra dask)") from None
    if isinstance(scheduler, Client):
        yield scheduler  # the caller's: they close it
        return
    scheduler = getattr(scheduler, "scheduler_address", scheduler)  # a cluster object: connect to its scheduler
    if scheduler is None or scheduler == "local":
        with LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                          dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster, \
                Client(cluster, set_as_default=False, heartbeat_interval=HEARTBEAT_S * 1000) as client:
            yield client
        return
    if not isinstance(scheduler, str) or not SCHEDULER_ADDRESS.fullmatch(scheduler):
        # Checked before a Client exists: a Client that failed to connect still times out closing itself at exit.
        raise SweepError(f"scheduler: {scheduler!r} is not allowed; must be an address such as tcp://host:8786, "
                         "'local', a cluster or a distributed.Client")
    check_scheduler_answers(scheduler, connect_timeout, ANSWER_TIMEOUT_S if answer_timeout is None else answer_timeout)
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False,
                        heartbeat_interval=HEARTBEAT_S * 1000)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler} ({_reason(exc)})") from None
    except Exception as exc:  # something answered, but not as a Dask scheduler does (garbage can even ask for EiB)
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: what answers there is not a Dask "
                         f"scheduler ({type(exc).__name__})") from None
    with client:
        yield client


def check_scheduler_answers(address: str, connect_timeout: float, answer_timeout: float) -> None:
    """Fail in one line unless a Dask scheduler at ``address`` answers an identity request in time."""
    from distributed.comm import connect

    async def identify() -> Any:
        comm = await connect(address, timeout=connect_timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(identify(), connect_timeout + answer_timeout)

    # A loop of its own, in a thread of its own: the caller may already be inside one (a notebook, a server).
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mlorg-dask-probe") as pool:
        try:
            answer = pool.submit(asyncio.run, bounded()).result()
        except TimeoutError as exc:
            if str(exc):  # distributed's connect gives its reason; asyncio's own limit has none
                raise SweepError(f"cannot reach the Dask scheduler at {address} ({_reason(exc)})") from None
            raise SweepError(f"the Dask scheduler at {address} accepted a connection but did not answer within "
                             f"{connect_timeout + answer_timeout:g} s") from None
        except (OSError, ValueError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {address} ({_reason(exc)})") from None
        except Exception as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {address}: what answers there is not a Dask "
                             f"scheduler ({type(exc).__name__})") from None
    if not (isinstance(answer, dict) and answer.get("type") == "Scheduler"):
        raise SweepError(f"cannot reach the Dask scheduler at {address}: what answers there is not a Dask "
                         f"scheduler (it says it is {_kind(answer)})")


def check_workers(client: Any, connect_timeout: float, timeout: float = PROBE_TIMEOUT_S,
                  task_module: str = "mlorg") -> None:
    """Fail in one line unless the scheduler has workers (within ``connect_timeout``) and every worker
    imports ``task_module`` and this mlorg at this version (answering within ``timeout``)."""
    address = getattr(client.scheduler, "address", "the scheduler")
    try:
        client.wait_for_workers(1, timeout=connect_timeout)
    except TimeoutError:
        raise SweepError(f"the Dask scheduler at {address} has no workers (waited {connect_timeout:g} s)") from None
    workers = sorted(client.nthreads())
    probe, token = _by_value(_version_probe), uuid.uuid4().hex
    futures = [client.submit(probe, task_module, pure=False, workers=[w], allow_other_workers=False,
                             key=f"mlorg-probe-{w}-{token}") for w in workers]
    deadline = time.monotonic() + timeout
    answers, silent = [], 0
    for future in futures:
        try:
            answers.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
        except TimeoutError:
            silent += 1
        except Exception as exc:  # the probe could not even run there: that is the answer
            answers.append(("error", _first_line(exc)))
    if silent:
        client.cancel(futures)
        raise SweepError(f"{silent} of {len(workers)} Dask workers did not answer a version check within "
                         f"{timeout:g} s")
    _judge(answers, len(workers))


def run_on_dask(client: Any, function: Callable, calls: Sequence[tuple], on_result: Callable[[Any], None], *,
                call_timeout: float, lost_workers_wait: float | None = None) -> None:
    """``function(*call)`` for every call, each result handed to ``on_result`` as it arrives (in any order).

    Raises ``TimeoutError`` when no call has finished for ``call_timeout`` seconds while workers were there,
    and SweepError when the cluster has had no worker for ``lost_workers_wait`` seconds or a call killed the
    workers that ran it. An exception from ``on_result`` stops the calls and reaches the caller; no call is
    left running on the cluster."""
    from distributed import KilledWorker

    lost_workers_wait = LOST_WORKERS_WAIT_S if lost_workers_wait is None else lost_workers_wait  # read when called
    token = uuid.uuid4().hex
    pending = {client.submit(function, *call, pure=False, key=f"mlorg-run-{i}-{token}") for i, call in enumerate(calls)}
    address = getattr(client.scheduler, "address", "the scheduler")
    last_news = time.monotonic()  # the last result, or the last time workers came back
    lost_since: float | None = None
    try:
        while pending:
            finished = [future for future in pending if future.done()]
            for future in finished:
                pending.discard(future)
                try:
                    result = future.result()
                except KilledWorker as exc:
                    raise SweepError(f"a run killed every Dask worker that tried it ({_first_line(exc)}); the sweep "
                                     "was stopped") from None
                on_result(result)
            now = time.monotonic()
            if finished:
                last_news = now
                continue
            if _worker_count(client, address) == 0:
                lost_since = now if lost_since is None else lost_since
                if now - lost_since > lost_workers_wait:
                    raise SweepError(f"the Dask scheduler at {address} lost every worker and none came back within "
                                     f"{lost_workers_wait:g} s; the sweep was stopped")
            elif lost_since is not None:
                lost_since, last_news = None, now
            elif now - last_news > call_timeout:
                raise TimeoutError
            time.sleep(min(POLL_S, call_timeout / 4))
    finally:
        if pending:
            client.cancel(list(pending))


def _worker_count(client: Any, address: str) -> int:
    try:
        return len(client.nthreads(callback_timeout=CONNECT_TIMEOUT_S))
    except Exception as exc:  # the scheduler itself is gone or silent
        raise SweepError(f"lost the Dask scheduler at {address} during the sweep ({_reason(exc)})") from None


def _judge(answers: list[tuple[str, str]], n_workers: int) -> None:
    failed = [detail for status, detail in answers if status == "error"]
    if failed:
        raise SweepError(f"{len(failed)} of {n_workers} Dask workers cannot import mlorg ({failed[0]}); install "
                         f"mlorg {__version__} where the workers run")
    other = sorted({version for _, version in answers if version != __version__})
    if other:
        count = sum(version != __version__ for _, version in answers)
        raise SweepError(f"{count} of {n_workers} Dask workers run mlorg {', '.join(other)}, this process "
                         f"{__version__}; install the same version on every worker")


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _kind(answer: Any) -> str:
    kind = answer.get("type") if isinstance(answer, dict) else type(answer).__name__
    return repr(str(kind)[:40])


def _first_line(exc: BaseException | None) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "no answer"
    return text.splitlines()[0]


def _version_probe(task_module: str) -> tuple[str, str]:
    """Runs on a worker: import what a task needs (the module of its function, with all its imports), and report
    the version."""
    try:
        import importlib

        import mlorg
        importlib.import_module(task_module)
    except BaseException as exc:  # any failure to import is the answer, not a crash
        return ("error", f"{type(exc).__name__}: {exc}".splitlines()[0])
    return ("ok", str(getattr(mlorg, "__version__", "unknown")))


def _by_value(function: Callable) -> Callable:
    """A copy of ``function`` that pickles by value: a function of an importable module is pickled by
    reference, and a worker without mlorg would fail to unpickle the very probe meant to find that out."""
    namespace = {"__builtins__": builtins, "__name__": "mlorg_probe"}
    return types.FunctionType(function.__code__, namespace, function.__name__)
