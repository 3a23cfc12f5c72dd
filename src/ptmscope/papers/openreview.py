"""OpenReview (API v2): the accepted papers of ICLR, NeurIPS and ICML by venue id.

``GET /notes?content.venueid=ICLR.cc/2024/Conference`` lists exactly the accepted papers (rejected
and withdrawn ones carry ``.../Rejected_Submission`` and ``.../Withdrawn_Submission``). Pages are
walked the way openreview-py's ``efficient_iterget`` does: ``sort=id`` and ``after=<last id>``, which
stays correct while notes are added during a crawl, with ``count=true`` on the first page. Note
fields are ``content.<field>.value``; ``pdf`` is a path on the site. Venues before ICLR 2024 and
NeurIPS/ICML 2023 live in API v1 only; for them use DBLP or a paper list.

Affiliations are not on notes: authors are listed by profile id (``~First_Last1``), and each
profile's ``content.history`` holds positions with an ``institution`` (``name``, ``domain``, and on
newer profiles ``country``). Profiles of a page of notes are fetched together with
``GET /profiles?ids=~A,~B``; an author's affiliation is the institution of their current (open-
ended, else latest) position.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import SourceUnavailableError
from ..jsonvalues import string_list
from .countries import countries_of
from .fetch import ApiSource, get_json
from .interface import PaperRecord
from .text import clean, find_code_links, present, unique
from .venues import venue_and_year

log = logging.getLogger(__name__)

SOURCE = "openreview"
SITE = "https://openreview.net"
PAGE_SIZE = 1000  # the API's own maximum
PROFILE_BATCH = 100  # ids per /profiles request, to keep URLs short


def venue_ids(venue: str, year: int) -> tuple[str, ...]:
    """The OpenReview venue ids whose accepted papers make up ``venue`` in ``year``."""
    if venue == "NeurIPS":
        ids = [f"NeurIPS.cc/{year}/Conference"]
        # The Datasets and Benchmarks track is a second venue id, renamed in 2024.
        if year >= 2024:
            ids.append(f"NeurIPS.cc/{year}/Datasets_and_Benchmarks_Track")
        elif year >= 2022:
            ids.append(f"NeurIPS.cc/{year}/Track/Datasets_and_Benchmarks")
        return tuple(ids)
    return (f"{venue}.cc/{year}/Conference",)


def _value(content: Mapping[str, Any], name: str) -> Any:
    field = content.get(name)
    # API v2 wraps every field as {"value": ...}; notes migrated from v1 may still hold bare values.
    return field.get("value") if isinstance(field, dict) else field


@dataclass(frozen=True)
class Institution:
    name: str | None
    domain: str | None
    country: str | None


def current_institution(profile: Mapping[str, Any]) -> Institution | None:
    content = profile.get("content")
    history = content.get("history") if isinstance(content, dict) else None
    if not isinstance(history, list):
        return None
    positions = [h for h in history if isinstance(h, dict) and isinstance(h.get("institution"), dict)]
    if not positions:
        return None

    def recency(position: Mapping[str, Any]) -> tuple[bool, int]:
        end, start = position.get("end"), position.get("start")
        return (end is None, end if isinstance(end, int) else start if isinstance(start, int) else 0)

    institution = max(positions, key=recency)["institution"]
    texts = {k: institution.get(k) if isinstance(institution.get(k), str) and institution.get(k) else None
             for k in ("name", "domain", "country")}
    return Institution(texts["name"], texts["domain"], texts["country"])


def parse_note(note: Any, venue: str, year: int,
               institutions: Mapping[str, Institution] | None = None) -> PaperRecord:
    if not isinstance(note, dict):
        raise ValueError(f"note is a {type(note).__name__}, not an object")
    note_id = note.get("id")
    if not isinstance(note_id, str) or not note_id:
        raise ValueError("note has no id")
    content = note.get("content")
    if not isinstance(content, dict):
        raise ValueError("note has no content")
    abstract = clean(_value(content, "abstract"))
    author_ids = string_list(_value(content, "authorids"))
    emails = [a for a in author_ids if "@" in a]
    found = [institutions[a] for a in author_ids if institutions and a in institutions]
    affiliations = unique(clean(i.name) for i in found if i.name)
    # A profile's country is the best evidence; else the institution's name, then its domain.
    named = [i.country.upper() for i in found if i.country and len(i.country) == 2]
    domains = [f"x@{i.domain}" for i in found if i.domain]
    pdf = _value(content, "pdf")
    forum = note.get("forum") if isinstance(note.get("forum"), str) else note_id
    return PaperRecord(
        source=SOURCE,
        source_id=note_id,
        title=clean(_value(content, "title")),
        venue=venue,
        year=year,
        authors=present(clean(a) for a in string_list(_value(content, "authors"))),
        affiliations=affiliations,
        countries=unique([*named, *countries_of(affiliations=affiliations, emails=[*domains, *emails])]),
        openreview_id=note_id,
        url=f"{SITE}/forum?id={forum}",
        pdf_url=(f"{SITE}{pdf}" if pdf.startswith("/") else pdf) if isinstance(pdf, str) and pdf else None,
        abstract=abstract,
        keywords=unique(clean(k) for k in string_list(_value(content, "keywords"))),
        code_links=unique([*(c.strip() for c in string_list(_value(content, "code"))), *find_code_links(abstract)]),
        raw=dict(note),
    )


class OpenReviewSource(ApiSource):
    name = SOURCE

    def __init__(self, settings: Settings, *, page_size: int = PAGE_SIZE,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, settings.openreview_api, page_size=page_size, sleep=sleep)

    def iter_papers(self, venue: str | None, year: int | None) -> Iterator[PaperRecord]:
        canonical, year = venue_and_year(SOURCE, venue, year)
        listed = 0
        for venue_id in venue_ids(canonical, year):
            for page in self._pages(venue_id):
                institutions = self._institutions(page)
                for note in page:
                    listed += 1
                    try:
                        record = parse_note(note, canonical, year, institutions)
                    except ValueError as exc:
                        item = note.get("id") if isinstance(note, dict) else None
                        self.skipped.append((f"{venue_id}:{item or '?'}", str(exc)))
                        continue
                    yield record
        if listed == 0:
            self.skipped.append((f"{canonical} {year}", "OpenReview API v2 lists no accepted papers under "
                                 f"{', '.join(venue_ids(canonical, year))}; venues before ICLR 2024 and "
                                 "NeurIPS/ICML 2023 are in API v1 only: use --source dblp or a paper list"))

    def _institutions(self, notes: list[Any]) -> dict[str, Institution]:
        ids: list[str] = []
        for note in notes:
            content = note.get("content") if isinstance(note, dict) else None
            if isinstance(content, dict):
                ids.extend(a for a in string_list(_value(content, "authorids")) if a.startswith("~"))
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Institution] = {}
        for start in range(0, len(wanted), PROFILE_BATCH):
            chunk = wanted[start:start + PROFILE_BATCH]
            try:
                body = get_json(self._client, "/profiles", {"ids": ",".join(chunk)}, source=SOURCE)
            except SourceUnavailableError as exc:
                # Affiliations are an addition to the papers, not a reason to lose them.
                self.skipped.append((f"profiles {chunk[0]}..", f"affiliations unavailable: {exc}"))
                continue
            profiles = body.get("profiles") if isinstance(body, dict) else None
            for profile in profiles if isinstance(profiles, list) else []:
                if isinstance(profile, dict) and isinstance(profile.get("id"), str):
                    institution = current_institution(profile)
                    if institution is not None:
                        found[profile["id"]] = institution
        return found

    def _pages(self, venue_id: str) -> Iterator[list[Any]]:
        params: dict[str, str | int] = {"content.venueid": venue_id, "limit": self.page_size, "sort": "id",
                                        "count": "true"}
        total: int | None = None
        seen = 0
        while True:
            body = get_json(self._client, "/notes", params, source=SOURCE)
            notes = body.get("notes") if isinstance(body, dict) else None
            if not isinstance(notes, list):
                raise SourceUnavailableError(f"{SOURCE}: /notes for {venue_id} answered without a notes list")
            if total is None and isinstance(body.get("count"), int):
                total = body["count"]
                log.info("%s: %d accepted papers under %s", SOURCE, total, venue_id)
            if not notes:
                return
            yield notes
            seen += len(notes)
            ids = [n.get("id") for n in notes if isinstance(n, dict)]
            last = ids[-1] if ids else None
            if not isinstance(last, str) or last == params.get("after"):
                raise SourceUnavailableError(f"{SOURCE}: paging {venue_id} did not advance past {last!r}")
            if total is not None and seen >= total:
                return
            params = {k: v for k, v in params.items() if k != "count"} | {"after": last}
