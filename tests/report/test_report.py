"""``ptmscope report`` on the hand-built store of tests/analysis/world.py: every section, every table as JSON and
CSV with the analysis functions' answers, the key numbers, an empty store, and no network reference in the page."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ptmscope.analysis import usage
from ptmscope.cli import report as report_cli
from ptmscope.errors import UsageError
from ptmscope.report.build import FORMATS, build_report, collect, parse_formats, write_report
from ptmscope.store import Store, open_store
from tests.analysis import world

SECTIONS = ["store", "models", "cards", "repositories", "usage", "vulnerabilities", "licenses"]
TABLES = {"stage_runs", "mloss_table5_coverage", "peatmoss_fig8_domains", "peatmoss_fig10_models_over_time",
          "peatmoss_fig7_card_fields", "peatmoss_fig11_median_parameters", "repositories_per_perspective",
          "links_per_kind", "peatmoss_fig9_downstream", "most_loaded_models", "usage_pinning_by_library",
          "unpinned_usage", "mloss_table6_vulns", "scanner_findings_per_type", "exposed_models",
          "mloss_table4_scanners", "peatmoss_fig12_license_flows", "license_rules", "remote_code_exposure"}
# Namespace names inside inline SVG: identifiers, never fetched.
XML_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture
def store(sqlite_url: str) -> Store:
    s = open_store(sqlite_url)
    world.build(s)
    return s


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One report for the tests that only read it: rendering the charts is the slow part."""
    root = tmp_path_factory.mktemp("built")
    s = open_store(f"sqlite:///{root / 'ptmscope.db'}")
    world.build(s)
    build_report(s, root / "report")
    return root / "report"


class _Refs(HTMLParser):
    """Every attribute that makes a browser fetch something, and the elements that do it."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset", "data", "poster") and value is not None:
                self.refs.append((tag, name, value))


def test_every_section_and_table(built: Path) -> None:
    summary = json.loads((built / "report.json").read_text())
    assert [s["id"] for s in summary["sections"]] == SECTIONS
    assert not any(s["empty"] for s in summary["sections"])
    assert set(summary["tables"]) == TABLES
    for name in TABLES:
        document = json.loads((built / "tables" / f"{name}.json").read_text())
        assert document["name"] == name and document["title"] and document["rows"], name
        with (built / "tables" / f"{name}.csv").open(newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == [c["key"] for c in document["columns"]], name
        assert len(rows) == len(document["rows"]) + 1, name


def test_tables_carry_the_analysis_answers(built: Path) -> None:
    store = open_store(f"sqlite:///{built.parent / 'ptmscope.db'}")
    fig9 = json.loads((built / "tables" / "peatmoss_fig9_downstream.json").read_text())["rows"]
    assert fig9 == [{"hub": d.hub, "domain": d.domain, "repositories": d.repositories, "percent": d.percent,
                     "hub_repositories": d.hub_repositories} for d in usage.downstream_per_domain(store)]
    unpinned = json.loads((built / "tables" / "unpinned_usage.json").read_text())["rows"]
    assert unpinned[0]["model"] == "org/bert" and unpinned[0]["locations"] == ["bob/app2:main.py:5",
                                                                              "alice/app1:main.py:3"]
    # The two trust_remote_code call sites; neither model was snapshotted, so no code is known yet.
    remote = json.loads((built / "tables" / "remote_code_exposure.json").read_text())["rows"]
    assert sorted((r["repository"], r["model"], r["flagged"], r["code"]) for r in remote) == [
        ("alice/app1", "org/llama", False, "not snapshotted"), ("bob/app2", "org/bert", True, "not snapshotted")]
    with (built / "tables" / "unpinned_usage.csv").open(newline="") as fh:
        first = next(csv.DictReader(fh))
    assert first["locations"] == "bob/app2:main.py:5; alice/app1:main.py:3" and first["in_store"] == "true"
    with (built / "tables" / "peatmoss_fig11_median_parameters.csv").open(newline="") as fh:
        assert [(r["period"], r["domain"], r["median"]) for r in csv.DictReader(fh)] == [
            ("2021-Q1", "NLP", "110000000.0"), ("2023-Q2", "NLP", "4150000000.0"), ("2023-Q2", "CV", "86000000.0")]
    t6 = {r["group"]: r for r in json.loads((built / "tables" / "mloss_table6_vulns.json").read_text())["rows"]}
    assert (t6["total"]["critical"], t6["total"]["high"], t6["total"]["total"]) == (1, 2, 7)
    assert t6["downstream"]["high_per_repository"] == pytest.approx(1.5)
    runs = json.loads((built / "tables" / "stage_runs.json").read_text())["rows"]
    assert {r["stage"]: r["last_status"] for r in runs} == {"collect": "completed", "scan": "failed"}
    assert runs[0]["last_started"].startswith("20")  # ISO timestamps in files


def test_key_numbers(built: Path) -> None:
    k = json.loads((built / "report.json").read_text())
    assert k["models"] == {"total": 9, "by_hub": {"huggingface": 6, "pytorch_hub": 3}, "deleted": 1,
                           "with_card_metadata": 5, "base_model_edges": 1}
    assert k["repositories"] == {"total": 5, "cloned": 4, "scanned": 3}
    assert k["findings"] == {"by_severity": {"low": 3, "medium": 1, "high": 2, "critical": 1}, "total": 7}
    assert k["usage"]["call_sites"] == 8 and k["usage"]["percent_pinned"] == 25.0
    assert k["licenses"]["pairs"] == 5
    assert k["licenses"]["by_verdict"] == {"compatible": 2, "incompatible": 1, "unknown": 2}
    assert k["models_linked_to_high_findings"] == 3


def test_html_has_every_section_with_charts_and_no_network_reference(built: Path) -> None:
    page = (built / "report.html").read_text()
    for section in SECTIONS:
        assert f'id="{section}"' in page
    # Figures 7-12 and Tables 5 and 6 as charts.
    assert page.count('<svg class="chart"') == 8
    for caption in ("Figure 7", "Figure 8", "Figure 9", "Figure 10", "Figure 11", "Figure 12", "Table 4",
                    "Table 5", "Table 6"):
        assert caption in page, caption
    parser = _Refs()
    parser.feed(page)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parser.tags)
    assert parser.refs  # the table links and the table of contents
    for tag, name, value in parser.refs:
        assert not re.match(r"^(https?:)?//", value), (tag, name, value)
        assert value.startswith(("#", "tables/")), (tag, name, value)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= XML_NAMESPACES
    # Only references inside the page itself (matplotlib's clip paths).
    assert {ref[0] for ref in re.findall(r"url\(([^)]*)\)", page)} <= {"#"}
    assert "@import" not in page


def test_html_escapes_store_text(store: Store, tmp_path: Path) -> None:
    from sqlalchemy import insert

    from ptmscope.store import schema

    with store.engine.begin() as conn:
        pk = conn.execute(insert(schema.repository).values(
            host="github.com", owner="evil", name="<script>alert(1)</script>", full_name_lower="evil/x",
            status="ok", clone_status="cloned", cloned_sha="z").returning(schema.repository.c.id)).scalar_one()
        conn.execute(insert(schema.usage).values(repository=pk, path="a.py", line=1, library="transformers",
                                                 call="pipeline", model_name="<img src=x>", resolved=True,
                                                 pinned=False))
    out = tmp_path / "r"
    build_report(store, out, ("html",))
    page = (out / "report.html").read_text()
    assert "<script>" not in page and "<img" not in page
    assert "&lt;img src=x&gt;" in page


def test_an_empty_store_explains_every_stage(sqlite_url: str, tmp_path: Path) -> None:
    report, written = build_report(open_store(sqlite_url), tmp_path / "r")
    assert [s.id for s in report.sections] == SECTIONS
    assert all(s.empty for s in report.sections)
    page = (tmp_path / "r" / "report.html").read_text()
    assert page.count('class="empty"') >= len(SECTIONS)
    assert "<code>ptmscope usage --all</code>" in page
    summary = json.loads((tmp_path / "r" / "report.json").read_text())
    assert summary["models"]["total"] == 0 and summary["licenses"]["pairs"] == 0
    # The scanners' checks per type do not depend on any stage: Table 4 is there even now.
    assert summary["tables"] == ["mloss_table4_scanners"]
    assert {p.name for p in written} == {"report.html", "report.json", "mloss_table4_scanners.json",
                                         "mloss_table4_scanners.csv"}


def test_formats(store: Store, tmp_path: Path) -> None:
    report = collect(store)
    html_only = write_report(report, tmp_path / "h", ("html",))
    assert sorted(p.name for p in html_only) == ["report.html", "report.json"]
    assert not (tmp_path / "h" / "tables").exists()
    csv_only = write_report(report, tmp_path / "c", ("csv",))
    assert not (tmp_path / "c" / "report.html").exists()
    assert {p.suffix for p in csv_only} == {".csv", ".json"} and len(csv_only) == len(TABLES) + 1
    assert parse_formats(" CSV ,html,csv") == ("csv", "html")
    for bad in ("", "pdf", "html,xml"):
        with pytest.raises(UsageError):
            parse_formats(bad)
    assert FORMATS == ("html", "json", "csv")


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A group, so the command keeps its name as it will under `ptmscope`."""

    app.command("report")(report_cli.report)
    return app


