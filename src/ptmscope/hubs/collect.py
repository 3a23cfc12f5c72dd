"""Collecting hubs into the store: incremental, resumable, one failure never stops a run.

How a Hugging Face crawl stays correct when killed at any moment:
- the Hub lists models newest change first; a run stops at the watermark (the newest
  ``lastModified`` a previous *completed* run covered), so a re-run fetches only what changed;
- each batch is read, enriched over the network, then written in one transaction, so a kill
  leaves every batch either fully written or not at all;
- a row is rewritten only when the digest of its payload changed, and the card, commits and file
  details remember the model sha they were fetched at, so a resumed run re-lists cheaply and
  fetches exactly what an uninterrupted run would have;
- the watermark moves only when a run completes, so a killed run is simply redone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib.metadata import version
from typing import Any

from sqlalchemy import Connection

from .. import __version__
from ..errors import PtmscopeError, SourceUnavailableError
from ..store import Store
from ..store import models as rows
from ..store.db import utcnow
from ..timestamps import parse_timestamp
from .huggingface import HUB, HUB_ERRORS, HuggingFaceHub, parse_model, raw_digest
from .interface import ModelCommit, ModelFile, ModelRecord

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
Progress = Callable[[int], None]


@dataclass
class CollectSummary:
    run_id: int
    source: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    renamed: int = 0
    deleted: int = 0
    failed: int = 0
    skipped: int = 0
    backfilled: int = 0
    complete: bool = False
    checkpoint: str | None = None

    def counts(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("seen", "new", "updated", "unchanged", "renamed", "deleted",
                                              "failed", "skipped", "backfilled")}

    def line(self) -> str:
        return (f"{self.source}: {self.new} new, {self.updated} updated, {self.deleted} deleted, "
                f"{self.renamed} renamed, {self.failed} failed ({self.seen} listed, {self.unchanged} unchanged"
                + (f", {self.skipped} skipped)" if self.skipped else ")"))


@dataclass(frozen=True)
class HfOptions:
    limit: int | None = None
    author: str | None = None
    cards: bool = True
    history: bool = False
    files: bool = False
    full: bool = False
    workers: int = 8
    batch_size: int = BATCH_SIZE  # models written per transaction; also what a kill can lose


@dataclass
class _Fetched:
    card: str | None = None
    card_ok: bool = False
    commits: tuple[ModelCommit, ...] | None = None
    files: tuple[ModelFile, ...] | None = None
    current_id: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)


def _versions() -> dict[str, str]:
    return {"ptmscope": __version__, "huggingface_hub": version("huggingface_hub")}


def _source_key(author: str | None) -> str:
    return f"{HUB}:author={author}" if author else HUB


class _HfBatchWriter:
    def __init__(self, store: Store, hub: HuggingFaceHub, opts: HfOptions, summary: CollectSummary,
                 pool: ThreadPoolExecutor) -> None:
        self.store = store
        self.hub = hub
        self.opts = opts
        self.summary = summary
        self.pool = pool

    def _fetch(self, record: ModelRecord, stored: rows.StoredModel | None) -> _Fetched:
        out = _Fetched()
        sha = record.sha
        want_card = self.opts.cards and (stored is None or stored.card_sha != sha)
        if want_card and record.files is not None and not any(f.path == "README.md" for f in record.files):
            out.card, out.card_ok, want_card = None, True, False
        if want_card:
            try:
                out.card = self.hub.card_text(record.model_id, sha)
                out.card_ok = True
            except Exception as exc:
                out.errors.append(("card", f"{type(exc).__name__}: {exc}"))
        if self.opts.history and (stored is None or stored.commits_sha != sha):
            try:
                out.commits = self.hub.commits(record.model_id, sha)
            except Exception as exc:
                out.errors.append(("history", f"{type(exc).__name__}: {exc}"))
        if self.opts.files and (stored is None or stored.files_sha != sha):
            try:
                detail = self.hub.model_detail(record.model_id, files=True)
                out.files, out.current_id = detail.files, detail.current_id
            except Exception as exc:
                out.errors.append(("files", f"{type(exc).__name__}: {exc}"))
        return out

    def write(self, batch: Sequence[ModelRecord]) -> None:
        if not batch:
            return
        unique: dict[str, ModelRecord] = {}
        for record in batch:  # a model that moved between pages can be listed twice
            unique.setdefault(record.model_id, record)
        records = list(unique.values())

        with self.store.engine.connect() as conn:
            stored = rows.stored_by_id(conn, HUB, [r.model_id for r in records])
            orphans = [r.hub_object_id for r in records if r.model_id not in stored and r.hub_object_id]
            by_object = rows.stored_by_object_id(conn, HUB, orphans)

        renames: list[tuple[int, str, str]] = []
        prior: dict[str, rows.StoredModel | None] = {}
        for r in records:
            s = stored.get(r.model_id)
            if s is None and r.hub_object_id in by_object:
                s = by_object[r.hub_object_id]
                if s.model_id not in unique:
                    renames.append((s.pk, s.model_id, r.model_id))
            prior[r.model_id] = s

        needs = [r for r in records if self._needs_fetch(r, prior[r.model_id])]
        fetched = dict(zip((r.model_id for r in needs),
                           self.pool.map(lambda r: self._fetch(r, prior[r.model_id]), needs), strict=True))

        now = utcnow()
        run_id = self.summary.run_id
        with self.store.engine.begin() as conn:
            for pk, old_id, new_id in renames:
                rows.rename_model(conn, HUB, pk, old_id, new_id, evidence="object_id", now=now)
            changed = [r for r in records if self._changed(r, prior[r.model_id])]
            changed_ids = {r.model_id for r in changed}
            pks = rows.upsert_models(conn, [rows.model_row(r, now=now, run_id=run_id) for r in changed])
            for r in records:
                if r.model_id not in pks and prior[r.model_id] is not None:
                    pks[r.model_id] = prior[r.model_id].pk  # type: ignore[union-attr]
            unchanged = [pks[r.model_id] for r in records if r.model_id not in changed_ids]
            rows.touch_models(conn, unchanged, now=now, run_id=run_id)

            listed_files = {pks[r.model_id]: r.files for r in changed if r.files is not None}
            self._write_details(conn, fetched, pks, {r.model_id: r.sha for r in records}, listed_files)

        self._record_errors(fetched)
        self.summary.renamed += len(renames)
        for r in changed:
            s = prior[r.model_id]
            if s is None:
                self.summary.new += 1
            elif s.model_id == r.model_id:
                self.summary.updated += 1
        self.summary.unchanged += len(unchanged)

    def backfill(self, pending: Sequence[rows.StoredModel]) -> None:
        """Fetch the details a model still lacks at its current sha (cards asked for only now, or a
        fetch that failed in an earlier run), for models this run's listing did not reach."""
        records = [ModelRecord(hub=HUB, model_id=s.model_id, sha=s.sha) for s in pending]
        prior = {s.model_id: s for s in pending}
        fetched = dict(zip((r.model_id for r in records),
                           self.pool.map(lambda r: self._fetch(r, prior[r.model_id]), records), strict=True))
        with self.store.engine.begin() as conn:
            self._write_details(conn, fetched, {s.model_id: s.pk for s in pending},
                                {s.model_id: s.sha for s in pending}, {})
        self._record_errors(fetched)
        self.summary.backfilled += len(pending)

    @staticmethod
    def _write_details(conn: Connection, fetched: dict[str, _Fetched], pks: dict[str, int],
                       shas: dict[str, str | None], listed_files: Mapping[int, Sequence[ModelFile]]) -> None:
        files: dict[int, Sequence[ModelFile]] = dict(listed_files)
        commits: dict[int, Sequence[ModelCommit]] = {}
        for model_id, f in fetched.items():
            pk, sha = pks[model_id], shas[model_id]
            detail: dict[str, Any] = {}
            if f.card_ok:
                detail.update(card_text=f.card.replace("\x00", "") if f.card else None, card_sha=sha)
            if f.commits is not None:
                commits[pk] = f.commits
                detail["commits_sha"] = sha
            if f.files is not None:
                files[pk] = f.files
                detail["files_sha"] = sha
            rows.set_detail_shas(conn, pk, detail)
        rows.replace_files(conn, files)
        rows.replace_commits(conn, commits)

    def _record_errors(self, fetched: dict[str, _Fetched]) -> None:
        for model_id, f in fetched.items():
            for what, reason in f.errors:
                self.summary.failed += 1
                self.store.record_failure(self.summary.run_id, f"collect.{what}", model_id, reason)

    @staticmethod
    def _changed(record: ModelRecord, stored: rows.StoredModel | None) -> bool:
        return (stored is None or stored.raw_hash != record.raw_hash or stored.deleted
                or stored.model_id != record.model_id)

    def _needs_fetch(self, record: ModelRecord, stored: rows.StoredModel | None) -> bool:
        sha = record.sha
        if stored is None:
            return self.opts.cards or self.opts.history or self.opts.files
        return ((self.opts.cards and stored.card_sha != sha) or (self.opts.history and stored.commits_sha != sha)
                or (self.opts.files and stored.files_sha != sha))



