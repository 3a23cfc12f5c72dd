"""Model metadata from cards and the hub over time (PeaTMOSS Figures 7, 10 and 11).

- Figure 7: the share of models whose extracted card metadata (``card_metadata``, any extractor) has each
  field of the model-card schema. The denominator is the models the cards stage has read: those with a
  ``card_extraction`` row or at least one ``card_metadata`` row (deleted models excluded).
- Figure 10: models created per period and domain, by the hub's ``created_at``.
- Figure 11: the median parameter count per period and domain, of the models created in that period
  whose size is known: the hub's safetensors total (``model.parameter_count``) first, else the
  ``parameter_count`` the card extractors found (the most confident one).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..cards.schema import FIELDS, is_empty
from ..store import Store, schema
from .common import Period, domain_of, domain_order, median, percent, period_of

M = schema.model
CM = schema.card_metadata
CE = schema.card_extraction


@dataclass(frozen=True)
class FieldShare:
    field: str
    models: int
    percent: float


@dataclass(frozen=True)
class PeriodCount:
    period: str
    domain: str
    models: int


@dataclass(frozen=True)
class PeriodMedian:
    period: str
    domain: str
    models: int  # created in the period with a known parameter count
    median: float


def field_availability(store: Store) -> tuple[int, list[FieldShare]]:
    """(models read by the cards stage, one row per schema field in schema order, then any other field)."""
    live = select(M.c.id).where(M.c.deleted.is_(False))
    with store.engine.connect() as conn:
        read = set(conn.execute(select(CE.c.model).where(CE.c.model.in_(live))).scalars())
        having: dict[str, set[int]] = defaultdict(set)
        for model, name, value in conn.execute(select(CM.c.model, CM.c.field, CM.c.value).where(CM.c.model.in_(live))):
            read.add(model)
            if not is_empty(value):
                having[name].add(model)
    names = list(FIELDS) + sorted(set(having) - set(FIELDS))
    total = len(read)
    return total, [FieldShare(n, len(having[n]), percent(len(having[n]), total)) for n in names]


def _as_count(value: Any) -> int | None:
    # bool is an int subclass; a card saying "true" is no size.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    return None


def _ordered(cells: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    periods = sorted({p for p, _ in cells})
    domains = domain_order(d for _, d in cells)
    return [(p, d) for p in periods for d in domains if (p, d) in cells]


def models_over_time(store: Store, hub: str = "huggingface", period: Period = Period.month) -> list[PeriodCount]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    query = select(M.c.created_at, M.c.domain, M.c.pipeline_tag).where(
        M.c.hub == hub, M.c.deleted.is_(False), M.c.created_at.is_not(None))
    with store.engine.connect() as conn:
        for created, domain, tag in conn.execution_options(yield_per=5000).execute(query):
            counts[period_of(created, period), domain_of(domain, tag)] += 1
    return [PeriodCount(p, d, counts[p, d]) for p, d in _ordered(counts)]


def parameter_counts(store: Store, hub: str = "huggingface") -> dict[int, int]:
    """Model primary key -> parameter count, where one is known (see the module's note on sources)."""
    found: dict[int, int] = {}
    with store.engine.connect() as conn:
        extracted = conn.execute(
            select(CM.c.model, CM.c.value).join(M, M.c.id == CM.c.model)
            .where(M.c.hub == hub, CM.c.field == "parameter_count")
            .order_by(CM.c.model, CM.c.confidence.desc().nulls_last(), CM.c.id))
        for model, value in extracted:
            count = _as_count(value)
            if count is not None and model not in found:
                found[model] = count
        for model, count in conn.execute(select(M.c.id, M.c.parameter_count).where(
                M.c.hub == hub, M.c.parameter_count.is_not(None))):
            if (value := _as_count(count)) is not None:
                found[model] = value  # the hub's own count of the weights beats what the card says
    return found


def median_parameters_over_time(store: Store, hub: str = "huggingface",
                                period: Period = Period.quarter) -> list[PeriodMedian]:
    sizes = parameter_counts(store, hub)
    values: dict[tuple[str, str], list[int]] = defaultdict(list)
    query = select(M.c.id, M.c.created_at, M.c.domain, M.c.pipeline_tag).where(
        M.c.hub == hub, M.c.deleted.is_(False), M.c.created_at.is_not(None))
    with store.engine.connect() as conn:
        for pk, created, domain, tag in conn.execution_options(yield_per=5000).execute(query):
            if pk in sizes:
                values[period_of(created, period), domain_of(domain, tag)].append(sizes[pk])
    return [PeriodMedian(p, d, len(values[p, d]), median(values[p, d])) for p, d in _ordered(values)]
