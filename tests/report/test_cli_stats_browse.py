"""``ptmscope stats usage|cards`` as users run them, and ``ptmscope browse``: Datasette on a tiny store, its facets
and ready-made queries, and the errors for stores it cannot open."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ptmscope.cli import browse as browse_cli
from ptmscope.cli import main as cli_main
from ptmscope.errors import UsageError
from ptmscope.store import open_store
from tests.analysis import world
from tests.clirun import logging_restored as _logging_restored


def run_cli(argv: list[str]) -> int:
    with _logging_restored(), pytest.raises(SystemExit) as exit_:
        cli_main.main(["--quiet", *argv])
    return int(exit_.value.code or 0)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PTMSCOPE_DB", "PTMSCOPE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def filled(sqlite_url: str) -> str:
    world.build(open_store(sqlite_url))
    return sqlite_url


def test_stats_usage_json(filled: str, capfd: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--db", filled, "stats", "usage", "--format", "json", "--models", "2"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert [(d["hub"], d["domain"], d["repositories"]) for d in doc["downstream"]] == [
        ("huggingface", "NLP", 3), ("huggingface", "CV", 1), ("pytorch_hub", "CV", 1)]
    assert [m["model"] for m in doc["most_loaded"]] == ["org/bert", "org/llama"]
    assert (doc["pinning"]["call_sites"], doc["pinning"]["pinned"], doc["pinning"]["percent_pinned"]) == (8, 2, 25.0)
    assert doc["unpinned"][0] == {"model": "org/bert", "hub": "huggingface", "in_store": True, "call_sites": 2,
                                  "repositories": 2, "trust_remote_code": 1,
                                  "locations": ["bob/app2:main.py:5", "alice/app1:main.py:3"]}


def test_stats_usage_table(filled: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    assert run_cli(["--db", filled, "stats", "usage"]) == 0
    out = capfd.readouterr().out
    assert "PeaTMOSS Figure 9" in out and "2 of 8 (25.0%)" in out and "pytorch/vision/resnet18" in out


def test_stats_cards_json(filled: str, capfd: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--db", filled, "stats", "cards", "--format", "json", "--period", "year"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert doc["models_read"] == 4 and doc["period"] == "year"
    assert {f["field"]: f["models"] for f in doc["fields"]}["license"] == 2
    assert [(c["period"], c["domain"], c["models"]) for c in doc["models_over_time"]] == [
        ("2021", "NLP", 1), ("2021", "Audio", 1), ("2023", "NLP", 2), ("2023", "CV", 1)]
    assert [(m["period"], m["domain"], m["median"]) for m in doc["median_parameters"]] == [
        ("2021", "NLP", 110_000_000.0), ("2023", "NLP", 4_150_000_000.0), ("2023", "CV", 86_000_000.0)]


def test_stats_on_an_empty_store(sqlite_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--db", sqlite_url, "stats", "usage"]) == 0
    assert "ptmscope usage --all" in capfd.readouterr().out
    assert run_cli(["--db", sqlite_url, "stats", "cards"]) == 0
    assert "ptmscope cards extract --all" in capfd.readouterr().out
    assert run_cli(["--db", sqlite_url, "stats", "cards", "--period", "week"]) == 2


# --- browse ----------------------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A group, so the command keeps its name as it will under `ptmscope`."""

    app.command("browse")(browse_cli.browse)
    return app


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql+psycopg://u@127.0.0.1:1/db", "Datasette reads SQLite"),
    ("sqlite:///:memory:", "in-memory"),
    ("sqlite:////nonexistent/dir/ptmscope.db", "no store at"),
    ("nonsense", "not a database URL"),
])
def test_browse_refuses_what_datasette_cannot_open(url: str, message: str) -> None:
    result = CliRunner().invoke(_app(), ["browse", "--no-open"], env={"PTMSCOPE_DB": url})
    assert isinstance(result.exception, UsageError)
    assert message in str(result.exception)
    assert "export" in str(result.exception) or not url.startswith("postgresql")


def test_metadata_names_real_columns() -> None:
    from ptmscope.store import schema

    meta = browse_cli.datasette_metadata("ptmscope")
    tables = meta["databases"]["ptmscope"]["tables"]
    for table, spec in tables.items():
        if table == "alembic_version":
            continue
        columns = set(schema.metadata.tables[table].c.keys())
        assert set(spec.get("facets", [])) <= columns, table
        if "label_column" in spec:
            assert spec["label_column"] in columns, table
    assert set(tables) >= {"model", "finding", "usage", "license_check"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_datasette_serves_the_store(filled: str, tmp_path: Path) -> None:
    pytest.importorskip("datasette", reason="needs datasette (pip install datasette)")
    db = browse_cli.sqlite_path(filled)
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps(browse_cli.datasette_metadata(db.stem)))
    port = _free_port()
    command = browse_cli.datasette_command(db, metadata, port=port, open_browser=False)
    assert "--open" not in command and "--immutable" not in command
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                versions = _get(f"{base}/-/versions.json")
                break
            except (urllib.error.URLError, ConnectionError):
                assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
                assert time.monotonic() < deadline, "Datasette did not start"
                time.sleep(0.2)
        assert "datasette" in versions
        models = _get(f"{base}/{db.stem}/model.json?_shape=objects&_col=model_id&_col=domain&_size=100")
        assert len(models["rows"]) == 10
        facets = models["facet_results"]
        facets = facets.get("results", facets)  # Datasette 1.0 nests them one level deeper
        domains = {v["value"]: v["count"] for v in facets["domain"]["results"]}
        assert domains["NLP"] == 4 and domains["CV"] == 2  # the deleted model is a stored row too
        risky = _get(f"{base}/{db.stem}/unpinned_remote_code.json?_shape=objects")["rows"]
        assert [(r["repository"], r["line"], r["model_name"]) for r in risky] == [("bob/app2", 5, "org/bert")]
        high = _get(f"{base}/{db.stem}/high_findings_per_repository.json?_shape=objects")["rows"]
        assert {(r["repository"], r["severity"], r["findings"]) for r in high} == {
            ("alice/app1", "high", 1), ("alice/app1", "critical", 1), ("bob/app2", "high", 1)}
        bad = _get(f"{base}/{db.stem}/incompatible_licenses.json?_shape=objects")["rows"]
        assert {(r["kind"], r["model_id"], r["other"]) for r in bad} == {
            ("model_app", "org/gpt", "alice/app1"), ("base_model", "org/llama", "org/bert")}
    finally:
        child.terminate()
        child.wait(timeout=30)
