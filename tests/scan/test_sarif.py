"""SARIF output is valid SARIF 2.1.0 (the OASIS schema) and says what the JSON report says."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest

from ptmscope.scan.interface import ScanOutcome
from ptmscope.scan.report import to_sarif
from ptmscope.scan.run import ScannerKey, scan_path
from tests.conftest import shared_path
from tests.scan.gitrepos import Link, available_scanners, write

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(shared_path("reference", "sarif", "sarif-schema-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _tree(root: Path) -> None:
    write(root, {
        "app/run.py": b"import subprocess\nsubprocess.call('ls', shell=True)\nimport pickle\npickle.loads(b'')\n",
        "app/copy.py": b"import subprocess\nsubprocess.call('ls', shell=True)\nimport pickle\npickle.loads(b'')\n",
        "caf\udce9 space.py": b"import os\nos.system('x')\n",
        "native/x.c": b"#include <string.h>\nvoid f(char *d, char *s) { strcpy(d, s); }\n",
        "py2.py": b"print 'x'\n",
        "bin.py": b"\x00" * 64,
        "link.py": Link("app/run.py"),
    })


def _sarif(outcome: ScanOutcome, root: Path, tools: list[tuple[str, str]]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(to_sarif(outcome, root, tools))
    return document


def test_sarif_of_a_real_scan_is_valid_and_complete(tmp_path: Path, validator: jsonschema.protocols.Validator,
                                                    ) -> None:
    _tree(tmp_path)
    scanners = available_scanners("bandit", "flawfinder")
    outcome = scan_path(tmp_path, scanners)
    tools = [(k.name, k.version) for k in map(ScannerKey.of, scanners)]
    document = _sarif(outcome, tmp_path, tools)
    validator.validate(document)
    assert document["version"] == "2.1.0"
    runs = {run["tool"]["driver"]["name"]: run for run in document["runs"]}
    assert set(runs) == {name for name, _ in tools} | {"ptmscope"}  # ptmscope: the symlink it did not follow
    assert sum(len(run["results"]) for run in runs.values()) == len(outcome.findings) > 0
    for run in runs.values():
        rules = run["tool"]["driver"]["rules"]
        assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == tmp_path.resolve().as_uri() + "/"
        for result in run["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["level"] == {"critical": "error", "high": "error", "medium": "warning",
                                       "low": "note"}[result["properties"]["severity"]]
            location = result["locations"][0]["physicalLocation"]
            assert location["artifactLocation"]["uriBaseId"] == "SRCROOT"
            assert location["region"]["startLine"] >= 1
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for run in runs.values()
            for r in run["results"]}
    assert "caf%5Cxe9%20space.py" in uris  # the \xNN display name, percent-encoded
    assert {"app/run.py", "app/copy.py"} <= uris
    unpickle = next(r for r in runs["bandit"]["results"] if r["ruleId"] == "B301")
    assert unpickle["level"] == "warning" and unpickle["properties"]["cwe"] == "CWE-502"
    notes = [(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], n["message"]["text"])
             for run in runs.values() for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert sorted(uri for uri, _ in notes) == sorted(quote(s.path, safe="/") for s in outcome.skipped)
    assert ("link.py", "not scanned: symlink, not followed") in notes


def test_sarif_of_an_empty_scan_is_valid(tmp_path: Path, validator: jsonschema.protocols.Validator) -> None:
    document = _sarif(ScanOutcome(), tmp_path, [("bandit", "1.9.4")])
    validator.validate(document)
    assert [run["results"] for run in document["runs"]] == [[]]


def test_the_cli_writes_valid_sarif(tmp_path: Path, validator: jsonschema.protocols.Validator,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.scan.test_scan_cli import run_cli

    root = tmp_path / "tree"
    _tree(root)
    out = tmp_path / "out.sarif"
    monkeypatch.chdir(tmp_path)
    code = run_cli(["scan", os.fspath(root), "--scanners", "bandit", "--format", "sarif", "--out", str(out)])
    assert code == 0
    document = json.loads(out.read_bytes())
    validator.validate(document)
    assert [run["tool"]["driver"]["name"] for run in document["runs"]] == ["bandit", "ptmscope"]
