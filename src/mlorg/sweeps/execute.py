"""Running many (scenario, replication) pairs: in this process, on a local process pool, or on Dask.

Replication r of every scenario uses the same seed and the same named random streams (common random
numbers), and each run's metrics depend only on (scenario, seed, r), so the rows are the same whichever
backend runs them and however many workers it has. Runs travel in chunks of one scenario's replications,
so a fast run does not pay a task's overhead on its own.

A Dask cluster is checked before anything is sent to it: the scheduler must answer, it must have workers,
and every worker must import mlorg at this process's version. Without that check a worker that cannot
unpickle a task dies and the task waits forever.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import math
import multiprocessing
import re
import time
import types
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mlorg import __version__
from mlorg.results import metrics, to_frames
from mlorg.scenario import Scenario
from mlorg.sim import run_once
from mlorg.sweeps.grid import SweepError

BACKENDS = ("process", "serial", "dask")
DEFAULT_TIMEOUT_S = 600.0  # longest one run may take on a pool or cluster before the sweep stops
CONNECT_TIMEOUT_S = 10.0  # to reach a Dask scheduler and find a worker there
# For every worker to answer the version check; a fresh worker imports the simulator's dependencies first,
# which takes a few seconds on a quiet machine and many more on a loaded one.
PROBE_TIMEOUT_S = 60.0
SCHEDULER_ADDRESS = re.compile(r"((tcp|tls|ws|wss|ucx)://)?[\w.\-\[\]:]+:\d{1,5}")  # host:port, maybe a scheme
MAX_WORKERS = 1024
MAX_CHUNK_RUNS = 10  # a chunk of ~10 runs costs 0.5–5 s: long enough to hide overhead, short enough to balance
CHUNKS_PER_WORKER = 8

Progress = Callable[[int, int], None]
Row = tuple[int, int, dict[str, float]]  # (scenario index, replication, metrics)


def run_chunk(scenario: Scenario, index: int, seed: int, replications: Sequence[int]) -> list[Row]:
    """Run some replications of one (already validated) scenario; the unit of work sent to a worker."""
    return [(index, r, metrics(to_frames(run_once(scenario, seed, r)))) for r in replications]


def run_all(scenarios: Sequence[Scenario], replications: int, seed: int, *, backend: str = "process",
            workers: int | None = None, scheduler: Any = None, progress: Progress | None = None,
            timeout: float = DEFAULT_TIMEOUT_S, connect_timeout: float | None = None) -> list[Row]:
    """Replications 0 … n-1 of every scenario, as rows sorted by (scenario index, replication).

    ``progress(done, total)`` is called as runs finish; an exception it raises stops the sweep (that is how
    a caller cancels) and reaches the caller. On a pool or cluster each run may take ``timeout`` seconds.
    """
    connect_timeout = CONNECT_TIMEOUT_S if connect_timeout is None else connect_timeout  # read when called
    check_execution(backend, workers, scheduler, timeout)
    total = len(scenarios) * replications
    if backend == "serial" or (backend == "process" and (workers or _cpu_count()) == 1):
        rows = _run_serial(scenarios, replications, seed, progress)  # a pool of one is this process, minus pickling
    elif backend == "process":
        n_workers = workers or _cpu_count()
        with _joblib("loky", n_jobs=n_workers):
            rows = _run_parallel(scenarios, replications, seed, n_workers, progress, timeout)
    else:
        with dask_client(scheduler, workers, connect_timeout) as client:
            check_workers(client, connect_timeout, PROBE_TIMEOUT_S)
            n_workers = sum(client.nthreads().values())
            with _joblib("dask", client=client, wait_for_workers_timeout=connect_timeout):
                rows = _run_parallel(scenarios, replications, seed, n_workers, progress, timeout)
    if len(rows) != total:  # a backend that dropped runs silently would bias every figure
        raise SweepError(f"the {backend} backend returned {len(rows)} runs of {total}")
    return sorted(rows, key=lambda row: (row[0], row[1]))


def check_execution(backend: str, workers: int | None, scheduler: Any, timeout: float) -> None:
    if backend == "ray":
        raise SweepError("backend: 'ray' is not supported; must be one of process, serial, dask (joblib's Ray "
                         "backend may work through joblib.parallel_config but is untested)")
    if backend not in BACKENDS:
        raise SweepError(f"backend: {backend!r} is not allowed; must be one of {', '.join(BACKENDS)}")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool)
                                or not 1 <= workers <= MAX_WORKERS):
        raise SweepError(f"workers: {workers!r} is not allowed; must be an integer >= 1 and <= {MAX_WORKERS}")
    if scheduler is not None and backend != "dask":
        raise SweepError(f"scheduler: only the dask backend uses a scheduler (backend is {backend!r})")
    if not (isinstance(timeout, int | float) and timeout > 0 and math.isfinite(timeout)):
        raise SweepError(f"timeout: {timeout!r} is not allowed; must be a number of seconds > 0")


def _cpu_count() -> int:
    import joblib

    return max(1, joblib.cpu_count())


def _run_serial(scenarios: Sequence[Scenario], replications: int, seed: int, progress: Progress | None) -> list[Row]:
    rows, total = [], len(scenarios) * replications
    for index, scenario in enumerate(scenarios):
        for r in range(replications):
            rows.extend(run_chunk(scenario, index, seed, (r,)))
            if progress is not None:
                progress(len(rows), total)
    return rows


def chunks(n_scenarios: int, replications: int, n_workers: int) -> list[tuple[int, tuple[int, ...]]]:
    """(scenario index, replications) pieces: about CHUNKS_PER_WORKER per worker, at most MAX_CHUNK_RUNS runs."""
    total = n_scenarios * replications
    size = max(1, min(MAX_CHUNK_RUNS, total // (CHUNKS_PER_WORKER * n_workers)))
    return [(index, tuple(range(start, min(start + size, replications))))
            for index in range(n_scenarios) for start in range(0, replications, size)]


def _run_parallel(scenarios: Sequence[Scenario], replications: int, seed: int, n_workers: int,
                  progress: Progress | None, timeout: float) -> list[Row]:
    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    pieces = chunks(len(scenarios), replications, n_workers)
    longest = max(len(reps) for _, reps in pieces)
    total = len(scenarios) * replications
    # One chunk per joblib batch, so the timeout is per chunk: the per-run limit times its runs.
    parallel = Parallel(batch_size=1, return_as="generator_unordered", timeout=timeout * longest)
    results = parallel(delayed(run_chunk)(scenarios[index], index, seed, reps) for index, reps in pieces)
    rows: list[Row] = []
    try:
        for chunk_rows in results:
            rows.extend(chunk_rows)
            if progress is not None:
                progress(len(rows), total)
    except (TimeoutError, multiprocessing.TimeoutError):  # joblib raises either, depending on the backend
        raise SweepError(f"a chunk of {longest} runs took longer than {timeout * longest:g} s (the limit is "
                         f"{timeout:g} s a run); the sweep was stopped") from None
    except TerminatedWorkerError as exc:
        raise SweepError(f"a worker process died during the sweep ({str(exc).splitlines()[0]})") from None
    finally:
        with warnings.catch_warnings():  # joblib warns that it cancelled tasks: that is what closing is for
            warnings.simplefilter("ignore", UserWarning)
            results.close()  # a caller that cancels through progress leaves no task running
    return rows


@contextlib.contextmanager
def _joblib(backend: str, **params: Any) -> Iterator[None]:
    from joblib import parallel_config

    with parallel_config(backend=backend, **params):
        yield


# ------------------------------------------------------------------------------------------------- Dask

@contextlib.contextmanager
def dask_client(scheduler: Any, workers: int | None, connect_timeout: float) -> Iterator[Any]:
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
                Client(cluster, set_as_default=False) as client:
            yield client
        return
    if not isinstance(scheduler, str) or not SCHEDULER_ADDRESS.fullmatch(scheduler):
        # Checked before a Client exists: a Client that failed to connect still times out closing itself at exit.
        raise SweepError(f"scheduler: {scheduler!r} is not allowed; must be an address such as tcp://host:8786, "
                         "'local', a cluster or a distributed.Client")
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler} ({reason})") from None
    except Exception as exc:  # something answered, but not as a Dask scheduler does (garbage can even ask for EiB)
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: what answers there is not a Dask "
                         f"scheduler ({type(exc).__name__})") from None
    with client:
        yield client


def check_workers(client: Any, connect_timeout: float, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Fail in one line unless the scheduler has workers (within ``connect_timeout``) and every worker
    imports this mlorg at this version (answering within ``timeout``)."""
    address = getattr(client.scheduler, "address", "the scheduler")
    try:
        client.wait_for_workers(1, timeout=connect_timeout)
    except TimeoutError:
        raise SweepError(f"the Dask scheduler at {address} has no workers (waited {connect_timeout:g} s)") from None
    workers = sorted(client.nthreads())
    probe, token = _by_value(_version_probe), uuid.uuid4().hex
    futures = [client.submit(probe, pure=False, workers=[w], allow_other_workers=False, key=f"mlorg-probe-{w}-{token}")
               for w in workers]
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


def _first_line(exc: BaseException | None) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "no answer"
    return text.splitlines()[0]


def _version_probe() -> tuple[str, str]:
    """Runs on a worker: import what a sweep task needs, and report the version."""
    try:
        import mlorg
        import mlorg.sweeps.execute  # noqa: F401 — the module of the task function, with all its imports
    except BaseException as exc:  # any failure to import is the answer, not a crash
        return ("error", f"{type(exc).__name__}: {exc}".splitlines()[0])
    return ("ok", str(getattr(mlorg, "__version__", "unknown")))


def _by_value(function: Callable) -> Callable:
    """A copy of ``function`` that pickles by value: a function of an importable module is pickled by
    reference, and a worker without mlorg would fail to unpickle the very probe meant to find that out."""
    namespace = {"__builtins__": builtins, "__name__": "mlorg_probe"}
    return types.FunctionType(function.__code__, namespace, function.__name__)