def collect_huggingface(store: Store, hub: HuggingFaceHub, opts: HfOptions,
                        progress: Progress | None = None) -> CollectSummary:
    hub.check_reachable()
    source = _source_key(opts.author)
    state = store.crawl_state(source)
    watermark = parse_timestamp(state["watermark"]) if state and state["watermark"] and not opts.full else None
    store.interrupt_stale_runs(source)
    params = {"limit": opts.limit, "author": opts.author, "cards": opts.cards, "history": opts.history,
              "files": opts.files, "full": opts.full, "since": watermark.isoformat() if watermark else None}
    run_id = store.start_run("collect", source, params=params, versions=_versions())
    summary = CollectSummary(run_id=run_id, source=source)
    newest: datetime | None = None
    exhausted = False
    try:
        with ThreadPoolExecutor(max_workers=max(1, opts.workers), thread_name_prefix="hf") as pool:
            writer = _HfBatchWriter(store, hub, opts, summary, pool)
            newest, exhausted = _crawl_listing(store, hub, opts, writer, summary, watermark, progress)
            if exhausted:
                with store.engine.connect() as conn:
                    pending = rows.pending_details(conn, HUB, run_id, cards=opts.cards, history=opts.history,
                                                   files=opts.files, author=opts.author)
                for start in range(0, len(pending), opts.batch_size):
                    writer.backfill(pending[start:start + opts.batch_size])
            if opts.full and exhausted:
                _reconcile_unseen(store, hub, summary, opts, pool)
    except KeyboardInterrupt:
        store.finish_run(run_id, "interrupted", summary.counts())
        raise
    except PtmscopeError as exc:
        store.finish_run(run_id, "failed", summary.counts(), error=str(exc))
        raise
    except HUB_ERRORS as exc:
        store.finish_run(run_id, "failed", summary.counts(), error=f"{type(exc).__name__}: {exc}")
        raise SourceUnavailableError(f"listing models from {hub.endpoint} failed: {exc}") from exc

    summary.complete = exhausted
    if exhausted:
        # Only a listing that reached the old watermark (or the end) may move it forward.
        best = max((t for t in (newest, watermark) if t is not None), default=None)
        summary.checkpoint = best.isoformat() if best else None
        store.save_crawl_state(source, watermark=summary.checkpoint, run_id=run_id)
    else:
        summary.checkpoint = watermark.isoformat() if watermark else None
    store.finish_run(run_id, "completed", summary.counts())
    return summary


