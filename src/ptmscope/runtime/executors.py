"""Where independent work runs: a local process pool, or a Dask distributed cluster.

Work is handed out as ``map(fn, items)``; ``fn`` is a module-level function and items and results are
plain picklable values, so the same call runs in a local pool or on cluster workers unchanged. Results
come back to the calling process, which alone writes the store: one writer means no write contention
(SQLite allows one writer at a time) and no database credentials or connections on the workers, and a
killed run loses only the tasks in flight.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice
from types import TracebackType
from typing import Any, TypeVar

from ..errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

# Tasks submitted ahead of the results taken, per worker: enough to keep every worker busy while the
# caller handles a result, few enough that a long run holds a bounded number of items and results.
_AHEAD = 2


class Executor(ABC):
    """Runs ``fn`` over items on ``workers`` parallel workers."""

    workers: int

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn(item)`` for every item, yielded as each finishes (not in item order); an exception
        raised by ``fn`` is raised here."""

    def close(self) -> None:  # noqa: B027 - executors without resources have nothing to release
        """Release workers; the executor cannot be used afterwards."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class LocalExecutor(Executor):
    """A pool of ``workers`` processes on this machine (default: one per CPU).

    Processes are spawned, not forked: a forked child would share the parent's open database
    connections, and one garbage-collected there could close the parent's session. The pool starts on
    first use; a single item runs in this process, since a pool would add start-up time and no
    parallelism."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        items = list(items)
        if len(items) <= 1:
            yield from map(fn, items)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        pool = self._pool
        queue = iter(items)
        pending: set[Future[R]] = {pool.submit(fn, item) for item in islice(queue, _AHEAD * self.workers)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                for item in queue:
                    pending.add(pool.submit(fn, item))
                    break
                yield future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster: the scheduler at ``address`` (``tcp://host:8786``), or with
    ``"local"`` a LocalCluster started here (``workers`` single-threaded workers, processes unless
    ``processes=False``), which is closed again by :meth:`close`."""

    def __init__(self, address: str, *, workers: int | None = None, processes: bool = True,
                 timeout: float = 30.0) -> None:
        from distributed import Client, LocalCluster

        self._cluster: LocalCluster | None = None
        self._client: Client | None = None
        # distributed logs every worker's start and stop at INFO: noise on a command's standard error.
        logging.getLogger("distributed").setLevel(logging.WARNING)
        # distributed's constructors carry no annotations; hence the ignores.
        try:
            if address == "local":
                self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=max(1, workers or os.cpu_count() or 1), threads_per_worker=1, processes=processes,
                    # No dashboard, and the scheduler's own HTTP endpoint on a free local port, not 8787.
                    dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.WARNING)
                self._client = Client(self._cluster, timeout=timeout)  # type: ignore[no-untyped-call]
            else:
                self._client = Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
        except OSError as exc:  # distributed reports an unreachable scheduler as a timeout (an OSError)
            self.close()
            raise UsageError(f"--dask: cannot reach the Dask scheduler at {address}: {exc}") from exc
        self.workers = max(1, sum(self._client.nthreads().values()))  # type: ignore[no-untyped-call]

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        from distributed import as_completed

        client = self._client
        if client is None:
            raise RuntimeError("the executor is closed")
        queue = iter(items)
        # pure=False: equal items are still separate tasks (a scan may be repeated on purpose).
        running: Any = as_completed([client.submit(fn, item, pure=False)  # type: ignore[no-untyped-call]
                                     for item in islice(queue, _AHEAD * self.workers)])
        for future in running:
            for item in queue:
                running.add(client.submit(fn, item, pure=False))
                break
            result: R = future.result()
            future.release()
            yield result

    def close(self) -> None:
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
