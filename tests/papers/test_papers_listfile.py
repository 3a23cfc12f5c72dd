"""Paper lists: the real Papers-with-Code and papercopilot fixtures, and the formats' edge cases."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ptmscope.errors import UsageError
from ptmscope.papers.listfile import ListFileSource, detect_format, source_id
from tests.conftest import shared_path


def read(path: Path, venue: str | None = None, year: int | None = None) -> tuple[list, ListFileSource]:  # type: ignore[type-arg]
    source = ListFileSource(path)
    return list(source.iter_papers(venue, year)), source


@pytest.mark.shared
def test_every_papers_with_code_row_imports_with_its_repo_link_exactly() -> None:
    path = shared_path("fixtures", "papers", "zziz_pwc.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    records, source = read(path)
    assert source.format == "pwc" and source.skipped == []
    assert len(rows) == len(records) == 1847
    by_title = {r.title: r for r in records}
    for row in rows:
        record = by_title[" ".join(row["paper_title"].split())]
        assert record.code_links == (row["repo_link"],)
        assert record.url == (row["paper_link"] or None)
        assert record.raw["rows"] == [row]
    venues = {r.venue for r in records}
    assert {"CVPR", "NeurIPS", "ICML", "ICCV", "ECCV"} <= venues and "NIPS" not in venues
    assert sum(r.arxiv_id is not None for r in records) > 0
    assert all(r.pdf_url == r.url for r in records if r.url and r.url.endswith(".pdf"))


@pytest.mark.shared
def test_every_papercopilot_record_imports_with_its_github_value_exactly() -> None:
    path = shared_path("fixtures", "papers", "papercopilot_sample.json")
    items = json.loads(path.read_text(encoding="utf-8"))
    records, source = read(path)
    assert source.format == "papercopilot" and source.skipped == []
    assert len(items) == len(records) == 452
    by_title = {(r.venue, r.title): r for r in records}
    for item in items:
        record = by_title[(item["venue"], " ".join(item["title"].split()))]
        # Badges, ';'-joined pairs, owner-only URLs: kept as written for the link stage.
        assert record.code_links == ((item["github"],) if item.get("github") else ())
        assert record.authors == tuple(" ".join(a.split()) for a in item["authors"])
        assert record.year == item["year"]
        if item.get("openreview"):
            assert record.openreview_id == item["openreview"].split("id=")[1]
        if item.get("keywords"):
            assert record.keywords == tuple(k.strip() for k in item["keywords"].split(";") if k.strip())
    assert sum(bool(r.code_links) for r in records) == 276
    icml, _ = read(path, "icml", 2019)
    assert len(icml) == 100 and {r.venue for r in icml} == {"ICML"}
    corl, _ = read(path, "CoRL", None)  # a venue outside the seed's list is filtered as written
    assert len(corl) == 80


def test_rows_of_one_paper_merge_and_lists_are_detected_by_their_columns(tmp_path: Path) -> None:
    dump = tmp_path / "links.csv"
    dump.write_text("paper_title,paper_url,repo_url,proceeding,year\n"
                    "Deep Nets,https://arxiv.org/abs/1512.03385,https://github.com/a/b,CVPR,2016\n"
                    "Deep  Nets,https://arxiv.org/abs/1512.03385, https://github.com/c/d ,cvpr,2016\n"
                    ",https://x.org,https://github.com/e/f,CVPR,2016\n", encoding="utf-8")
    [record], source = read(dump)
    assert source.format == "pwc"
    assert record.code_links == ("https://github.com/a/b", " https://github.com/c/d ")
    assert (record.arxiv_id, record.venue, record.year) == ("1512.03385", "CVPR", 2016)
    assert record.source_id == source_id("CVPR", 2016, "Deep Nets") and len(record.raw["rows"]) == 2
    assert source.skipped == [("links.csv row 3", "no title")]

    lines = tmp_path / "papers.jsonl"
    lines.write_text('{"Title": "A", "Authors": "X; Y", "aff": "MIT;Tsinghua University", "email": "a@b.de"}\n'
                     '[1]\n', encoding="utf-8")
    [record], source = read(lines)
    assert source.format == "paperlist"
    assert record.authors == ("X", "Y") and record.countries == ("US", "CN", "DE")
    assert source.skipped == [("papers.jsonl row 2", "a list, not a paper object")]

    assert detect_format(["title", "github", "venue"]) == "papercopilot"
    assert detect_format(["name", "repo"]) is None
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("name,repo\nx,y\n", encoding="utf-8")
    with pytest.raises(UsageError, match="no title column"):
        ListFileSource(nothing)
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid JSON"):
        ListFileSource(broken)