def test_cli(sqlite_url: str, store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(_app(), ["report", "--out", str(out), "--format", "html,json"],
                           env={"PTMSCOPE_DB": sqlite_url})
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out / "report.html")
    assert (out / "tables" / "peatmoss_fig9_downstream.json").is_file()
    assert not list((out / "tables").glob("*.csv"))
    bad = runner.invoke(_app(), ["report", "--out", str(out), "--format", "pdf"], env={"PTMSCOPE_DB": sqlite_url})
    assert isinstance(bad.exception, UsageError)
    blocked = tmp_path / "file"
    blocked.write_text("x")
    bad = runner.invoke(_app(), ["report", "--out", str(blocked / "sub")], env={"PTMSCOPE_DB": sqlite_url})
    assert isinstance(bad.exception, UsageError)


def test_long_tables_are_cut_in_the_page_not_in_the_files(sqlite_url: str, tmp_path: Path) -> None:
    from ptmscope.report.build import Block, Section
    from ptmscope.report.tables import Column, Table

    report = collect(open_store(sqlite_url))
    rows = [{"n": i, "label": f"row {i}"} for i in range(60)]
    report.sections.append(Section("long", "Long", "test", "A table longer than the page shows.",
                                   [Block("table", table=Table("long_table", "Long", [
                                       Column("n", "N", "int"), Column("label", "Label")], rows))]))
    write_report(report, tmp_path / "r")
    page = (tmp_path / "r" / "report.html").read_text()
    section = page[page.index('id="long"'):]
    assert section.count("<tr>") == 51  # header and 50 rows
    assert "row 49" in section and "row 50" not in section
    assert "Showing 50 of 60 rows." in section
    assert len(json.loads((tmp_path / "r" / "tables" / "long_table.json").read_text())["rows"]) == 60
