"""The taxonomy covers every rule the installed scanners have, and normalises severities as documented."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ptmscope.scan import taxonomy
from ptmscope.scan.interface import SEVERITIES
from ptmscope.scan.taxonomy import (
    CATEGORIES,
    DATA_FILE,
    SEED_TOTAL_CHECKS,
    FlawfinderRule,
    Taxonomy,
    TaxonomyError,
    installed_bandit_tests,
    installed_flawfinder_rules,
)

PACK = """\
rules:
  - id: PTM101
    languages: [python]
    severity: WARNING
    message: torch.load() without weights_only=True
    metadata:
      cwe: ["CWE-502: Deserialization of Untrusted Data"]
      ptmscope: {vuln_type: unsafe_deserialization, category: ai_specific, severity: critical}
    pattern: torch.load(...)
  - id: PTM102
    languages: [python]
    severity: ERROR
    message: trust_remote_code=True runs code from the model repository
    metadata:
      cwe: CWE-94
      ptmscope: {vuln_type: remote_code_execution, category: ai_specific}
    pattern: $F(..., trust_remote_code=True, ...)
  - id: PTM103
    languages: [python]
    severity: INFO
    message: no ptmscope metadata
    pattern: foo(...)
  - id: PTM104
    languages: [python]
    severity: INFO
    message: wrong category
    metadata: {ptmscope: {vuln_type: xss, category: secret}}
    pattern: bar(...)
  - id: PTM105
    languages: [python]
    severity: INFO
    message: unknown type
    metadata: {ptmscope: {vuln_type: quantum_attack, category: ai_specific}}
    pattern: baz(...)
