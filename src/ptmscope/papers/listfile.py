"""Paper lists in CSV or JSON: Papers-with-Code style dumps, papercopilot's paperlists, and the like.

The format is told by the columns (or keys), not by the file name:
- ``pwc``: a paper title plus a repository column (``paper_title,paper_link,conference,year,repo_link``
  in the classic CSV dumps; ``paper_title``/``paper_url``/``repo_url`` in the JSON ones);
- ``papercopilot``: ``title`` with papercopilot's own keys (``github``, ``site``, ``openreview``,
  ``track``, ``status``);
- ``paperlist``: anything else with a title column, read through the same column aliases.

Rows of one paper (same venue, year and title) are merged, so a dump with one row per (paper,
repository) gives one paper with several code links. Code-link values are kept exactly as written,
``;``-joined lists and markdown badges included: the link stage takes them apart.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from ..errors import UsageError
from .countries import countries_of
from .interface import PaperRecord
from .text import arxiv_id_from, clean, doi_from, openreview_id_from, present, unique
from .venues import check_request, venue_label

SOURCE = "file"
FORMATS = ("pwc", "papercopilot", "paperlist")

# Record field -> the columns that hold it, in order of preference (matched case-insensitively).
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "paper_title"),
    "venue": ("venue", "conference", "conf", "proceeding"),
    "year": ("year",),
    "authors": ("authors", "author"),
    "code": ("github", "repo_link", "repo_url", "code", "code_url", "repository"),
    "url": ("site", "paper_link", "url_abs", "paper_url_abs", "paper_url", "url"),
    "pdf": ("pdf", "pdf_url", "url_pdf", "paper_url_pdf"),
    "openreview": ("openreview", "openreview_url"),
    "arxiv": ("arxiv_id", "paper_arxiv_id", "arxiv"),
    "doi": ("doi",),
    "abstract": ("abstract",),
    "keywords": ("keywords", "tasks"),
    "affiliations": ("affiliations", "aff", "affiliation"),
    "countries": ("countries", "country", "aff_country_unique"),
    "emails": ("emails", "email"),
}
_PWC_MARKERS = (frozenset({"paper_title", "repo_link"}), frozenset({"paper_title", "repo_url"}),
                frozenset({"paper_url", "repo_url"}))
_PAPERCOPILOT_MARKERS = frozenset({"github", "site", "openreview", "track", "status"})
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")
_WORD = re.compile(r"\w+")
_SLUG_CHARS = 80


@dataclass
class _Paper:
    first_row: int
    rows: list[dict[str, Any]] = field(default_factory=list)  # as written, for ``raw``
    lowered: list[dict[str, Any]] = field(default_factory=list)  # column names lower-cased, for reading


def _read_rows(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read paper list {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"paper list {path} is not UTF-8 text: {exc}") from exc
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            rows = orjson.loads(stripped)
            return rows if isinstance(rows, list) else []
        if stripped.startswith("{"):
            # JSON lines: one paper object per line.
            return [orjson.loads(line) for line in stripped.splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"paper list {path} is not valid JSON: {exc}") from exc
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, restkey="_extra"))


def detect_format(columns: Iterable[str]) -> str | None:
    """``pwc``, ``papercopilot`` or ``paperlist`` for a list with these columns; None without a title."""
    names = {c.strip().lower() for c in columns if isinstance(c, str)}
    if any(marker <= names for marker in _PWC_MARKERS):
        return "pwc"
    if "title" in names and names & _PAPERCOPILOT_MARKERS:
        return "papercopilot"
    if names & set(COLUMNS["title"]):
        return "paperlist"
    return None


def _values(row: Mapping[str, Any], name: str) -> list[Any]:
    """The non-empty cells of every column that holds ``name``, in order of preference."""
    return [row[c] for c in COLUMNS[name] if row.get(c) not in (None, "", [])]


def _field(row: Mapping[str, Any], name: str) -> Any:
    return next(iter(_values(row, name)), None)


def _split(value: Any) -> list[str]:
    """A list cell: a JSON list, or a string joined with ``;`` (or, without any ``;``, with ``,``)."""
    if isinstance(value, list):
        return [s for s in (clean(v) for v in value) if s]
    text = clean(value if isinstance(value, str) else None)
    if text is None:
        return []
    return [s for s in (clean(p) for p in text.split(";" if ";" in text else ",")) if s]


def _title_key(title: str) -> str:
    return " ".join(_WORD.findall(title.casefold()))


def _year(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _YEAR.search(str(value)) if value is not None else None
    return int(match.group(1)) if match else None


def source_id(venue: str | None, year: int | None, title: str) -> str:
    """A stable id for a listed paper: venue, year and a readable, hashed title."""
    key = _title_key(title)
    slug = key.replace(" ", "-")[:_SLUG_CHARS].rstrip("-")
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return f"{(venue or 'unknown').lower()[:40]}/{year or 'unknown'}/{slug}-{digest}"


class ListFileSource:
    name = SOURCE

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped: list[tuple[str, str]] = []
        rows = _read_rows(path)
        columns = {k for row in rows if isinstance(row, dict) for k in row}
        detected = detect_format(columns)
        if detected is None:
            raise UsageError(f"paper list {path} has no title column (looked for {', '.join(COLUMNS['title'])})"
                             if rows else f"paper list {path} holds no papers")
        self.format = detected
        self._rows = rows

    def close(self) -> None:
        """Nothing to release: the list was read whole."""

    def iter_papers(self, venue: str | None, year: int | None) -> Iterator[PaperRecord]:
        wanted = check_request(SOURCE, venue, year)
        papers: dict[tuple[str | None, int | None, str], _Paper] = {}
        for number, row in enumerate(self._rows, start=1):
            item = f"{self.path.name} row {number}"
            if not isinstance(row, dict):
                self.skipped.append((item, f"a {type(row).__name__}, not a paper object"))
                continue
            lowered = {k.strip().lower(): v for k, v in row.items() if isinstance(k, str)}
            title = clean(_field(lowered, "title"))
            if title is None:
                self.skipped.append((item, "no title"))
                continue
            row_venue = venue_label(clean(_field(lowered, "venue")))
            row_year = _year(_field(lowered, "year"))
            if wanted is not None and (row_venue or "").casefold() != wanted.casefold():
                continue
            if year is not None and row_year != year:
                continue
            paper = papers.setdefault((row_venue, row_year, _title_key(title)), _Paper(first_row=number))
            paper.rows.append(row)
            paper.lowered.append(lowered)
        for (row_venue, row_year, _), paper in papers.items():
            yield self._record(row_venue, row_year, paper)

    def _record(self, venue: str | None, year: int | None, paper: _Paper) -> PaperRecord:
        rows = paper.lowered

        def first(name: str) -> Any:
            return next((v for v in (_field(r, name) for r in rows) if v is not None), None)

        def listed(name: str) -> tuple[str, ...]:
            return unique(item for r in rows for value in _values(r, name) for item in _split(value))

        def authors() -> tuple[str, ...]:
            # From the first row that has them: merged rows repeat one paper's author list.
            return next((present(_split(a)) for a in (_field(r, "authors") for r in rows) if a), ())

        title = clean(first("title")) or ""
        url = clean(first("url"))
        links = [clean(v) for v in (first("url"), first("pdf"), first("openreview")) if isinstance(v, str)]
        affiliations = listed("affiliations")
        return PaperRecord(
            source=self.format,
            source_id=source_id(venue, year, title),
            title=title,
            venue=venue,
            year=year,
            authors=authors(),
            affiliations=affiliations,
            countries=countries_of([*affiliations, *listed("countries")], listed("emails")),
            arxiv_id=arxiv_id_from(clean(first("arxiv"))) or next((i for i in map(arxiv_id_from, links) if i), None),
            doi=doi_from(clean(first("doi"))) or next((d for d in map(doi_from, links) if d), None),
            openreview_id=next((i for i in map(openreview_id_from, links) if i), None),
            url=url,
            pdf_url=clean(first("pdf")) or (url if url and urlsplit(url).path.lower().endswith(".pdf") else None),
            abstract=clean(first("abstract")),
            keywords=listed("keywords"),
            # Exactly as written: one value per code cell, never split or trimmed here.
            code_links=unique(v for r in rows for cell in _values(r, "code")
                              for v in (cell if isinstance(cell, list) else [cell])
                              if isinstance(v, str) and v.strip()),
            raw={"format": self.format, "file": self.path.name, "first_row": paper.first_row, "rows": paper.rows},
        )
