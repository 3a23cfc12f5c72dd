"""The code repositories per perspective they were found through (MLOSS collection paper §4.2): how many,
how many were fetched, cloned and scanned, and the community around them (stars, forks, open issues).

As in Table 6, a repository counts in every perspective it was found through, and once in the total.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from ..scan.run import current_scans
from ..store import Store, schema
from .vulns import NONE, PERSPECTIVES, TOTAL

R = schema.repository
RS = schema.repo_source
S = schema.scan


@dataclass(frozen=True)
class PerspectiveRow:
    perspective: str  # a perspective, NONE, or TOTAL
    repositories: int
    fetched: int  # metadata read from the host (status ok)
    cloned: int
    scanned: int  # with at least one current scan
    forks_of_others: int  # repositories that are themselves forks
    stars: int
    forks: int
    open_issues: int


@dataclass(frozen=True)
class _Repo:
    fetched: bool
    cloned: bool
    is_fork: bool
    stars: int
    forks: int
    open_issues: int


def _row(name: str, pks: set[int], repos: dict[int, _Repo], scanned: set[int]) -> PerspectiveRow:
    rows = [repos[pk] for pk in pks]
    return PerspectiveRow(name, len(rows), sum(r.fetched for r in rows), sum(r.cloned for r in rows),
                          len(pks & scanned), sum(r.is_fork for r in rows), sum(r.stars for r in rows),
                          sum(r.forks for r in rows), sum(r.open_issues for r in rows))


def repository_summary(store: Store) -> list[PerspectiveRow]:
    with store.engine.connect() as conn:
        repos = {row.id: _Repo(row.status == "ok", row.clone_status == "cloned", bool(row.is_fork), row.stars or 0,
                               row.forks or 0, row.open_issues or 0)
                 for row in conn.execute(select(R.c.id, R.c.status, R.c.clone_status, R.c.is_fork, R.c.stars,
                                                R.c.forks, R.c.open_issues))}
        groups: dict[str, set[int]] = defaultdict(set)
        for pk, perspective in conn.execute(select(RS.c.repository, RS.c.perspective)):
            groups[perspective].add(pk)
        scanned = set(conn.execute(select(S.c.repository).distinct().where(S.c.id.in_(current_scans()))).scalars())
    if not repos:
        return []
    order = [p for p in PERSPECTIVES if p in groups] + sorted(set(groups) - set(PERSPECTIVES))
    rows = [_row(p, groups[p], repos, scanned) for p in order]
    unsourced = set(repos) - set().union(*groups.values())
    if unsourced:
        rows.append(_row(NONE, unsourced, repos, scanned))
    rows.append(_row(TOTAL, set(repos), repos, scanned))
    return rows
