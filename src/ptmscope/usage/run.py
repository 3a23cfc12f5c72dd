"""``usage --all``: every cloned repository in the store, analysed on the process pool, written as
``usage`` rows, an analysis record per repository and ``downstream`` links.

A repository whose clone is at the commit of its stored analysis, analysed by the same analyzer version
(ptmscope's version and the catalogue's digest), is left as it is, so a re-run reads only what changed.
Workers read the clones and return plain reports; this process alone writes the store, one repository per
transaction, so a killed run keeps the repositories it finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..config import Settings
from ..github.clone import has_clone
from ..github.cloning import clone_path
from ..runtime.executors import Executor
from ..store import Store, schema
from ..store.db import utcnow
from ..store.usage import UsageRow, analysed, replace_repository_usage
from .analyzer import UsageReport, analyze_path
from .match import ModelMatcher
from .signatures import analyzer_version

STAGE = "usage"
R = schema.repository


@dataclass
class UsageSummary:
    run_id: int
    repositories: int = 0
    up_to_date: int = 0
    analysed: int = 0
    failed: int = 0
    files: int = 0
    call_sites: int = 0
    resolved: int = 0
    matched: int = 0
    links: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"repositories": self.repositories, "up_to_date": self.up_to_date, "analysed": self.analysed,
                "failed": self.failed, "files": self.files, "call_sites": self.call_sites,
                "resolved": self.resolved, "matched": self.matched, "links": self.links}

    def line(self) -> str:
        return (f"{self.analysed} repositories analysed ({self.up_to_date} up to date, {self.failed} failed): "
                f"{self.call_sites} call sites, {self.resolved} resolved, {self.matched} matched to stored models, "
                f"{self.links} downstream links")


@dataclass(frozen=True, slots=True)
class RepoTask:
    pk: int
    full_name: str
    root: str


def analyze_repository(task: RepoTask) -> tuple[RepoTask, UsageReport | None, str | None]:
    """Worker entry point: one clone's report, or why there is none."""
    root = Path(task.root)
    if not has_clone(root):
        return task, None, f"no finished clone to read at {root}"
    try:
        return task, analyze_path(root), None
    except OSError as exc:
        return task, None, f"cannot read the clone: {exc}"


def usage_all(store: Store, settings: Settings, executor: Executor | None = None,
              progress: Callable[[int], None] | None = None, *, force: bool = False) -> UsageSummary:
    """Analyse every cloned repository not analysed at its commit by this analyzer (all with ``force``)."""
    version = analyzer_version()
    run_id = store.start_run(STAGE, "clones", {"force": force, "executor": type(executor).__name__ if executor
                                               else None}, versions={"analyzer": version})
    summary = UsageSummary(run_id)
    with store.recording(run_id, summary.counts):
        with store.engine.connect() as conn:
            repos = conn.execute(select(R.c.id, R.c.owner, R.c.name, R.c.clone_path, R.c.cloned_sha).where(
                R.c.clone_status == "cloned", R.c.clone_path.is_not(None)).order_by(R.c.id)).all()
            done = analysed(conn, [r.id for r in repos])
            matcher = ModelMatcher(conn)
        summary.repositories = len(repos)
        commits: dict[int, str | None] = {}
        tasks: list[RepoTask] = []
        for row in repos:
            if not force and done.get(row.id) == (row.cloned_sha, version):
                summary.up_to_date += 1
                if progress:
                    progress(1)
                continue
            commits[row.id] = row.cloned_sha
            tasks.append(RepoTask(row.id, f"{row.owner}/{row.name}", str(clone_path(settings, row.clone_path))))
        results = executor.map(analyze_repository, tasks) if executor is not None else map(analyze_repository, tasks)
        for task, report, problem in results:
            if report is None:
                summary.failed += 1
                summary.problems.append((task.full_name, problem or "failed"))
                store.record_failure(run_id, STAGE, task.full_name, problem or "failed")
            else:
                _write(store, matcher, task, commits[task.pk], report, version, summary)
            if progress:
                progress(1)
    return summary


def _write(store: Store, matcher: ModelMatcher, task: RepoTask, commit: str | None, report: UsageReport,
           version: str, summary: UsageSummary) -> None:
    rows: list[UsageRow] = []
    for u in report.usages:
        pk = matcher.match(u.hub, u.model) if u.model else None
        rows.append(UsageRow(u.path, u.cell, u.line, u.library, u.call, u.model, pk, u.expression or None, u.resolved,
                             u.revision, u.pinned, u.trust_remote_code, u.use_safetensors, u.confidence,
                             u.kind, u.local_path))
    with store.engine.begin() as conn:
        links = replace_repository_usage(conn, task.pk, commit, rows, analyzer_version=version, files=report.files,
                                         skipped=report.skipped, now=utcnow())
    summary.analysed += 1
    summary.files += report.files
    summary.call_sites += len(rows)
    summary.resolved += sum(r.resolved for r in rows)
    summary.matched += sum(r.model is not None for r in rows)
    summary.links += links


def summary_document(summary: UsageSummary) -> dict[str, Any]:
    return {"run_id": summary.run_id, **summary.counts(),
            "problems": [{"repository": n, "reason": r} for n, r in summary.problems]}
