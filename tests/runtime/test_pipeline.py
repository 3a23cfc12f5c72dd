"""`ptmscope run` end to end over a replayed Hub and GitHub and local git repositories: a month's
increment touches only what changed, a killed run resumes to what a clean run stores, and a Dask
cluster on PostgreSQL stores what the local run stores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ptmscope.config import HttpSettings, Settings
from ptmscope.runtime.pipeline import Pipeline, PipelineResult
from ptmscope.runtime.plan import load_plan
from ptmscope.store import Store, open_store, schema
from tests.runtime.world import NEW_MODELS, World, build, serving

M, R, U, F, S = schema.model, schema.repository, schema.usage, schema.finding, schema.scan
CM, LC, MS, V = schema.card_metadata, schema.license_check, schema.model_snapshot, schema.model_file_verdict


def run_pipeline(world: World, data_dir: Path, db_url: str, *, dask: str | None = None) -> PipelineResult:
    data_dir.mkdir(parents=True, exist_ok=True)
    plan = load_plan(world.plan(data_dir / "plan.toml", dask=dask))
    settings = Settings(data_dir=data_dir, db_url=db_url, git_base=world.remotes.as_uri(),
                        http=HttpSettings(timeout=30, max_retries=2, backoff_base=0.01))
    store = open_store(db_url)
    result = Pipeline(store, settings, plan, progress=lambda _label, _total: lambda _n: None,
                      say=lambda _line: None).run()
    assert result.ok, [(s.stage, s.error) for s in result.stages if s.status == "failed"]
    return result


def counts(result: PipelineResult) -> dict[str, dict[str, Any]]:
    return {s.stage: s.counts for s in result.stages}


def projection(store: Store) -> dict[str, set[tuple[Any, ...]]]:
    """What the stages concluded, without ids, timestamps or local paths: equal for equal runs."""
    repo = (R.c.owner + "/" + R.c.name).label("repo")
    queries = {
        "models": select(M.c.hub, M.c.model_id, M.c.sha, M.c.deleted),
        "repositories": select(repo, R.c.cloned_sha, R.c.clone_status, R.c.license_spdx),
        "usage": select(repo, U.c.path, U.c.line, U.c.model_name, U.c.pinned, U.c.trust_remote_code)
        .join(R, R.c.id == U.c.repository),
        "findings": select(repo, F.c.rule_id, F.c.path, F.c.line, F.c.severity)
        .join(S, S.c.id == F.c.scan).join(R, R.c.id == S.c.repository),
        "cards": select(M.c.model_id, CM.c.field, CM.c.extractor).join(M, M.c.id == CM.c.model),
        "edges": select(M.c.model_id, schema.model_edge.c.parent_id, schema.model_edge.c.relation)
        .join(M, M.c.id == schema.model_edge.c.child),
        "licenses": select(LC.c.kind, M.c.model_id, LC.c.other_license, LC.c.verdict, LC.c.rule)
        .join(M, M.c.id == LC.c.model),
        "snapshots": select(M.c.model_id, MS.c.path, MS.c.sha256, MS.c.status, MS.c.format)
        .join(M, M.c.id == MS.c.model),
        "verdicts": select(V.c.sha256, V.c.scanner, V.c.outcome),
    }
    with store.engine.connect() as conn:
        return {name: {tuple(row) for row in conn.execute(query)} for name, query in queries.items()}


def test_a_month_later_only_what_changed_is_done(tmp_path: Path) -> None:
    world = build(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    with serving(world):
        first = counts(run_pipeline(world, tmp_path / "data", db_url))
        world.advance()
        second = counts(run_pipeline(world, tmp_path / "data", db_url))
    store = open_store(db_url)
    state = projection(store)
    print("second run:", {stage: {k: v for k, v in c.items() if v} for stage, c in second.items()})

    # Month 1 did every stage's work.
    assert first["clone"]["cloned"] == 9  # six projects and three forks of one of them
    assert first["scan"]["scanned"] == 9
    assert first["usage"]["call_sites"] >= 20
    assert first["snapshot"]["downloaded"] > 0
    assert first["licenses"]["model_app_incompatible"] == 1  # a non-commercial model in an MIT application
    assert (tmp_path / "data" / "report" / "report.html").is_file()

    # Month 2 touched only the month's changes: the new models, the repository with a new commit and
    # the new fork; everything else was up to date.
    assert second["huggingface"]["new"] == NEW_MODELS and second["huggingface"]["updated"] == 0
    assert (second["clone"]["cloned"], second["clone"]["updated"]) == (1, 1)
    assert second["scan"]["scanned"] == 2 and second["scan"]["up_to_date"] == 8
    assert second["usage"]["analysed"] == 2 and second["usage"]["up_to_date"] == 8
    assert second["cards"]["extracted"] <= NEW_MODELS
    assert second["snapshot"]["downloaded"] == 0
    # The new commit pins its model; the new fork's call sites are there.
    assert ("acme-ml/review-sentiment", "train.py", 3, "google-bert/bert-base-cased", True, False) in state["usage"]
    assert any(row[0] == "dave-ai/tinynets" for row in state["usage"])


def _wait_for_stage(db: Path, stages: set[str], proc: subprocess.Popen[bytes], timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        if db.exists():
            try:
                store = open_store(f"sqlite:///{db}", migrate=False)
                with store.engine.connect() as conn:
                    running = conn.execute(select(schema.run.c.stage).where(
                        schema.run.c.status == "running", schema.run.c.stage.in_(stages))).scalars().first()
                store.engine.dispose()
            except Exception:  # the store may be mid-migration when first polled
                running = None
            if running:
                return running
        time.sleep(0.05)
    raise AssertionError(f"no stage of {stages} started")


def test_a_killed_run_resumes_to_what_a_clean_run_stores(tmp_path: Path) -> None:
    world = build(tmp_path)
    with serving(world):
        clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
        run_pipeline(world, tmp_path / "clean", clean_url)

        killed = tmp_path / "killed"
        killed.mkdir()
        db = killed / "store.db"
        plan = world.plan(killed / "plan.toml")
        env = {**os.environ, "PTMSCOPE_GIT_BASE": world.remotes.as_uri(), "PTMSCOPE_HTTP_BACKOFF": "0.01"}
        proc = subprocess.Popen([sys.executable, "-m", "ptmscope.cli.main", "-q", "--db", f"sqlite:///{db}",
                                 "--data-dir", str(killed), "run", "--config", str(plan)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            stage = _wait_for_stage(db, {"scan", "usage", "cards"}, proc)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        resumed = run_pipeline(world, killed, f"sqlite:///{db}")
    store = open_store(f"sqlite:///{db}")
    with store.engine.connect() as conn:
        statuses = dict(conn.execute(select(schema.run.c.id, schema.run.c.status).where(
            schema.run.c.stage == "pipeline")).all())
    assert sorted(statuses.values()) == ["completed", "interrupted"], f"killed during {stage}"
    assert statuses[resumed.run_id] == "completed"
    assert projection(store) == projection(open_store(clean_url))


@pytest.mark.postgres
def test_a_dask_cluster_on_postgresql_stores_what_the_local_run_stores(tmp_path: Path, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the distributed run is the PostgreSQL half; the local half is the reference")
    world = build(tmp_path)
    with serving(world):
        local_url = f"sqlite:///{tmp_path / 'local.db'}"
        run_pipeline(world, tmp_path / "local", local_url)
        distributed = run_pipeline(world, tmp_path / "dask", db_url, dask="local")
    assert all(s.status == "completed" for s in distributed.stages)
    assert projection(open_store(db_url)) == projection(open_store(local_url))
