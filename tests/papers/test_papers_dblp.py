"""The DBLP source through the real HTTP client against the DBLP search API emulation."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from ptmscope.config import HttpSettings, Settings
from ptmscope.errors import UsageError
from ptmscope.papers.dblp import DblpSource, parse_hit, toc_keys
from ptmscope.replay import FaultPlan, ReplayServer
from ptmscope.replay.dblp import DblpApp, dblp_key
from ptmscope.replay.papers import Paper, generate_papers

FAST = HttpSettings(timeout=10, max_retries=8, backoff_base=0.001, backoff_max=0.01)


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[ReplayServer] = []

    def start(papers: list[Paper], *, page_size: int = 1000, faults: FaultPlan | None = None) -> ReplayServer:
        server = ReplayServer(DblpApp(papers, page_size_max=page_size), faults=faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def listing(server: ReplayServer, venue: str, year: int) -> tuple[list[object], DblpSource]:
    source = DblpSource(Settings(dblp_api=server.url, http=FAST), page_size=10)
    try:
        return list(source.iter_papers(venue, year)), source
    finally:
        source.close()


def test_a_proceedings_is_listed_across_pages_despite_faults(serve) -> None:  # type: ignore[no-untyped-def]
    papers = generate_papers(35, venue="CVPR", year=2023, seed=5) + generate_papers(6, venue="CVPR", year=2022)
    server = serve(papers, page_size=10, faults=FaultPlan(rate=0.3, seed=11, kinds=("429", "500", "drop")))
    records, source = listing(server, "cvpr", 2023)

    wanted = {dblp_key(p): p for p in papers if p["year"] == 2023 and p["status"] == "accepted"}
    assert [r.source_id for r in records] == list(wanted)  # type: ignore[attr-defined]
    assert source.skipped == []
    answered = [parse_qs(urlsplit(e.target).query) for e in server.log if e.status == 200]
    assert {q["q"][0] for q in answered} == {"toc:db/conf/cvpr/cvpr2023.bht:"}
    # The table of contents starts with the proceedings volume (an Editorship), which is no paper.
    assert [int(q["f"][0]) for q in answered] == list(range(0, len(wanted) + 1, 10))
    assert any(e.fault for e in server.log)

    assert any(len(p["authors"]) == 1 for p in wanted.values())  # DBLP's single-author shape is covered
    assert any(not p["doi"] and not p["code"] for p in wanted.values())  # and its single-ee shape
    for record in records:
        paper = wanted[record.source_id]  # type: ignore[attr-defined]
        assert (record.source, record.venue, record.year) == ("dblp", "CVPR", 2023)  # type: ignore[attr-defined]
        assert record.title == paper["title"]  # type: ignore[attr-defined]
        assert record.authors == tuple(a["name"] for a in paper["authors"])  # type: ignore[attr-defined]
        assert record.arxiv_id == paper["arxiv_id"] and record.doi == paper["doi"]  # type: ignore[attr-defined]
        assert record.code_links == ((paper["code"],) if paper["code"] else ())  # type: ignore[attr-defined]
        assert record.url == f"https://dblp.org/rec/{record.source_id}"  # type: ignore[attr-defined]


def test_neurips_proceedings_changed_name_in_2018_and_kdd_comes_in_volumes(serve) -> None:  # type: ignore[no-untyped-def]
    assert toc_keys("NeurIPS", 2017) == ("conf/nips/nips2017",)
    assert toc_keys("NeurIPS", 2018) == ("conf/nips/neurips2018",)
    assert toc_keys("KDD", 2025) == ("conf/kdd/kdd2025", "conf/kdd/kdd2025-1", "conf/kdd/kdd2025-2")
    papers = generate_papers(8, venue="NeurIPS", year=2017) + generate_papers(8, venue="KDD", year=2025)
    for paper in papers[12:]:
        paper["toc"] = "conf/kdd/kdd2025-2"
    server = serve(papers)
    old, _ = listing(server, "NIPS", 2017)
    kdd, _ = listing(server, "kdd", 2025)
    assert len(old) == sum(p["venue"] == "NeurIPS" and p["status"] == "accepted" for p in papers)
    assert len(kdd) == sum(p["venue"] == "KDD" and p["status"] == "accepted" for p in papers)
    asked = [parse_qs(urlsplit(e.target).query)["q"][0] for e in server.log]
    assert asked == ["toc:db/conf/nips/nips2017.bht:", "toc:db/conf/kdd/kdd2025.bht:",
                     "toc:db/conf/kdd/kdd2025-1.bht:", "toc:db/conf/kdd/kdd2025-2.bht:"]


def test_an_unknown_proceedings_is_recorded_as_skipped(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(generate_papers(3, venue="AAAI", year=2024))
    records, source = listing(server, "AAAI", 2019)
    assert records == []
    [(item, reason)] = source.skipped
    assert item == "AAAI 2019" and "conf/aaai/aaai2019" in reason


def test_venue_and_year_are_required() -> None:
    source = DblpSource(Settings(dblp_api="http://127.0.0.1:9", http=FAST))
    try:
        with pytest.raises(UsageError, match="needs --venue"):
            list(source.iter_papers(None, 2024))
        with pytest.raises(UsageError, match="arXiv is served by --source arxiv"):
            list(source.iter_papers("arXiv", 2024))
    finally:
        source.close()


def test_parse_hit_reads_ee_lists_and_homonym_suffixes() -> None:
    hit = {"@id": "1", "info": {
        "authors": {"author": [{"@pid": "1", "text": "Wei Wang 0001"}, {"@pid": "2", "text": "Ada Lovelace"}]},
        "title": "Why Ask Why?", "year": "2024", "key": "conf/iclr/WangL24", "doi": "10.1145/ABC",
        "ee": ["https://openreview.net/forum?id=Xy_z", "https://github.com/wang/why", "https://x.org/p.pdf"]}}
    record = parse_hit(hit, "ICLR", 2024)
    assert record.authors == ("Wei Wang", "Ada Lovelace") and record.title == "Why Ask Why?"
    assert (record.openreview_id, record.doi, record.pdf_url) == ("Xy_z", "10.1145/abc", "https://x.org/p.pdf")
    assert record.code_links == ("https://github.com/wang/why",)
    with pytest.raises(ValueError, match="no DBLP key"):
        parse_hit({"info": {"title": "x"}}, "ICLR", 2024)
