"""Cloning the stored repositories: concurrently, incrementally, never stopped by one repository.

A run asks each remote for its HEAD first (one cheap round trip) and downloads only when it moved
from the stored ``cloned_sha``. git works in a bounded thread pool; results are written by the
calling thread, one transaction per repository, so a killed run keeps everything it finished and a
re-run redoes only the rest.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import __version__
from ..config import Settings
from ..runtime.executors import Executor
from ..store import Store
from ..store.clones import CloneTarget, add_pending, record_clone, select_targets
from ..store.db import utcnow
from .clone import (
    CloneLimits,
    CloneResult,
    clone_repo,
    clone_url,
    git_version,
    has_clone,
    redact,
    remote_head,
    repo_dir,
    update_repo,
)

log = logging.getLogger(__name__)

STAGE = "clone"
HOST = "github.com"
Progress = Callable[[int], None]


@dataclass
class CloneSummary:
    run_id: int
    cloned: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    partial: int = 0  # of those cloned or updated, how many have files left out
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (owner/name, status, reason)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("cloned", "updated", "unchanged", "skipped", "failed", "partial")}

    def line(self) -> str:
        return (f"clone: {self.cloned} cloned, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.skipped} skipped, {self.failed} failed"
                + (f" ({self.partial} with files left out)" if self.partial else ""))


@dataclass(frozen=True)
class _Outcome:
    action: str  # cloned / updated / unchanged / failed
    result: CloneResult | None = None
    error: str | None = None
    on_disk: bool = False


def _clone_one(target: CloneTarget, settings: Settings, depth: int, limits: CloneLimits, force: bool) -> _Outcome:
    dest: Path | None = None
    try:
        dest = repo_dir(settings.repos_dir, target.host, target.owner, target.name)
        url = clone_url(settings.git_base, target.owner, target.name)
        on_disk = has_clone(dest)
        head = remote_head(url, timeout=limits.timeout)
        if head is None:
            shutil.rmtree(dest, ignore_errors=True)
            return _Outcome("cloned", CloneResult("skipped", reason="the remote repository has no commits"))
        kept = target.clone_status == "skipped" or (on_disk and target.clone_status in ("cloned", "partial"))
        if not force and kept and head == target.cloned_sha:
            return _Outcome("unchanged")
        if on_disk and not force:
            action, result = "updated", update_repo(url, dest, depth=depth, limits=limits)
        else:
            action, result = "cloned", clone_repo(url, dest, depth=depth, limits=limits)
        # A repository skipped before its commit was known (its download alone was too large).
        result.sha = result.sha or head
        return _Outcome(action, result)
    except Exception as exc:  # one repository never stops a run; its reason is recorded
        log.debug("cloning %s failed", target.full_name, exc_info=True)
        return _Outcome("failed", error=str(exc) or type(exc).__name__,
                        on_disk=dest is not None and has_clone(dest))


@dataclass(frozen=True)
class CloneTask:
    """One repository to clone on an executor's worker (plain values: it may travel to a Dask worker,
    which needs the data directory on a filesystem it shares with the driver)."""

    target: CloneTarget
    settings: Settings
    depth: int
    limits: CloneLimits
    force: bool


def clone_task(task: CloneTask) -> tuple[CloneTarget, _Outcome]:
    return task.target, _clone_one(task.target, task.settings, task.depth, task.limits, task.force)


def _record(store: Store, settings: Settings, run_id: int, target: CloneTarget, outcome: _Outcome,
            summary: CloneSummary) -> None:
    if outcome.action == "unchanged":
        summary.unchanged += 1
        return
    if outcome.action == "failed":
        summary.failed += 1
        reason = outcome.error or "unknown error"
        summary.problems.append((target.full_name, "failed", reason))
        store.record_failure(run_id, STAGE, target.full_name, reason)
        if not outcome.on_disk:  # an existing clone stays as it was, and so does its row
            with store.engine.begin() as conn:
                record_clone(conn, target.pk, status="failed", at=utcnow(), reason=reason)
        return
    result = outcome.result
    assert result is not None
    notes = result.notes()
    if result.status == "skipped":
        summary.skipped += 1
        summary.problems.append((target.full_name, "skipped", notes or ""))
        with store.engine.begin() as conn:
            record_clone(conn, target.pk, status="skipped", at=utcnow(), sha=result.sha, reason=notes)
        return
    setattr(summary, outcome.action, getattr(summary, outcome.action) + 1)
    if result.status == "partial":
        summary.partial += 1
        summary.problems.append((target.full_name, "partial", notes or ""))
    assert result.path is not None
    with store.engine.begin() as conn:
        record_clone(conn, target.pk, status=result.status, at=utcnow(),
                     path=result.path.relative_to(settings.repos_dir).as_posix(), sha=result.sha, reason=notes,
                     files=result.file_count, size=result.byte_count)


def clone_all(store: Store, settings: Settings, *, names: Sequence[tuple[str, str]] | None = None, depth: int = 1,
              workers: int = 4, limits: CloneLimits | None = None, force: bool = False,
              progress: Progress | None = None, executor: Executor | None = None) -> CloneSummary:
    """Clone or update the named ``(owner, name)`` repositories (added as pending when the store has
    not heard of them), or every repository with status ok or pending. ``force`` clones afresh even
    when nothing changed upstream."""
    limits = limits or CloneLimits()
    with store.engine.begin() as conn:
        if names is not None:
            add_pending(conn, HOST, names)
        targets = select_targets(conn, HOST, names)
    params = {"names": [f"{o}/{n}" for o, n in names] if names is not None else None, "depth": depth,
              "workers": workers, "force": force, "git_base": redact(settings.git_base), "limits": asdict(limits)}
    run_id = store.start_run(STAGE, redact(settings.git_base), params,
                             versions={"ptmscope": __version__, "git": git_version()})
    summary = CloneSummary(run_id)

    def finish(future: Future[_Outcome]) -> None:
        _record(store, settings, run_id, pending.pop(future), future.result(), summary)
        if progress:
            progress(1)

    if executor is not None:
        # Spread over the executor's workers (a Dask cluster); the driver alone records the outcomes.
        with store.recording(run_id, summary.counts):
            tasks = (CloneTask(target, settings, depth, limits, force) for target in targets)
            for target, outcome in executor.map(clone_task, tasks):
                _record(store, settings, run_id, target, outcome, summary)
                if progress:
                    progress(1)
        return summary

    pending: dict[Future[_Outcome], CloneTarget] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clone")
    with store.recording(run_id, summary.counts):
        try:
            for target in targets:
                pending[pool.submit(_clone_one, target, settings, depth, limits, force)] = target
                # A bounded window of submissions: a run over many repositories holds few futures at a time.
                if len(pending) >= 2 * workers:
                    for future in wait(pending, return_when=FIRST_COMPLETED).done:
                        finish(future)
            for future in as_completed(list(pending)):
                finish(future)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return summary


def clone_path(settings: Settings, stored: str) -> Path:
    """The directory of a clone from its stored (``repos_dir``-relative) ``clone_path``."""
    return settings.repos_dir / stored
