"""Which repositories to clone, and what cloning found, on the repository row.

The row always describes what is on disk: ``clone_path`` (relative to ``Settings.repos_dir``) and
``cloned_sha`` are the clone there, ``clone_status`` is cloned / partial (files over the size limit
left out) / skipped (over the limits, nothing kept) / failed (no clone could be made). For a skipped
repository ``cloned_sha`` is the commit that was found over the limits, so an unchanged remote is not
downloaded again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import schema

R = schema.repository
A = schema.repo_alias
S = schema.repo_source

CLONABLE_STATUSES = ("ok", "pending")


@dataclass(frozen=True, slots=True)
class CloneTarget:
    pk: int
    host: str
    owner: str
    name: str
    cloned_sha: str | None
    clone_status: str | None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


_TARGET_COLUMNS = (R.c.id, R.c.host, R.c.owner, R.c.name, R.c.cloned_sha, R.c.clone_status)


def _target(row: Any) -> CloneTarget:
    return CloneTarget(row.id, row.host, row.owner, row.name, row.cloned_sha, row.clone_status)


def _lower(names: Sequence[tuple[str, str]]) -> list[str]:
    return [f"{owner}/{name}".lower() for owner, name in names]


def add_pending(conn: Connection, host: str, names: Sequence[tuple[str, str]]) -> int:
    """Add the ``(owner, name)`` repositories the store knows under no name or former name, with
    status pending and the ``user`` perspective (the user named them); how many were added."""
    known = {t.full_name.lower() for t in select_targets(conn, host, names)}
    known |= set(conn.execute(select(A.c.old_name_lower).where(
        A.c.host == host, A.c.old_name_lower.in_(_lower(names)))).scalars())
    rows: dict[str, dict[str, str]] = {}
    for owner, name in names:  # the first spelling of a name wins
        key = f"{owner}/{name}".lower()
        rows.setdefault(key, {"host": host, "owner": owner, "name": name, "full_name_lower": key,
                              "status": "pending"})
    new = [row for key, row in rows.items() if key not in known]
    if not new:
        return 0
    # DO NOTHING: another writer (a concurrent link or collect run) may add the same repository meanwhile.
    conn.execute(dialect_insert(conn, R).on_conflict_do_nothing(index_elements=["host", "full_name_lower"]), new)
    pks = conn.execute(select(R.c.id).where(
        R.c.host == host, R.c.full_name_lower.in_([row["full_name_lower"] for row in new]))).scalars()
    conn.execute(dialect_insert(conn, S).on_conflict_do_nothing(index_elements=["repository", "perspective"]),
                 [{"repository": pk, "perspective": "user"} for pk in pks])
    return len(new)


def dialect_insert(conn: Connection, table: Table) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def select_targets(conn: Connection, host: str, names: Sequence[tuple[str, str]] | None = None,
                   ) -> list[CloneTarget]:
    """The repositories to clone: those named (by current or former name, whatever their status), or
    without names every repository whose status is ok or pending."""
    query = select(*_TARGET_COLUMNS).where(R.c.host == host).order_by(R.c.id)
    if names is None:
        query = query.where(R.c.status.in_(CLONABLE_STATUSES))
    else:
        lowered = _lower(names)
        renamed = select(A.c.repository).where(A.c.host == host, A.c.old_name_lower.in_(lowered))
        query = query.where(or_(R.c.full_name_lower.in_(lowered), R.c.id.in_(renamed)))
    return [_target(row) for row in conn.execute(query)]


def record_clone(conn: Connection, pk: int, *, status: str, at: datetime, path: str | None = None,
                 sha: str | None = None, reason: str | None = None, files: int | None = None,
                 size: int | None = None) -> None:
    conn.execute(update(R).where(R.c.id == pk).values(
        clone_status=status, cloned_at=at, clone_path=path, cloned_sha=sha, clone_reason=reason,
        clone_files=files, clone_bytes=size))
