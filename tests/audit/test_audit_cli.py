"""``ptmscope audit PATH`` end to end, as a security team runs it: a project written here, a store that
knows its models, a replayed Hub for the one it does not; the issues found, exit codes, and every format
checked against its schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from ptmscope.cli import main as cli_main
from ptmscope.cli.audit import audit
from ptmscope.replay import HuggingFaceApp, ReplayServer
from ptmscope.store import open_store
from tests.audit.helpers import MIT, SHA, fill_store, hub_corpus, write_project
from tests.clirun import logging_restored as _logging_restored
from tests.conftest import _free_port, shared_path

if not any(command.name == "audit" for command in cli_main.app.registered_commands):
    # Until cli/main.py registers it, the test runs the command through the real entry point all the same.
    cli_main.app.command("audit")(audit)




def run_cli(*argv: str) -> int:
    with _logging_restored(), pytest.raises(SystemExit) as exit_:
        cli_main.main(["--quiet", *argv])
    return int(exit_.value.code or 0)


@pytest.fixture
def hub_server() -> Iterator[ReplayServer]:
    with ReplayServer(HuggingFaceApp(hub_corpus())) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, hub_server: ReplayServer, tmp_path: Path) -> str:
    fill_store(open_store(sqlite_url))
    monkeypatch.setenv("PTMSCOPE_DB", sqlite_url)
    monkeypatch.setenv("PTMSCOPE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    monkeypatch.setenv("PTMSCOPE_HTTP_RETRIES", "0")
    return sqlite_url


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


def _json(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _issues(document: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(i["id"], i["model"]) for i in document["issues"]}


def test_audit_finds_what_a_security_team_acts_on(env: str, project: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    assert run_cli("audit", str(project), "--format", "json", "--scanners", "bandit", "--out", str(out)) == 0
    document = _json(out)
    assert document["license"]["spdx"] == "MIT" and document["license"]["file"] == "LICENSE"
    models = {m["model"]: m for m in document["models"]}
    assert set(models) == {"acme/pinned-model", "acme/pickled-model", "research/nc-model", "acme/custom-model",
                           "acme/finetune", "oldorg/old-name", "ghost/missing-model", "hubonly/remote-model"}
    assert {m: models[m]["lookup"] for m in models} == {
        "acme/pinned-model": "store", "acme/pickled-model": "store", "research/nc-model": "store",
        "acme/custom-model": "store", "acme/finetune": "store", "oldorg/old-name": "store",
        "ghost/missing-model": "not_found", "hubonly/remote-model": "hub"}
    # The notebook's load is reported where it is: cell 2 (all cell types counted), line 3 of that cell.
    [site] = models["hubonly/remote-model"]["call_sites"]
    assert (site["path"], site["cell"], site["line"], site["pinned"]) == ("notebooks/explore.ipynb", 2, 3, False)
    [pinned] = models["acme/pinned-model"]["call_sites"]
    assert (pinned["path"], pinned["line"], pinned["revision"], pinned["pinned"]) == ("app/main.py", 8, SHA, True)
    assert models["research/nc-model"]["compatibility"]["verdict"] == "incompatible"
    assert models["acme/pinned-model"]["compatibility"]["verdict"] == "compatible"
    assert models["hubonly/remote-model"]["pickle_only"] is True
    assert [(b["parent"], b["found"]) for b in models["hubonly/remote-model"]["base_models"]] == [
        ("acme/pinned-model", True)]
    assert _issues(document) == {
        ("AUD007", "acme/pinned-model"),  # ptmscope's verdict on a snapshotted file
        ("AUD001", "acme/pickled-model"), ("AUD003", "acme/pickled-model"),
        ("AUD001", "research/nc-model"), ("AUD004", "research/nc-model"), ("AUD006", "research/nc-model"),
        ("AUD002", "acme/custom-model"),
        ("AUD008", "acme/finetune"),
        ("AUD012", "oldorg/old-name"),
        ("AUD011", "ghost/missing-model"),
        ("AUD001", "hubonly/remote-model"), ("AUD003", "hubonly/remote-model"), ("AUD010", "hubonly/remote-model"),
        ("AUD013", None),
    }
    by_id = {(i["id"], i["model"]): i for i in document["issues"]}
    assert by_id[("AUD002", "acme/custom-model")]["severity"] == "critical"
    assert (by_id[("AUD001", "research/nc-model")]["path"], by_id[("AUD001", "research/nc-model")]["line"]) == (
        "app/main.py", 10)
    assert [s["path"] for s in document["local_loads"]] == ["app/main.py"]
    assert [s["line"] for s in document["unresolved_loads"]] == [16]
    scan = document["scan"]
    assert [s["name"] for s in scan["scanners"]] == ["bandit"]
    assert {(f["rule_id"], f["path"]) for f in scan["findings"] if f["rule_id"] == "B301"} == {("B301", "app/main.py")}
    assert document["hub"]["status"] == "reachable"


def test_fail_on_sets_the_exit_code(env: str, project: Path, tmp_path: Path) -> None:
    assert run_cli("audit", str(project), "--no-scan", "--offline", "--fail-on", "critical", "-f", "json",
                   "-o", str(tmp_path / "a.json")) == 1
    # One unpinned load of a clean model: a medium issue only.
    medium = tmp_path / "medium"
    medium.mkdir()
    (medium / "LICENSE").write_text(MIT)
    (medium / "run.py").write_text('from transformers import AutoModel\n\n'
                                   'AutoModel.from_pretrained("neworg/new-name")\n')
    common = ("audit", str(medium), "--scanners", "bandit", "--offline", "-f", "json", "-o", str(tmp_path / "m.json"))
    assert run_cli(*common, "--fail-on", "high") == 0
    assert run_cli(*common, "--fail-on", "medium") == 1
    assert run_cli(*common) == 0
    assert _issues(_json(tmp_path / "m.json")) == {("AUD001", "neworg/new-name")}
    # Pinned: nothing left to act on, at any threshold.
    (medium / "run.py").write_text(f'from transformers import AutoModel\n\nAutoModel.from_pretrained('
                                   f'"neworg/new-name", revision="{SHA}")\n')
    assert run_cli(*common, "--fail-on", "low") == 0
    assert _json(tmp_path / "m.json")["issues"] == []


@pytest.mark.shared
def test_sarif_output_is_valid_sarif(env: str, project: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.sarif"
    assert run_cli("audit", str(project), "--format", "sarif", "--scanners", "bandit", "--out", str(out)) == 0
    schema = json.loads(shared_path("reference", "sarif", "sarif-schema-2.1.0.json").read_text())
    validator_cls = jsonschema.validators.validator_for(schema)
    document = json.loads(out.read_text())
    errors = list(validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER).iter_errors(document))
    assert not errors, errors[0]
    runs = {run["tool"]["driver"]["name"]: run for run in document["runs"]}
    assert {"bandit", "ptmscope-audit"} <= set(runs)
    audit_results = runs["ptmscope-audit"]["results"]
    assert {r["ruleId"] for r in audit_results} >= {"AUD002", "AUD004", "AUD011"}
    assert {loc["physicalLocation"]["artifactLocation"]["uri"] for r in audit_results for loc in r["locations"]} == {
        "app/main.py", "notebooks/explore.ipynb"}
    assert any(r["ruleId"] == "B301" for r in runs["bandit"]["results"])


def test_cyclonedx_output_is_a_valid_ml_bom(env: str, project: Path, tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    assert run_cli("audit", str(project), "--format", "cyclonedx", "--scanners", "bandit", "--out", str(out)) == 0
    text = out.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    components = {c["bom-ref"]: c for c in bom["components"]}
    assert components["model:acme/pinned-model"]["purl"] == f"pkg:huggingface/acme/pinned-model@{SHA}"
    assert components["model:acme/pinned-model"]["licenses"] == [{"expression": "Apache-2.0"}]
    assert components["model:research/nc-model"]["licenses"] == [{"expression": "CC-BY-NC-4.0"}]
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert depends["model:acme/finetune"] == {"model:research/nc-model"}
    assert depends["model:hubonly/remote-model"] == {"model:acme/pinned-model"}
    ids = {v["id"] for v in bom["vulnerabilities"]}
    assert {"AUD002", "AUD004", "B301"} <= ids


def test_offline_asks_no_hub(env: str, project: Path, tmp_path: Path, hub_server: ReplayServer) -> None:
    out = tmp_path / "audit.json"
    assert run_cli("audit", str(project), "--offline", "--no-scan", "-f", "json", "-o", str(out)) == 0
    document = _json(out)
    models = {m["model"]: m for m in document["models"]}
    assert models["hubonly/remote-model"]["lookup"] == "offline"
    assert models["ghost/missing-model"]["lookup"] == "offline"
    assert ("AUD011", "ghost/missing-model") not in _issues(document)
    assert document["scan"] is None and document["hub"]["status"] == "off"
    assert hub_server.log == []


def test_unreachable_hub_is_a_note(env: str, project: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_free_port()}")
    out = tmp_path / "audit.json"
    assert run_cli("audit", str(project), "--no-scan", "-f", "json", "-o", str(out)) == 0
    document = _json(out)
    assert document["hub"]["status"] == "unreachable"
    assert any("hub not reachable" in note for note in document["notes"])
    assert {m["model"]: m["lookup"] for m in document["models"]}["hubonly/remote-model"] == "unreachable"


def test_without_a_store_nothing_is_created(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PTMSCOPE_DB", raising=False)
    monkeypatch.setenv("PTMSCOPE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "audit.json"
    assert run_cli("audit", str(project), "--offline", "--no-scan", "-f", "json", "-o", str(out)) == 0
    assert not (tmp_path / "data").exists()
    document = _json(out)
    assert any("no store" in note for note in document["notes"])
    assert {m["lookup"] for m in document["models"]} == {"offline"}


def test_table_with_the_default_scanners(env: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("audit", str(project), "--fail-on", "high") == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert max(len(line) for line in lines) <= 100
    flat = " ".join(captured.out.split())
    assert flat.startswith(f"{project}: license MIT (LICENSE); 8 models at 8 call sites (+1 local, 1 unresolved")
    assert "AUD002" in captured.out and "What to do:" in captured.out
    scan_line = next(line for line in lines if line.startswith("Scan ("))
    for name in ("bandit", "flawfinder", "semgrep", "modelfiles"):
        assert name in scan_line


@pytest.mark.parametrize("argv", [
    ("audit", "{missing}"),
    ("audit", "{file}"),
    ("audit", "{project}", "--scanners", "nosuch"),
    ("audit", "{project}", "--scanners", " , "),
    ("audit", "{project}", "--format", "xml"),
    ("audit", "{project}", "--fail-on", "severe"),
])
def test_user_mistakes_exit_2_without_a_traceback(argv: tuple[str, ...], project: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTMSCOPE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "file.py").write_text("x = 1\n")
    values = {"missing": str(tmp_path / "nope"), "file": str(tmp_path / "file.py"), "project": str(project)}
    assert run_cli(*(a.format(**values) for a in argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error" in err.lower()


def test_files_the_usage_stage_cannot_read_are_listed(env: str, project: Path, tmp_path: Path) -> None:
    (project / "app" / "broken.ipynb").write_text("{not json")
    out = tmp_path / "audit.json"
    assert run_cli("audit", str(project), "--offline", "--no-scan", "-f", "json", "-o", str(out)) == 0
    skipped = _json(out)["usage"]["skipped"]
    assert [s["path"] for s in skipped] == ["app/broken.ipynb"] and skipped[0]["reason"]
