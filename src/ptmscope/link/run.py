"""``link``: every stored model and paper, read in batches, to repositories and links.

Each batch (read by primary key, so memory stays flat whatever the store holds) is extracted and
written in one transaction, replacing the links of its subjects: a killed run leaves whole batches,
and a re-run rewrites the same rows. Deleted models keep the links they had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Row, func, select

from .. import __version__
from ..store import Store, schema
from ..store import links as store_links
from .extract import KIND_HUB, KIND_LIBRARY, Extracted, LinkCandidate, links_for_model, links_for_paper

BATCH_SIZE = 1000
STAGE = "link"
Progress = Callable[[int], None]

M = schema.model
P = schema.paper

Subject = Literal["model", "paper"]


def _perspective(candidate: LinkCandidate, subject: Subject) -> str:
    if subject == "paper":
        return "paper"
    return "hub_catalogue" if candidate.kind == KIND_HUB else "model_card"


@dataclass
class LinkSummary:
    run_id: int
    models: int = 0
    models_linked: int = 0
    model_links: int = 0
    library_mentions: int = 0
    papers: int = 0
    papers_linked: int = 0
    paper_links: int = 0
    repositories: int = 0  # linked from anything, after this run
    repositories_new: int = 0
    rejected: int = 0  # GitHub-like references that name no repository (owner pages, gists, ...)
    unresolvable: int = 0  # references that may name one, but cannot be read (git.io)

    def counts(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "run_id"}

    def line(self) -> str:
        return (f"link: {self.models_linked} of {self.models} models linked ({self.model_links} links, "
                f"{self.library_mentions} library mentions), {self.papers_linked} of {self.papers} papers "
                f"({self.paper_links} links); {self.repositories} repositories ({self.repositories_new} new); "
                f"{self.rejected} references rejected, {self.unresolvable} unresolvable")


def subject_count(store: Store) -> int:
    """How many models and papers :func:`link_all` reads (for a progress bar)."""
    with store.engine.connect() as conn:
        models = conn.execute(select(func.count()).select_from(M).where(M.c.deleted.is_(False))).scalar_one()
        papers = conn.execute(select(func.count()).select_from(P)).scalar_one()
    return int(models) + int(papers)


def link_all(store: Store, progress: Progress | None = None, *, batch_size: int = BATCH_SIZE) -> LinkSummary:
    """Link every live model and every paper to the GitHub repositories they name."""
    store.interrupt_stale_runs(STAGE)
    run_id = store.start_run(STAGE, STAGE, versions={"ptmscope": __version__})
    summary = LinkSummary(run_id=run_id)
    with store.recording(run_id, summary.counts):
        before = _repository_count(store)
        model_columns = (M.c.id, M.c.hub, M.c.model_id, M.c.author, M.c.card_data, M.c.card_text,
                         M.c.github_repo, M.c.entrypoints)
        for rows in _batches(store, M, model_columns, M.c.deleted.is_(False), batch_size):
            extracted = {row.id: (f"model:{row.hub}:{row.model_id}", _model_links(row)) for row in rows}
            summary.models += len(rows)
            _write(store, summary, "model", extracted)
            if progress:
                progress(len(rows))
        for rows in _batches(store, P, (P.c.id, P.c.source, P.c.source_id, P.c.code_links, P.c.abstract),
                             None, batch_size):
            extracted = {row.id: (f"paper:{row.source}:{row.source_id}",
                                  links_for_paper(code_links=row.code_links, abstract=row.abstract)) for row in rows}
            summary.papers += len(rows)
            _write(store, summary, "paper", extracted)
            if progress:
                progress(len(rows))
        summary.repositories_new = _repository_count(store) - before
        with store.engine.connect() as conn:
            summary.repositories = int(conn.execute(
                select(func.count(schema.link.c.repository.distinct()))).scalar_one())
    return summary


def _model_links(row: Row[Any]) -> Extracted:
    return links_for_model(card_data=row.card_data, card_text=row.card_text, github_repo=row.github_repo,
                           entrypoints=row.entrypoints if isinstance(row.entrypoints, list) else None,
                           author=row.author)


def _batches(store: Store, table: Any, columns: Sequence[Any], where: Any, size: int) -> Iterator[list[Row[Any]]]:
    """Rows in primary-key order, ``size`` at a time, each batch read in its own short transaction."""
    last = 0
    while True:
        query = select(*columns).where(table.c.id > last).order_by(table.c.id).limit(size)
        if where is not None:
            query = query.where(where)
        with store.engine.connect() as conn:
            rows = list(conn.execute(query).all())
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _write(store: Store, summary: LinkSummary, subject: Subject, extracted: dict[int, tuple[str, Extracted]]) -> None:
    candidates = {pk: found.candidates for pk, (_, found) in extracted.items()}
    with store.engine.begin() as conn:
        repo_pks = store_links.ensure_repositories(conn, (c.repo for cs in candidates.values() for c in cs))
        written = store_links.replace_links(conn, subject, candidates, repo_pks)
        _add_sources(conn, subject, candidates, repo_pks)
    linked = sum(1 for cs in candidates.values() if cs)
    if subject == "model":
        summary.models_linked += linked
        summary.model_links += written
        summary.library_mentions += sum(c.kind == KIND_LIBRARY for cs in candidates.values() for c in cs)
    else:
        summary.papers_linked += linked
        summary.paper_links += written
    for item, found in extracted.values():
        for rejected in found.rejected:
            if rejected.unresolvable:
                summary.unresolvable += 1
                store.record_failure(summary.run_id, STAGE, item, f"{rejected.reason}: {rejected.url}")
            else:
                summary.rejected += 1


def _add_sources(conn: Connection, subject: Subject, candidates: Mapping[int, Sequence[LinkCandidate]],
                 repo_pks: Mapping[str, int]) -> None:
    by_perspective: dict[str, set[int]] = {}
    for cs in candidates.values():
        for c in cs:
            by_perspective.setdefault(_perspective(c, subject), set()).add(repo_pks[c.repo.key])
    for perspective, pks in by_perspective.items():
        store_links.add_sources(conn, pks, perspective)


def _repository_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.repository)).scalar_one())
