"""The venues of the seed's AI-source-code perspective, and which paper source can list which."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError

VENUES = ("ICLR", "NeurIPS", "ICML", "CVPR", "AAAI", "KDD", "SIGGRAPH", "arXiv")
_BY_FOLDED = {v.casefold(): v for v in VENUES} | {"nips": "NeurIPS"}
MIN_YEAR = 1950
MAX_YEAR = 2100


@dataclass(frozen=True)
class SourceSpec:
    name: str
    venues: tuple[str, ...] | None  # None: whatever a paper list holds
    needs_venue: bool
    needs_year: bool
    how: str


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec for spec in (
        SourceSpec("openreview", ("ICLR", "NeurIPS", "ICML"), True, True,
                   "accepted papers by OpenReview venue id (API v2: ICLR 2024-, NeurIPS and ICML 2023-)"),
        SourceSpec("arxiv", ("arXiv",), False, False, "machine-learning categories of the arXiv API"),
        SourceSpec("dblp", ("ICLR", "NeurIPS", "ICML", "CVPR", "AAAI", "KDD", "SIGGRAPH"), True, True,
                   "the proceedings' tables of contents in DBLP"),
        SourceSpec("file", None, False, False, "a CSV or JSON paper list (--file)"),
    )
}


def canonical_venue(name: str) -> str:
    """The canonical spelling of a seed venue (case-insensitive; NIPS is NeurIPS)."""
    venue = _BY_FOLDED.get(name.strip().casefold())
    if venue is None:
        raise UsageError(f"unknown venue {name!r}: choose from {', '.join(VENUES)} (NIPS = NeurIPS)")
    return venue


def venue_label(raw: str | None) -> str | None:
    """How a venue a source wrote is stored: the canonical name of a seed venue, else as written."""
    if raw is None or not raw.strip():
        return None
    return _BY_FOLDED.get(raw.strip().casefold(), raw.strip())


def check_request(source: str, venue: str | None, year: int | None) -> str | None:
    """Validate a (source, venue, year) request before any work; returns the canonical venue."""
    spec = SOURCES.get(source)
    if spec is None:
        raise UsageError(f"unknown paper source {source!r}: choose from {', '.join(SOURCES)}")
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise UsageError(f"year {year} is out of range ({MIN_YEAR}-{MAX_YEAR})")
    if spec.venues is None:
        # A paper list may hold any venue (ICCV, CoRL, ...); it is filtered by name as written.
        return venue_label(venue)
    canonical = canonical_venue(venue) if venue is not None else None
    if canonical is None and spec.needs_venue:
        raise UsageError(f"--source {source} needs --venue ({', '.join(spec.venues)})")
    if canonical is not None and canonical not in spec.venues:
        others = [s.name for s in SOURCES.values() if s.venues is not None and canonical in s.venues]
        hint = f"; {canonical} is served by --source {' or '.join(others)}" if others else ""
        raise UsageError(f"--source {source} serves {', '.join(spec.venues)} ({spec.how}){hint}")
    if year is None and spec.needs_year:
        raise UsageError(f"--source {source} needs --year: it lists one proceedings at a time")
    return canonical


def venue_and_year(source: str, venue: str | None, year: int | None) -> tuple[str, int]:
    """:func:`check_request` for a source that lists one proceedings at a time."""
    canonical = check_request(source, venue, year)
    if canonical is None or year is None:
        raise UsageError(f"--source {source} needs --venue and --year")
    return canonical, year
