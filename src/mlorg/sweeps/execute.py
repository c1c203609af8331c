"""Running many (scenario, replication) pairs: in this process, on a local process pool, or on Dask.

Replication r of every scenario uses the same seed and the same named random streams (common random
numbers), and each run's metrics depend only on (scenario, seed, r), so the rows are the same whichever
backend runs them and however many workers it has. Runs travel in chunks of one scenario's replications,
so a fast run does not pay a task's overhead on its own.

On Dask (``on_dask``) the cluster is checked before anything is sent to it, and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mlorg.results import metrics, to_frames
from mlorg.scenario import Scenario
from mlorg.sim import run_once
from mlorg.sweeps.grid import SweepError
from mlorg.sweeps.on_dask import CONNECT_TIMEOUT_S, PROBE_TIMEOUT_S, check_workers, dask_client, run_on_dask

BACKENDS = ("process", "serial", "dask")
DEFAULT_TIMEOUT_S = 600.0  # longest one run may take on a pool or cluster before the sweep stops
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
            check_workers(client, connect_timeout, PROBE_TIMEOUT_S, task_module=run_chunk.__module__)
            rows = _run_on_dask(client, scenarios, replications, seed, progress, timeout)
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
        raise _too_long(longest, timeout) from None
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


def _run_on_dask(client: Any, scenarios: Sequence[Scenario], replications: int, seed: int,
                 progress: Progress | None, timeout: float) -> list[Row]:
    pieces = chunks(len(scenarios), replications, sum(client.nthreads().values()))
    longest = max(len(reps) for _, reps in pieces)
    total = len(scenarios) * replications
    rows: list[Row] = []

    def collect(chunk_rows: list[Row]) -> None:
        rows.extend(chunk_rows)
        if progress is not None:
            progress(len(rows), total)

    calls = [(scenarios[index], index, seed, reps) for index, reps in pieces]
    try:
        run_on_dask(client, run_chunk, calls, collect, call_timeout=timeout * longest)
    except TimeoutError:
        raise _too_long(longest, timeout) from None
    return rows


def _too_long(runs: int, timeout: float) -> SweepError:
    return SweepError(f"a chunk of {runs} runs took longer than {timeout * runs:g} s (the limit is {timeout:g} s a "
                      "run); the sweep was stopped")
