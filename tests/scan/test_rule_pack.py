"""ptmscope's own Semgrep rule pack: its test cases pass under ``semgrep --test``, offline, and every
rule carries the metadata findings are classified by."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from ptmscope.scan import taxonomy
from ptmscope.scan.interface import SEVERITIES
from ptmscope.scan.semgrep import RULES, SemgrepScanner

# The deliberately vulnerable test cases live with the tests, not in the package a user installs.
CASES_DIR = Path(__file__).parent / "rule_cases"
TEST_CASES = sorted(p for p in CASES_DIR.iterdir() if p.stem == RULES.stem)
TYPES = {
    "secret": ("secret", "password", "weak_cryptography", "sensitive_filetype"),
    "insecure_permission_function": ("file_permission", "insecure_function", "insecure_module",
                                     "deprecated_library", "insecure_connection"),
    "web_attack": ("insecure_input", "sql_injection", "xml_attack", "xss"),
    "ai_specific": ("privacy_attack", "model_evasion", "unsafe_deserialization", "remote_code_execution",
                    "unpinned_model"),
}
CATEGORY_OF = {vuln_type: category for category, types in TYPES.items() for vuln_type in types}
# Semgrep's own severity word must agree with the normalised one.
SEMGREP_SEVERITY = {"low": "INFO", "medium": "WARNING", "high": "ERROR", "critical": "ERROR"}
ANNOTATION = re.compile(r"(?:#|//)\s*(ruleid|ok):\s*(.+)$")
MODEL_OUTPUT_RULES = ("PTM112", "PTM113", "PTM114", "PTM115")


def _pack() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = yaml.safe_load(RULES.read_text(encoding="utf-8"))["rules"]
    return rules


def _annotations() -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for case in TEST_CASES:
        for line in case.read_text(encoding="utf-8").splitlines():
            match = ANNOTATION.search(line)
            if match:
                for rule_id in match.group(2).split(","):
                    per_rule = counts.setdefault(rule_id.strip(), {"ruleid": 0, "ok": 0})
                    per_rule[match.group(1)] += 1
    return counts


def test_semgrep_test_passes_offline(tmp_path: Path) -> None:
    scanner = SemgrepScanner()
    # semgrep --test pairs X.yaml with the X.<ext> files beside it.
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(RULES, suite / RULES.name)
    for case in TEST_CASES:
        shutil.copy(case, suite / case.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMGREP_")}
    env.update(HOME=str(tmp_path), SEMGREP_ENABLE_VERSION_CHECK="0", SEMGREP_SEND_METRICS="off")
    # An absolute directory: Semgrep reads a relative "r/..." or "p/..." as a registry name to download.
    done = subprocess.run([scanner.executable, "--test", "--metrics=off", "--disable-version-check", "--json",
                           str(suite.resolve())], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["config_with_errors"] == []
    assert report["config_missing_tests"] == []
    checks = {rule_id: check for result in report["results"].values() for rule_id, check in result["checks"].items()}
    failed = {rule_id: check["matches"] for rule_id, check in checks.items() if not check["passed"] or check["errors"]}
    assert failed == {}
    assert set(checks) == {rule["id"] for rule in _pack()}


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    counts = _annotations()
    ids = [rule["id"] for rule in _pack()]
    assert set(counts) <= set(ids), "annotations name rules the pack does not have"
    missing = {rid: counts.get(rid, {"ruleid": 0, "ok": 0}) for rid in ids
               if not counts.get(rid, {}).get("ruleid") or not counts.get(rid, {}).get("ok")}
    assert missing == {}


def test_every_rule_has_valid_metadata() -> None:
    rules = _pack()
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        rid = rule["id"]
        assert re.fullmatch(r"PTM1\d\d", rid), rid
        assert isinstance(rule.get("message"), str) and len(rule["message"].split()) >= 8, rid
        assert rule.get("languages") and isinstance(rule["languages"], list), rid
        metadata = rule["metadata"]
        assert re.fullmatch(r"CWE-\d+", metadata["cwe"]), rid
        assert metadata["confidence"] in ("LOW", "MEDIUM", "HIGH"), rid
        ours = metadata["ptmscope"]
        assert ours["vuln_type"] in CATEGORY_OF, rid
        assert ours["category"] == CATEGORY_OF[ours["vuln_type"]], rid
        assert ours["severity"] in SEVERITIES, rid
        assert rule["severity"] == SEMGREP_SEVERITY[ours["severity"]], rid
        for reference in metadata.get("references", []):
            assert reference.startswith("https://"), rid


def test_taxonomy_maps_every_rule_as_its_metadata_says() -> None:
    by_id = {rule["id"]: rule["metadata"] for rule in _pack()}
    for rid, metadata in by_id.items():
        cls = taxonomy.classify("semgrep", rid, "INFO")
        assert (cls.vuln_type, cls.category, cls.severity, cls.cwe) == (
            metadata["ptmscope"]["vuln_type"], metadata["ptmscope"]["category"], metadata["ptmscope"]["severity"],
            metadata["cwe"]), rid
    assert [u for u in taxonomy.unmapped() if u.scanner == "semgrep"] == []


def test_model_output_rules_share_their_sources() -> None:
    rules = {rule["id"]: rule for rule in _pack()}
    sources = [rules[rid]["pattern-sources"] for rid in MODEL_OUTPUT_RULES]
    assert all(mode == "taint" for mode in (rules[rid]["mode"] for rid in MODEL_OUTPUT_RULES))
    assert all(s == sources[0] for s in sources[1:])