def _crawl_listing(store: Store, hub: HuggingFaceHub, opts: HfOptions, writer: _HfBatchWriter,
                   summary: CollectSummary, watermark: datetime | None,
                   progress: Progress | None) -> tuple[datetime | None, bool]:
    """List newest-changed first down to the watermark, writing in batches. Returns the newest
    ``lastModified`` seen and whether the listing was exhausted (not cut short by ``--limit``)."""
    page = min(opts.limit, 1000) if opts.limit else 1000
    newest: datetime | None = None
    batch: list[ModelRecord] = []

    def flush() -> None:
        writer.write(batch)
        if progress and batch:
            progress(len(batch))
        batch.clear()

    # Pages are fetched lazily: stopping at the watermark never downloads the page after it.
    for raw in hub.list_raw(author=opts.author, page_size=page):
        if opts.limit is not None and summary.seen >= opts.limit:
            flush()
            return newest, False
        try:
            record = parse_model(raw)
        except ValueError as exc:
            summary.seen += 1
            summary.failed += 1
            store.record_failure(summary.run_id, "collect.parse", str(raw.get("_id", "?")), str(exc))
            continue
        if record.last_modified and (newest is None or record.last_modified > newest):
            newest = record.last_modified
        if watermark and record.last_modified and record.last_modified < watermark:
            break
        summary.seen += 1
        batch.append(record)
        if len(batch) >= opts.batch_size:
            flush()
    flush()
    return newest, True


