"""Emulation of the DBLP publication search API, served by :class:`~ptmscope.replay.server.ReplayServer`.

``GET /search/publ/api`` with ``q``, ``format=json``, ``h`` (hits a page, capped at 1,000), ``f``
(first hit) and ``c`` (completions; answered empty). ``q`` is a table-of-contents query
(``toc:db/conf/iclr/iclr2024.bht:``) or words that must all occur in a title. The JSON is DBLP's
XML-to-JSON shape: every number a string, ``authors.author`` and ``ee`` a list only when they repeat,
``hit`` absent when nothing is sent, titles ending with a full stop. As on DBLP, a table of contents
starts with the proceedings volume itself, an ``Editorship`` entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ..papers.dblp import toc_keys
from .papers import Paper
from .server import JSON_CONTENT_TYPE, Response

MAX_HITS = 1000
DEFAULT_HITS = 30
_TOC = re.compile(r"toc:db/(?P<key>\S+)\.bht:?")
_YEAR = re.compile(r"\d{4}")


def _one_or_many(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def toc_key(paper: Paper) -> str:
    """The table of contents a paper is listed in: ``toc`` if the paper says, else its venue's first."""
    key: str = paper.get("toc") or toc_keys(paper["venue"], paper["year"])[0]
    return key


def dblp_key(paper: Paper) -> str:
    stream = toc_key(paper).split("/")[1]
    last = paper["authors"][0]["name"].split()[-1]
    return f"conf/{stream}/{last}{paper['year'] % 100:02d}-{paper['key'].rsplit('-', 1)[-1]}"


def hit(paper: Paper, number: int) -> dict[str, Any]:
    key = dblp_key(paper)
    ee = [f"https://doi.org/{paper['doi']}"] if paper["doi"] else []
    ee.append(f"https://arxiv.org/abs/{paper['arxiv_id']}")
    if paper["code"]:
        ee.append(paper["code"])
    info: dict[str, Any] = {
        "authors": {"author": _one_or_many([{"@pid": f"{number}/{i}", "text": a["name"]}
                                            for i, a in enumerate(paper["authors"])])},
        "title": f"{paper['title']}.",
        "venue": paper["venue"],
        "pages": f"{number}-{number + 9}",
        "year": str(paper["year"]),
        "type": "Conference and Workshop Papers",
        "access": "open",
        "key": key,
    }
    if paper["doi"]:
        info["doi"] = paper["doi"]
    info["ee"] = _one_or_many(ee)
    info["url"] = f"https://dblp.org/rec/{key}"
    return {"@score": "1", "@id": str(1_000_000 + number), "info": info, "url": f"URL#{1_000_000 + number}"}


def volume(toc: str) -> dict[str, Any]:
    """The proceedings' own entry that heads a table of contents."""
    stream, name = toc.split("/")[1:3]
    match = _YEAR.search(name)
    year = match.group(0) if match else ""
    key = f"conf/{stream}/{name.removeprefix(stream)}"
    info = {"authors": {"author": [{"@pid": "0/0", "text": "Program Chair"}]},
            "title": f"Proceedings of {stream.upper()} {year}.", "venue": stream.upper(), "publisher": "ptmscope",
            "year": year, "type": "Editorship", "key": key, "url": f"https://dblp.org/rec/{key}"}
    return {"@score": "1", "@id": "1", "info": info, "url": "URL#1"}


def _single(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


class DblpApp:
    """Answers ``GET /search/publ/api`` from a list of papers (see the module docstring)."""

    def __init__(self, papers: Sequence[Paper], page_size_max: int = MAX_HITS) -> None:
        self.papers = list(papers)
        self.page_size_max = page_size_max

    def _matches(self, query: str) -> list[dict[str, Any]]:
        toc = _TOC.fullmatch(query.strip())
        if toc is not None:
            key = toc.group("key")
            found = [hit(p, i + 1) for i, p in enumerate(self.papers)
                     if toc_key(p) == key and p["status"] == "accepted"]
            return [volume(key), *found] if found else []
        words = query.lower().split()
        return [hit(p, i + 1) for i, p in enumerate(self.papers) if all(w in p["title"].lower() for w in words)]

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               base_url: str) -> Response:
        if method not in ("GET", "HEAD") or path.rstrip("/") != "/search/publ/api":
            return Response(404, {"Content-Type": "text/html; charset=utf-8"}, b"<html>Not Found</html>")
        if (_single(query, "format") or "xml") != "json":
            return Response(400, {"Content-Type": "text/plain; charset=utf-8"}, b"only format=json is emulated")
        numbers = {name: _single(query, name) for name in ("h", "f")}
        if any(v is not None and not v.isdigit() for v in numbers.values()):
            return Response(400, {"Content-Type": "text/plain; charset=utf-8"}, b"h and f must be integers")
        text = _single(query, "q") or ""
        matches = self._matches(text)
        first = int(numbers["f"] or 0)
        size = min(int(numbers["h"] or DEFAULT_HITS), self.page_size_max)
        page = matches[first:first + size]
        hits: dict[str, Any] = {"@total": str(len(matches)), "@computed": str(len(matches)),
                                "@sent": str(len(page)), "@first": str(first)}
        if page:
            hits["hit"] = page
        body = {"result": {"query": text, "status": {"@code": "200", "text": "OK"},
                           "time": {"@unit": "msecs", "text": "1.00"},
                           "completions": {"@total": "0", "@computed": "0", "@sent": "0"}, "hits": hits}}
        return Response(200, {"Content-Type": JSON_CONTENT_TYPE}, orjson.dumps(body))
