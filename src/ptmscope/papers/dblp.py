"""DBLP: a venue's papers of one year from the proceedings' table of contents.

``GET {dblp_api}/search/publ/api?q=toc:db/conf/iclr/iclr2024.bht:&format=json&h=1000&f=0`` lists one
proceedings exactly (a plain ``venue:`` search also finds workshops and look-alikes). ``h`` is capped
at 1,000 hits a page and ``f`` is the offset of the first. The JSON is converted from XML, so a field
that may repeat is a list when it does and a bare value when it does not: ``authors.author`` and
``ee`` are read either way. ``ee`` (electronic editions) is where DBLP keeps DOI, arXiv, OpenReview
and occasionally code links. A table of contents also lists the proceedings volume itself (type
``Editorship``); that entry is not a paper and is passed over.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..config import Settings
from ..errors import SourceUnavailableError
from .fetch import ApiSource, get_json
from .interface import PaperRecord
from .text import arxiv_id_from, clean, doi_from, find_code_links, openreview_id_from, present
from .venues import venue_and_year

SOURCE = "dblp"
PAGE_SIZE = 1000  # the API's own maximum
# DBLP tells people with the same name apart by a four-digit suffix ("Wei Wang 0001").
_HOMONYM = re.compile(r"\s+\d{4}$")


def toc_keys(venue: str, year: int) -> tuple[str, ...]:
    """DBLP table-of-contents keys (``conf/<stream>/<basename>``) of ``venue`` in ``year``."""
    if venue == "NeurIPS":
        # The proceedings were renamed with the conference in 2018.
        return (f"conf/nips/nips{year}",) if year <= 2017 else (f"conf/nips/neurips{year}",)
    stream = venue.lower()
    if venue == "KDD":
        # Recent KDD proceedings come in numbered volumes; a key DBLP does not have lists nothing.
        return (f"conf/kdd/kdd{year}", f"conf/kdd/kdd{year}-1", f"conf/kdd/kdd{year}-2")
    return (f"conf/{stream}/{stream}{year}",)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_volume(hit: Any) -> bool:
    info = hit.get("info") if isinstance(hit, dict) else None
    return isinstance(info, dict) and info.get("type") == "Editorship"


def _name(author: Any) -> str | None:
    text = author.get("text") if isinstance(author, dict) else author
    name = clean(text)
    return _HOMONYM.sub("", name) if name else None


def parse_hit(hit: Any, venue: str, year: int) -> PaperRecord:
    info = hit.get("info") if isinstance(hit, dict) else None
    if not isinstance(info, dict):
        raise ValueError("hit has no info")
    key = info.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError("hit has no DBLP key")
    authors = info.get("authors")
    ees = [e.strip() for e in _as_list(info.get("ee")) if isinstance(e, str) and e.strip()]
    title = clean(info.get("title"))
    year_text = str(info.get("year", ""))
    return PaperRecord(
        source=SOURCE,
        source_id=key,
        # DBLP ends every title with a full stop of its own.
        title=title[:-1] if title and title.endswith(".") else title,
        venue=venue,
        year=int(year_text) if year_text.isdigit() else year,
        authors=present(_name(a) for a in _as_list(authors.get("author") if isinstance(authors, dict) else None)),
        arxiv_id=next((i for i in map(arxiv_id_from, ees) if i), None),
        doi=doi_from(info.get("doi") if isinstance(info.get("doi"), str) else None)
        or next((d for d in map(doi_from, ees) if d), None),
        openreview_id=next((i for i in map(openreview_id_from, ees) if i), None),
        url=info.get("url") if isinstance(info.get("url"), str) else None,
        pdf_url=next((e for e in ees if e.lower().endswith(".pdf")), None),
        code_links=tuple(e for e in ees if find_code_links(e)),
        raw=dict(hit),
    )


class DblpSource(ApiSource):
    name = SOURCE

    def __init__(self, settings: Settings, *, page_size: int = PAGE_SIZE,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, settings.dblp_api, page_size=page_size, sleep=sleep)

    def iter_papers(self, venue: str | None, year: int | None) -> Iterator[PaperRecord]:
        canonical, year = venue_and_year(SOURCE, venue, year)
        listed = 0
        for key in toc_keys(canonical, year):
            for hit in self._hits(f"toc:db/{key}.bht:"):
                if _is_volume(hit):
                    continue
                listed += 1
                try:
                    record = parse_hit(hit, canonical, year)
                except ValueError as exc:
                    item = hit.get("@id") if isinstance(hit, dict) else None
                    self.skipped.append((f"{key}:{item or '?'}", str(exc)))
                    continue
                yield record
        if listed == 0:
            self.skipped.append((f"{canonical} {year}", f"DBLP has no table of contents "
                                 f"{' or '.join(toc_keys(canonical, year))} (not indexed yet?)"))

    def _hits(self, query: str) -> Iterator[Any]:
        first = 0
        while True:
            params: dict[str, str | int] = {"q": query, "format": "json", "h": self.page_size, "f": first, "c": 0}
            body = get_json(self._client, "/search/publ/api", params, source=SOURCE)
            result = body.get("result") if isinstance(body, dict) else None
            hits = result.get("hits") if isinstance(result, dict) else None
            if not isinstance(hits, dict):
                raise SourceUnavailableError(f"{SOURCE}: the answer to {query!r} has no result.hits")
            page = _as_list(hits.get("hit"))
            total = str(hits.get("@total", "0"))
            if not page:
                return
            yield from page
            first += len(page)
            if not total.isdigit() or first >= int(total):
                return
