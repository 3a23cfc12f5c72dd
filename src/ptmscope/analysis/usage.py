"""Downstream use of models, from the call sites the usage stage stored (table ``usage``).

- Figure 9 of the PeaTMOSS paper: downstream repositories per domain of the model they load, per hub;
- the most-loaded models;
- how many call sites pin a revision;
- ptmscope's own view: unpinned use of each model, with ``trust_remote_code=True`` call sites flagged,
  since an unpinned load with remote code runs whatever the model's repository holds at the time.

Only call sites whose model argument was resolved to a name say which model is loaded; call sites
whose name matched no stored model keep the name (``in_store`` false) and have no hub or domain.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, Select, select

from ..store import Store, schema
from .common import domain_of, domain_order, hub_order, percent

U = schema.usage
M = schema.model
R = schema.repository


@dataclass(frozen=True)
class DownstreamShare:
    hub: str
    domain: str
    repositories: int  # distinct repositories loading at least one model of this domain from this hub
    percent: float  # of the hub's downstream repositories; a repository loading two domains counts in both
    hub_repositories: int  # the hub's downstream repositories, each once


@dataclass(frozen=True)
class LoadedModel:
    model: str  # hub model id, or the name as written when no stored model matched
    hub: str | None
    in_store: bool
    domain: str | None
    repositories: int
    call_sites: int
    pinned: int  # call sites that pin a revision


@dataclass(frozen=True)
class LibraryPinning:
    library: str
    call_sites: int
    pinned: int
    percent: float


@dataclass
class Pinning:
    call_sites: int = 0
    resolved: int = 0  # the model argument was resolved statically
    in_store: int = 0  # ... and matched a stored model
    pinned: int = 0
    trust_remote_code: int = 0
    repositories: int = 0
    by_library: list[LibraryPinning] = field(default_factory=list)

    @property
    def percent_pinned(self) -> float:
        return percent(self.pinned, self.call_sites)


@dataclass(frozen=True)
class UnpinnedModel:
    model: str
    hub: str | None
    in_store: bool
    call_sites: int  # without a pinned revision
    repositories: int
    trust_remote_code: int  # of those call sites, how many also pass trust_remote_code=True
    locations: tuple[str, ...]  # a few owner/name:path:line, trust_remote_code ones first


def _sites_query() -> Select[Any]:
    return (select(U.c.repository, U.c.path, U.c.line, U.c.library, U.c.model_name, U.c.resolved, U.c.pinned,
                   U.c.trust_remote_code, M.c.hub, M.c.model_id, M.c.domain, M.c.pipeline_tag, R.c.owner, R.c.name)
            .select_from(U.join(R, R.c.id == U.c.repository).outerjoin(M, M.c.id == U.c.model))
            .order_by(U.c.id))


def downstream_per_domain(store: Store) -> list[DownstreamShare]:
    repos: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    query = (select(U.c.repository, M.c.hub, M.c.domain, M.c.pipeline_tag).distinct()
             .join(M, M.c.id == U.c.model))
    with store.engine.connect() as conn:
        for repo, hub, domain, tag in conn.execute(query):
            repos[hub][domain_of(domain, tag)].add(repo)
    rows: list[DownstreamShare] = []
    for hub in hub_order(repos):
        total = len(set().union(*repos[hub].values()))
        rows += [DownstreamShare(hub, d, len(repos[hub][d]), percent(len(repos[hub][d]), total), total)
                 for d in domain_order(repos[hub])]
    return rows


def _key(row: Row[Any]) -> tuple[str, str | None, bool] | None:
    """(model, hub, in_store): the stored model where one matched, else the name as written."""
    if row.model_id is not None:
        return str(row.model_id), str(row.hub), True
    if row.model_name:
        return str(row.model_name), None, False
    return None


def most_loaded(store: Store, limit: int | None = 20) -> list[LoadedModel]:
    """Models by how many repositories load them, then by call sites."""
    repos: dict[tuple[str, str | None, bool], set[int]] = defaultdict(set)
    sites: Counter[tuple[str, str | None, bool]] = Counter()
    pinned: Counter[tuple[str, str | None, bool]] = Counter()
    domains: dict[tuple[str, str | None, bool], str] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(_sites_query()):
            key = _key(row)
            if key is None:
                continue
            repos[key].add(row.repository)
            sites[key] += 1
            pinned[key] += bool(row.pinned)
            if key[2]:
                domains[key] = domain_of(row.domain, row.pipeline_tag)
    ordered = sorted(repos, key=lambda k: (-len(repos[k]), -sites[k], k[0], k[1] or ""))
    return [LoadedModel(k[0], k[1], k[2], domains.get(k), len(repos[k]), sites[k], pinned[k])
            for k in ordered[:limit]]


def pinning(store: Store) -> Pinning:
    result = Pinning()
    per_library: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    repositories: set[int] = set()
    with store.engine.connect() as conn:
        for row in conn.execute(_sites_query()):
            result.call_sites += 1
            result.resolved += bool(row.resolved)
            result.in_store += row.model_id is not None
            result.pinned += bool(row.pinned)
            result.trust_remote_code += bool(row.trust_remote_code)
            repositories.add(row.repository)
            per_library[row.library][0] += 1
            per_library[row.library][1] += bool(row.pinned)
    result.repositories = len(repositories)
    result.by_library = [LibraryPinning(lib, n, p, percent(p, n))
                         for lib, (n, p) in sorted(per_library.items(), key=lambda kv: (-kv[1][0], kv[0]))]
    return result


def unpinned_usage(store: Store, limit: int | None = None, locations: int = 3) -> list[UnpinnedModel]:
    """Each model loaded somewhere without a pinned revision: models loaded with remote code first, then by
    repositories and call sites. Call sites whose model could not be resolved name no model and are left out."""
    repos: dict[tuple[str, str | None, bool], set[int]] = defaultdict(set)
    sites: Counter[tuple[str, str | None, bool]] = Counter()
    remote: Counter[tuple[str, str | None, bool]] = Counter()
    where: dict[tuple[str, str | None, bool], list[tuple[bool, str]]] = defaultdict(list)
    with store.engine.connect() as conn:
        for row in conn.execute(_sites_query().where(U.c.pinned.is_not(True))):
            key = _key(row)
            if key is None:
                continue
            repos[key].add(row.repository)
            sites[key] += 1
            remote[key] += bool(row.trust_remote_code)
            line = f":{row.line}" if row.line is not None else ""
            where[key].append((not row.trust_remote_code, f"{row.owner}/{row.name}:{row.path}{line}"))
    ordered = sorted(repos, key=lambda k: (-remote[k], -len(repos[k]), -sites[k], k[0], k[1] or ""))
    return [UnpinnedModel(k[0], k[1], k[2], sites[k], len(repos[k]), remote[k],
                          tuple(loc for _, loc in sorted(where[k], key=lambda x: x[0])[:locations]))
            for k in ordered[:limit]]
