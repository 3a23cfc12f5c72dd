"""An audit (:mod:`ptmscope.report.audit`) as a table for people, JSON, or SARIF 2.1.0.

JSON keys (stable; fields may be added, none renamed)::

    {"ptmscope_version", "path",
     "license": {"spdx", "file", "confidence", "method"},
     "summary": {"models", "call_sites", "local_loads", "unresolved_loads",
                 "issues": {severity: n}, "findings": {severity: n}, "worst"},
     "models": [{"model", "current_id", "lookup", "match", "note", "hub", "sha", "license", "license_raw",
                 "compatibility": {"verdict", "rule", "reason"} | null, "gated", "pinned", "pinned_to_commit",
                 "pickle_only",
                 "weight_formats", "custom_code", "deleted", "hub_flags": [{"path", "level"}],
                 "file_verdicts": [{"path", "scanner", "outcome", "details"}],
                 "base_models": [{"child", "parent", "relation", "child_license", "parent_license", "found",
                                  "depth", "conflict": {...} | null}],
                 "call_sites": [CALL_SITE]}],
     "local_loads": [CALL_SITE], "unresolved_loads": [CALL_SITE],
     "issues": [{"id", "title", "severity", "message", "model", "path", "line", "cell"}],
     "rules": {id: {"name", "severity", "title", "rationale", "remedy"}},
     "scan": {"scanners": [{"name", "version"}], "findings": [...], "skipped": [...]} | null,
     "usage": {"files", "skipped": [{"path", "reason"}]},
     "hub": {"endpoint", "status"}, "notes": [str]}

    CALL_SITE = {"path", "line", "cell", "library", "call", "model", "revision", "pinned", "pinned_to_commit",
                 "trust_remote_code", "use_safetensors", "expression", "kind", "hub", "local_path"}

Scan findings have the fields of ``ptmscope scan PATH --format json`` (DESIGN §6). Paths are relative
to PATH everywhere.

SARIF: the scanners' runs exactly as ``ptmscope scan PATH --format sarif`` writes them, plus one run of
``ptmscope-audit`` whose rules are the audit's issue ids (with rationale and remedy) and whose results
are the issues. A notebook issue names the notebook file; its cell and line within the cell are in the
message and the result's properties, since SARIF regions count lines of the file itself.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

import orjson
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..scan.interface import SEVERITIES
from ..scan.report import SARIF_SCHEMA
from ..scan.report import to_json as scan_json
from ..scan.report import to_sarif as scan_sarif
from .audit import RULES, AuditResult, CallSite, Issue, ModelAudit, rules_used

_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}
_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
TOOL = "ptmscope-audit"
INFORMATION_URI = "https://github.com/ptmscope/ptmscope"


def _site(site: CallSite) -> dict[str, Any]:
    return {"path": site.path, "line": site.line, "cell": site.cell, "library": site.library, "call": site.call,
            "model": site.model, "revision": site.revision, "pinned": site.pinned,
            "trust_remote_code": site.trust_remote_code, "use_safetensors": site.use_safetensors,
            "expression": site.expression, "kind": site.kind, "pinned_to_commit": site.pinned_to_commit,
            "hub": site.hub, "local_path": site.local_path}


def _model(entry: ModelAudit) -> dict[str, Any]:
    facts = entry.facts
    known: dict[str, Any] = {
        "current_id": None, "hub": None, "sha": None, "license": None, "license_raw": None, "gated": None,
        "pickle_only": None, "weight_formats": [], "custom_code": None, "deleted": None, "hub_flags": [],
        "file_verdicts": [], "match": None,
    }
    if facts is not None:
        known = {"current_id": facts.current_id, "hub": facts.hub, "sha": facts.sha, "license": facts.license,
                 "license_raw": facts.license_raw, "gated": facts.gated, "pickle_only": facts.pickle_only,
                 "weight_formats": facts.weight_formats, "custom_code": facts.custom_code,
                 "deleted": facts.deleted, "hub_flags": [asdict(f) for f in facts.hub_flags],
                 "file_verdicts": [asdict(v) for v in facts.verdicts], "match": facts.match}
    return {
        "model": entry.model, "lookup": entry.lookup, "note": entry.note, **known,
        "compatibility": asdict(entry.compatibility) if entry.compatibility else None,
        "pinned": entry.pinned, "pinned_to_commit": entry.pinned_to_commit,
        "base_models": [{"child": link.child, "parent": link.parent, "relation": link.relation,
                         "child_license": link.child_license, "parent_license": link.parent_license,
                         "found": link.found, "depth": link.depth,
                         "conflict": asdict(link.conflict) if link.conflict else None} for link in entry.lineage],
        "call_sites": [_site(s) for s in entry.sites],
    }


def _issue(issue: Issue) -> dict[str, Any]:
    return {"id": issue.rule, "title": issue.title, "severity": issue.severity, "message": issue.message,
            "model": issue.model, "path": issue.path, "line": issue.line, "cell": issue.cell}


def to_document(result: AuditResult) -> dict[str, Any]:
    scan: dict[str, Any] | None = None
    if result.scan is not None:
        scan = {"scanners": [{"name": n, "version": v} for n, v in result.scanners],
                **orjson.loads(scan_json(result.scan))}
    return {
        "ptmscope_version": result.version,
        "path": str(result.root),
        "license": asdict(result.license),
        "summary": {"models": len(result.models), "call_sites": sum(len(m.sites) for m in result.models),
                    "local_loads": len(result.local), "unresolved_loads": len(result.unresolved),
                    "issues": result.issue_counts(), "findings": result.finding_counts(), "worst": result.worst()},
        "models": [_model(m) for m in result.models],
        "local_loads": [_site(s) for s in result.local],
        "unresolved_loads": [_site(s) for s in result.unresolved],
        "issues": [_issue(i) for i in result.issues],
        "rules": {rule.id: {"name": rule.name, "severity": rule.severity, "title": rule.title,
                            "rationale": rule.rationale, "remedy": rule.remedy} for rule in RULES.values()},
        "scan": scan,
        "usage": {"files": result.usage_files,
                  "skipped": [{"path": p, "reason": r} for p, r in result.usage_skipped]},
        "hub": {"endpoint": result.hub_endpoint, "status": result.hub_status},
        "notes": list(result.notes),
    }


def to_json(result: AuditResult) -> bytes:
    return orjson.dumps(to_document(result), option=orjson.OPT_INDENT_2) + b"\n"


# --- SARIF ----------------------------------------------------------------------------------------------------


def _rule_descriptor(rule_id: str) -> dict[str, Any]:
    rule = RULES[rule_id]
    return {
        "id": rule.id, "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": f"{rule.rationale} Remedy: {rule.remedy}", "markdown": f"{rule.rationale}\n\n"
                 f"**Remedy:** {rule.remedy}"},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"tags": ["security", "supply-chain", "ml-model"], "severity": rule.severity,
                       "security-severity": _SECURITY_SEVERITY[rule.severity]},
    }


def _sarif_result(issue: Issue, index: dict[str, int]) -> dict[str, Any]:
    message = issue.message
    if issue.cell is not None:
        message += f" (cell {issue.cell}, line {issue.line})"
    result: dict[str, Any] = {
        "ruleId": issue.rule, "ruleIndex": index[issue.rule], "level": _LEVELS[issue.severity],
        "message": {"text": message},
        "properties": {k: v for k, v in {"severity": issue.severity, "model": issue.model, "cell": issue.cell,
                                         "cell_line": issue.line if issue.cell is not None else None,
                                         "security-severity": _SECURITY_SEVERITY[issue.severity]}.items()
                       if v is not None},
    }
    if issue.path is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": quote(issue.path, safe="/"),
                                                         "uriBaseId": "SRCROOT"}}
        if issue.cell is None and issue.line is not None and issue.line >= 1:
            physical["region"] = {"startLine": issue.line}
        result["locations"] = [{"physicalLocation": physical}]
    if issue.model is not None:
        # Same model and rule = same problem across runs, wherever the call sites move.
        result["partialFingerprints"] = {"ptmscopeAudit/v1": f"{issue.rule}:{issue.model}:{issue.path}"}
    return result


def _audit_run(result: AuditResult) -> dict[str, Any]:
    rule_ids = list(RULES)
    index = {rule_id: n for n, rule_id in enumerate(rule_ids)}
    notifications: list[dict[str, Any]] = [{"level": "note", "message": {"text": note}} for note in result.notes]
    notifications += [{"level": "warning", "message": {"text": f"not analysed for model loads: {reason}"},
                       "locations": [{"physicalLocation": {"artifactLocation": {"uri": quote(path, safe="/"),
                                                                              "uriBaseId": "SRCROOT"}}}]}
                      for path, reason in result.usage_skipped]
    return {
        "tool": {"driver": {"name": TOOL, "version": result.version, "informationUri": INFORMATION_URI,
                            "rules": [_rule_descriptor(r) for r in rule_ids]}},
        "originalUriBaseIds": {"SRCROOT": {"uri": result.root.resolve().as_uri() + "/"}},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": [_sarif_result(issue, index) for issue in result.issues],
        "properties": {"license": asdict(result.license),
                       "models": [{"model": m.model, "license": m.facts.license if m.facts else None,
                                   "lookup": m.lookup} for m in result.models]},
    }


def to_sarif(result: AuditResult) -> bytes:
    runs: list[dict[str, Any]] = []
    if result.scan is not None:
        runs = orjson.loads(scan_sarif(result.scan, result.root, result.scanners))["runs"]
    runs.append(_audit_run(result))
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


# --- table ------------------------------------------------------------------------------------------------------


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts.get(s))


def summary_line(result: AuditResult) -> str:
    lic = result.license
    license_text = f"license {lic.spdx}" + (f" ({lic.file})" if lic.file else "") if lic.spdx else "no license found"
    sites = sum(len(m.sites) for m in result.models)
    loads = f"{len(result.models)} models at {sites} call sites"
    extra = [f"{n} {what}" for n, what in ((len(result.local), "local"), (len(result.unresolved), "unresolved"))
             if n]
    if extra:
        loads += f" (+{', '.join(extra)} loads)"
    issues = result.issue_counts()
    text = f"{result.root}: {license_text}; {loads}; {len(result.issues)} issues"
    if result.issues:
        text += f" ({_counted(issues)})"
    if result.scan is not None:
        findings = result.finding_counts()
        text += f"; {len(result.scan.findings)} scan findings"
        if result.scan.findings:
            text += f" ({_counted(findings)})"
    return text


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


_LOOKUP_WORDS = {"not_found": "NOT FOUND on the hub", "offline": "unknown (hub not asked)",
                 "unreachable": "unknown (hub down)", "not_in_store": "unknown (not in store)",
                 "error": "unknown (hub error)"}


def _model_row(entry: ModelAudit) -> list[str]:
    """Model, pinned loads, license, verdict against PATH's license, and what else stands out."""
    facts = entry.facts
    pinned = f"{sum(1 for s in entry.sites if s.pinned_to_commit)}/{len(entry.sites)}"
    if facts is None:
        return [escape(entry.model), pinned, "", "", _LOOKUP_WORDS.get(entry.lookup, entry.lookup)]
    license_text = facts.license or (f"? ({facts.license_raw})" if facts.license_raw else "none")
    verdict = entry.compatibility.verdict if entry.compatibility else "?"
    notes = []
    if facts.match in ("alias", "hub_rename"):
        notes.append(f"now {facts.current_id}")
    if facts.deleted:
        notes.append("deleted")
    if facts.gated_on:
        notes.append(f"gated ({facts.gated})")
    if facts.pickle_only:
        notes.append("pickle-only weights")
    if facts.verdicts or facts.hub_flags:
        flagged = len(facts.verdicts) + len(facts.hub_flags)
        notes.append(f"{flagged} flagged file{'' if flagged == 1 else 's'}")
    if any(s.trust_remote_code for s in entry.sites):
        notes.append("remote code")
    if any(link.conflict is not None and link.conflict.verdict == "incompatible" for link in entry.lineage):
        notes.append("base-model license conflict")
    if facts.source == "hub":
        notes.append("from the hub")
    return [escape(entry.model), pinned, escape(license_text), verdict, escape(", ".join(notes))]


