"""The audit's four renderings of one hand-built result: JSON keys, SARIF 2.1.0 valid against the OASIS
schema, a CycloneDX 1.6 ML-BOM valid for cyclonedx-python-lib's strict validator, a table for 100 columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from ptmscope.report.audit import (
    RULES,
    AppLicense,
    AuditResult,
    BaseLink,
    CallSite,
    Compat,
    FileVerdict,
    HubFlag,
    ModelAudit,
    ModelFacts,
    assess,
    is_commit,
)
from ptmscope.report.audit_formats import to_json, to_sarif, to_table
from ptmscope.report.cyclonedx import to_cyclonedx
from ptmscope.scan.interface import Finding, ScanOutcome, Skipped
from tests.audit.helpers import SHA
from tests.conftest import shared_path

CALL_SITE_KEYS = frozenset({"path", "line", "cell", "library", "call", "model", "revision", "pinned",
                            "pinned_to_commit", "trust_remote_code", "use_safetensors", "expression", "kind", "hub",
                            "local_path"})
SCAN_CONTRACT = {"scanner", "rule_id", "category", "vuln_type", "severity", "cwe", "path", "line", "message"}


def _site(path: str, line: int, model: str | None, **kw: Any) -> CallSite:
    kw.setdefault("pinned_to_commit", bool(kw.get("pinned")) and is_commit(kw.get("revision")))
    return CallSite(path, line, kw.pop("cell", None), kw.pop("library", "transformers"),
                    kw.pop("call", "AutoModel.from_pretrained"), model, **kw)


@pytest.fixture
def result(tmp_path: Path) -> AuditResult:
    return build_result(tmp_path)


def build_result(tmp_path: Path) -> AuditResult:
    root = tmp_path / "my app"
    root.mkdir()
    nc = ModelFacts("hub", "hub", "research/nc-model", license="CC-BY-NC-4.0", gated="manual",
                    weight_formats=["safetensors"], pickle_only=False)
    pickled = ModelFacts("store", "exact", "gpt2", license="MIT", weight_formats=["bin"], pickle_only=True,
                         hub_flags=[HubFlag("pytorch_model.bin", "unsafe")],
                         verdicts=[FileVerdict("pytorch_model.bin", "picklescan", "dangerous", "posix.system")])
    tuned = ModelFacts("store", "exact", "acme/finetune", license="Apache-2.0", pickle_only=False,
                       base_models=[("research/nc-model", "adapter")])
    renamed = ModelFacts("store", "alias", "neworg/new-name", license="LicenseRef-llama3", pickle_only=False)
    models = [
        ModelAudit("research/nc-model", [_site("nb/explore.ipynb", 3, "research/nc-model", cell=2,
                                               call="pipeline", revision=SHA, pinned=True)], nc, "hub",
                   compatibility=Compat("incompatible", "non-commercial", "NC model in MIT code")),
        ModelAudit("gpt2", [_site("src/caf\u00e9 main.py", 4, "gpt2", pinned=False),
                            _site("src/caf\u00e9 main.py", 9, "gpt2", revision="main", pinned=False,
                                  trust_remote_code=True)], pickled, "store",
                   compatibility=Compat("compatible", "mit-mit", "")),
        ModelAudit("acme/finetune", [_site("src/train.py", 7, "acme/finetune", revision="v1.0", pinned=True)],
                   tuned, "store", compatibility=Compat("compatible", "apache-in-mit", ""),
                   lineage=[BaseLink("acme/finetune", "research/nc-model", "adapter", "Apache-2.0", "CC-BY-NC-4.0",
                                     True, Compat("incompatible", "nc-parent", "derivative of an NC model")),
                            BaseLink("research/nc-model", "base/foundation", "finetune", "CC-BY-NC-4.0", None,
                                     False, None, depth=2)]),
        ModelAudit("oldorg/old-name", [_site("src/train.py", 12, "oldorg/old-name", revision=SHA, pinned=True)],
                   renamed, "store", compatibility=Compat("unknown", "no-rule", "no rule for LicenseRef-llama3")),
        ModelAudit("ghost/missing", [_site("src/train.py", 14, "ghost/missing", revision=SHA, pinned=True)], None,
                   "not_found", note="the hub has no model ghost/missing"),
        ModelAudit("pytorch/vision/resnet50", [_site("src/vision.py", 2, "pytorch/vision/resnet50",
                                                     library="torch", call="torch.hub.load", pinned=False,
                                                     hub="pytorch_hub")],
                   None, "not_in_store"),
    ]
    findings = [
        Finding("bandit", "B301", "src/caf\u00e9 main.py", 20, "Pickle and modules that wrap it can be unsafe",
                "MEDIUM", "medium", "unsafe_deserialization", "ai_specific", "CWE-502", confidence="HIGH"),
        Finding("semgrep", "PTM101", "nb/explore.ipynb", 1, "torch.load without weights_only [cell 1]", "ERROR",
                "high", "unsafe_deserialization", "ai_specific", "CWE-502"),
    ]
    audit = AuditResult(
        root=root, license=AppLicense("MIT", "LICENSE", 0.99, "scancode"), models=models,
        local=[_site("src/train.py", 20, None, kind="local", expression="'./checkpoints/best'",
                     local_path="./checkpoints/best")],
        unresolved=[_site("src/train.py", 22, None, kind="unknown", expression="sys.argv[1]")],
        scan=ScanOutcome(findings, [Skipped("vendor/big.py", "bandit: file too large")]),
        scanners=[("bandit", "1.9.2"), ("semgrep", "1.182.0")], usage_files=5,
        usage_skipped=[("broken.py", "not valid Python 3")], notes=["hub not reachable: test"],
        hub_endpoint="http://hub.invalid", hub_status="unreachable")
    audit.issues = assess(audit)
    return audit


def test_json_has_the_documented_keys(result: AuditResult) -> None:
    document = json.loads(to_json(result))
    assert set(document) == {"ptmscope_version", "path", "license", "summary", "models", "local_loads",
                             "unresolved_loads", "issues", "rules", "scan", "usage", "hub", "notes"}
    assert document["license"] == {"spdx": "MIT", "file": "LICENSE", "confidence": 0.99, "method": "scancode"}
    summary = document["summary"]
    assert summary["models"] == 6 and summary["call_sites"] == 7
    assert summary["issues"] == {s: sum(1 for i in result.issues if i.severity == s)
                                 for s in ("low", "medium", "high", "critical")}
    assert summary["findings"] == {"low": 0, "medium": 1, "high": 1, "critical": 0}
    assert summary["worst"] == "critical"
    model = document["models"][0]
    assert {"model", "current_id", "lookup", "match", "note", "license", "license_raw", "compatibility", "gated",
            "pinned", "pickle_only", "weight_formats", "custom_code", "deleted", "hub_flags", "file_verdicts",
            "base_models", "call_sites"} <= set(model)
    assert model["compatibility"] == {"verdict": "incompatible", "rule": "non-commercial",
                                      "reason": "NC model in MIT code"}
    assert {frozenset(site) for m in document["models"] for site in m["call_sites"]} == {CALL_SITE_KEYS}
    tuned = next(m for m in document["models"] if m["model"] == "acme/finetune")
    assert [(b["parent"], b["depth"], (b["conflict"] or {}).get("verdict")) for b in tuned["base_models"]] == [
        ("research/nc-model", 1, "incompatible"), ("base/foundation", 2, None)]
    assert {frozenset(i) for i in document["issues"]} == {
        frozenset({"id", "title", "severity", "message", "model", "path", "line", "cell"})}
    assert set(document["rules"]) == set(RULES)
    assert {set(f) >= SCAN_CONTRACT for f in document["scan"]["findings"]} == {True}
    assert document["scan"]["skipped"] == [{"path": "vendor/big.py", "reason": "bandit: file too large"}]
    assert document["local_loads"][0]["kind"] == "local" and document["unresolved_loads"][0]["model"] is None
    assert document["hub"] == {"endpoint": "http://hub.invalid", "status": "unreachable"}


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(shared_path("reference", "sarif", "sarif-schema-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.mark.shared
def test_sarif_is_valid_and_carries_issues_and_findings(result: AuditResult,
                                                         sarif_validator: jsonschema.protocols.Validator) -> None:
    document = json.loads(to_sarif(result))
    errors = sorted(sarif_validator.iter_errors(document), key=str)
    assert not errors, errors[0]
    runs = {run["tool"]["driver"]["name"]: run for run in document["runs"]}
    assert set(runs) == {"bandit", "semgrep", "ptmscope-audit"}
    audit = runs["ptmscope-audit"]
    rules = audit["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    assert all(r["fullDescription"]["text"] and r["help"]["text"] for r in rules)
    results = audit["results"]
    assert [(r["ruleId"], r["properties"]["severity"]) for r in results] == [
        (i.rule, i.severity) for i in result.issues]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in results for loc in r.get("locations", [])}
    assert uris == {"nb/explore.ipynb", "src/caf%C3%A9%20main.py", "src/train.py", "src/vision.py"}
    notebook = next(r for r in results if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == "nb/explore.ipynb")
    # A line within a cell is not a line of the .ipynb file: no region, the cell is in the message.
    assert "region" not in notebook["locations"][0]["physicalLocation"]
    assert notebook["properties"]["cell"] == 2 and "cell 2" in notebook["message"]["text"]
    no_license = [r for r in results if "locations" not in r]
    assert no_license == []  # PATH has a license: every issue here is about a place in the code
    assert audit["originalUriBaseIds"]["SRCROOT"]["uri"] == result.root.resolve().as_uri() + "/"
    assert sum(len(run["results"]) for name, run in runs.items() if name != "ptmscope-audit") == 2


def _bom(result: AuditResult) -> dict[str, Any]:
    text = to_cyclonedx(result).decode()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    document: dict[str, Any] = json.loads(text)
    return document


def test_cyclonedx_ml_bom_is_valid_with_models_lineage_and_vulnerabilities(result: AuditResult) -> None:
    bom = _bom(result)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    app = bom["metadata"]["component"]
    assert app["type"] == "application" and app["licenses"] == [{"expression": "MIT"}]
    components = {c["bom-ref"]: c for c in bom["components"]}
    assert {c["type"] for c in components.values()} == {"machine-learning-model"}
    assert set(components) == {"model:research/nc-model", "model:gpt2", "model:acme/finetune",
                               "model:oldorg/old-name", "model:ghost/missing", "model:pytorch/vision/resnet50",
                               "model:base/foundation"}
    nc = components["model:research/nc-model"]
    assert nc["purl"] == f"pkg:huggingface/research/nc-model@{SHA}" and nc["version"] == SHA
    assert nc["licenses"] == [{"expression": "CC-BY-NC-4.0"}]
    # Unpinned: a purl without a version; pinned to a tag: the tag is the version, not the purl's (a commit).
    assert components["model:gpt2"]["purl"] == "pkg:huggingface/gpt2" and "version" not in components["model:gpt2"]
    assert components["model:acme/finetune"]["version"] == "v1.0"
    assert components["model:acme/finetune"]["purl"] == "pkg:huggingface/acme/finetune"
    assert "purl" not in components["model:pytorch/vision/resnet50"]
    assert components["model:oldorg/old-name"]["licenses"] == [{"expression": "LicenseRef-llama3"}]
    properties = {p["name"]: p["value"] for p in components["model:gpt2"]["properties"]}
    assert properties["ptmscope:pickle_only"] == "true" and properties["ptmscope:trust_remote_code"] == "true"
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert depends[app["bom-ref"]] == {f"model:{m.model}" for m in result.models}
    assert depends["model:acme/finetune"] == {"model:research/nc-model"}
    assert depends["model:research/nc-model"] == {"model:base/foundation"}
    vulns = bom["vulnerabilities"]
    assert len(vulns) == len(result.issues) + 2
    by_id: dict[str, list[dict[str, Any]]] = {}
    for v in vulns:
        by_id.setdefault(v["id"], []).append(v)
    assert by_id["B301"][0]["cwes"] == [502] and by_id["B301"][0]["ratings"][0]["severity"] == "medium"
    assert by_id["AUD004"][0]["affects"] == [{"ref": "model:research/nc-model"}]
    assert by_id["AUD004"][0]["recommendation"] == RULES["AUD004"].remedy
    assert {v["ratings"][0]["severity"] for v in by_id["AUD007"]} == {"critical"}
    assert by_id["AUD013"][0]["affects"] == [{"ref": app["bom-ref"]}]


def test_cyclonedx_without_license_or_models_is_still_valid(tmp_path: Path) -> None:
    empty = AuditResult(root=tmp_path, license=AppLicense(None))
    empty.issues = assess(empty)
    bom = _bom(empty)
    assert "licenses" not in bom["metadata"]["component"]
    assert [v["id"] for v in bom["vulnerabilities"]] == ["AUD014"]


def test_table_fits_100_columns_and_names_what_to_do(result: AuditResult) -> None:
    text = to_table(result, width=100)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    flat = " ".join(text.split())
    assert flat.startswith(f"{result.root}: license MIT (LICENSE); 6 models at 7 call sites")
    for model in ("research/nc-model", "acme/finetune", "ghost/missing"):
        assert model in text
    assert "NOT FOUND" in text and "incompatible" in text and "pickle-only weights" in text
    for issue in result.issues:
        assert issue.rule in text
    assert "What to do:" in text and RULES["AUD002"].remedy.split()[0] in text
    assert "2 findings (1 high, 1 medium)" in text
    assert "note: hub not reachable: test" in text
