"""Models per problem domain on each hub (Figure 8 of the PeaTMOSS paper)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from ..store import Store, schema
from .common import domain_of, domain_order, hub_order, percent

M = schema.model


@dataclass(frozen=True)
class DomainShare:
    hub: str
    domain: str
    models: int
    percent: float  # of the hub's models (deleted excluded)


def domains_per_hub(store: Store) -> list[DomainShare]:
    counts: dict[str, Counter[str]] = {}
    query = (select(M.c.hub, M.c.domain, M.c.pipeline_tag, func.count())
             .where(M.c.deleted.is_(False)).group_by(M.c.hub, M.c.domain, M.c.pipeline_tag))
    with store.engine.connect() as conn:
        for hub, domain, tag, n in conn.execute(query):
            counts.setdefault(hub, Counter())[domain_of(domain, tag)] += int(n)
    rows: list[DomainShare] = []
    for hub in hub_order(counts):
        total = sum(counts[hub].values())
        rows += [DomainShare(hub, d, counts[hub][d], percent(counts[hub][d], total)) for d in domain_order(counts[hub])]
    return rows
