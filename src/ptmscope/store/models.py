"""Reading and writing model rows: batched, idempotent upserts keyed on (hub, model_id)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..hubs.interface import ModelCommit, ModelFile, ModelRecord
from . import schema

M = schema.model


@dataclass(frozen=True, slots=True)
class StoredModel:
    """What a crawl needs to know about a model it already has, to decide what to fetch."""

    pk: int
    model_id: str
    hub_object_id: str | None
    raw_hash: str | None
    sha: str | None
    card_sha: str | None
    commits_sha: str | None
    files_sha: str | None
    deleted: bool


_STORED_COLUMNS = (M.c.id, M.c.model_id, M.c.hub_object_id, M.c.raw_hash, M.c.sha, M.c.card_sha,
                   M.c.commits_sha, M.c.files_sha, M.c.deleted)


def _stored(row: Any) -> StoredModel:
    return StoredModel(row.id, row.model_id, row.hub_object_id, row.raw_hash, row.sha, row.card_sha,
                       row.commits_sha, row.files_sha, bool(row.deleted))


def stored_by_id(conn: Connection, hub: str, model_ids: Sequence[str]) -> dict[str, StoredModel]:
    if not model_ids:
        return {}
    rows = conn.execute(select(*_STORED_COLUMNS).where(M.c.hub == hub, M.c.model_id.in_(model_ids)))
    return {row.model_id: _stored(row) for row in rows}


def stored_by_object_id(conn: Connection, hub: str, object_ids: Sequence[str]) -> dict[str, StoredModel]:
    if not object_ids:
        return {}
    rows = conn.execute(select(*_STORED_COLUMNS).where(M.c.hub == hub, M.c.hub_object_id.in_(object_ids)))
    return {row.hub_object_id: _stored(row) for row in rows}


def dialect_insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(conn.dialect.name)


_LIST_FIELDS = ("tags", "datasets", "languages", "base_models", "arxiv_ids")


def model_row(record: ModelRecord, *, now: datetime, run_id: int, with_card: bool = False) -> dict[str, Any]:
    """The row for a record. ``with_card`` for hubs whose listing carries the card text itself;
    otherwise the card columns are left to the per-model fetch and never overwritten here."""
    row: dict[str, Any] = {
        "hub": record.hub,
        "model_id": record.model_id,
        "hub_object_id": record.hub_object_id,
        "author": record.author,
        "sha": record.sha,
        "created_at": record.created_at,
        "last_modified": record.last_modified,
        "downloads": record.downloads,
        "downloads_all_time": record.downloads_all_time,
        "likes": record.likes,
        "library_name": record.library_name,
        "pipeline_tag": record.pipeline_tag,
        "domain": record.domain,
        "license_raw": record.license_raw,
        "gated": record.gated,
        "private": record.private,
        "disabled": record.disabled,
        "card_data": record.card_data,
        "card_data_error": record.card_data_error,
        "model_index": record.model_index,
        "config": record.config,
        "transformers_info": record.transformers_info,
        "safetensors": record.safetensors,
        "parameter_count": record.parameter_count,
        "used_storage": record.used_storage,
        "spaces": list(record.spaces) if record.spaces is not None else None,
        "spaces_count": len(record.spaces) if record.spaces is not None else None,
        "security_status": record.security_status,
        "github_repo": record.github_repo,
        "entrypoints": list(record.entrypoints),
        "title": record.title,
        "summary": record.summary,
        "raw": record.raw,
        "raw_hash": record.raw_hash,
        "first_seen": now,
        "last_seen": now,
        "last_seen_run": run_id,
        "deleted": False,
        "deleted_at": None,
    }
    for name in _LIST_FIELDS:
        row[name] = list(getattr(record, name))
    if with_card:
        row["card_text"] = record.card_text
        row["card_sha"] = record.sha or record.raw_hash
    return row


# Set on insert, never overwritten by a later sighting.
_INSERT_ONLY = frozenset({"hub", "model_id", "first_seen"})


def upsert_models(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert or update model rows (all with the same keys); returns model_id -> primary key.

    The statement goes to the driver's executemany with values converted by each column type's
    own bind processor, exactly what SQLAlchemy would send: at crawl scale its per-row parameter
    machinery cost more than the database itself. ``INSERT .. ON CONFLICT .. DO UPDATE`` reads
    the same on SQLite and PostgreSQL.
    """
    if not rows:
        return {}
    dialect = conn.dialect
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    processors = [M.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    updates = ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in names if n not in _INSERT_ONLY)
    sql = (f"INSERT INTO model ({', '.join(quote(n) for n in names)}) VALUES ({', '.join([mark] * len(names))}) "
           f"ON CONFLICT (hub, model_id) DO UPDATE SET {updates}")
    params = [tuple(value if proc is None or value is None else proc(value)
                    for value, proc in zip((row[n] for n in names), processors, strict=True))
              for row in rows]
    conn.exec_driver_sql(sql, params)
    hub_ids: dict[str, list[str]] = {}
    for row in rows:
        hub_ids.setdefault(row["hub"], []).append(row["model_id"])
    pks: dict[str, int] = {}
    for hub, ids in hub_ids.items():
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            pks.update((r.model_id, r.id) for r in conn.execute(
                select(M.c.id, M.c.model_id).where(M.c.hub == hub, M.c.model_id.in_(chunk))))
    return pks


