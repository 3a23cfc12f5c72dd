"""Executors: a local process pool and a Dask LocalCluster run the same scan to the same store contents."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ptmscope.config import Settings
from ptmscope.runtime.executors import DaskExecutor, Executor, LocalExecutor
from ptmscope.scan.interface import ScanOutcome
from ptmscope.scan.run import scan_all, stored_outcome
from ptmscope.store import open_store, schema
from tests.scan.gitrepos import available_scanners, fork_family, register


@pytest.mark.parametrize("make", [lambda: LocalExecutor(2), lambda: DaskExecutor("local", workers=1,
                                                                                 processes=False)],
                         ids=["local", "dask"])
def test_map_yields_every_result_and_raises_what_a_task_raises(make: object) -> None:
    with make() as executor:  # type: ignore[operator]
        assert isinstance(executor, Executor)
        assert sorted(executor.map(int, [str(n) for n in range(25)])) == list(range(25))
        assert list(executor.map(int, [])) == []
        with pytest.raises(ValueError, match="invalid literal"):
            list(executor.map(int, ["1", "x", "2"]))


def test_local_executor_runs_a_single_item_in_process() -> None:
    executor = LocalExecutor(4)
    assert list(executor.map(int, ["7"])) == [7]
    assert executor._pool is None  # no processes were started for it
    executor.close()


def test_unreachable_scheduler_is_a_usage_error() -> None:
    from ptmscope.errors import UsageError

    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:1", timeout=1)


def _scan(settings: Settings, url: str, executor: Executor) -> tuple[dict[str, ScanOutcome], list[tuple[object, ...]]]:
    store = open_store(url)
    pks = register(store, settings.repos_dir, fork_family(settings.repos_dir, 3))
    scanners = available_scanners("bandit", "flawfinder")
    # Small batches, so that several tasks are in flight on the workers at once.
    summary = scan_all(store, settings, scanners, executor, batch_files=3)
    assert summary.invocations > len(scanners)
    with store.engine.connect() as conn:
        blob_results = sorted(tuple(row) for row in conn.execute(
            select(schema.blob.c.sha, schema.blob.c.kind, schema.blob_scan.c.scanner, schema.blob_scan.c.status,
                   schema.blob_scan.c.reason).join(schema.blob_scan, schema.blob_scan.c.blob == schema.blob.c.id)))
    return {name: stored_outcome(store, pk) for name, pk in pks.items()}, blob_results


def test_local_pool_and_dask_cluster_store_identical_results(tmp_path: Path, db_url: str,
                                                             request: pytest.FixtureRequest) -> None:
    if db_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path / 'other.db'}"
    else:
        other = request.getfixturevalue("postgres_server").create_database()
    with LocalExecutor(2) as local:
        by_pool = _scan(Settings(data_dir=tmp_path / "pool"), db_url, local)
    with DaskExecutor("local", workers=1, processes=False) as dask:
        by_dask = _scan(Settings(data_dir=tmp_path / "dask"), other, dask)
    assert by_dask == by_pool
    assert all(outcome.findings for outcome in by_pool[0].values())
