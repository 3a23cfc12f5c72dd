"""Models most exposed to high-severity findings through the code they are linked to.

Built on :func:`ptmscope.analysis.vulns.vuln_table`, whose ``models`` list holds one entry per
(model, repository) link to a repository with high or critical findings in its current scans. Here those
are gathered per model: how many such repositories, how many high/critical findings they hold together,
and every kind of link that ties the model to them (a model card naming the repository, a paper's code,
downstream code loading the model, ...).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from ..store import Store, schema
from .vulns import VulnTable, vuln_table

_CHUNK = 500  # values per IN (...) list, well under every backend's bound-parameter limit


@dataclass(frozen=True)
class ExposedModel:
    hub: str
    model: str
    repositories: int  # linked repositories with high or critical findings
    high: int  # high and critical findings in those repositories together
    kinds: tuple[str, ...]  # every link kind between the model and those repositories
    worst_repository: str  # owner/name with the most high/critical findings
    worst_high: int


def exposed_models(store: Store, limit: int | None = 20, table: VulnTable | None = None) -> list[ExposedModel]:
    table = table if table is not None else vuln_table(store)
    per_model: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for entry in table.models:
        per_model[entry.hub, entry.model][entry.repository] = entry.high
    if not per_model:
        return []
    m, lk, r = schema.model, schema.link, schema.repository
    kinds: dict[tuple[str, str], set[str]] = defaultdict(set)
    query = (select(m.c.hub, m.c.model_id, r.c.owner, r.c.name, lk.c.kind).distinct()
             .join(lk, lk.c.model == m.c.id).join(r, r.c.id == lk.c.repository))
    names = sorted({model for _, model in per_model})
    with store.engine.connect() as conn:
        for start in range(0, len(names), _CHUNK):
            for hub, model_id, owner, name, kind in conn.execute(
                    query.where(m.c.model_id.in_(names[start:start + _CHUNK]))):
                if f"{owner}/{name}" in per_model.get((hub, model_id), {}):
                    kinds[hub, model_id].add(kind)
    rows = []
    for (hub, model_id), repos in per_model.items():
        worst = min(repos, key=lambda repo: (-repos[repo], repo))
        rows.append(ExposedModel(hub, model_id, len(repos), sum(repos.values()), tuple(sorted(kinds[hub, model_id])),
                                 worst, repos[worst]))
    rows.sort(key=lambda e: (-e.high, -e.repositories, e.hub, e.model))
    return rows[:limit]
