"""What the store holds, in key numbers, and the runs of each stage: the report's header and report.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from ..scan.run import current_scans, severity_counts
from ..store import Store, schema
from .common import hub_order
from .licenses import VERDICTS

M = schema.model
R = schema.repository
RUN = schema.run


@dataclass(frozen=True)
class StageRuns:
    stage: str
    runs: int
    completed: int
    failed: int  # failed or interrupted
    last_started: datetime | None
    last_finished: datetime | None
    last_status: str | None
    failures: int  # items recorded as not handled, over all runs of the stage


@dataclass
class Overview:
    database: str  # URL without password
    models: dict[str, int] = field(default_factory=dict)  # per hub, deleted excluded
    deleted_models: int = 0
    model_edges: int = 0
    card_models: int = 0  # models with extracted card metadata
    papers: int = 0
    repositories: int = 0
    repositories_cloned: int = 0
    repositories_scanned: int = 0
    links: dict[str, int] = field(default_factory=dict)  # per kind
    findings: dict[str, int] = field(default_factory=dict)  # per severity, current scans
    usage_call_sites: int = 0
    usage_repositories: int = 0
    license_pairs: dict[str, int] = field(default_factory=dict)  # model→application pairs per verdict
    stages: list[StageRuns] = field(default_factory=list)
    first_run: datetime | None = None
    last_run: datetime | None = None

    @property
    def total_models(self) -> int:
        return sum(self.models.values())


def _count(conn: Connection, query: Select[Any]) -> int:
    return int(conn.execute(query).scalar_one() or 0)


def overview(store: Store) -> Overview:
    out = Overview(store.engine.url.render_as_string(hide_password=True))
    with store.engine.connect() as conn:
        per_hub: dict[str, int] = dict(conn.execute(select(M.c.hub, func.count()).where(M.c.deleted.is_(False))
                                    .group_by(M.c.hub)).all())
        out.models = {hub: int(per_hub[hub]) for hub in hub_order(per_hub)}
        out.deleted_models = _count(conn, select(func.count()).where(M.c.deleted.is_(True)))
        out.model_edges = _count(conn, select(func.count()).select_from(schema.model_edge))
        out.card_models = _count(conn, select(func.count(schema.card_metadata.c.model.distinct())))
        out.papers = _count(conn, select(func.count()).select_from(schema.paper))
        out.repositories = _count(conn, select(func.count()).select_from(R))
        out.repositories_cloned = _count(conn, select(func.count()).where(R.c.clone_status == "cloned"))
        out.repositories_scanned = _count(conn, select(func.count(schema.scan.c.repository.distinct())).where(
            schema.scan.c.id.in_(current_scans())))
        lk = schema.link
        out.links = {kind: int(n) for kind, n in conn.execute(
            select(lk.c.kind, func.count()).group_by(lk.c.kind).order_by(lk.c.kind))}
        u = schema.usage
        out.usage_call_sites = _count(conn, select(func.count()).select_from(u))
        out.usage_repositories = _count(conn, select(func.count(u.c.repository.distinct())))
        lc = schema.license_check
        verdicts: dict[str, int] = dict(conn.execute(select(lc.c.verdict, func.count()).where(lc.c.kind == "model_app")
                                     .group_by(lc.c.verdict)).all())
        out.license_pairs = {v: int(verdicts.get(v, 0)) for v in VERDICTS} | {
            v: int(n) for v, n in verdicts.items() if v not in VERDICTS}
        fl = schema.failure
        failures: dict[str, int] = dict(conn.execute(select(fl.c.stage, func.count()).group_by(fl.c.stage)).all())
        runs = conn.execute(select(RUN.c.stage, RUN.c.status, RUN.c.started_at, RUN.c.finished_at)
                            .order_by(RUN.c.started_at, RUN.c.id)).all()
    out.findings = severity_counts(store)
    by_stage: dict[str, list[tuple[str, datetime, datetime | None]]] = {}
    for stage, status, started, finished in runs:
        by_stage.setdefault(stage, []).append((status, started, finished))
    for stage, rows in by_stage.items():
        last = rows[-1]
        out.stages.append(StageRuns(stage, len(rows), sum(s == "completed" for s, _, _ in rows),
                                    sum(s in ("failed", "interrupted") for s, _, _ in rows), last[1], last[2],
                                    last[0], int(failures.get(stage, 0))))
    if runs:
        out.first_run = runs[0].started_at
        out.last_run = max((r.finished_at or r.started_at) for r in runs)
    return out
