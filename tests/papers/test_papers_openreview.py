"""The OpenReview source through the real HTTP client against the OpenReview API v2 emulation."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from ptmscope.config import HttpSettings, Settings
from ptmscope.errors import SourceUnavailableError, UsageError
from ptmscope.papers.countries import countries_of
from ptmscope.papers.openreview import OpenReviewSource, current_institution, parse_note, venue_ids
from ptmscope.replay import FaultPlan, ReplayServer
from ptmscope.replay.openreview import OpenReviewApp, note_id
from ptmscope.replay.papers import Paper, generate_papers

FAST = HttpSettings(timeout=10, max_retries=8, backoff_base=0.001, backoff_max=0.01)
FAULTS = FaultPlan(rate=0.3, seed=7, kinds=("429", "500", "503", "drop"))


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[ReplayServer] = []

    def start(papers: list[Paper], *, page_size: int = 1000, faults: FaultPlan | None = None) -> ReplayServer:
        server = ReplayServer(OpenReviewApp(papers, page_size_max=page_size), faults=faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def source_for(server: ReplayServer, **kw: object) -> OpenReviewSource:
    return OpenReviewSource(Settings(openreview_api=server.url, http=FAST), **kw)  # type: ignore[arg-type]


def notes_requests(server: ReplayServer) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(e.target).query) for e in server.log if e.fault is None and e.status == 200]


def test_accepted_papers_are_listed_across_pages_despite_faults(serve) -> None:  # type: ignore[no-untyped-def]
    papers = generate_papers(45, venue="ICLR", year=2024, seed=1)
    server = serve(papers, page_size=10, faults=FAULTS)
    source = source_for(server, page_size=10)
    try:
        records = list(source.iter_papers("iclr", 2024))
    finally:
        source.close()

    accepted = {note_id(p): p for p in papers if p["status"] == "accepted"}
    profiles = OpenReviewApp(papers).profiles
    assert 0 < len(accepted) < len(papers)  # the corpus has rejected papers, and they stay out
    assert [r.source_id for r in records] == sorted(accepted)  # once each, in id order
    assert any(e.fault for e in server.log), "the fault plan should have hit some requests"
    pages = notes_requests(server)
    assert len([q for q in pages if "ids" not in q]) >= len(accepted) // 10
    assert any("ids" in q for q in pages), "profiles are looked up for affiliations"
    pages = [q for q in pages if "ids" not in q]
    assert all(q["content.venueid"] == ["ICLR.cc/2024/Conference"] and q["sort"] == ["id"] for q in pages)
    assert "after" not in pages[0] and all("after" in q for q in pages[1:])
    assert source.skipped == []

    for record in records:
        paper = accepted[record.source_id]
        assert (record.source, record.venue, record.year) == ("openreview", "ICLR", 2024)
        assert record.title == paper["title"]
        assert record.authors == tuple(a["name"] for a in paper["authors"])
        assert record.abstract == paper["abstract"]
        assert record.openreview_id == record.source_id
        assert record.url == f"https://openreview.net/forum?id={record.source_id}"
        assert record.pdf_url is not None and record.pdf_url.startswith("https://openreview.net/pdf/")
        assert record.keywords == tuple(paper["keywords"])
        assert record.code_links == tuple(link for link in (paper["code"], paper["abstract_code"]) if link)
        # Authors with a profile get their current institution (one more request per page of notes);
        # the others are listed by e-mail, whose domain can still name a country.
        served = [current_institution(profiles[a["profile"]]) for a in paper["authors"] if a["profile"]]
        assert record.affiliations == tuple(dict.fromkeys(i.name for i in served if i and i.name))
        assert "Previous University" not in record.affiliations  # a past position is not an affiliation
        emails = [a["email"] for a in paper["authors"] if a["profile"] is None]
        expected = countries_of(affiliations=record.affiliations,
                                emails=[*(f"x@{i.domain}" for i in served if i and i.domain), *emails])
        assert record.countries == expected
        assert record.raw["content"]["venueid"]["value"] == "ICLR.cc/2024/Conference"


def test_a_server_page_smaller_than_asked_for_still_lists_everything(serve) -> None:  # type: ignore[no-untyped-def]
    papers = generate_papers(25, venue="ICML", year=2024, seed=2)
    server = serve(papers, page_size=7)
    source = source_for(server)  # asks for 1,000 a page; the server sends 7
    try:
        listed = [r.source_id for r in source.iter_papers("ICML", 2024)]
    finally:
        source.close()
    assert listed == sorted(note_id(p) for p in papers if p["status"] == "accepted")


def test_neurips_includes_the_datasets_and_benchmarks_track(serve) -> None:  # type: ignore[no-untyped-def]
    papers = generate_papers(40, venue="NeurIPS", year=2024, seed=3)
    assert {p["track"] for p in papers} == {"main", "datasets_and_benchmarks"}
    server = serve(papers, page_size=10)
    source = source_for(server, page_size=10)
    try:
        records = list(source.iter_papers("nips", 2024))  # the old name is accepted
    finally:
        source.close()
    assert {r.source_id for r in records} == {note_id(p) for p in papers if p["status"] == "accepted"}
    assert {r.venue for r in records} == {"NeurIPS"}
    assert venue_ids("NeurIPS", 2024) == ("NeurIPS.cc/2024/Conference", "NeurIPS.cc/2024/Datasets_and_Benchmarks_Track")
    assert venue_ids("NeurIPS", 2023)[1] == "NeurIPS.cc/2023/Track/Datasets_and_Benchmarks"


def test_a_venue_without_v2_notes_is_reported_not_silently_empty(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(generate_papers(5, venue="ICLR", year=2024))
    source = source_for(server)
    try:
        assert list(source.iter_papers("ICLR", 2021)) == []
    finally:
        source.close()
    [(item, reason)] = source.skipped
    assert item == "ICLR 2021" and "API v1" in reason and "dblp" in reason


def test_usage_errors_come_before_any_request(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve([])
    source = source_for(server)
    try:
        with pytest.raises(UsageError, match="needs --year"):
            list(source.iter_papers("ICLR", None))
        with pytest.raises(UsageError, match="CVPR is served by --source dblp"):
            list(source.iter_papers("CVPR", 2024))
        with pytest.raises(UsageError, match="unknown venue"):
            list(source.iter_papers("ACL", 2024))
    finally:
        source.close()
    assert server.log == []


def test_an_unreachable_api_is_a_source_error() -> None:
    source = OpenReviewSource(Settings(openreview_api="http://127.0.0.1:9", http=FAST))
    try:
        with pytest.raises(SourceUnavailableError, match="openreview"):
            list(source.iter_papers("ICLR", 2024))
    finally:
        source.close()


def test_parse_note_reads_v2_values_and_rejects_notes_without_an_id() -> None:
    note = {"id": "abc", "content": {"title": {"value": " A\n  title "}, "authors": {"value": ["X Y"]},
                                     "authorids": {"value": ["x@kaist.ac.kr"]}, "pdf": {"value": "/pdf/1.pdf"},
                                     "code": {"value": "github.com/x/y "}, "abstract": "bare v1 value"}}
    record = parse_note(note, "ICLR", 2024)
    assert (record.title, record.countries, record.pdf_url) == ("A title", ("KR",), "https://openreview.net/pdf/1.pdf")
    assert record.code_links == ("github.com/x/y",) and record.abstract == "bare v1 value"
    with pytest.raises(ValueError, match="no id"):
        parse_note({"content": {}}, "ICLR", 2024)
    with pytest.raises(ValueError, match="not an object"):
        parse_note(["x"], "ICLR", 2024)
