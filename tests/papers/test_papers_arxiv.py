"""The arXiv source through the real HTTP client against the arXiv API (Atom) emulation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from ptmscope.config import HttpSettings, Settings
from ptmscope.errors import SourceUnavailableError, UsageError
from ptmscope.papers.arxiv import ArxivSource, parse_feed
from ptmscope.replay import FaultPlan, ReplayServer
from ptmscope.replay.arxiv import ArxivApp, entry, feed
from ptmscope.replay.papers import AFFILIATIONS, Paper, generate_papers

FAST = HttpSettings(timeout=10, max_retries=8, backoff_base=0.001, backoff_max=0.01)
COUNTRY = {affiliation: country for affiliation, _, country in AFFILIATIONS}


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[ReplayServer] = []

    def start(app: ArxivApp, faults: FaultPlan | None = None) -> ReplayServer:
        server = ReplayServer(app, faults=faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def expected_countries(paper: Paper) -> tuple[str, ...]:
    found: list[str] = []
    for author in paper["authors"]:
        country = COUNTRY[author["affiliation"]]
        if country and country not in found:
            found.append(country)
    return tuple(found)


def test_a_year_is_listed_in_windows_under_the_result_cap_with_polite_pauses(serve) -> None:  # type: ignore[no-untyped-def]
    papers = generate_papers(40, venue="arXiv", year=2023, seed=2)
    server = serve(ArxivApp(papers, result_cap=15, empty_pages=1),
                   FaultPlan(rate=0.25, seed=5, kinds=("429", "503", "drop")))
    sleeps: list[float] = []
    source = ArxivSource(Settings(arxiv_api=server.url, http=FAST), page_size=6, result_cap=15, page_delay=0.5,
                         sleep=sleeps.append)
    try:
        records = list(source.iter_papers("arxiv", 2023))
    finally:
        source.close()

    by_id = {p["arxiv_id"]: p for p in papers}
    assert sorted(r.source_id for r in records) == sorted(by_id)
    assert source.skipped == []
    answered = [parse_qs(urlsplit(e.target).query) for e in server.log if e.status == 200]
    windows = {q["search_query"][0].split("submittedDate:")[1] for q in answered}
    assert "[202301010000 TO 202312312359]" in windows and len(windows) > 2  # the year was halved
    assert all(int(q["max_results"][0]) == 6 and q["sortBy"] == ["submittedDate"] for q in answered)
    assert any(e.fault for e in server.log)
    # One pause of page_delay between consecutive calls (retries of a failed call wait on their own).
    assert sleeps.count(0.5) == len(answered) - 1

    for record in records:
        paper = by_id[record.source_id]
        assert (record.source, record.venue, record.year, record.arxiv_id) == ("arxiv", "arXiv", 2023,
                                                                                paper["arxiv_id"])
        assert record.title == paper["title"]  # line-wrapped in the feed, unwrapped here
        assert record.abstract == paper["abstract"]
        assert record.authors == tuple(a["name"] for a in paper["authors"])
        assert set(record.affiliations) == {a["affiliation"] for a in paper["authors"] if a["affiliation"]}
        assert record.countries == expected_countries(paper)
        assert record.doi == paper["doi"]
        assert record.url == f"http://arxiv.org/abs/{paper['arxiv_id']}v1"
        assert record.pdf_url == f"http://arxiv.org/pdf/{paper['arxiv_id']}v1"
        assert record.code_links == tuple(link for link in (paper["comment_code"], paper["abstract_code"]) if link)
        assert record.raw["categories"] == paper["categories"]


def test_pages_that_stay_empty_are_recorded_and_the_crawl_goes_on(serve) -> None:  # type: ignore[no-untyped-def]
    papers = generate_papers(20, venue="arXiv", year=2024, seed=4)
    server = serve(ArxivApp(papers, empty_pages=1000))
    source = ArxivSource(Settings(arxiv_api=server.url, http=FAST), page_size=8, page_delay=0,
                         empty_page_retries=2)
    try:
        records = list(source.iter_papers(None, 2024))
    finally:
        source.close()
    assert len(records) == 8  # the first page; every later one came back empty
    [(item, reason)] = source.skipped
    assert "start=8" in item and "12 of them were not listed" in reason
    assert len(server.log) == 1 + 3  # the first page, then one page asked three times


def test_without_a_year_the_window_runs_from_arxivs_start_to_now(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(ArxivApp(generate_papers(5, venue="arXiv", year=2022)))
    source = ArxivSource(Settings(arxiv_api=server.url, http=FAST), page_delay=0,
                         clock=lambda: datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC))
    try:
        assert len(list(source.iter_papers(None, None))) == 5
    finally:
        source.close()
    query = parse_qs(urlsplit(server.log[0].target).query)["search_query"][0]
    assert query.endswith("submittedDate:[199108010000 TO 202502030405]") and "cat:cs.LG OR" in query


def test_only_arxiv_is_served() -> None:
    source = ArxivSource(Settings(arxiv_api="http://127.0.0.1:9", http=FAST))
    try:
        with pytest.raises(UsageError, match="ICLR is served by --source openreview or dblp"):
            list(source.iter_papers("ICLR", 2024))
    finally:
        source.close()


def test_feeds_with_entity_declarations_or_api_errors_are_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaa">]><feed xmlns="http://www.w3.org/2005/Atom">&a;</feed>'
    with pytest.raises(SourceUnavailableError, match="DOCTYPE"):
        parse_feed(bomb)
    with pytest.raises(SourceUnavailableError, match="not well-formed"):
        parse_feed(b"<feed")
    error = ('<entry><id>http://arxiv.org/api/errors#start_must_be_an_integer</id><title>Error</title>'
             '<summary>start must be an integer</summary></entry>')
    with pytest.raises(SourceUnavailableError, match="start must be an integer"):
        parse_feed(feed("", 1, 0, [error]))
    paper = generate_papers(1, venue="arXiv", year=2024)[0]
    parsed = parse_feed(feed("q", 7, 0, [entry(paper)]))
    assert parsed.total == 7 and len(parsed.entries) == 1
