"""Reading and writing paper rows: idempotent upserts keyed on (source, source_id)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, String, select

from ..papers.interface import PaperRecord
from . import schema
from .models import dialect_insert

P = schema.paper
Key = tuple[str, str]

COLUMNS = ("source", "source_id", "venue", "year", "title", "authors", "affiliations", "countries", "arxiv_id",
           "doi", "openreview_id", "code_links", "url", "pdf_url", "abstract", "keywords", "raw")
_LIST_COLUMNS = frozenset({"authors", "affiliations", "countries", "keywords", "code_links"})
_JSON_COLUMNS = _LIST_COLUMNS | {"raw"}
_KEY_COLUMNS = ("source", "source_id")
_CHUNK = 500
_LENGTHS = {c.name: c.type.length for c in P.columns if isinstance(c.type, String) and c.type.length}


def _without_nul(value: Any) -> Any:
    # PostgreSQL refuses U+0000 in text and in JSONB; SQLite would keep it, and the backends must agree.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


def paper_row(record: PaperRecord) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in COLUMNS}
    for name in _LIST_COLUMNS:
        row[name] = list(row[name])
    clean: dict[str, Any] = _without_nul(row)
    return clean


def row_problem(row: dict[str, Any]) -> str | None:
    """Why a row cannot be stored as it is (the same answer on every backend), or None."""
    for name, limit in _LENGTHS.items():
        value = row.get(name)
        if isinstance(value, str) and len(value) > limit:
            return f"{name} is {len(value)} characters long; the store keeps at most {limit}"
    if not row.get("source") or not row.get("source_id"):
        return "no source id"
    try:
        for name in _JSON_COLUMNS:
            orjson.dumps(row[name])
    except TypeError as exc:
        return f"{name} is not JSON: {exc}"
    return None


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the store gives it back (JSON columns through a JSON round trip), for change checks."""
    return {name: orjson.loads(orjson.dumps(row[name])) if name in _JSON_COLUMNS else row[name]
            for name in COLUMNS}


def _by_source(keys: Iterable[Key]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for source, source_id in keys:
        grouped.setdefault(source, []).append(source_id)
    return grouped


def stored_papers(conn: Connection, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
    """The stored rows (all of :data:`COLUMNS`) of those keys that exist."""
    found: dict[Key, dict[str, Any]] = {}
    for source, ids in _by_source(keys).items():
        for start in range(0, len(ids), _CHUNK):
            query = select(*(P.c[name] for name in COLUMNS)).where(
                P.c.source == source, P.c.source_id.in_(ids[start:start + _CHUNK]))
            for row in conn.execute(query).mappings():
                found[(row["source"], row["source_id"])] = {name: row[name] for name in COLUMNS}
    return found


def upsert_papers(conn: Connection, records: Sequence[PaperRecord]) -> dict[Key, int]:
    """Insert or update papers (a later record of the same key wins); returns key -> primary key.

    ``INSERT .. ON CONFLICT (source, source_id) DO UPDATE`` on both backends, so running it again
    with the same records changes nothing.
    """
    rows: dict[Key, dict[str, Any]] = {}
    for record in records:
        row = paper_row(record)
        rows[(row["source"], row["source_id"])] = row
    if not rows:
        return {}
    stmt = dialect_insert(conn, P)
    stmt = stmt.on_conflict_do_update(index_elements=list(_KEY_COLUMNS),
                                      set_={name: stmt.excluded[name] for name in COLUMNS if name not in _KEY_COLUMNS})
    conn.execute(stmt, list(rows.values()))
    pks: dict[Key, int] = {}
    for source, ids in _by_source(rows).items():
        for start in range(0, len(ids), _CHUNK):
            query = select(P.c.id, P.c.source_id).where(P.c.source == source,
                                                         P.c.source_id.in_(ids[start:start + _CHUNK]))
            pks.update(((source, row.source_id), row.id) for row in conn.execute(query))
    return pks
