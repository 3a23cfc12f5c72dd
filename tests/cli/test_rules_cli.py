"""``ptmscope rules list``: Table 4 of the seed for ptmscope, and a loud failure on unmapped rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ptmscope.cli.rules import app
from ptmscope.scan import taxonomy
from ptmscope.scan.taxonomy import Taxonomy

MAPPED = """\
rules:
  - id: PTM101
    languages: [python]
    severity: ERROR
    message: torch.load() without weights_only=True
    metadata:
      cwe: ["CWE-502: Deserialization of Untrusted Data"]
      ptmscope: {vuln_type: unsafe_deserialization, category: ai_specific, severity: high}
    pattern: torch.load(...)
"""

UNMAPPED = MAPPED + """\
  - id: PTM199
    languages: [python]
    severity: INFO
    message: forgot the metadata
    pattern: foo(...)
"""


def _pack(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_table_lists_types_counts_and_the_seed_total() -> None:
    result = CliRunner(env={"COLUMNS": "140"}).invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    table = Taxonomy.load().table4()
    for text in ("Bandit", "Flawfinder", "Semgrep", "unsafe_deserialization", "insecure_permission_function",
                 "Dangerous file permissions", str(table.totals["bandit"]), str(table.totals["flawfinder"]),
                 str(table.total), "277"):
        assert text in result.output


def test_narrow_terminals_keep_the_counts() -> None:
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["list"])
    assert result.exit_code == 0
    assert all(len(line) <= 80 for line in result.output.splitlines())
    total_line = next(line for line in result.output.splitlines() if line.startswith("│ Total"))
    assert str(taxonomy.table4().totals["flawfinder"]) in total_line


def test_json_matches_the_taxonomy(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["list", "--format", "json", "--semgrep-rules", str(_pack(tmp_path, MAPPED))])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["scanners"] == ["bandit", "flawfinder", "semgrep", "modelfiles"]
    assert document["unmapped"] == []
    assert document["seed_total"] == 277
    assert len(document["rows"]) == 18
    assert document["totals"]["semgrep"] == 1
    assert document["total"] == sum(document["totals"].values()) == sum(r["total"] for r in document["rows"])
    row = next(r for r in document["rows"] if r["vuln_type"] == "unsafe_deserialization")
    assert row["checks"] == {"bandit": 1, "flawfinder": 0, "semgrep": 1, "modelfiles": 3}
    assert row["category"] == "ai_specific" and row["seed"] is None
    secret = next(r for r in document["rows"] if r["vuln_type"] == "secret")
    assert secret["seed"] == ["bandit", "semgrep"]


def test_an_unmapped_rule_fails_with_its_name_and_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["list", "--semgrep-rules", str(_pack(tmp_path, UNMAPPED))])
    assert result.exit_code == 1
    assert "1 scanner rule(s) have no vulnerability type" in result.stderr
    assert "semgrep PTM199 (forgot the metadata): no metadata.ptmscope in the rule" in result.stderr

    result = CliRunner().invoke(app, ["list", "-f", "json", "--semgrep-rules", str(_pack(tmp_path, UNMAPPED))])
    assert result.exit_code == 1
    assert [u["rule_id"] for u in json.loads(result.stdout)["unmapped"]] == ["PTM199"]


def test_a_new_scanner_check_without_mapping_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = taxonomy.installed_bandit_tests()
    monkeypatch.setattr(taxonomy, "installed_bandit_tests", lambda: {**installed, "B999": "future_check"})
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 1
    assert "bandit B999 (future_check): no entry under [bandit.rules]" in result.stderr


def test_a_missing_pack_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["list", "--semgrep-rules", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
