"""Collecting papers into the store on SQLite and PostgreSQL: idempotent, failures recorded, never fatal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from ptmscope.cli.papers import papers
from ptmscope.config import HttpSettings, Settings
from ptmscope.errors import SourceUnavailableError, UsageError
from ptmscope.papers.arxiv import ArxivSource
from ptmscope.papers.collect import collect_papers, make_source
from ptmscope.papers.dblp import DblpSource
from ptmscope.papers.interface import PaperRecord
from ptmscope.papers.listfile import ListFileSource
from ptmscope.papers.openreview import OpenReviewSource
from ptmscope.replay import FaultPlan, ReplayServer
from ptmscope.replay.openreview import OpenReviewApp, note_id
from ptmscope.replay.papers import generate_papers
from ptmscope.store import Store, open_store, schema
from ptmscope.store import papers as paper_rows
from tests.conftest import shared_path

FAST = HttpSettings(timeout=10, max_retries=8, backoff_base=0.001, backoff_max=0.01)


def stored(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    with store.engine.connect() as conn:
        return {(r["source"], r["source_id"]): dict(r) for r in conn.execute(select(schema.paper)).mappings()}


def runs_and_failures(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with store.engine.connect() as conn:
        runs = [dict(r) for r in conn.execute(select(schema.run).order_by(schema.run.c.id)).mappings()]
        failures = [dict(r) for r in conn.execute(select(schema.failure).order_by(schema.failure.c.id)).mappings()]
    return runs, failures


class ListedSource:
    """A source that lists given records and reports given unreadable entries."""

    name = "fake"

    def __init__(self, records: list[PaperRecord], skipped: list[tuple[str, str]] = (),  # type: ignore[assignment]
                 error: Exception | None = None) -> None:
        self.records = records
        self.to_skip = list(skipped)
        self.error = error
        self.skipped: list[tuple[str, str]] = []

    def iter_papers(self, venue: str | None, year: int | None) -> Iterator[PaperRecord]:
        for record in self.records:
            yield record
            self.skipped.extend(self.to_skip)
            self.to_skip = []
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        pass


@pytest.mark.shared
def test_a_paper_list_is_stored_once_and_a_rerun_changes_nothing(db_url: str) -> None:
    path = shared_path("fixtures", "papers", "papercopilot_sample.json")
    store = open_store(db_url)
    progress: list[int] = []
    first = collect_papers(store, ListFileSource(path), None, None, progress=progress.append, batch_size=200,
                           path=path)
    assert (first.new, first.updated, first.unchanged, first.failed, first.seen) == (452, 0, 0, 0, 452)
    assert progress == [200, 200, 52] and first.complete
    before = stored(store)
    again = collect_papers(store, ListFileSource(path), None, None, path=path)
    assert (again.new, again.updated, again.unchanged, again.failed) == (0, 0, 452, 0)
    assert stored(store) == before
    row = next(r for r in before.values() if r["code_links"] and "+" in r["code_links"][0])
    assert row["source"] == "papercopilot" and row["code_links"][0].startswith("[![github]")
    runs, failures = runs_and_failures(store)
    assert [(r["status"], r["source"]) for r in runs] == [("completed", "papers:file:papercopilot_sample.json")] * 2
    assert runs[1]["counts"]["unchanged"] == 452 and failures == []
    assert store.crawl_state("papers:file:papercopilot_sample.json") is not None


def test_openreview_through_faults_into_the_store_is_idempotent(db_url: str) -> None:
    corpus = generate_papers(30, venue="ICLR", year=2024, seed=9)
    accepted = [p for p in corpus if p["status"] == "accepted"]
    store = open_store(db_url)
    with ReplayServer(OpenReviewApp(corpus, page_size_max=8), faults=FaultPlan(rate=0.3, seed=2)) as server:
        settings = Settings(openreview_api=server.url, http=FAST)
        for expected_new in (len(accepted), 0):
            source = OpenReviewSource(settings, page_size=8)
            try:
                summary = collect_papers(store, source, "ICLR", 2024, batch_size=7)
            finally:
                source.close()
            assert (summary.new, summary.failed) == (expected_new, 0)
            assert summary.source == "papers:openreview:ICLR:2024"
    rows = stored(store)
    assert set(rows) == {("openreview", note_id(p)) for p in accepted}
    paper = accepted[0]
    row = rows[("openreview", note_id(paper))]
    assert (row["title"], row["venue"], row["year"]) == (paper["title"], "ICLR", 2024)
    assert row["authors"] == [a["name"] for a in paper["authors"]]
    assert row["raw"]["id"] == note_id(paper)


def test_a_changed_paper_is_updated_and_bad_papers_are_recorded_not_fatal(db_url: str) -> None:
    store = open_store(db_url)
    good = PaperRecord(source="fake", source_id="1", title="A\x00 title", code_links=("github.com/a/b",))
    too_long = PaperRecord(source="fake", source_id="2", url="https://x.org/" + "a" * 2000)
    source = ListedSource([good, too_long, good], skipped=[("entry 7", "no id")])
    summary = collect_papers(store, source, None, None, batch_size=2)
    assert (summary.seen, summary.new, summary.unchanged, summary.failed, summary.skipped) == (3, 1, 1, 1, 1)
    assert stored(store)[("fake", "1")]["title"] == "A title"  # NUL would be refused by PostgreSQL
    _, failures = runs_and_failures(store)
    assert [(f["stage"], f["item"]) for f in failures] == [("collect.papers", "fake:2"), ("collect.papers.skip",
                                                                                             "entry 7")]
    assert "url is 2014 characters long" in failures[0]["reason"]

    changed = PaperRecord(source="fake", source_id="1", title="A better title")
    assert collect_papers(store, ListedSource([changed]), None, None).updated == 1
    assert stored(store)[("fake", "1")]["title"] == "A better title"


def test_a_batch_the_database_refuses_is_written_paper_by_paper(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(db_url)
    monkeypatch.setattr(paper_rows, "row_problem", lambda row: None)
    records = [PaperRecord(source="fake", source_id=str(i), title=f"paper {i}") for i in range(3)]
    # Longer than its column: PostgreSQL refuses the row, SQLite stores it.
    records.append(PaperRecord(source="fake", source_id="x" * 300))
    summary = collect_papers(store, ListedSource(records), None, None)
    refused = store.dialect == "postgresql"
    assert (summary.new, summary.failed) == (3 + (not refused), int(refused))
    assert {("fake", str(i)) for i in range(3)} <= set(stored(store))


def test_a_source_that_fails_midway_keeps_what_it_wrote_and_marks_the_run_failed(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    records = [PaperRecord(source="fake", source_id=str(i)) for i in range(5)]
    with pytest.raises(SourceUnavailableError):
        collect_papers(store, ListedSource(records, error=SourceUnavailableError("gone")), None, None, batch_size=2)
    assert len(stored(store)) == 4  # two full batches
    runs, _ = runs_and_failures(store)
    assert runs[0]["status"] == "failed" and runs[0]["error"] == "gone"


def test_make_source_knows_the_four_sources_and_says_what_is_wrong(tmp_path: Path) -> None:
    settings = Settings(http=FAST)
    for name, kind in (("openreview", OpenReviewSource), ("arxiv", ArxivSource), ("dblp", DblpSource)):
        source = make_source(name, settings)
        assert isinstance(source, kind)
        source.close()
    listed = tmp_path / "list.csv"
    listed.write_text("title\nA\n", encoding="utf-8")
    assert isinstance(make_source("file", settings, path=listed), ListFileSource)
    with pytest.raises(UsageError, match="needs --file"):
        make_source("file", settings)
    with pytest.raises(UsageError, match="not found"):
        make_source("file", settings, path=tmp_path / "missing.csv")
    with pytest.raises(UsageError, match="choose from openreview, arxiv, dblp, file"):
        make_source("scholar", settings)
    with pytest.raises(UsageError, match="--file goes with --source file"):
        make_source("dblp", settings, path=listed)


def test_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()
    app.command()(papers)
    monkeypatch.setenv("PTMSCOPE_DB", f"sqlite:///{tmp_path / 'cli.db'}")
    listed = tmp_path / "list.json"
    listed.write_text('[{"title": "A", "venue": "NIPS", "year": 2019, "github": "github.com/a/b"}, {"x": 1}]',
                      encoding="utf-8")
    result = CliRunner().invoke(app, ["--source", "file", "--file", str(listed), "--venue", "neurips"])
    assert result.exit_code == 0, result.output
    line = "papers:file:list.json:NeurIPS: 1 new, 0 updated, 0 unchanged, 0 failed (1 listed, 1 skipped)"
    assert line in result.output
    result = CliRunner().invoke(app, ["--source", "openreview", "--venue", "CVPR", "--year", "2024"])
    assert isinstance(result.exception, UsageError) and "served by --source dblp" in str(result.exception)
    with open_store(f"sqlite:///{tmp_path / 'cli.db'}").engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.run)).scalar() == 1