def set_detail_shas(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    if values:
        conn.execute(update(M).where(M.c.id == pk).values(**values))


def touch_models(conn: Connection, pks: Iterable[int], *, now: datetime, run_id: int) -> None:
    """Mark unchanged models as seen by this run, so a full crawl can tell what disappeared."""
    ids = list(pks)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        conn.execute(update(M).where(M.c.id.in_(chunk)).values(
            last_seen=now, last_seen_run=run_id, deleted=False, deleted_at=None))


def replace_files(conn: Connection, files_by_pk: dict[int, Sequence[ModelFile]]) -> None:
    if not files_by_pk:
        return
    pks = list(files_by_pk)
    conn.execute(delete(schema.model_file).where(schema.model_file.c.model.in_(pks)))
    rows = [(pk, f.path, f.size, f.blob_id, f.lfs_sha256, f.lfs_size, f.format)
            for pk, files in files_by_pk.items() for f in files]
    if rows:
        # Plain values only, so the driver's executemany can take them as they are: at crawl
        # scale (several files per model) SQLAlchemy's per-row parameter handling dominated.
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        columns = "model, path, size, blob_id, lfs_sha256, lfs_size, format"
        conn.exec_driver_sql(f"INSERT INTO model_file ({columns}) VALUES ({', '.join([mark] * 7)})", rows)


def replace_commits(conn: Connection, commits_by_pk: dict[int, Sequence[ModelCommit]]) -> None:
    if not commits_by_pk:
        return
    pks = list(commits_by_pk)
    conn.execute(delete(schema.model_commit).where(schema.model_commit.c.model.in_(pks)))
    seen: set[tuple[int, str]] = set()
    rows = []
    for pk, commits in commits_by_pk.items():
        for c in commits:
            if (pk, c.commit_id) in seen:
                continue
            seen.add((pk, c.commit_id))
            rows.append({"model": pk, "commit_id": c.commit_id, "title": c.title, "message": c.message,
                         "authors": list(c.authors), "created_at": c.created_at})
    if rows:
        conn.execute(insert(schema.model_commit), rows)


def rename_model(conn: Connection, hub: str, pk: int, old_id: str, new_id: str, *, evidence: str,
                 now: datetime) -> int:
    """Move a stored model to its new id and remember the old one.

    When a row under ``new_id`` already exists (both names were crawled before the rename was
    noticed), the old row is merged into it: its aliases move over and the old row goes.
    """
    existing = conn.execute(select(M.c.id).where(M.c.hub == hub, M.c.model_id == new_id)).scalar()
    target = pk
    if existing is not None and existing != pk:
        conn.execute(update(schema.model_alias).where(schema.model_alias.c.model == pk).values(model=existing))
        conn.execute(delete(M).where(M.c.id == pk))
        target = existing
    else:
        conn.execute(update(M).where(M.c.id == pk).values(model_id=new_id))
    record_alias(conn, hub, old_id, target, evidence=evidence, now=now)
    return target


def record_alias(conn: Connection, hub: str, old_id: str, pk: int, *, evidence: str, now: datetime) -> None:
    stmt = dialect_insert(conn, schema.model_alias).values(hub=hub, old_id=old_id, model=pk, evidence=evidence,
                                                    detected_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["hub", "old_id"],
                                            set_={"model": pk, "evidence": evidence}))


def unseen_models(conn: Connection, hub: str, run_id: int, author: str | None = None,
                  ) -> list[tuple[int, str]]:
    """Live models a complete listing did not return (candidates for deletion or rename)."""
    cond = and_(M.c.hub == hub, M.c.deleted.is_(False),
                (M.c.last_seen_run.is_(None)) | (M.c.last_seen_run != run_id))
    if author:
        cond = and_(cond, M.c.author == author)
    return [(row.id, row.model_id) for row in conn.execute(select(M.c.id, M.c.model_id).where(cond))]


def mark_deleted(conn: Connection, pks: Sequence[int], *, now: datetime) -> None:
    if pks:
        conn.execute(update(M).where(M.c.id.in_(list(pks))).values(deleted=True, deleted_at=now))


def pending_details(conn: Connection, hub: str, run_id: int, *, cards: bool, history: bool, files: bool,
                    author: str | None = None) -> list[StoredModel]:
    """Live models not seen by this run whose card, history or file details are not at their sha."""
    wanted = []
    if cards:
        wanted.append(M.c.card_sha.is_distinct_from(M.c.sha))
    if history:
        wanted.append(M.c.commits_sha.is_distinct_from(M.c.sha))
    if files:
        wanted.append(M.c.files_sha.is_distinct_from(M.c.sha))
    if not wanted:
        return []
    cond = and_(M.c.hub == hub, M.c.deleted.is_(False), M.c.last_seen_run.is_distinct_from(run_id), or_(*wanted))
    if author:
        cond = and_(cond, M.c.author == author)
    return [_stored(row) for row in conn.execute(select(*_STORED_COLUMNS).where(cond).order_by(M.c.id))]
