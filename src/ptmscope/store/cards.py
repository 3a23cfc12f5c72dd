"""Writing and reading what card extraction produces: field values, extraction records, base-model edges
and the review queue.

A model's values are replaced per *kind* of extractor, never all at once: the deterministic extractor's
rows (``yaml``, ``rules``, ``api``, ...) go on every re-extraction; an LLM's rows (``llm:NAME``) only
when the LLM ran again or the card changed under them; a reviewer's rows (``review``) never, since a
person decided them. Everything runs in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, delete, func, insert, not_, select, update

from ..jsonvalues import chunks
from . import schema
from .db import utcnow
from .models import dialect_insert

CM = schema.card_metadata
CE = schema.card_extraction
CR = schema.card_review
E = schema.model_edge
M = schema.model
A = schema.model_alias

REVIEW_EXTRACTOR = "review"
LLM_PREFIX = "llm:"
RELATIONS = ("finetune", "adapter", "quantized", "merge", "unknown")
# The evidence column is bounded; several sources are joined into it.
_EVIDENCE_MAX = 255

Scope = Literal["deterministic", "llm"]


@dataclass(frozen=True, slots=True)
class MetadataRow:
    field: str
    value: Any
    extractor: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class EdgeRow:
    parent_id: str
    relation: str
    evidence: str


@dataclass(frozen=True, slots=True)
class ReviewRow:
    field: str
    value: Any
    extractor: str
    confidence: float | None
    evidence: str | None


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    model: int
    model_id: str
    field: str
    value: Any
    extractor: str
    confidence: float | None
    evidence: str | None
    status: str
    reviewer_value: Any
    created_at: datetime


def _scope_filter(scope: Scope) -> Any:
    is_llm = CM.c.extractor.like(f"{LLM_PREFIX}%")
    if scope == "llm":
        return is_llm
    return and_(not_(is_llm), CM.c.extractor != REVIEW_EXTRACTOR)


# --- card_metadata ----------------------------------------------------------------------------------------


def replace_metadata(conn: Connection, model_pk: int, scope: Scope, rows: Sequence[MetadataRow]) -> int:
    """Replace the model's values of one kind of extractor with ``rows``; returns rows written."""
    return replace_metadata_many(conn, scope, {model_pk: rows})


def replace_metadata_many(conn: Connection, scope: Scope, rows_by_model: Mapping[int, Sequence[MetadataRow]]) -> int:
    """:func:`replace_metadata` for many models in two statements per chunk; returns rows written."""
    pks = list(rows_by_model)
    for part in chunks(pks):
        conn.execute(delete(CM).where(CM.c.model.in_(part), _scope_filter(scope)))
    values = [{"model": pk, "field": r.field, "value": r.value, "extractor": r.extractor[:64],
               "confidence": r.confidence} for pk, rows in rows_by_model.items() for r in rows]
    for batch in chunks(values):
        conn.execute(insert(CM), list(batch))
    return len(values)


def metadata_for(conn: Connection, model_pk: int) -> list[MetadataRow]:
    rows = conn.execute(select(CM.c.field, CM.c.value, CM.c.extractor, CM.c.confidence)
                        .where(CM.c.model == model_pk).order_by(CM.c.field, CM.c.extractor))
    return [MetadataRow(r.field, r.value, r.extractor, r.confidence) for r in rows]


def best_values(rows: Iterable[MetadataRow]) -> dict[str, MetadataRow]:
    """One value per field: a reviewer's first, then the most confident extractor (ties: deterministic
    before LLM, so that a paid-for guess never hides what the card states)."""
    def rank(r: MetadataRow) -> tuple[int, float, int]:
        return (r.extractor == REVIEW_EXTRACTOR, r.confidence or 0.0, not r.extractor.startswith(LLM_PREFIX))

    best: dict[str, MetadataRow] = {}
    for row in rows:
        if row.field not in best or rank(row) > rank(best[row.field]):
            best[row.field] = row
    return best


# --- card_extraction --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtractionState:
    card_sha: str | None
    extractor_version: str
    llm_model: str | None


def upsert_extraction(conn: Connection, model_pk: int, *, card_sha: str | None, extractor_version: str,
                      llm_model: str | None = None, tokens_in: int | None = None, tokens_out: int | None = None,
                      cost_usd: float | None = None, error: str | None = None,
                      extracted_at: datetime | None = None) -> None:
    upsert_extractions(conn, [{"model": model_pk, "card_sha": card_sha, "extractor_version": extractor_version,
                               "llm_model": llm_model, "tokens_in": tokens_in, "tokens_out": tokens_out,
                               "cost_usd": cost_usd, "error": error, "extracted_at": extracted_at}])


_EXTRACTION_COLUMNS = ("card_sha", "extractor_version", "llm_model", "tokens_in", "tokens_out", "cost_usd", "error",
                       "extracted_at")


