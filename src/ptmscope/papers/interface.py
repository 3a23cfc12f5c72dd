"""What every paper source gives ptmscope: :class:`PaperRecord` values, one per paper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """One paper as a source describes it. ``raw`` is the payload it was built from, kept whole.

    ``code_links`` are strings exactly as the source wrote them (a field's whole value, or a URL
    as it stands in free text): normalising them to repositories is the link stage's job.
    ``affiliations`` are the distinct affiliations of all authors in author order (``raw`` keeps
    which author had which); ``countries`` are ISO 3166-1 alpha-2 codes.
    """

    source: str
    source_id: str
    title: str | None = None
    venue: str | None = None
    year: int | None = None
    authors: tuple[str, ...] = ()
    affiliations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    arxiv_id: str | None = None
    doi: str | None = None
    openreview_id: str | None = None
    url: str | None = None
    pdf_url: str | None = None
    abstract: str | None = None
    keywords: tuple[str, ...] = ()
    code_links: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)


class PaperSource(Protocol):
    """A place papers can be listed from.

    ``skipped`` collects (item, reason) for entries the source could read but not turn into a
    record; the collector drains it into the run's failures, so a bad entry never stops a listing.
    """

    name: str
    skipped: list[tuple[str, str]]

    def iter_papers(self, venue: str | None, year: int | None) -> Iterator[PaperRecord]:
        """Papers of ``venue`` in ``year`` (None: whatever the source holds)."""
        ...

    def close(self) -> None: ...
