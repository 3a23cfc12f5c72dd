"""Model snapshots and model-file verdicts: which models to snapshot, what a snapshot holds, and what
the scanners said about each file content.

``model_snapshot`` holds one row per file of a model at the commit it was snapshotted at; a model's
rows are replaced as a whole in one transaction, so a model either has the complete set for a commit
or the set of an earlier one. ``model_file_verdict`` is keyed on content (sha256), scanner and scanner
version: a content is scanned once whatever models and paths hold it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, select

from ..jsonvalues import chunks
from . import Store, schema
from .models import dialect_insert

M = schema.model
MS = schema.model_snapshot
V = schema.model_file_verdict
U = schema.usage
R = schema.repository

HUB = "huggingface"
DOWNLOADED, SKIPPED, FAILED = "downloaded", "skipped", "failed"


@dataclass(frozen=True, slots=True)
class ModelTarget:
    pk: int
    model_id: str
    sha: str
    config: Any  # model.config as collected: ``auto_map`` says whether loading it runs custom code


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    """A ``model_snapshot`` row as read back."""

    path: str
    commit: str | None
    sha256: str | None
    size: int | None
    status: str
    reason: str | None
    format: str | None


def select_models(conn: Connection, *, min_downloads: int, revision_pinned: bool,
                  limit: int | None, used: bool = False) -> list[ModelTarget]:
    """Hub models to snapshot, most downloaded first: not deleted, with a recorded commit, at least
    ``min_downloads`` downloads; with ``revision_pinned``, only those some stored call site loads with a
    pinned revision; with ``used``, only those some stored call site loads at all."""
    query = (select(M.c.id, M.c.model_id, M.c.sha, M.c.config)
             .where(M.c.hub == HUB, M.c.deleted.is_(False), M.c.sha.is_not(None), M.c.sha != "")
             .order_by(M.c.downloads.desc().nulls_last(), M.c.model_id))
    if min_downloads > 0:
        query = query.where(M.c.downloads >= min_downloads)
    if revision_pinned:
        query = query.where(exists().where(U.c.model == M.c.id, U.c.pinned.is_(True)))
    if used:
        query = query.where(exists().where(U.c.model == M.c.id))
    if limit is not None:
        query = query.limit(limit)
    return [ModelTarget(row.id, row.model_id, row.sha, row.config) for row in conn.execute(query)]


def stored_files(conn: Connection, models: Sequence[int]) -> dict[int, list[SnapshotFile]]:
    """Each model's snapshot rows."""
    out: dict[int, list[SnapshotFile]] = {pk: [] for pk in models}
    for part in chunks(sorted(set(models))):
        for row in conn.execute(select(MS).where(MS.c.model.in_(part)).order_by(MS.c.model, MS.c.path)):
            out[row.model].append(SnapshotFile(row.path, row.commit, row.sha256, row.size, row.status, row.reason,
                                               row.format))
    return out


def replace_snapshot(conn: Connection, model: int, rows: Sequence[Mapping[str, Any]]) -> None:
    """The model's snapshot becomes ``rows`` (dicts of ``model_snapshot`` columns without ``model``)."""
    conn.execute(delete(MS).where(MS.c.model == model))
    for part in chunks(list(rows)):
        conn.execute(insert(MS), [{**row, "model": model} for row in part])


def verdict_keys(conn: Connection, shas: Iterable[str]) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Per content: scanner -> (version, format) of every stored verdict."""
    out: dict[str, dict[str, tuple[str, str | None]]] = {}
    for part in chunks(sorted(set(shas))):
        for row in conn.execute(select(V.c.sha256, V.c.scanner, V.c.scanner_version, V.c.format)
                                .where(V.c.sha256.in_(part))):
            out.setdefault(row.sha256, {})[row.scanner] = (row.scanner_version, row.format)
    return out


def has_verdict(keys: Mapping[str, Mapping[str, tuple[str, str | None]]], sha: str, scanner: str,
                version: str) -> bool:
    found = keys.get(sha, {}).get(scanner)
    return found is not None and found[0] == version


def write_verdicts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store verdicts; a verdict already stored for the same content, scanner and version stands (the
    scanners are deterministic, so it is the same verdict)."""
    stmt = dialect_insert(conn, V).on_conflict_do_nothing(index_elements=["sha256", "scanner", "scanner_version"])
    for part in chunks(list(rows)):
        conn.execute(stmt, list(part))


def latest_verdicts(conn: Connection, shas: Iterable[str], scanner: str) -> dict[str, tuple[str, str | None]]:
    """The outcome and format of the newest verdict of ``scanner`` on each content."""
    out: dict[str, tuple[datetime, str, str | None]] = {}
    for part in chunks(sorted(set(shas))):
        for sha, outcome, fmt, at in conn.execute(select(V.c.sha256, V.c.outcome, V.c.format, V.c.scanned_at)
                                                  .where(V.c.sha256.in_(part), V.c.scanner == scanner)):
            if sha not in out or at > out[sha][0]:
                out[sha] = (at, outcome, fmt)
    return {sha: (outcome, fmt) for sha, (_, outcome, fmt) in out.items()}


