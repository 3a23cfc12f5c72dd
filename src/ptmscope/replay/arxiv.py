"""Emulation of the arXiv API query endpoint (Atom 1.0), served by :class:`~ptmscope.replay.server.ReplayServer`.

``GET /query`` with ``search_query`` (``field:value`` terms -- ``cat``, ``submittedDate:[A TO B]``,
``ti``, ``abs``, ``au``, ``co``, ``id``, ``all`` -- joined by ``AND``, ``OR``, ``ANDNOT`` and
parentheses), ``start``, ``max_results`` (capped at 2,000 a call), ``sortBy`` (``submittedDate``,
``lastUpdatedDate``, ``relevance``) and ``sortOrder``. Feeds carry ``opensearch:totalResults``; as
on arXiv, results past the 30,000th of a query are never served, bad parameters answer 400 with an
error entry, and the API's habit of answering a page with no entries can be switched on
(``empty_pages``: that many of the next requests for a page after the first come back empty).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from .papers import Paper
from .server import Response

MAX_RESULTS = 2000
RESULT_CAP = 30_000
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
_ARXIV_NS = 'xmlns:arxiv="http://arxiv.org/schemas/atom"'
_OPENSEARCH_NS = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
_TOKEN = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<op>ANDNOT|AND|OR)(?=[\s(])'
                    r'|(?P<field>\w+):(?P<value>\[[^\]]*\]|"[^"]*"|[^\s()]+))')
_RANGE = re.compile(r"\[\s*(\d{8,14})\s+TO\s+(\d{8,14})\s*\]")
_TEXT_FIELDS: dict[str, Callable[[Paper], str]] = {
    "ti": lambda p: p["title"],
    "abs": lambda p: p["abstract"],
    "au": lambda p: " ".join(a["name"] for a in p["authors"]),
    "co": lambda p: p["comment"] or "",
}
Predicate = Callable[[Paper], bool]


class QueryError(ValueError):
    """A search_query this emulation (or arXiv) does not understand."""


def _stamp(paper: Paper) -> str:
    return datetime.fromisoformat(paper["submitted"]).strftime("%Y%m%d%H%M")


def _term(field: str, value: str) -> Predicate:
    if field == "cat":
        return lambda p: value in p["categories"]
    if field == "submittedDate":
        match = _RANGE.fullmatch(value)
        if match is None:
            raise QueryError(f"submittedDate needs [YYYYMMDDTTTT TO YYYYMMDDTTTT], got {value}")
        low, high = match.group(1), match.group(2)
        return lambda p: low <= _stamp(p)[:len(low)] and _stamp(p)[:len(high)] <= high
    if field == "id":
        return lambda p: p["arxiv_id"] == value
    needle = value.strip('"').lower()
    if field == "all":
        return lambda p: any(needle in text(p).lower() for text in _TEXT_FIELDS.values())
    if field in _TEXT_FIELDS:
        text = _TEXT_FIELDS[field]
        return lambda p: needle in text(p).lower()
    raise QueryError(f"unknown field prefix {field!r}")


def parse_query(query: str) -> Predicate:
    """A predicate on papers for an arXiv ``search_query``."""
    tokens: list[tuple[str, str, str]] = []
    position = 0
    query = query.strip()
    while query[position:].strip():
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            raise QueryError(f"cannot read the query at {query[position:]!r}")
        kind = match.lastgroup if match.lastgroup != "value" else "field"
        tokens.append((kind or "", match.group("field") or match.group(0).strip(), match.group("value") or ""))
        position = match.end()

    def expression(i: int) -> tuple[Predicate, int]:
        left, i = operand(i)
        while i < len(tokens) and tokens[i][0] == "op":
            op = tokens[i][1]
            right, i = operand(i + 1)
            left = _combine(op, left, right)
        return left, i

    def operand(i: int) -> tuple[Predicate, int]:
        if i >= len(tokens):
            raise QueryError("the query ends where a term was expected")
        kind, text, value = tokens[i]
        if kind == "lp":
            inner, i = expression(i + 1)
            if i >= len(tokens) or tokens[i][0] != "rp":
                raise QueryError("unbalanced parentheses")
            return inner, i + 1
        if kind == "field":
            return _term(text, value), i + 1
        raise QueryError(f"unexpected {text!r}")

    predicate, end = expression(0)
    if end != len(tokens):
        raise QueryError("unbalanced parentheses")
    return predicate


def _combine(op: str, left: Predicate, right: Predicate) -> Predicate:
    if op == "AND":
        return lambda p: left(p) and right(p)
    if op == "OR":
        return lambda p: left(p) or right(p)
    return lambda p: left(p) and not right(p)


def _wrapped(text: str, width: int = 70) -> str:
    # arXiv titles and abstracts arrive line-wrapped with two-space indents; clients must unwrap them.
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n  ".join(lines)


def entry(paper: Paper) -> str:
    arxiv_id = paper["arxiv_id"]
    stamp = paper["submitted"]
    authors = "".join(
        f"<author><name>{escape(a['name'])}</name>"
        + (f"<arxiv:affiliation {_ARXIV_NS}>{escape(a['affiliation'])}</arxiv:affiliation>" if a["affiliation"]
           else "") + "</author>"
        for a in paper["authors"])
    parts = [
        f"<entry><id>http://arxiv.org/abs/{arxiv_id}v1</id><updated>{stamp}</updated>",
        f"<published>{stamp}</published><title>{escape(_wrapped(paper['title']))}</title>",
        f"<summary>  {escape(_wrapped(paper['abstract']))}\n</summary>{authors}",
    ]
    if paper["doi"]:
        parts.append(f"<arxiv:doi {_ARXIV_NS}>{escape(paper['doi'])}</arxiv:doi>"
                     f"<link title=\"doi\" href={quoteattr('http://dx.doi.org/' + paper['doi'])} rel=\"related\"/>")
    if paper["comment"]:
        parts.append(f"<arxiv:comment {_ARXIV_NS}>{escape(paper['comment'])}</arxiv:comment>")
    categories = paper["categories"]
    parts.append(
        f"<link href=\"http://arxiv.org/abs/{arxiv_id}v1\" rel=\"alternate\" type=\"text/html\"/>"
        f"<link title=\"pdf\" href=\"http://arxiv.org/pdf/{arxiv_id}v1\" rel=\"related\" type=\"application/pdf\"/>"
        f"<arxiv:primary_category {_ARXIV_NS} term={quoteattr(categories[0])} "
        f"scheme=\"http://arxiv.org/schemas/atom\"/>"
        + "".join(f"<category term={quoteattr(c)} scheme=\"http://arxiv.org/schemas/atom\"/>" for c in categories)
        + "</entry>")
    return "".join(parts)


def feed(query_string: str, total: int, start: int, entries: Sequence[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<link href={quoteattr('http://arxiv.org/api/query?' + query_string)} rel=\"self\" "
        "type=\"application/atom+xml\"/>"
        f"<title type=\"html\">ArXiv Query: {escape(query_string)}</title>"
        "<id>http://arxiv.org/api/ptmscope-replay</id><updated>2025-01-01T00:00:00-05:00</updated>"
        f"<opensearch:totalResults {_OPENSEARCH_NS}>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex {_OPENSEARCH_NS}>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage {_OPENSEARCH_NS}>{len(entries)}</opensearch:itemsPerPage>"
        + "".join(entries) + "</feed>\n"
    ).encode()


def _error_feed(anchor: str, message: str) -> Response:
    error = (f"<entry><id>http://arxiv.org/api/errors#{anchor}</id><title>Error</title>"
             f"<summary>{escape(message)}</summary><updated>2025-01-01T00:00:00-05:00</updated>"
             f"<link href=\"http://arxiv.org/api/errors#{anchor}\" rel=\"alternate\" type=\"text/html\"/>"
             "<author><name>arXiv api core</name></author></entry>")
    return Response(400, {"Content-Type": ATOM_CONTENT_TYPE}, feed("", 1, 0, [error]))


def _single(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


class ArxivApp:
    """Answers ``GET /query`` from a list of papers (see the module docstring)."""

    def __init__(self, papers: Sequence[Paper], *, page_size_max: int = MAX_RESULTS,
                 result_cap: int = RESULT_CAP, empty_pages: int = 0) -> None:
        self.papers = list(papers)
        self.page_size_max = page_size_max
        self.result_cap = result_cap
        self.empty_pages = empty_pages
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               base_url: str) -> Response:
        if method not in ("GET", "HEAD") or path.rstrip("/") != "/query":
            return Response(404, {"Content-Type": "text/plain; charset=utf-8"}, b"Not Found")
        numbers: dict[str, int] = {}
        for name, default in (("start", 0), ("max_results", 10)):
            raw = _single(query, name)
            if raw is not None and not raw.isdigit():
                return _error_feed(f"{name}_must_be_an_integer", f"{name} must be an integer")
            numbers[name] = int(raw) if raw is not None else default
        try:
            predicate = parse_query(_single(query, "search_query") or "")
        except QueryError as exc:
            return _error_feed("malformed_query", str(exc))
        matches = [p for p in self.papers if predicate(p)]
        sort_by = _single(query, "sortBy") or "relevance"
        descending = (_single(query, "sortOrder") or "descending") == "descending"
        if sort_by in ("submittedDate", "lastUpdatedDate"):
            matches.sort(key=lambda p: (p["submitted"], p["arxiv_id"]), reverse=descending)
        start, size = numbers["start"], min(numbers["max_results"], self.page_size_max)
        served = matches[:self.result_cap][start:start + size]
        if start > 0 and served:
            with self._lock:
                if self.empty_pages > 0:
                    self.empty_pages -= 1
                    served = []
        text = "&".join(f"{k}={v[-1]}" for k, v in query.items())
        return Response(200, {"Content-Type": ATOM_CONTENT_TYPE},
                        feed(text, len(matches), start, [entry(p) for p in served]))

