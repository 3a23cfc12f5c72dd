"""Writing what the usage stage found: ``usage`` rows (replaced per repository), one ``usage_analysis`` row
per repository (which commit, which analyzer), and the ``downstream`` links model → repository."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select

from . import schema
from .links import DOWNSTREAM
from .models import dialect_insert

LINK_KIND = DOWNSTREAM
LINK_FIELD = "code"


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One call site as stored; ``model`` is the matched stored model (None when not stored)."""

    path: str
    cell: int | None
    line: int
    library: str
    call: str
    model_name: str | None
    model: int | None
    expression: str | None
    resolved: bool
    revision: str | None
    pinned: bool | None
    trust_remote_code: bool | None
    use_safetensors: bool | None
    confidence: float
    kind: str | None = None
    local_path: str | None = None


def analysed(conn: Connection, repo_pks: Sequence[int]) -> dict[int, tuple[str | None, str]]:
    """repository -> (commit, analyzer version) of its stored analysis."""
    ua = schema.usage_analysis
    out: dict[int, tuple[str | None, str]] = {}
    for start in range(0, len(repo_pks), 1000):
        chunk = list(repo_pks[start:start + 1000])
        out.update((row.repository, (row.commit, row.analyzer_version)) for row in conn.execute(
            select(ua.c.repository, ua.c.commit, ua.c.analyzer_version).where(ua.c.repository.in_(chunk))))
    return out


def replace_repository_usage(conn: Connection, repo_pk: int, commit: str | None, rows: Sequence[UsageRow], *,
                             analyzer_version: str, files: int, skipped: Sequence[tuple[str, str]],
                             now: datetime) -> int:
    """Replace a repository's usage rows, its analysis record and its downstream links (one per model it
    loads, with the first call site as evidence); returns the links written."""
    conn.execute(delete(schema.usage).where(schema.usage.c.repository == repo_pk))
    if rows:
        conn.execute(insert(schema.usage), [
            {"repository": repo_pk, "path": r.path, "cell": r.cell, "line": r.line, "library": r.library,
             "call": r.call[:255], "model_name": r.model_name[:512] if r.model_name else None, "model": r.model,
             "expression": r.expression, "resolved": r.resolved, "revision": r.revision[:255] if r.revision else None,
             "pinned": r.pinned, "trust_remote_code": r.trust_remote_code, "use_safetensors": r.use_safetensors,
             "confidence": r.confidence, "commit": commit, "kind": r.kind, "local_path": r.local_path}
            for r in rows])
    values: dict[str, Any] = {"commit": commit, "analyzer_version": analyzer_version, "files": files,
                              "call_sites": len(rows),
                              "skipped": [{"path": p, "reason": reason} for p, reason in skipped],
                              "analysed_at": now}
    stmt = dialect_insert(conn, schema.usage_analysis).values(repository=repo_pk, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["repository"], set_=values))
    lk = schema.link
    conn.execute(delete(lk).where(and_(lk.c.repository == repo_pk, lk.c.kind == LINK_KIND)))
    first: dict[int, UsageRow] = {}
    for r in sorted(rows, key=lambda r: (-r.confidence, r.path, r.cell or 0, r.line)):
        if r.model is not None:
            first.setdefault(r.model, r)
    links = [{"model": pk, "paper": None, "repository": repo_pk, "kind": LINK_KIND, "field": LINK_FIELD,
              "line": r.line, "evidence": _evidence(r), "confidence": r.confidence} for pk, r in first.items()]
    if links:
        conn.execute(insert(lk), links)
    return len(links)


def _evidence(r: UsageRow) -> str:
    where = f"{r.path}:{r.line}" if r.cell is None else f"{r.path} cell {r.cell}:{r.line}"
    return f"{where} {r.call}({r.expression or ''})"[:2000]