def _latest_verdicts(scanner_filter: Any) -> Any:
    """Per (content, scanner): the newest verdict, as a subquery of (sha256, scanner, outcome, details)."""
    newest = (select(V.c.sha256, V.c.scanner, func.max(V.c.scanned_at).label("at"))
              .where(scanner_filter).group_by(V.c.sha256, V.c.scanner).subquery())
    return (select(V.c.sha256, V.c.scanner, V.c.outcome, V.c.details, V.c.format)
            .join(newest, and_(newest.c.sha256 == V.c.sha256, newest.c.scanner == V.c.scanner,
                               newest.c.at == V.c.scanned_at))
            .subquery())


def verdict_counts(store: Store, scanner: str = "modelfiles") -> dict[str, int]:
    """Snapshot files per outcome of ``scanner`` (its newest verdict on their content), over every
    model's current snapshot; files not downloaded count under their own status (skipped, failed)."""
    latest = _latest_verdicts(V.c.scanner == scanner)
    query = (select(MS.c.status, latest.c.outcome, func.count())
             .select_from(MS.outerjoin(latest, latest.c.sha256 == MS.c.sha256))
             .group_by(MS.c.status, latest.c.outcome))
    counts: dict[str, int] = {}
    with store.engine.connect() as conn:
        for status, outcome, n in conn.execute(query):
            key = outcome if status == DOWNLOADED and outcome is not None else status
            counts[key] = counts.get(key, 0) + int(n)
    return counts


@dataclass(frozen=True, slots=True)
class CallSite:
    repository: str  # owner/name
    path: str
    line: int | None
    cell: int | None
    model_pk: int
    model: str
    revision: str | None
    pinned: bool | None


def trust_remote_code_calls(conn: Connection) -> list[CallSite]:
    """Every stored call site that passes ``trust_remote_code=True`` for a resolved model."""
    query = (select(R.c.owner, R.c.name, U.c.path, U.c.line, U.c.cell, U.c.model, M.c.model_id, U.c.revision,
                    U.c.pinned)
             .join(R, R.c.id == U.c.repository).join(M, M.c.id == U.c.model)
             .where(U.c.trust_remote_code.is_(True))
             .order_by(R.c.owner, R.c.name, U.c.path, U.c.line, U.c.id))
    return [CallSite(f"{row.owner}/{row.name}", row.path, row.line, row.cell, row.model, row.model_id, row.revision,
                     row.pinned) for row in conn.execute(query)]


def code_files(conn: Connection, models: Sequence[int], prefix: str) -> dict[int, list[tuple[SnapshotFile, list[
        tuple[str, str, Any]]]]]:
    """Each model's downloaded ``.py`` snapshot files with the newest verdict of every scanner whose name
    starts with ``prefix``: (scanner, outcome, details)."""
    latest = _latest_verdicts(V.c.scanner.startswith(prefix))
    out: dict[int, list[tuple[SnapshotFile, list[tuple[str, str, Any]]]]] = {pk: [] for pk in models}
    for part in chunks(sorted(set(models))):
        query = (select(MS, latest.c.scanner, latest.c.outcome, latest.c.details)
                 .select_from(MS.outerjoin(latest, latest.c.sha256 == MS.c.sha256))
                 .where(MS.c.model.in_(part), MS.c.status == DOWNLOADED, MS.c.path.endswith(".py"))
                 .order_by(MS.c.model, MS.c.path, latest.c.scanner))
        current: dict[tuple[int, str], tuple[SnapshotFile, list[tuple[str, str, Any]]]] = {}
        for row in conn.execute(query):
            key = (row.model, row.path)
            if key not in current:
                current[key] = (SnapshotFile(row.path, row.commit, row.sha256, row.size, row.status, row.reason,
                                             row.format), [])
                out[row.model].append(current[key])
            if row.scanner is not None:
                current[key][1].append((row.scanner, row.outcome, row.details))
    return out


def snapshot_commits(conn: Connection, models: Sequence[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for part in chunks(sorted(set(models))):
        for pk, commit in conn.execute(select(MS.c.model, func.max(MS.c.commit)).where(MS.c.model.in_(part))
                                       .group_by(MS.c.model)):
            out[pk] = commit
    return out


def model_configs(conn: Connection, models: Sequence[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for part in chunks(sorted(set(models))):
        out.update((pk, config) for pk, config in conn.execute(select(M.c.id, M.c.config).where(M.c.id.in_(part))))
    return out
