"""Reading and writing repository rows: GitHub metadata, perspectives, renames, issues and commits.

A repository row is keyed by its case-insensitive ``full_name_lower`` and, once GitHub has been
asked, by ``github_id``, which survives renames and transfers. Rows the link stage creates before
GitHub is asked carry only a name and ``status = 'pending'``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, false, func, literal, or_, select, update

from ..github.api import CommitRecord, IssueRecord, RepoRecord, RepoResult
from . import schema
from .db import utcnow
from .models import dialect_insert

HOST = "github.com"
R = schema.repository
# Perspectives the link stage records: repositories found in model cards, hub catalogues and papers.
LINK_PERSPECTIVES = ("model_card", "hub_catalogue", "paper")
_RETRY_STATUSES = ("pending", "failed")
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class StoredRepo:
    """What a GitHub collection needs to know about a stored repository."""

    pk: int
    owner: str
    name: str
    github_id: int | None
    etag: str | None
    status: str | None
    pushed_at: datetime | None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


_STORED_COLUMNS = (R.c.id, R.c.owner, R.c.name, R.c.github_id, R.c.etag, R.c.status, R.c.pushed_at)


def _stored(row: Any) -> StoredRepo:
    return StoredRepo(row.id, row.owner, row.name, row.github_id, row.etag, row.status, row.pushed_at)


@dataclass
class _Row:
    pk: int
    github_id: int | None
    full_name_lower: str


def _lookup(conn: Connection, ids: set[int], names: set[str]) -> tuple[dict[int, _Row], dict[str, _Row]]:
    by_id: dict[int, _Row] = {}
    by_name: dict[str, _Row] = {}
    columns = (R.c.id, R.c.github_id, R.c.full_name_lower)
    for column, keys in ((R.c.github_id, sorted(ids)), (R.c.full_name_lower, sorted(names))):
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            for row in conn.execute(select(*columns).where(R.c.host == HOST, column.in_(chunk))):
                found = by_name.get(row.full_name_lower) or _Row(row.id, row.github_id, row.full_name_lower)
                by_name[found.full_name_lower] = found
                if found.github_id is not None:
                    by_id[found.github_id] = found
    return by_id, by_name


def upsert_repositories(conn: Connection, items: Iterable[RepoRecord | RepoResult], perspective: str | None,
                        *, now: datetime | None = None, tally: Counter[str] | None = None) -> dict[str, int]:
    """Store repositories GitHub described; returns current ``full_name_lower`` -> primary key.

    A ``RepoResult`` (one repository fetched on its own) also stores its ETag and, when GitHub
    answered 301, the name it was asked under as an alias; a bare ``RepoRecord`` (from a listing)
    leaves the stored ETag alone. A record finds its row by ``github_id`` first, so a rename keeps
    its row (the old name becomes a ``repo_alias``), then by its name, then by the name it was asked
    under. Rows that turn out to be the same repository are merged into one. Columns a payload did
    not carry keep their stored values. ``perspective`` (if any) is added to ``repo_source``.
    ``tally`` counts ``new``, ``updated``, ``renamed`` and ``merged`` rows.
    """
    now = now or utcnow()
    tally = tally if tally is not None else Counter()
    fetched: list[tuple[RepoRecord, str | None, bool, str | None]] = []
    for item in items:
        if isinstance(item, RepoResult):
            if item.record is not None:
                fetched.append((item.record, item.moved_from, True, item.etag))
        else:
            fetched.append((item, None, False, None))
    ids = {record.github_id for record, *_ in fetched if record.github_id is not None}
    names = {record.full_name_lower for record, *_ in fetched}
    names |= {moved.lower() for _, moved, *_ in fetched if moved}
    by_id, by_name = _lookup(conn, ids, names)

    pks: dict[str, int] = {}
    for record, moved, with_etag, etag in fetched:
        current = record.full_name_lower
        candidates = [by_id.get(record.github_id) if record.github_id is not None else None,
                      by_name.get(current), by_name.get(moved.lower()) if moved else None]
        found = [row for row in candidates if row is not None]
        values: dict[str, Any] = {"owner": record.owner, "name": record.name, "full_name_lower": current,
                                  "status": "ok", "fetched_at": now, "raw": record.raw, **record.columns()}
        if record.github_id is not None:
            values["github_id"] = record.github_id
        if with_etag:
            values["etag"] = etag
        # The name is live again: an alias from it to some other repository is stale.
        conn.execute(delete(schema.repo_alias).where(schema.repo_alias.c.host == HOST,
                                                     schema.repo_alias.c.old_name_lower == current))
        if not found:
            pk = int(conn.execute(dialect_insert(conn, R).values(host=HOST, **values).returning(R.c.id)).scalar_one())
            target = _Row(pk, record.github_id, current)
            tally["new"] += 1
        else:
            target = found[0]
            for other in found[1:]:
                if other.pk != target.pk:
                    merge_repositories(conn, keep=target.pk, drop=other.pk)
                    by_name.pop(other.full_name_lower, None)
                    if other.github_id is not None and by_id.get(other.github_id) is other:
                        del by_id[other.github_id]
                    tally["merged"] += 1
            old = target.full_name_lower
            conn.execute(update(R).where(R.c.id == target.pk).values(**values))
            if old != current:
                evidence = "http_301" if moved and moved.lower() == old else "github_id"
                record_alias(conn, old, target.pk, evidence=evidence, now=now)
                by_name.pop(old, None)
                target.full_name_lower = current
                tally["renamed"] += 1
            tally["updated"] += 1
        if moved and moved.lower() != current:
            record_alias(conn, moved.lower(), target.pk, evidence="http_301", now=now)
        target.github_id = record.github_id if record.github_id is not None else target.github_id
        by_name[current] = target
        if target.github_id is not None:
            by_id[target.github_id] = target
        if perspective:
            add_perspective(conn, target.pk, perspective)
        pks[current] = target.pk
    return pks


def add_perspective(conn: Connection, pk: int, perspective: str) -> None:
    stmt = dialect_insert(conn, schema.repo_source).values(repository=pk, perspective=perspective)
    conn.execute(stmt.on_conflict_do_nothing())


def record_alias(conn: Connection, old_name_lower: str, pk: int, *, evidence: str, now: datetime) -> None:
    stmt = dialect_insert(conn, schema.repo_alias).values(host=HOST, old_name_lower=old_name_lower, repository=pk,
                                                   evidence=evidence, detected_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["host", "old_name_lower"],
                                            set_={"repository": pk, "evidence": evidence, "detected_at": now}))


# Rows that describe a repository's own state: the kept row has its own, fetched for it.
_OWN_STATE: frozenset[Table] = frozenset({schema.repo_issue, schema.repo_commit})


def merge_repositories(conn: Connection, *, keep: int, drop: int) -> None:
    """Fold row ``drop`` into row ``keep`` (two names of one repository): every row that points at
    ``drop`` (links, usages, scans, aliases, perspectives...) points at ``keep`` afterwards."""
    for table in schema.metadata.sorted_tables:
        if table in _OWN_STATE:
            continue
        for fk in table.foreign_keys:
            if fk.column is not R.c.id:
                continue
            column = fk.parent
            if table is schema.repo_source:
                rs = schema.repo_source
                moved = select(literal(keep), rs.c.perspective).where(rs.c.repository == drop)
                conn.execute(dialect_insert(conn, rs).from_select(["repository", "perspective"], moved)
                             .on_conflict_do_nothing())
            else:
                conn.execute(update(table).where(column == drop).values({column.name: keep}))
    conn.execute(delete(R).where(R.c.id == drop))


def mark_status(conn: Connection, pk: int, status: str, *, now: datetime | None = None) -> None:
    """Record the outcome of asking GitHub about a repository: ok / not_found / failed."""
    conn.execute(update(R).where(R.c.id == pk).values(status=status, fetched_at=now or utcnow()))


def _scope(*, linked: bool, perspectives: Sequence[str], everything: bool) -> Any:
    if everything:
        return R.c.host == HOST
    conditions = []
    if linked:
        conditions.append(R.c.id.in_(select(schema.link.c.repository)))
    if perspectives:
        rs = schema.repo_source
        conditions.append(R.c.id.in_(select(rs.c.repository).where(rs.c.perspective.in_(list(perspectives)))))
    return and_(R.c.host == HOST, or_(*conditions)) if conditions else false()


def pending_repositories(conn: Connection, *, linked: bool = False, perspectives: Sequence[str] = (),
                         everything: bool = False, refresh: bool = False) -> list[StoredRepo]:
    """Repositories to ask GitHub about: those with a ``link`` row (``linked``), those of any of
    ``perspectives``, or all (``everything``); unless ``refresh``, only those never fetched or whose
    last fetch failed."""
    cond = _scope(linked=linked, perspectives=perspectives, everything=everything)
    if not refresh:
        cond = and_(cond, or_(R.c.status.is_(None), R.c.status.in_(_RETRY_STATUSES)))
    return [_stored(row) for row in conn.execute(select(*_STORED_COLUMNS).where(cond).order_by(R.c.id))]


def fetched_repositories(conn: Connection, *, perspectives: Sequence[str] = (), everything: bool = False,
                         ) -> list[StoredRepo]:
    """Repositories GitHub has described (status ok), of any of ``perspectives`` or all."""
    cond = and_(_scope(linked=False, perspectives=perspectives, everything=everything), R.c.status == "ok")
    return [_stored(row) for row in conn.execute(select(*_STORED_COLUMNS).where(cond).order_by(R.c.id))]


def issue_watermarks(conn: Connection, pks: Sequence[int]) -> dict[int, datetime]:
    """Per repository, the newest ``updated_at`` among its stored issues and pull requests."""
    ri = schema.repo_issue
    out: dict[int, datetime] = {}
    for start in range(0, len(pks), _CHUNK):
        chunk = list(pks[start:start + _CHUNK])
        query = select(ri.c.repository, func.max(ri.c.updated_at)).where(ri.c.repository.in_(chunk)).group_by(
            ri.c.repository)
        out.update((pk, newest) for pk, newest in conn.execute(query) if newest is not None)
    return out


COMMITS_STATE = "github.commits:"


def commit_watermarks(conn: Connection) -> dict[int, str | None]:
    """Per repository, the ``pushed_at`` its stored commit history was complete at (crawl_state
    rows ``github.commits:<pk>``): while GitHub reports the same last push, there is nothing new."""
    cs = schema.crawl_state
    rows = conn.execute(select(cs.c.source, cs.c.watermark).where(cs.c.source.startswith(COMMITS_STATE)))
    return {int(source[len(COMMITS_STATE):]): watermark for source, watermark in rows}


def upsert_issues(conn: Connection, pk: int, issues: Sequence[IssueRecord]) -> None:
    unique = {issue.number: issue for issue in issues}  # a page boundary can repeat an item
    if not unique:
        return
    rows = [{"repository": pk, "number": i.number, "kind": i.kind, "title": i.title, "state": i.state,
             "author": i.author, "created_at": i.created_at, "updated_at": i.updated_at, "closed_at": i.closed_at,
             "merged_at": i.merged_at, "comments": i.comments, "labels": list(i.labels), "raw": i.raw}
            for i in unique.values()]
    stmt = dialect_insert(conn, schema.repo_issue)
    updated = {c: stmt.excluded[c] for c in rows[0] if c not in ("repository", "number")}
    conn.execute(stmt.on_conflict_do_update(index_elements=["repository", "number"], set_=updated), rows)


def upsert_commits(conn: Connection, pk: int, commits: Sequence[CommitRecord]) -> None:
    """Add commits not stored yet (a sha names one commit for good)."""
    rows = [{"repository": pk, "sha": c.sha, "author": c.author, "authored_at": c.authored_at,
             "committer": c.committer, "committed_at": c.committed_at, "message": c.message} for c in commits]
    if rows:
        conn.execute(dialect_insert(conn, schema.repo_commit).on_conflict_do_nothing(), rows)