def _reconcile_unseen(store: Store, hub: HuggingFaceHub, summary: CollectSummary, opts: HfOptions,
                      pool: ThreadPoolExecutor) -> None:
    """After a complete listing: models it did not return were renamed, or deleted (kept, flagged)."""
    with store.engine.connect() as conn:
        unseen = rows.unseen_models(conn, HUB, summary.run_id, opts.author)
    if not unseen:
        return

    def probe(item: tuple[int, str]) -> tuple[int, str, str | None, str | None]:
        pk, model_id = item
        try:
            return pk, model_id, hub.exists_as(model_id), None
        except Exception as exc:
            return pk, model_id, model_id, f"{type(exc).__name__}: {exc}"

    gone: list[int] = []
    now = utcnow()
    results = list(pool.map(probe, unseen))
    with store.engine.begin() as conn:
        for pk, model_id, current, error in results:
            if error is not None:
                continue
            if current is None:
                gone.append(pk)
            elif current != model_id:
                rows.rename_model(conn, HUB, pk, model_id, current, evidence="http_307", now=now)
                summary.renamed += 1
        rows.mark_deleted(conn, gone, now=now)
    for _pk, model_id, _current, error in results:
        if error is not None:
            summary.failed += 1
            store.record_failure(summary.run_id, "collect.reconcile", model_id, error)
    summary.deleted += len(gone)


def collect_records(store: Store, hub_name: str, source: str, records: Iterable[ModelRecord],
                    *, mark_missing_deleted: bool, params: dict[str, Any] | None = None,
                    skipped: Iterable[tuple[str, str]] = ()) -> CollectSummary:
    """Store a hub that is read whole each time (PyTorch Hub): upsert all, flag what disappeared."""
    store.interrupt_stale_runs(source)
    run_id = store.start_run("collect", source, params=params or {}, versions={"ptmscope": __version__})
    summary = CollectSummary(run_id=run_id, source=source)
    unique: dict[str, ModelRecord] = {}
    for listed in records:
        summary.seen += 1
        record = listed
        if record.raw_hash is None:
            _, digest = raw_digest({"raw": record.raw, "entrypoints": list(record.entrypoints),
                                    "github_repo": record.github_repo, "tags": list(record.tags),
                                    "title": record.title, "summary": record.summary, "sha": record.sha,
                                    "card_text": record.card_text, "card_data": record.card_data})
            record = replace(record, raw_hash=digest)
        unique.setdefault(record.model_id, record)
    now = utcnow()
    with store.engine.begin() as conn:
        stored = rows.stored_by_id(conn, hub_name, list(unique))
        changed = [r for r in unique.values() if _HfBatchWriter._changed(r, stored.get(r.model_id))]
        changed_ids = {r.model_id for r in changed}
        for start in range(0, len(changed), BATCH_SIZE):
            rows.upsert_models(conn, [rows.model_row(r, now=now, run_id=run_id, with_card=True)
                                      for r in changed[start:start + BATCH_SIZE]])
        unchanged = [stored[m].pk for m in unique if m in stored and m not in changed_ids]
        rows.touch_models(conn, unchanged, now=now, run_id=run_id)
        if mark_missing_deleted:
            gone = [pk for pk, _ in rows.unseen_models(conn, hub_name, run_id)]
            rows.mark_deleted(conn, gone, now=now)
            summary.deleted = len(gone)
    for r in changed:
        if r.model_id in stored:
            summary.updated += 1
        else:
            summary.new += 1
    summary.unchanged = len(unchanged)
    for item, reason in skipped:
        summary.skipped += 1
        store.record_failure(run_id, "collect.skip", item, reason)
    summary.complete = True
    store.save_crawl_state(source, watermark=None, run_id=run_id)
    store.finish_run(run_id, "completed", summary.counts())
    return summary
