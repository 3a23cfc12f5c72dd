"""arXiv: machine-learning preprints from the arXiv API's Atom feed.

``GET {arxiv_api}/query?search_query=...&start=&max_results=&sortBy=submittedDate&sortOrder=ascending``
answers an Atom feed with ``opensearch:totalResults``. The API serves at most 30,000 results of one
query and asks clients to wait 3 seconds between calls, so a year is listed as a submission-date
window that is halved until each part fits under that cap. It sometimes answers a page with no
entries although more exist; such a page is asked again a few times before the window is given up
and recorded as skipped. Code links come from ``arxiv:comment`` ("Code: https://github.com/...") and
the abstract, affiliations from ``arxiv:affiliation``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from ..config import Settings
from ..errors import SourceUnavailableError
from .countries import countries_of
from .fetch import ApiSource, get
from .interface import PaperRecord
from .text import arxiv_id_from, clean, doi_from, find_code_links, present, unique
from .venues import check_request

log = logging.getLogger(__name__)

SOURCE = "arxiv"
VENUE = "arXiv"
CATEGORIES = ("cs.LG", "cs.AI", "cs.CV", "cs.CL", "cs.NE", "stat.ML")
PAGE_SIZE = 1000
RESULT_CAP = 30_000
PAGE_DELAY = 3.0
EMPTY_PAGE_RETRIES = 3
FIRST_SUBMISSION = datetime(1991, 8, 1, tzinfo=UTC)

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV = "{http://arxiv.org/schemas/atom}"
_ERROR_ID = "arxiv.org/api/errors"
# A feed never declares a document type; one that does could declare entities to expand.
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Feed:
    total: int
    entries: list[ElementTree.Element]


def parse_feed(body: bytes) -> Feed:
    """The entries of one Atom page and the total the query matched."""
    if _DECLARATION.search(body):
        raise SourceUnavailableError(f"{SOURCE}: refusing a feed with a DOCTYPE or entity declaration")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise SourceUnavailableError(f"{SOURCE}: the feed is not well-formed XML: {exc}") from exc
    entries = root.findall(f"{ATOM}entry")
    errors = [e for e in entries if _ERROR_ID in (e.findtext(f"{ATOM}id") or "")]
    if errors:
        message = clean(errors[0].findtext(f"{ATOM}summary")) or "unspecified error"
        raise SourceUnavailableError(f"{SOURCE}: the API refused the query: {message}")
    total_text = (root.findtext(f"{OPENSEARCH}totalResults") or "").strip()
    if not total_text.isdigit():
        raise SourceUnavailableError(f"{SOURCE}: the feed has no opensearch:totalResults")
    return Feed(int(total_text), entries)


def _text(element: ElementTree.Element, path: str) -> str | None:
    return clean(element.findtext(path))


def entry_to_dict(entry: ElementTree.Element) -> dict[str, Any]:
    """An entry as plain data (for ``raw``), with its XML kept so no element is lost."""
    primary = entry.find(f"{ARXIV}primary_category")
    return {
        "id": _text(entry, f"{ATOM}id"),
        "published": _text(entry, f"{ATOM}published"),
        "updated": _text(entry, f"{ATOM}updated"),
        "title": _text(entry, f"{ATOM}title"),
        "summary": _text(entry, f"{ATOM}summary"),
        "authors": [{"name": _text(a, f"{ATOM}name"),
                     "affiliations": [t for t in (clean(x.text) for x in a.findall(f"{ARXIV}affiliation")) if t]}
                    for a in entry.findall(f"{ATOM}author")],
        "comment": _text(entry, f"{ARXIV}comment"),
        "journal_ref": _text(entry, f"{ARXIV}journal_ref"),
        "doi": _text(entry, f"{ARXIV}doi"),
        "primary_category": primary.get("term") if primary is not None else None,
        "categories": [c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term")],
        "links": [dict(link.attrib) for link in entry.findall(f"{ATOM}link")],
        "xml": ElementTree.tostring(entry, encoding="unicode"),
    }


def parse_entry(entry: ElementTree.Element) -> PaperRecord:
    raw = entry_to_dict(entry)
    arxiv_id = arxiv_id_from(raw["id"])
    if arxiv_id is None:
        raise ValueError(f"entry id {raw['id']!r} is not an arXiv id")
    published = raw["published"] or ""
    year = int(published[:4]) if published[:4].isdigit() else None
    links = raw["links"]
    url = next((link.get("href") for link in links if link.get("rel") == "alternate"), None)
    pdf_url = next((link.get("href") for link in links if link.get("title") == "pdf"), None)
    affiliations = unique(a for author in raw["authors"] for a in author["affiliations"])
    return PaperRecord(
        source=SOURCE,
        source_id=arxiv_id,
        title=raw["title"],
        venue=VENUE,
        year=year,
        authors=present(author["name"] for author in raw["authors"]),
        affiliations=affiliations,
        countries=countries_of(affiliations),
        arxiv_id=arxiv_id,
        doi=doi_from(raw["doi"]),
        url=url,
        pdf_url=pdf_url,
        abstract=raw["summary"],
        code_links=find_code_links(raw["comment"], raw["summary"]),
        raw=raw,
    )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M")


class ArxivSource(ApiSource):
    name = SOURCE

    def __init__(self, settings: Settings, *, categories: Sequence[str] = CATEGORIES, page_size: int = PAGE_SIZE,
                 result_cap: int = RESULT_CAP, page_delay: float = PAGE_DELAY,
                 empty_page_retries: int = EMPTY_PAGE_RETRIES, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if not categories:
            raise ValueError("at least one arXiv category is needed")
        super().__init__(settings, settings.arxiv_api, page_size=page_size, sleep=sleep)
        self.categories = tuple(categories)
        self.result_cap = result_cap
        self.page_delay = page_delay
        self.empty_page_retries = empty_page_retries
        self._sleep = sleep
        self._clock = clock
        self._requests = 0

    def iter_papers(self, venue: str | None, year: int | None) -> Iterator[PaperRecord]:
        check_request(SOURCE, venue, year)
        if year is None:
            start, end = FIRST_SUBMISSION, self._clock().replace(second=0, microsecond=0)
        else:
            start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year, 12, 31, 23, 59, tzinfo=UTC)
        yield from self._window(start, end)

    def query(self, start: datetime, end: datetime) -> str:
        categories = " OR ".join(f"cat:{c}" for c in self.categories)
        return f"({categories}) AND submittedDate:[{_stamp(start)} TO {_stamp(end)}]"

    def _page(self, query: str, start: int) -> Feed:
        if self._requests:
            self._sleep(self.page_delay)
        self._requests += 1
        params: dict[str, str | int] = {"search_query": query, "start": start, "max_results": self.page_size,
                                        "sortBy": "submittedDate", "sortOrder": "ascending"}
        return parse_feed(get(self._client, "/query", params, source=SOURCE).content)

    def _window(self, start: datetime, end: datetime) -> Iterator[PaperRecord]:
        query = self.query(start, end)
        feed = self._page(query, 0)
        if feed.total > self.result_cap and end - start >= _MINUTE:
            middle = start + ((end - start) // _MINUTE // 2) * _MINUTE
            log.debug("%s: %d results for %s; halving the window", SOURCE, feed.total, query)
            yield from self._window(start, middle)
            yield from self._window(middle + _MINUTE, end)
            return
        if feed.total > self.result_cap:
            self.skipped.append((query, f"{feed.total} submissions in one minute; the API serves only the first "
                                        f"{self.result_cap}"))
        reachable = min(feed.total, self.result_cap)
        offset = 0
        while True:
            yield from self._records(feed.entries)
            offset += len(feed.entries)
            if offset >= reachable:
                return
            feed = self._next_page(query, offset, reachable)
            if not feed.entries:
                self.skipped.append((f"{query} start={offset}", f"the API answered empty pages although it reported "
                                     f"{feed.total} results; {reachable - offset} of them were not listed"))
                return

    def _next_page(self, query: str, offset: int, reachable: int) -> Feed:
        feed = self._page(query, offset)
        for attempt in range(self.empty_page_retries):
            if feed.entries:
                break
            log.info("%s: empty page at %d of %d; asking again (%d)", SOURCE, offset, reachable, attempt + 1)
            feed = self._page(query, offset)
        return feed

    def _records(self, entries: list[ElementTree.Element]) -> Iterator[PaperRecord]:
        for entry in entries:
            try:
                record = parse_entry(entry)
            except ValueError as exc:
                self.skipped.append((entry.findtext(f"{ATOM}id") or "?", str(exc)))
                continue
            yield record
