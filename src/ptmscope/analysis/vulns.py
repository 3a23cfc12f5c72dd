"""Vulnerability findings per perspective and severity (Table 6 of the MLOSS collection paper), and the
models linked to code with high-severity findings.

A repository counts in every perspective it was found through (``repo_source``), so the per-perspective
rows may add up to more than the total row, which counts each repository once. Only current scans
count: those at the repository's cloned commit, the latest per scanner.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..scan.interface import SEVERITIES
from ..scan.run import current_scans
from ..store import Store, schema

# The perspectives in the order the papers list them; any other follows, by name.
PERSPECTIVES = ("paper", "model_card", "hub_catalogue", "hf_org", "hf_org_fork", "github_search", "downstream", "user")
TOTAL = "total"
NONE = "(no perspective)"
HIGH = ("high", "critical")
S = schema.scan
F = schema.finding
R = schema.repository


@dataclass(frozen=True)
class VulnRow:
    group: str  # a perspective, NONE, or TOTAL
    repositories: int  # scanned repositories in the group
    with_findings: int
    findings: dict[str, int]  # per severity
    total: int

    def average(self, severity: str | None = None) -> float:
        """Findings per scanned repository (of one severity, or all)."""
        count = self.total if severity is None else self.findings[severity]
        return count / self.repositories if self.repositories else 0.0


@dataclass(frozen=True)
class LinkedModel:
    hub: str
    model: str
    repository: str  # owner/name
    high: int  # findings of severity high or critical in the repository
    kind: str  # of the link


@dataclass
class VulnTable:
    rows: list[VulnRow] = field(default_factory=list)
    models: list[LinkedModel] = field(default_factory=list)

    @property
    def models_at_risk(self) -> int:
        return len({(m.hub, m.model) for m in self.models})


def _row(group: str, repos: set[int], per_repo: dict[int, dict[str, int]]) -> VulnRow:
    findings = dict.fromkeys(SEVERITIES, 0)
    with_findings = 0
    for pk in repos:
        counts = per_repo.get(pk, {})
        with_findings += any(counts.values())
        for severity, n in counts.items():
            findings[severity] = findings.get(severity, 0) + n
    return VulnRow(group, len(repos), with_findings, findings, sum(findings.values()))


def vuln_table(store: Store) -> VulnTable:
    current = current_scans()
    with store.engine.connect() as conn:
        scanned = set(conn.execute(select(S.c.repository).distinct().where(S.c.id.in_(current))).scalars())
        per_repo: dict[int, dict[str, int]] = defaultdict(dict)
        for pk, severity, n in conn.execute(
                select(S.c.repository, F.c.severity, func.count()).join(S, S.c.id == F.c.scan)
                .where(S.c.id.in_(current)).group_by(S.c.repository, F.c.severity)):
            per_repo[pk][severity or "low"] = per_repo[pk].get(severity or "low", 0) + int(n)
        groups: dict[str, set[int]] = defaultdict(set)
        rs = schema.repo_source
        for pk, perspective in conn.execute(select(rs.c.repository, rs.c.perspective).where(
                rs.c.repository.in_(select(S.c.repository).where(S.c.id.in_(current))))):
            groups[perspective].add(pk)
        unsourced = scanned - set().union(*groups.values())
        m, lk = schema.model, schema.link
        at_risk = {pk for pk, counts in per_repo.items() if sum(counts.get(s, 0) for s in HIGH)}
        links = conn.execute(
            select(m.c.hub, m.c.model_id, R.c.owner, R.c.name, lk.c.repository, lk.c.kind).distinct()
            .join(lk, lk.c.model == m.c.id).join(R, R.c.id == lk.c.repository)
            .where(lk.c.repository.in_(sorted(at_risk)))
            .order_by(m.c.hub, m.c.model_id, R.c.owner, R.c.name, lk.c.kind)).all()
    order = [p for p in PERSPECTIVES if p in groups] + sorted(set(groups) - set(PERSPECTIVES))
    table = VulnTable([_row(p, groups[p], per_repo) for p in order])
    if unsourced:
        table.rows.append(_row(NONE, unsourced, per_repo))
    table.rows.append(_row(TOTAL, scanned, per_repo))
    seen: set[tuple[str, str, str]] = set()
    for hub, model_id, owner, name, pk, kind in links:
        key = (hub, model_id, f"{owner}/{name}")
        if key in seen:  # one model linked to one repository in several ways counts once
            continue
        seen.add(key)
        table.models.append(LinkedModel(hub, model_id, key[2], sum(per_repo[pk].get(s, 0) for s in HIGH), kind))
    table.models.sort(key=lambda x: (-x.high, x.hub, x.model, x.repository))
    return table