"""


@pytest.fixture(scope="module")
def bundled() -> Taxonomy:
    # The real pack may not exist while it is being written; these tests are about the scanners' own rules.
    return Taxonomy.load(semgrep_rules=None)


@pytest.fixture
def with_pack(tmp_path: Path) -> Taxonomy:
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK, encoding="utf-8")
    return Taxonomy.load(semgrep_rules=pack)


def _toml() -> dict[str, object]:
    return tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))


def test_every_installed_bandit_test_is_mapped(bundled: Taxonomy) -> None:
    installed = installed_bandit_tests()
    assert {"B101", "B301", "B506", "B614", "B615", "B704"} <= set(installed)
    mapped = {r.rule_id: r for r in bundled.all_rules() if r.scanner == "bandit"}
    assert set(mapped) == set(installed)
    assert all(r.vuln_type and r.category and r.cwe for r in mapped.values())
    assert mapped["B614"].name == "pytorch_load"


def test_taxonomy_names_no_bandit_test_that_is_not_installed() -> None:
    # Table 4 counts what the mapping lists; a test Bandit dropped must not linger in it.
    assert set(_toml()["bandit"]["rules"]) == set(installed_bandit_tests())  # type: ignore[index]


def test_bandit_blacklist_cwes_agree_with_bandit() -> None:
    manager = importlib.import_module("bandit.core.extension_loader").MANAGER
    rules = _toml()["bandit"]["rules"]  # type: ignore[index]
    for tid, entry in manager.blacklist_by_id.items():
        assert rules[tid]["cwe"] == f"CWE-{entry['cwe']}", tid


def test_every_installed_flawfinder_rule_is_mapped(bundled: Taxonomy) -> None:
    listed = subprocess.run([sys.executable, "-m", "flawfinder", "--listrules"], capture_output=True, text=True,
                            check=True).stdout
    names = {line.split("\t")[0] for line in listed.splitlines() if line.count("\t") >= 2}
    rules = [r for r in bundled.all_rules() if r.scanner == "flawfinder"]
    assert {r.name for r in rules} == names
    assert len(rules) == len(names) == 222
    assert all(r.vuln_type and r.category and r.rule_id.startswith("FF") for r in rules)


def test_flawfinder_overrides_name_real_rule_ids() -> None:
    ids = {r.rule_id for r in installed_flawfinder_rules()}
    assert set(_toml()["flawfinder"]["rules"]) <= ids  # type: ignore[index]


def test_nothing_is_unmapped(bundled: Taxonomy, with_pack: Taxonomy) -> None:
    assert bundled.unmapped() == []
    assert taxonomy.unmapped() == []  # the bundled pack, whatever state it is in
    assert {u.rule_id for u in with_pack.unmapped()} == {"PTM103", "PTM104", "PTM105"}


BANDIT_MATRIX = {
    ("LOW", "LOW"): "low", ("LOW", "MEDIUM"): "low", ("LOW", "HIGH"): "low",
    ("MEDIUM", "LOW"): "low", ("MEDIUM", "MEDIUM"): "medium", ("MEDIUM", "HIGH"): "medium",
    ("HIGH", "LOW"): "medium", ("HIGH", "MEDIUM"): "high", ("HIGH", "HIGH"): "critical",
}


@pytest.mark.parametrize(("severity", "confidence"), list(BANDIT_MATRIX))
def test_bandit_severity_matrix(bundled: Taxonomy, severity: str, confidence: str) -> None:
    # B602 (shell=True) has no cap, so it shows the plain matrix.
    assert bundled.classify("bandit", "B602", severity, confidence).severity == BANDIT_MATRIX[severity, confidence]


@pytest.mark.parametrize(("level", "expected"), list(enumerate(["low", "low", "low", "medium", "high", "critical"])))
def test_flawfinder_levels(bundled: Taxonomy, level: int, expected: str) -> None:
    assert bundled.classify("flawfinder", "FF1014", f"level {level}").severity == expected
    assert bundled.classify("flawfinder", "FF1014", str(level)).severity == expected


@pytest.mark.parametrize(("scanner", "rule", "severity", "confidence", "expected"), [
    ("bandit", "B614", "MEDIUM", "HIGH", ("unsafe_deserialization", "ai_specific", "medium", "CWE-502")),
    ("bandit", "B615", "MEDIUM", "HIGH", ("unpinned_model", "ai_specific", "medium", "CWE-494")),
    ("bandit", "B301", "MEDIUM", "HIGH", ("insecure_module", "insecure_permission_function", "medium", "CWE-502")),
    ("bandit", "B506", "MEDIUM", "HIGH", ("insecure_input", "web_attack", "medium", "CWE-20")),
    ("bandit", "B105", "LOW", "MEDIUM", ("secret", "secret", "low", "CWE-259")),
    ("bandit", "B413", "HIGH", "HIGH", ("deprecated_library", "insecure_permission_function", "high", "CWE-327")),
    ("bandit", "B324", "HIGH", "HIGH", ("weak_cryptography", "secret", "high", "CWE-327")),  # capped
    ("bandit", "B501", "HIGH", "HIGH", ("insecure_connection", "insecure_permission_function", "high", "CWE-295")),
    ("bandit", "B608", "MEDIUM", "LOW", ("sql_injection", "web_attack", "low", "CWE-89")),
    ("bandit", "B320", "HIGH", None, (None, None, "high", None)),  # not a Bandit 1.9 test: unmapped
    ("bandit", "B101", "UNDEFINED", "HIGH", ("insecure_function", "insecure_permission_function", "medium",
                                             "CWE-703")),
    ("flawfinder", "FF1014", "level 5", None, ("insecure_input", "web_attack", "critical", "CWE-120")),
    ("flawfinder", "FF1033", "level 5", None, ("file_permission", "insecure_permission_function", "high", "CWE-362")),
    ("flawfinder", "FF1001", "level 4", None, ("insecure_function", "insecure_permission_function", "high",
                                               "CWE-120")),
    ("flawfinder", "FF1048", "level 3", None, ("weak_cryptography", "secret", "medium", "CWE-327")),
    ("flawfinder", "FF1053", "level 3", None, ("insecure_input", "web_attack", "medium", "CWE-807")),
    ("flawfinder", "FF1070", "level 0", None, ("insecure_input", "web_attack", "low", "CWE-20")),
    ("flawfinder", "FF1066", "level 2", None, ("deprecated_library", "insecure_permission_function", "low",
                                               "CWE-676")),
    ("semgrep", "PTM999", "ERROR", None, (None, None, "high", None)),
])
def test_classify(bundled: Taxonomy, scanner: str, rule: str, severity: str, confidence: str | None,
                  expected: tuple[str | None, ...]) -> None:
    got = bundled.classify(scanner, rule, severity, confidence)
    assert (got.vuln_type, got.category, got.severity, got.cwe) == expected


def test_module_level_classify_uses_the_bundled_mapping() -> None:
    got = taxonomy.classify("bandit", "B614", "MEDIUM", "HIGH")
    assert (got.vuln_type, got.severity) == ("unsafe_deserialization", "medium")


def test_semgrep_rules_are_mapped_from_their_metadata(with_pack: Taxonomy) -> None:
    rules = {r.rule_id: r for r in with_pack.all_rules() if r.scanner == "semgrep"}
    assert rules["PTM101"].vuln_type == "unsafe_deserialization"
    assert rules["PTM101"].cwe == "CWE-502"
    assert rules["PTM101"].name.startswith("torch.load()")
    # The rule's own metadata severity wins over Semgrep's word...
    assert with_pack.classify("semgrep", "PTM101", "WARNING").severity == "critical"
    # ...and without one the word is normalised.
    got = with_pack.classify("semgrep", "PTM102", "ERROR")
    assert (got.vuln_type, got.category, got.severity, got.cwe) == ("remote_code_execution", "ai_specific", "high",
                                                                     "CWE-94")
    assert with_pack.classify("semgrep", "PTM102", "INFO").severity == "low"
    reasons = {u.rule_id: u.reason for u in with_pack.unmapped()}
    assert "no metadata.ptmscope" in reasons["PTM103"]
    assert "belongs to 'web_attack'" in reasons["PTM104"]
    assert "quantum_attack" in reasons["PTM105"]
    assert with_pack.classify("semgrep", "PTM103", "INFO").vuln_type is None


def test_a_missing_pack_contributes_no_rules(tmp_path: Path) -> None:
    tx = Taxonomy.load(semgrep_rules=tmp_path / "absent.yaml")
    assert not [r for r in tx.all_rules() if r.scanner == "semgrep"]
    assert tx.table4().totals["semgrep"] == 0


def test_a_broken_pack_is_a_clear_error(tmp_path: Path) -> None:
    pack = tmp_path / "broken.yaml"
    pack.write_text("rules: [id: x\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not readable as YAML"):
        Taxonomy.load(semgrep_rules=pack)
    pack.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not a Semgrep rule file"):
        Taxonomy.load(semgrep_rules=pack)


def test_table4_totals_are_consistent(with_pack: Taxonomy) -> None:
    table = with_pack.table4()
    rules = [r for r in with_pack.all_rules() if r.vuln_type]
    assert [r.vuln_type for r in table.rows] == list(with_pack.types)
    assert [r.category for r in table.rows] == sorted((r.category for r in table.rows), key=CATEGORIES.index)
    for scanner in table.scanners:
        assert table.totals[scanner] == sum(row.checks[scanner] for row in table.rows)
        assert table.totals[scanner] == sum(1 for r in rules if r.scanner == scanner)
    assert all(row.total == sum(row.checks.values()) for row in table.rows)
    assert table.total == sum(table.totals.values()) == len(rules)
    assert table.totals["bandit"] == len(installed_bandit_tests())
    assert table.totals["flawfinder"] == 222
    assert table.totals["semgrep"] == 2
    assert table.seed_total == SEED_TOTAL_CHECKS == 277


def test_the_seed_types_bandit_and_flawfinder_cover_keep_a_check(bundled: Taxonomy) -> None:
    # Table 4 of the seed credits Bandit and Flawfinder with these types; so must our mapping.
    for row in bundled.table4().rows:
        for scanner in ("bandit", "flawfinder"):
            if row.seed and scanner in row.seed:
                assert row.checks[scanner] > 0, (row.vuln_type, scanner)
    assert {t.category for t in bundled.types.values()} == set(CATEGORIES)
    assert sum(1 for t in bundled.types.values() if t.seed is not None) == 15


def test_every_severity_in_the_mapping_is_normalised() -> None:
    data = _toml()
    scales = [*data["bandit"]["severity"].values(), data["flawfinder"]["severity"]["levels"],  # type: ignore[index]
              list(data["semgrep"]["severity"].values())]  # type: ignore[index]
    assert all(len(row) == 3 for row in data["bandit"]["severity"].values())  # type: ignore[index]
    assert {s for scale in scales for s in scale} <= set(SEVERITIES)


def test_an_unknown_type_in_the_mapping_is_rejected(tmp_path: Path) -> None:
    broken = tmp_path / "taxonomy.toml"
    broken.write_text(DATA_FILE.read_text(encoding="utf-8").replace(
        'B101 = { type = "insecure_function"', 'B101 = { type = "insecure_funktion"'), encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"bandit\.rules\.B101: unknown vulnerability type 'insecure_funktion'"):
        Taxonomy.load(broken, semgrep_rules=None)


def test_a_new_bandit_test_shows_up_unmapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(taxonomy, "installed_bandit_tests",
                        lambda: {**installed_bandit_tests(), "B999": "future_check"})
    missing = Taxonomy.load(semgrep_rules=None).unmapped()
    assert [(u.scanner, u.rule_id, u.name) for u in missing] == [("bandit", "B999", "future_check")]


def test_flawfinder_functions_sharing_an_id_must_share_a_type(monkeypatch: pytest.MonkeyPatch) -> None:
    # Findings carry only the FF id, so an id whose functions land in two types cannot be classified.
    extra = [FlawfinderRule("newfn", "FF1001", "random", 3, "CWE-330", False),
             FlawfinderRule("otherfn", "FF1099", "quantum", 3, None, False)]
    monkeypatch.setattr(taxonomy, "installed_flawfinder_rules", lambda: [*installed_flawfinder_rules(), *extra])
    tx = Taxonomy.load(semgrep_rules=None)
    reasons = {u.rule_id: u.reason for u in tx.unmapped()}
    assert "different types" in reasons["FF1001"]
    assert "category 'quantum'" in reasons["FF1099"]
    assert tx.classify("flawfinder", "FF1001", "level 4").vuln_type is None


def test_cwe_id_reads_every_form_the_tools_use() -> None:
    assert taxonomy.cwe_id(502) == "CWE-502"
    assert taxonomy.cwe_id("CWE-119!/CWE-120") == "CWE-119"
    assert taxonomy.cwe_id(["CWE-502: Deserialization of Untrusted Data"]) == "CWE-502"
    assert taxonomy.cwe_id(None) is None
    assert taxonomy.cwe_id("") is None
    assert taxonomy.cwe_id(0) is None
