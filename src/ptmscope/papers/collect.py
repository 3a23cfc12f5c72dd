"""Collecting papers into the store: batched, idempotent, and one bad paper never stops a run.

A source is listed lazily and written in batches, each in one transaction, so a killed run keeps
every batch it finished and a re-run rewrites nothing that did not change. A paper that cannot be
stored (a field longer than its column, a value the database refuses) is recorded as a failure of
the run; so are the entries a source could not read (its ``skipped``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .. import __version__
from ..config import Settings
from ..errors import PtmscopeError, UsageError
from ..store import Store
from ..store import papers as rows
from .arxiv import ArxivSource
from .dblp import DblpSource
from .interface import PaperRecord, PaperSource
from .listfile import ListFileSource
from .openreview import OpenReviewSource
from .venues import SOURCES, check_request

log = logging.getLogger(__name__)

STAGE = "collect"
BATCH_SIZE = 500
Progress = Callable[[int], None]
_REMOTE: dict[str, Callable[[Settings], PaperSource]] = {
    "openreview": OpenReviewSource, "arxiv": ArxivSource, "dblp": DblpSource,
}


@dataclass
class PaperSummary:
    run_id: int
    source: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    complete: bool = False

    def counts(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("seen", "new", "updated", "unchanged", "failed", "skipped")}

    def line(self) -> str:
        return (f"{self.source}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.failed} failed ({self.seen} listed" + (f", {self.skipped} skipped)" if self.skipped else ")"))


def make_source(name: str, settings: Settings, *, path: Path | None = None) -> PaperSource:
    """The paper source called ``name`` (see :data:`ptmscope.papers.venues.SOURCES`)."""
    if name == "file":
        if path is None:
            raise UsageError("--source file needs --file PATH (a CSV or JSON paper list)")
        if not path.is_file():
            raise UsageError(f"paper list not found: {path}")
        return ListFileSource(path)
    if name not in _REMOTE:
        raise UsageError(f"unknown paper source {name!r}: choose from {', '.join(SOURCES)}")
    if path is not None:
        raise UsageError("--file goes with --source file only")
    return _REMOTE[name](settings)


def run_source(name: str, venue: str | None, year: int | None, path: Path | None = None) -> str:
    """The run's source label: one collector at a time per label."""
    parts = ["papers", name, path.name if path else None, venue, str(year) if year else None]
    return ":".join(p for p in parts if p)



def _item(record: PaperRecord) -> str:
    return f"{record.source}:{record.source_id}"


class _Writer:
    def __init__(self, store: Store, summary: PaperSummary) -> None:
        self.store = store
        self.summary = summary

    def fail(self, item: str, reason: str) -> None:
        self.summary.failed += 1
        self.store.record_failure(self.summary.run_id, "collect.papers", item, reason)

    def write(self, batch: Sequence[PaperRecord]) -> None:
        valid: dict[rows.Key, tuple[PaperRecord, dict[str, Any]]] = {}
        for record in batch:
            row = rows.paper_row(record)
            problem = rows.row_problem(row)
            if problem is not None:
                self.fail(_item(record), problem)
                continue
            valid[(row["source"], row["source_id"])] = (record, row)
        if not valid:
            return
        with self.store.engine.connect() as conn:
            stored = rows.stored_papers(conn, valid)
        changed = [record for key, (record, row) in valid.items()
                   if key not in stored or rows.comparable(row) != rows.comparable(stored[key])]
        written = self._upsert(changed)
        self.summary.unchanged += len(valid) - len(changed)
        for record in written:
            if (record.source, record.source_id) in stored:
                self.summary.updated += 1
            else:
                self.summary.new += 1

    def _upsert(self, records: list[PaperRecord]) -> list[PaperRecord]:
        if not records:
            return []
        try:
            with self.store.engine.begin() as conn:
                rows.upsert_papers(conn, records)
            return records
        except SQLAlchemyError:
            log.info("a batch of %d papers was refused; writing them one at a time", len(records))
        written = []
        for record in records:
            try:
                with self.store.engine.begin() as conn:
                    rows.upsert_papers(conn, [record])
                written.append(record)
            except SQLAlchemyError as exc:
                self.fail(_item(record), f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}")
        return written

    def drain(self, source: PaperSource) -> None:
        while source.skipped:
            item, reason = source.skipped.pop(0)
            self.summary.skipped += 1
            self.store.record_failure(self.summary.run_id, "collect.papers.skip", item, reason)


def collect_papers(store: Store, source: PaperSource, venue: str | None, year: int | None,
                   progress: Progress | None = None, *, batch_size: int = BATCH_SIZE,
                   path: Path | None = None) -> PaperSummary:
    """List ``source`` for ``venue`` and ``year`` into the store; ``path`` names a paper list's file."""
    canonical = check_request(source.name, venue, year) if source.name in SOURCES else venue
    label = run_source(source.name, canonical, year, path)
    store.interrupt_stale_runs(label)
    params = {"venue": canonical, "year": year, "file": str(path) if path else None}
    run_id = store.start_run(STAGE, label, params=params, versions={"ptmscope": __version__})
    summary = PaperSummary(run_id=run_id, source=label)
    writer = _Writer(store, summary)
    batch: list[PaperRecord] = []

    def flush() -> None:
        writer.write(batch)
        writer.drain(source)
        if progress and batch:
            progress(len(batch))
        batch.clear()

    with store.recording(run_id, summary.counts):
        try:
            for record in source.iter_papers(canonical, year):
                summary.seen += 1
                batch.append(record)
                if len(batch) >= batch_size:
                    flush()
            flush()
        except PtmscopeError:
            writer.drain(source)  # what the source skipped before failing is still recorded
            raise
        summary.complete = True
        store.save_crawl_state(label, watermark=None, run_id=run_id, data=summary.counts())
    return summary
