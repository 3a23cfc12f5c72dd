"""Reading what the licenses stage needs, and writing its results: normalised licenses on ``model`` and
``repository`` rows, and the ``license_check`` verdicts, replaced as a whole each run (a verdict depends on
both ends' licenses and on the rules, so there is nothing to keep from an earlier run)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, union, update

from . import schema

M = schema.model
R = schema.repository
LC = schema.license_check
_CHUNK = 1000


@dataclass(frozen=True)
class ModelLicenseRow:
    pk: int
    model_id: str
    license_raw: str | None
    license_spdx: str | None
    tags: Any
    card_data: Any


@dataclass(frozen=True)
class RepoLicenseRow:
    pk: int
    full_name: str
    license_raw: str | None
    license_spdx: str | None
    api_license: Any  # the ``license`` object of the stored GitHub payload, if any
    clone_path: str | None


@dataclass(frozen=True)
class Pair:
    model: int
    repository: int


@dataclass(frozen=True)
class Edge:
    child: int
    parent: int
    child_id: str


def models(conn: Connection) -> Iterator[ModelLicenseRow]:
    query = select(M.c.id, M.c.model_id, M.c.license_raw, M.c.license_spdx, M.c.tags, M.c.card_data).order_by(M.c.id)
    for row in conn.execute(query.execution_options(yield_per=_CHUNK)):
        yield ModelLicenseRow(row.id, row.model_id, row.license_raw, row.license_spdx, row.tags, row.card_data)


def repositories(conn: Connection) -> Iterator[RepoLicenseRow]:
    query = select(R.c.id, R.c.owner, R.c.name, R.c.license_raw, R.c.license_spdx, R.c.raw, R.c.clone_path,
                   R.c.clone_status).order_by(R.c.id)
    for row in conn.execute(query.execution_options(yield_per=_CHUNK)):
        raw = row.raw if isinstance(row.raw, dict) else {}
        cloned = row.clone_status in ("cloned", "partial") and row.clone_path
        yield RepoLicenseRow(row.id, f"{row.owner}/{row.name}", row.license_raw, row.license_spdx,
                             raw.get("license"), row.clone_path if cloned else None)


def set_model_licenses(conn: Connection, updates: Sequence[tuple[int, str | None, str | None]]) -> None:
    """(pk, license_raw, license_spdx) for each model whose values changed."""
    statement = update(M).where(M.c.id == bindparam("b_pk")).values(
        license_raw=bindparam("b_raw"), license_spdx=bindparam("b_spdx"))
    for start in range(0, len(updates), _CHUNK):
        conn.execute(statement, [{"b_pk": pk, "b_raw": raw, "b_spdx": spdx}
                                 for pk, raw, spdx in updates[start:start + _CHUNK]])


def set_repository_licenses(conn: Connection, updates: Sequence[tuple[int, str | None, str | None]]) -> None:
    """(pk, license_raw, license_spdx) for each repository whose values changed."""
    statement = update(R).where(R.c.id == bindparam("b_pk")).values(
        license_raw=bindparam("b_raw"), license_spdx=bindparam("b_spdx"))
    for start in range(0, len(updates), _CHUNK):
        conn.execute(statement, [{"b_pk": pk, "b_raw": raw, "b_spdx": spdx}
                                 for pk, raw, spdx in updates[start:start + _CHUNK]])


def model_app_pairs(conn: Connection) -> list[Pair]:
    """Every (model, repository) where the repository loads the model (a resolved ``usage``) or was found as
    one of its downstream users (a ``downstream`` link)."""
    u, lk = schema.usage, schema.link
    query = union(
        select(u.c.model, u.c.repository).where(u.c.model.is_not(None)),
        select(lk.c.model, lk.c.repository).where(lk.c.model.is_not(None), lk.c.kind == "downstream"),
    )
    return sorted((Pair(m, r) for m, r in conn.execute(query)), key=lambda p: (p.model, p.repository))


def base_model_edges(conn: Connection) -> list[Edge]:
    """Every stored child -> parent base-model edge whose parent is in the store, once per pair."""
    e = schema.model_edge
    query = (select(e.c.child, e.c.parent, M.c.model_id).join(M, M.c.id == e.c.child)
             .where(e.c.parent.is_not(None)).distinct())
    return sorted((Edge(c, p, name) for c, p, name in conn.execute(query)), key=lambda x: (x.child, x.parent))


def replace_checks(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace every ``license_check`` row with ``rows`` (in the caller's transaction)."""
    conn.execute(delete(LC))
    for start in range(0, len(rows), _CHUNK):
        conn.execute(insert(LC), list(rows[start:start + _CHUNK]))

