"""Emulation of the OpenReview API v2 note listing, served by :class:`~ptmscope.replay.server.ReplayServer`.

``GET /notes`` with ``content.venueid``, ``limit`` (capped like the API's 1,000), ``offset``,
``sort`` (``id`` or ``number``), ``after`` (ids after this one, in id order) and ``count=true``
(adds ``count``, the number of matching notes). Notes have the API v2 shape: ``content.<field>.value``,
``pdf`` as a site path, accepted papers under the venue id and rejected ones under
``<venue id>/Rejected_Submission``. ``GET /profiles?ids=~A,~B`` answers the authors' profiles with a
position history whose current institution is the paper's affiliation. Papers come from
:mod:`ptmscope.replay.papers`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from ..papers.openreview import venue_ids
from .papers import Paper
from .server import JSON_CONTENT_TYPE, Response

MAX_LIMIT = 1000


def note_id(paper: Paper) -> str:
    """A 10-character id in OpenReview's alphabet, stable for a paper key."""
    digest = hashlib.sha1(paper["key"].encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:10]


def _venue_id(paper: Paper) -> str:
    ids = venue_ids(paper["venue"], paper["year"])
    base = ids[1] if paper["track"] == "datasets_and_benchmarks" and len(ids) > 1 else ids[0]
    return base if paper["status"] == "accepted" else f"{base}/Rejected_Submission"


def note(paper: Paper, number: int) -> dict[str, Any]:
    nid = note_id(paper)
    venue_id = _venue_id(paper)
    names = [a["name"] for a in paper["authors"]]
    content: dict[str, Any] = {
        "title": {"value": paper["title"]},
        "authors": {"value": names},
        # Authors without a profile are listed by e-mail, as the API does for them.
        "authorids": {"value": [a["profile"] or a["email"] for a in paper["authors"]]},
        "keywords": {"value": paper["keywords"]},
        "abstract": {"value": paper["abstract"]},
        "pdf": {"value": f"/pdf/{hashlib.sha1(nid.encode()).hexdigest()}.pdf"},
        "venue": {"value": f"{paper['venue']} {paper['year']} "
                           + ("poster" if paper["status"] == "accepted" else "Submitted")},
        "venueid": {"value": venue_id},
        "primary_area": {"value": "general machine learning"},
        "_bibtex": {"value": f"@inproceedings{{{paper['key']},\n  title={{{paper['title']}}},\n"
                             f"  author={{{' and '.join(names)}}},\n  year={{{paper['year']}}}\n}}"},
    }
    if paper["code"]:
        content["code"] = {"value": paper["code"]}
    created = int(datetime.fromisoformat(paper["submitted"]).timestamp() * 1000)
    return {
        "id": nid, "forum": nid, "number": number, "content": content,
        "invitations": [f"{venue_id.split('/Rejected')[0]}/-/Submission"],
        "domain": venue_id.split("/Rejected")[0], "readers": ["everyone"], "writers": [venue_id],
        "signatures": [f"{venue_id}/Submission{number}/Authors"], "license": "CC BY 4.0",
        "cdate": created, "mdate": created, "odate": created, "tcdate": created, "tmdate": created, "version": 2,
    }


def _error(status: int, name: str, message: str) -> Response:
    body = orjson.dumps({"name": name, "message": message, "status": status})
    return Response(status, {"Content-Type": JSON_CONTENT_TYPE}, body)


def _single(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def profile(author: Mapping[str, Any]) -> dict[str, Any]:
    """A profile as ``GET /profiles`` returns it: a past position, then the current one (no end)."""
    current: dict[str, Any] = {"name": author["affiliation"]} if author.get("affiliation") else {}
    domain = str(author.get("email") or "").partition("@")[2]
    if domain:
        current["domain"] = domain
    history: list[dict[str, Any]] = [
        {"position": "MS student", "start": 2012, "end": 2014,
         "institution": {"name": "Previous University", "domain": "previous.example"}}]
    if current:
        history.append({"position": "Researcher", "start": 2019, "end": None, "institution": current})
    return {"id": author["profile"], "content": {"names": [{"fullname": author["name"]}], "history": history}}


class OpenReviewApp:
    """Answers ``GET /notes`` and ``GET /profiles?ids=`` from a list of papers (see the module docstring)."""

    def __init__(self, papers: Sequence[Paper], page_size_max: int = MAX_LIMIT) -> None:
        self.page_size_max = page_size_max
        self.notes = [note(p, number) for number, p in enumerate(papers, start=1)]
        self.profiles = {a["profile"]: profile(a) for p in papers for a in p["authors"] if a.get("profile")}

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               base_url: str) -> Response:
        if method not in ("GET", "HEAD"):
            return _error(405, "MethodNotAllowedError", "Method not allowed")
        if path.rstrip("/") == "/profiles":
            ids = [i for i in (_single(query, "ids") or "").split(",") if i]
            found = [self.profiles[i] for i in ids if i in self.profiles]
            return Response(200, {"Content-Type": JSON_CONTENT_TYPE}, orjson.dumps({"profiles": found}))
        if path.rstrip("/") != "/notes":
            return _error(404, "NotFoundError", f"Path {path} not found")
        numbers = {name: _single(query, name) for name in ("limit", "offset")}
        if any(v is not None and not v.isdigit() for v in numbers.values()):
            return _error(400, "ValidationError", "limit and offset must be non-negative integers")
        sort = _single(query, "sort") or "id"
        if sort.split(":")[0] not in ("id", "number"):
            return _error(400, "ValidationError", f"sort {sort!r} is not supported here")
        venue_id = _single(query, "content.venueid")
        matching = [n for n in self.notes if venue_id is None or n["content"]["venueid"]["value"] == venue_id]
        matching.sort(key=lambda n: n["number"] if sort.startswith("number") else n["id"])
        total = len(matching)
        after = _single(query, "after")
        if after is not None:
            matching = [n for n in matching if n["id"] > after]
        offset = int(numbers["offset"] or 0)
        limit = min(int(numbers["limit"] or MAX_LIMIT), self.page_size_max)
        body: dict[str, Any] = {"notes": matching[offset:offset + limit]}
        if _single(query, "count") == "true":
            body["count"] = total
        return Response(200, {"Content-Type": JSON_CONTENT_TYPE}, orjson.dumps(body))