def to_table(result: AuditResult, *, width: int = 100) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, no_color=True, highlight=False)
    console.print(summary_line(result), markup=False)
    if result.models:
        models = Table(title="Models loaded", box=box.SIMPLE_HEAD, title_justify="left")
        models.add_column("Model", overflow="fold")
        models.add_column("At commit", no_wrap=True)
        models.add_column("License", overflow="fold", max_width=20)
        models.add_column("vs PATH", no_wrap=True)
        models.add_column("Notes", overflow="fold", ratio=1)
        for entry in result.models:
            models.add_row(*_model_row(entry))
        console.print(models)
    if result.local or result.unresolved:
        other = Table(title="Other model loads (not assessed)", box=box.SIMPLE_HEAD,
                      title_justify="left")
        other.add_column("Kind", no_wrap=True)
        other.add_column("Location", overflow="fold")
        other.add_column("Call", overflow="fold")
        other.add_column("Argument", overflow="fold")
        for kind, sites in (("local", result.local), ("unresolved", result.unresolved)):
            for s in sites:
                other.add_row(kind, escape(s.location), escape(s.call), escape(s.local_path or s.expression or ""))
        console.print(other)
    if result.issues:
        issues = Table(title="Issues", box=box.SIMPLE_HEAD, title_justify="left")
        for column, ratio in (("Severity", 1), ("Id", 1), ("Location", 2), ("Issue", 6)):
            issues.add_column(column, overflow="fold", ratio=ratio)
        for issue in result.issues:
            issues.add_row(f"[{_STYLES[issue.severity]}]{issue.severity}[/]", issue.rule,
                           escape(issue.location or "-"), escape(issue.message))
        console.print(issues)
    if result.scan is not None:
        names = ", ".join(f"{n} {v}" for n, v in result.scanners)
        counted = _counted(result.finding_counts()) or "none"
        console.print(f"Scan ({names}): {len(result.scan.findings)} findings ({counted}); "
                      f"{len(result.scan.skipped)} files not scanned. Details: ptmscope scan PATH", markup=False)
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
    if result.issues:
        remedies = Table.grid(padding=(0, 1))
        remedies.add_column(no_wrap=True)
        remedies.add_column(overflow="fold")
        for rule in rules_used(result.issues):
            remedies.add_row(rule.id, escape(f"{rule.title}: {rule.remedy}"))
        console.print("What to do:", markup=False)
        console.print(remedies)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