def upsert_extractions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """One ``card_extraction`` row per model (``model`` plus the columns; a missing ``extracted_at`` is now)."""
    if not rows:
        return
    now = utcnow()
    values = [{"model": r["model"], **{c: r.get(c) for c in _EXTRACTION_COLUMNS}} for r in rows]
    for v in values:
        v["extractor_version"] = str(v["extractor_version"])[:64]
        v["extracted_at"] = v["extracted_at"] or now
    stmt = dialect_insert(conn, CE)
    stmt = stmt.on_conflict_do_update(index_elements=["model"],
                                      set_={c: getattr(stmt.excluded, c) for c in _EXTRACTION_COLUMNS})
    for part in chunks(values):
        conn.execute(stmt, list(part))


def extraction_states(conn: Connection, model_pks: Sequence[int]) -> dict[int, ExtractionState]:
    out: dict[int, ExtractionState] = {}
    for part in chunks(list(model_pks)):
        for row in conn.execute(select(CE.c.model, CE.c.card_sha, CE.c.extractor_version, CE.c.llm_model)
                                .where(CE.c.model.in_(part))):
            out[row.model] = ExtractionState(row.card_sha, row.extractor_version, row.llm_model)
    return out


# --- model_edge -------------------------------------------------------------------------------------------


def resolve_models(conn: Connection, hub: str, model_ids: Iterable[str]) -> dict[str, int]:
    """Stored models for hub ids, keyed by the lower-cased id: exact spelling first, then any case, then
    an old name the model was renamed from (``model_alias``)."""
    wanted = sorted({m for m in model_ids if m})
    found: dict[str, int] = {}
    for part in chunks(wanted):
        for pk, model_id in conn.execute(select(M.c.id, M.c.model_id).where(M.c.hub == hub, M.c.model_id.in_(part))):
            found.setdefault(model_id.lower(), pk)
    missing = sorted({m.lower() for m in wanted} - found.keys())
    for part in chunks(missing):
        for pk, model_id in conn.execute(select(M.c.id, M.c.model_id).where(
                M.c.hub == hub, func.lower(M.c.model_id).in_(part)).order_by(M.c.id)):
            found.setdefault(model_id.lower(), pk)
    missing = sorted({m.lower() for m in wanted} - found.keys())
    for part in chunks(missing):
        for pk, old_id in conn.execute(select(A.c.model, A.c.old_id).where(
                A.c.hub == hub, func.lower(A.c.old_id).in_(part)).order_by(A.c.id)):
            found.setdefault(old_id.lower(), pk)
    return found


def replace_edges(conn: Connection, child_pk: int, child_id: str, hub: str, edges: Sequence[EdgeRow]) -> int:
    """Replace the model's base-model edges; each parent is linked to its stored model where there is one.
    Self-links (the same id, or a parent that resolves to the child itself) are dropped. Returns edges
    written."""
    return replace_edges_many(conn, [(child_pk, child_id, hub, edges)])


def replace_edges_many(conn: Connection, children: Sequence[tuple[int, str, str, Sequence[EdgeRow]]]) -> int:
    """:func:`replace_edges` for many models (child pk, child id, hub, edges), parents resolved together."""
    for part in chunks([pk for pk, _, _, _ in children]):
        conn.execute(delete(E).where(E.c.child.in_(part)))
    wanted: dict[str, set[str]] = {}
    for _, _, hub, edges in children:
        wanted.setdefault(hub, set()).update(e.parent_id for e in edges)
    resolved = {hub: resolve_models(conn, hub, ids) for hub, ids in wanted.items() if ids}
    rows: list[dict[str, Any]] = []
    for child_pk, child_id, hub, edges in children:
        seen: set[tuple[str, str, str]] = set()
        for edge in edges:
            key = edge.parent_id.lower()
            parent = resolved.get(hub, {}).get(key)
            if key == child_id.lower() or parent == child_pk:
                continue
            relation = edge.relation if edge.relation in RELATIONS else "unknown"
            evidence = edge.evidence[:_EVIDENCE_MAX]
            if (key, relation, evidence) in seen:
                continue
            seen.add((key, relation, evidence))
            rows.append({"child": child_pk, "parent_id": edge.parent_id[:255], "parent": parent,
                         "relation": relation, "evidence": evidence})
    for batch in chunks(rows):
        conn.execute(insert(E), list(batch))
    return len(rows)


def resolve_dangling_edges(conn: Connection) -> int:
    """Link edges whose parent was not stored when they were written to the parent stored since; returns
    how many were linked."""
    dangling = conn.execute(select(E.c.id, E.c.child, E.c.parent_id, M.c.hub).join(M, M.c.id == E.c.child)
                            .where(E.c.parent.is_(None))).all()
    by_hub: dict[str, list[Any]] = {}
    for row in dangling:
        by_hub.setdefault(row.hub, []).append(row)
    linked = 0
    for hub, rows in by_hub.items():
        resolved = resolve_models(conn, hub, (r.parent_id for r in rows))
        for row in rows:
            parent = resolved.get(row.parent_id.lower())
            if parent is not None and parent != row.child:
                conn.execute(update(E).where(E.c.id == row.id).values(parent=parent))
                linked += 1
    return linked


