"""An audit as a CycloneDX 1.6 ML-BOM (JSON), built with cyclonedx-python-lib.

- The audited code is the BOM's subject (``metadata.component``, an application, with PATH's license).
- Every model it loads is a component of type ``machine-learning-model``: group and name from the hub id,
  ``version`` the revision when every load pins the same one, a ``pkg:huggingface`` purl (with the
  revision as its version when that is a commit, as the purl type requires), the model's license, and
  ``ptmscope:*`` properties for what the ML-BOM schema has no field for (gated, pickle-only weights,
  trust_remote_code, call sites).
- Base models are components too; ``dependencies`` go application → models → base models.
- Audit issues and scan findings are ``vulnerabilities`` with a rating in the normalised severity, the
  issue's rationale as ``detail`` and its remedy as ``recommendation``; an issue about a model affects
  that model's component, everything else the application.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cyclonedx.model import ExternalReference, ExternalReferenceType, Property, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.model.vulnerability import (
    BomTarget,
    Vulnerability,
    VulnerabilityRating,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from ..scan.interface import Finding
from .audit import HF, RULES, AuditResult, Issue, ModelAudit

APP_REF = "application"
_SCORES = {"critical": Decimal("9.5"), "high": Decimal("8.0"), "medium": Decimal("5.5"), "low": Decimal("2.0")}
# What an SPDX expression (or a LicenseRef) can look like; anything else is a license name, not an expression.
_EXPRESSION = re.compile(r"[A-Za-z0-9.+\-:() ]+")


def _licenses(spdx: str | None, raw: str | None = None) -> list[License]:
    if spdx and _EXPRESSION.fullmatch(spdx):
        return [LicenseExpression(spdx)]
    name = spdx or raw
    return [DisjunctiveLicense(name=name)] if name else []


def _split(model_id: str) -> tuple[str | None, str]:
    group, _, name = model_id.rpartition("/")
    return (group or None), name


def _ref(model_id: str) -> str:
    return f"model:{model_id}"


def _purl(model_id: str, revision: str | None, *, commit: bool) -> PackageURL | None:
    group, name = _split(model_id)
    if group is not None and "/" in group:
        return None  # not a Hugging Face id (PyTorch Hub ids are owner/repo/entrypoint)
    return PackageURL(type="huggingface", namespace=group, name=name, version=revision if commit else None)


def _props(values: Iterable[tuple[str, Any]]) -> list[Property]:
    props = []
    for name, value in values:
        if value is None or value in ([], ""):
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        props.append(Property(name=f"ptmscope:{name}", value=text))
    return props


def _model_component(entry: ModelAudit) -> Component:
    facts = entry.facts
    model_id = facts.current_id if facts is not None else entry.model  # a former name may be taken over
    revisions = {s.revision for s in entry.sites}
    revision = next(iter(revisions)) if len(revisions) == 1 and entry.pinned else None
    group, name = _split(entry.model)
    hub = facts.hub if facts is not None else HF
    sites = [s.location for s in entry.sites]
    properties = _props([
        ("hub", hub), ("lookup", entry.lookup), ("current_id", facts.current_id if facts else None),
        ("sha", facts.sha if facts else None), ("gated", facts.gated if facts else None),
        ("pickle_only", facts.pickle_only if facts else None),
        ("weight_formats", ", ".join(facts.weight_formats) if facts else None),
        ("custom_code", facts.custom_code if facts else None),
        ("trust_remote_code", any(s.trust_remote_code for s in entry.sites)),
        ("pinned", entry.pinned), ("pinned_to_commit", entry.pinned_to_commit),
        ("revisions", ", ".join(sorted(r for r in revisions if r)) or None),
        ("license_compatibility", entry.compatibility.verdict if entry.compatibility else None),
        ("call_sites", "; ".join(sites)),
    ])
    references = []
    if hub == HF:
        references.append(ExternalReference(type=ExternalReferenceType.WEBSITE,
                                            url=XsUri(f"https://huggingface.co/{model_id}")))
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL, bom_ref=_ref(entry.model), group=group, name=name,
        version=revision, purl=_purl(entry.model, revision, commit=entry.pinned_to_commit) if hub == HF else None,
        licenses=_licenses(facts.license, facts.license_raw) if facts is not None else [],
        properties=properties, external_references=references)


def _base_component(model_id: str, license_spdx: str | None, hub: str) -> Component:
    group, name = _split(model_id)
    return Component(type=ComponentType.MACHINE_LEARNING_MODEL, bom_ref=_ref(model_id), group=group, name=name,
                     purl=_purl(model_id, None, commit=False) if hub == HF else None,
                     licenses=_licenses(license_spdx),
                     properties=_props([("hub", hub), ("role", "base model")]))


def _cwes(cwe: str | None) -> list[int]:
    match = re.fullmatch(r"CWE-(\d+)", cwe or "")
    return [int(match.group(1))] if match else []


def _rating(severity: str, source: str) -> VulnerabilityRating:
    return VulnerabilityRating(source=VulnerabilitySource(name=source), score=_SCORES.get(severity),
                               severity=VulnerabilitySeverity(severity), method=VulnerabilityScoreSource.OTHER)


def _issue_vulnerability(n: int, issue: Issue, refs: dict[str, str]) -> Vulnerability:
    rule = RULES[issue.rule]
    target = refs.get(issue.model, APP_REF) if issue.model else APP_REF
    return Vulnerability(
        bom_ref=f"issue-{n}", id=issue.rule, source=VulnerabilitySource(name="ptmscope audit"),
        ratings=[_rating(issue.severity, "ptmscope")], description=issue.message, detail=rule.rationale,
        recommendation=rule.remedy, affects=[BomTarget(ref=target)],
        properties=_props([("title", rule.title), ("location", issue.location), ("model", issue.model)]))


def _finding_vulnerability(n: int, finding: Finding) -> Vulnerability:
    location = f"{finding.path}:{finding.line}" if finding.line is not None else finding.path
    return Vulnerability(
        bom_ref=f"finding-{n}", id=finding.rule_id, source=VulnerabilitySource(name=finding.scanner),
        ratings=[_rating(finding.severity, finding.scanner)], cwes=_cwes(finding.cwe),
        description=finding.message or finding.rule_id, affects=[BomTarget(ref=APP_REF)],
        properties=_props([("location", location), ("scanner", finding.scanner), ("vuln_type", finding.vuln_type),
                           ("category", finding.category), ("original_severity", finding.original_severity)]))


def to_bom(result: AuditResult) -> Bom:
    app = Component(type=ComponentType.APPLICATION, bom_ref=APP_REF, name=result.root.resolve().name or "audited",
                    licenses=_licenses(result.license.spdx),
                    properties=_props([("license_file", result.license.file)]))
    tool = Component(type=ComponentType.APPLICATION, name="ptmscope", version=result.version)
    bom = Bom(metadata=BomMetaData(component=app, tools=ToolRepository(components=[tool])))
    components: dict[str, Component] = {}
    refs: dict[str, str] = {}  # any id a model goes by (as loaded, current) -> its component's bom-ref
    for entry in result.models:
        component = _model_component(entry)
        components[_ref(entry.model)] = component
        refs[entry.model] = _ref(entry.model)
        if entry.facts is not None:
            refs.setdefault(entry.facts.current_id, _ref(entry.model))
    edges: dict[str, list[str]] = {}
    for entry in result.models:
        hub = entry.facts.hub if entry.facts is not None else HF
        for link in entry.lineage:
            parent_ref = refs.get(link.parent) or _ref(link.parent)
            if parent_ref not in components:
                components[parent_ref] = _base_component(link.parent, link.parent_license, hub)
                refs[link.parent] = parent_ref
            child_ref = refs.get(link.child) or _ref(link.child)
            if child_ref != parent_ref:
                edges.setdefault(child_ref, []).append(parent_ref)
    for component in components.values():
        bom.components.add(component)
    bom.register_dependency(app, [components[_ref(m.model)] for m in result.models])
    for child_ref, parents in edges.items():
        if child_ref in components:
            bom.register_dependency(components[child_ref], [components[p] for p in parents])
    for n, issue in enumerate(result.issues, 1):
        bom.vulnerabilities.add(_issue_vulnerability(n, issue, refs))
    for n, finding in enumerate(result.findings, 1):
        bom.vulnerabilities.add(_finding_vulnerability(n, finding))
    return bom


def to_cyclonedx(result: AuditResult) -> bytes:
    """The ML-BOM as CycloneDX 1.6 JSON."""
    return JsonV1Dot6(to_bom(result)).output_as_string(indent=2).encode() + b"\n"
