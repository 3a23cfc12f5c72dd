"""A scan's findings and skipped files as JSON (DESIGN §6), SARIF 2.1.0, or a table for people.

SARIF: one run per scanner (its name and version, the rules it reported, its results), plus a run of
ptmscope itself when files were skipped before any scanner saw them (symlinks, unreadable files).
Skipped files are tool execution notifications of the run that skipped them. Paths are relative URIs
under the ``SRCROOT`` base, which names the scanned directory.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import __version__
from .interface import SEVERITIES, Finding, ScanOutcome, Skipped

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning ranks security results by this property (CVSS-like, 0-10).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}
_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
_FINDING_FIELDS = ("scanner", "rule_id", "category", "vuln_type", "severity", "cwe", "path", "line", "message",
                   "original_severity", "confidence", "cve", "column", "end_line", "snippet")


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def to_json(outcome: ScanOutcome) -> bytes:
    document = {"findings": [{name: getattr(f, name) for name in _FINDING_FIELDS} for f in outcome.findings],
                "skipped": [{"path": s.path, "reason": s.reason} for s in outcome.skipped]}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _uri(path: str) -> str:
    return quote(path, safe="/")


def _location(path: str, finding: Finding | None = None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(path), "uriBaseId": "SRCROOT"}}
    if finding is not None and finding.line is not None and finding.line >= 1:
        region: dict[str, Any] = {"startLine": finding.line}
        if finding.column is not None and finding.column >= 1:
            region["startColumn"] = finding.column
        if finding.end_line is not None and finding.end_line >= finding.line:
            region["endLine"] = finding.end_line
        if finding.snippet:
            region["snippet"] = {"text": finding.snippet}
        physical["region"] = region
    return {"physicalLocation": physical}


def _properties(finding: Finding) -> dict[str, Any]:
    fields = {"severity": finding.severity, "original_severity": finding.original_severity,
              "confidence": finding.confidence, "vuln_type": finding.vuln_type, "category": finding.category,
              "cwe": finding.cwe, "cve": finding.cve}
    return {k: v for k, v in fields.items() if v is not None}


def _rules(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for f in findings:
        rule = rules.setdefault(f.rule_id, {"id": f.rule_id, "properties": {"tags": ["security"]}})
        properties = rule["properties"]
        for tag in (f.category, f.vuln_type, f.cwe):
            if tag and tag not in properties["tags"]:
                properties["tags"].append(tag)
        worst = max(rank(f.severity), rank(properties.get("severity", "low")))
        properties["severity"] = SEVERITIES[worst]
        properties["security-severity"] = _SECURITY_SEVERITY[SEVERITIES[worst]]
    return [rules[rule_id] for rule_id in sorted(rules)]


def _notifications(skipped: Sequence[Skipped]) -> list[dict[str, Any]]:
    return [{"level": "warning", "message": {"text": f"not scanned: {s.reason}"}, "locations": [_location(s.path)]}
            for s in skipped]


def _run(name: str, version: str, findings: Sequence[Finding], skipped: Sequence[Skipped], root: Path,
         ) -> dict[str, Any]:
    rules = _rules(findings)
    index = {rule["id"]: n for n, rule in enumerate(rules)}
    results = [{"ruleId": f.rule_id, "ruleIndex": index[f.rule_id], "level": _LEVELS.get(f.severity, "note"),
                "message": {"text": f.message or f.rule_id}, "locations": [_location(f.path, f)],
                "properties": _properties(f)} for f in findings]
    return {
        "tool": {"driver": {"name": name, "version": version, "rules": rules}},
        "originalUriBaseIds": {"SRCROOT": {"uri": root.resolve().as_uri() + "/"}},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": _notifications(skipped)}],
        "results": results,
    }


def to_sarif(outcome: ScanOutcome, root: Path, tools: Sequence[tuple[str, str]]) -> bytes:
    """SARIF 2.1.0 for ``outcome`` of a scan of ``root`` by ``tools`` ((name, version) pairs)."""
    names = [name for name, _ in tools]
    skipped_by: dict[str, list[Skipped]] = {name: [] for name in [*names, "ptmscope"]}
    for s in outcome.skipped:
        owner = s.reason.partition(":")[0]
        skipped_by[owner if owner in names else "ptmscope"].append(s)
    runs = [_run(name, version, [f for f in outcome.findings if f.scanner == name], skipped_by[name], root)
            for name, version in tools]
    if skipped_by["ptmscope"]:
        runs.append(_run("ptmscope", __version__, [], skipped_by["ptmscope"], root))
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def counts(outcome: ScanOutcome) -> dict[str, int]:
    found = dict.fromkeys(SEVERITIES, 0)
    for f in outcome.findings:
        found[f.severity] = found.get(f.severity, 0) + 1
    return found


def summary_line(outcome: ScanOutcome) -> str:
    by_severity = counts(outcome)
    parts = ", ".join(f"{by_severity[s]} {s}" for s in reversed(SEVERITIES) if by_severity[s])
    return (f"{len(outcome.findings)} findings" + (f" ({parts})" if parts else "")
            + f"; {len(outcome.skipped)} files skipped")


def to_table(outcome: ScanOutcome, *, width: int = 160) -> str:
    table = Table(show_lines=False, expand=False)
    for column in ("Severity", "Scanner", "Rule", "Location", "Type", "Message"):
        table.add_column(column, overflow="fold")
    for f in sorted(outcome.findings, key=lambda f: (-rank(f.severity), f.path, f.line or 0)):
        location = f"{f.path}:{f.line}" if f.line is not None else f.path
        table.add_row(f"[{_STYLES.get(f.severity, '')}]{f.severity}[/]", f.scanner, f.rule_id, escape(location),
                      escape(f.vuln_type or ""), escape(f.message))
    skipped = Table(title="Skipped", show_lines=False)
    skipped.add_column("Path", overflow="fold")
    skipped.add_column("Reason", overflow="fold")
    for s in outcome.skipped:
        skipped.add_row(escape(s.path), escape(s.reason))
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, no_color=True, highlight=False)
    if outcome.findings:
        console.print(table)
    if outcome.skipped:
        console.print(skipped)
    console.print(summary_line(outcome))
    return buffer.getvalue()