# --- card_review ------------------------------------------------------------------------------------------


def queue_reviews(conn: Connection, model_pk: int, extractor_prefix: str, rows: Sequence[ReviewRow]) -> int:
    """Replace the model's pending items from extractors starting with ``extractor_prefix`` with ``rows``.
    An item a reviewer already decided stays as decided (the same model, field and extractor is not
    queued again). Returns items queued."""
    conn.execute(delete(CR).where(CR.c.model == model_pk, CR.c.status == "pending",
                                  CR.c.extractor.like(f"{extractor_prefix}%")))
    if not rows:
        return 0
    now = utcnow()
    # RETURNING counts what was inserted on every backend (executemany's rowcount does not on psycopg).
    stmt = dialect_insert(conn, CR).on_conflict_do_nothing(
        index_elements=["model", "field", "extractor"]).returning(CR.c.id)
    result = conn.execute(stmt, [{"model": model_pk, "field": r.field, "value": r.value, "extractor": r.extractor[:64],
                                  "confidence": r.confidence, "evidence": r.evidence, "status": "pending",
                                  "created_at": now} for r in rows])
    return len(result.all())


def drop_pending_reviews(conn: Connection, model_pks: Sequence[int], extractor_prefix: str) -> None:
    for part in chunks(list(model_pks)):
        conn.execute(delete(CR).where(CR.c.model.in_(part), CR.c.status == "pending",
                                      CR.c.extractor.like(f"{extractor_prefix}%")))


def list_reviews(conn: Connection, status: str | None = "pending", limit: int | None = None) -> list[ReviewItem]:
    query = (select(CR, M.c.model_id.label("model_id")).join(M, M.c.id == CR.c.model)
             .order_by(CR.c.id))
    if status is not None:
        query = query.where(CR.c.status == status)
    if limit is not None:
        query = query.limit(limit)
    return [ReviewItem(r.id, r.model, r.model_id, r.field, r.value, r.extractor, r.confidence, r.evidence, r.status,
                       r.reviewer_value, r.created_at) for r in conn.execute(query)]


def get_review(conn: Connection, review_id: int) -> ReviewItem | None:
    row = conn.execute(select(CR, M.c.model_id.label("model_id")).join(M, M.c.id == CR.c.model)
                       .where(CR.c.id == review_id)).first()
    if row is None:
        return None
    return ReviewItem(row.id, row.model, row.model_id, row.field, row.value, row.extractor, row.confidence,
                      row.evidence, row.status, row.reviewer_value, row.created_at)


_UNSET: Any = object()


def resolve_review(conn: Connection, review_id: int, accept: bool, value: Any = _UNSET) -> ReviewItem | None:
    """Accept (with the proposed value, or ``value`` the reviewer gives) or reject an item. An accepted
    value becomes the model's ``review`` value for the field; rejecting removes a ``review`` value an
    earlier decision on this item put there. None when there is no such item."""
    item = get_review(conn, review_id)
    if item is None:
        return None
    reviewer_value = None if value is _UNSET else value
    conn.execute(update(CR).where(CR.c.id == review_id).values(
        status="accepted" if accept else "rejected", reviewer_value=reviewer_value, reviewed_at=utcnow()))
    mine = and_(CM.c.model == item.model, CM.c.field == item.field, CM.c.extractor == REVIEW_EXTRACTOR)
    if accept:
        final = item.value if value is _UNSET else value
        conn.execute(delete(CM).where(mine))
        conn.execute(insert(CM).values(model=item.model, field=item.field, value=final, extractor=REVIEW_EXTRACTOR,
                                       confidence=1.0))
    elif item.status == "accepted":
        conn.execute(delete(CM).where(mine))
    return get_review(conn, review_id)


def review_counts(conn: Connection) -> Mapping[str, int]:
    return {status: int(n) for status, n in conn.execute(select(CR.c.status, func.count()).group_by(CR.c.status))}


def model_ids_with(conn: Connection, pks: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in chunks(list(pks)):
        out.update(conn.execute(select(M.c.id, M.c.model_id).where(M.c.id.in_(part))).tuples())
    return out


__all__ = [
    "LLM_PREFIX", "RELATIONS", "REVIEW_EXTRACTOR", "EdgeRow", "ExtractionState", "MetadataRow", "ReviewItem",
    "ReviewRow", "best_values", "drop_pending_reviews", "extraction_states", "get_review", "list_reviews",
    "metadata_for", "model_ids_with", "queue_reviews", "replace_edges", "replace_edges_many", "replace_metadata",
    "replace_metadata_many", "resolve_dangling_edges", "resolve_models", "resolve_review", "review_counts",
    "upsert_extraction", "upsert_extractions",
]
