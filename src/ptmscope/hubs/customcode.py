"""Downstream exposure to models' custom code: every call site that loads a model with
``trust_remote_code=True``, linked to the model's Python files as snapshotted and what the code scanners
found in them, and flagged when the call pins no revision (the code it runs can then change under it).

The snapshot stage (``hubs/snapshot.py``) downloads and scans the custom code; this module only reads the
store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..scan.interface import SEVERITIES
from ..store import Store
from ..store import snapshots as rows
from .snapshot import CODE_PREFIX

_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_OUTCOME_RANK = {"clean": 0, "skipped": 1, "suspicious": 2, "inconclusive": 3, "dangerous": 4}


@dataclass(frozen=True)
class CodeFile:
    path: str
    sha256: str | None
    outcome: str | None  # the worst outcome over the code scanners; None when not scanned
    max_severity: str | None
    findings: int
    scanners: tuple[str, ...]


@dataclass(frozen=True)
class Exposure:
    repository: str  # owner/name of the downstream repository
    path: str
    line: int | None
    cell: int | None
    model: str
    revision: str | None
    pinned: bool  # the call fixes a revision
    flagged: bool  # trust_remote_code without a pinned revision
    code_commit: str | None  # the model commit the linked code was snapshotted at (None: no snapshot)
    custom_code_files: tuple[CodeFile, ...] = ()
    external_code: tuple[str, ...] = ()  # repositories ``auto_map`` takes code from ("org/repo--module.Class")
    max_severity: str | None = None  # over every finding in the linked code
    outcome: str | None = None  # worst code outcome over the linked files
    scanned: bool = False  # every linked file has a code verdict

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["custom_code_files"] = [dict(f.__dict__) for f in self.custom_code_files]
        out["external_code"] = list(self.external_code)
        return out


@dataclass
class _ModelCode:
    commit: str | None
    files: list[CodeFile] = field(default_factory=list)
    external: tuple[str, ...] = ()


def auto_map_sources(config: Any) -> tuple[str, ...]:
    """Other repositories an ``auto_map`` loads code from (``"org/repo--modeling.Class"``)."""
    if not isinstance(config, dict) or not isinstance(config.get("auto_map"), dict):
        return ()
    found: list[str] = []
    for value in config["auto_map"].values():
        for ref in value if isinstance(value, list) else [value]:
            if isinstance(ref, str) and "--" in ref:
                found.append(ref.split("--", 1)[0])
    return tuple(dict.fromkeys(found))


def _code_file(snapshot: rows.SnapshotFile, verdicts: list[tuple[str, str, Any]]) -> CodeFile:
    worst_outcome: str | None = None
    worst_severity: str | None = None
    findings = 0
    for _scanner, outcome, details in verdicts:
        if worst_outcome is None or _OUTCOME_RANK.get(outcome, 0) > _OUTCOME_RANK.get(worst_outcome, 0):
            worst_outcome = outcome
        if isinstance(details, dict):
            findings += len(details.get("findings") or [])
            severity = details.get("max_severity")
            if severity in _RANK and (worst_severity is None or _RANK[severity] > _RANK[worst_severity]):
                worst_severity = severity
    return CodeFile(snapshot.path, snapshot.sha256, worst_outcome, worst_severity, findings,
                    tuple(s.removeprefix(CODE_PREFIX) for s, _, _ in verdicts))


def remote_code_exposure(store: Store) -> list[Exposure]:
    """Every stored ``trust_remote_code=True`` call site of a resolved model, with the model's custom code
    as snapshotted and scanned; ordered by repository, path and line."""
    with store.engine.connect() as conn:
        calls = rows.trust_remote_code_calls(conn)
        models = sorted({c.model_pk for c in calls})
        code = rows.code_files(conn, models, CODE_PREFIX)
        commits = rows.snapshot_commits(conn, models)
        configs = rows.model_configs(conn, models)
    per_model = {pk: _ModelCode(commits.get(pk), [_code_file(f, v) for f, v in code[pk]],
                                auto_map_sources(configs.get(pk))) for pk in models}
    out = []
    for call in calls:
        linked = per_model[call.model_pk]
        severities = [f.max_severity for f in linked.files if f.max_severity is not None]
        outcomes = [f.outcome for f in linked.files if f.outcome is not None]
        pinned = bool(call.pinned)
        out.append(Exposure(
            repository=call.repository, path=call.path, line=call.line, cell=call.cell, model=call.model,
            revision=call.revision, pinned=pinned, flagged=not pinned, code_commit=linked.commit,
            custom_code_files=tuple(linked.files), external_code=linked.external,
            max_severity=max(severities, key=_RANK.__getitem__) if severities else None,
            outcome=max(outcomes, key=lambda o: _OUTCOME_RANK.get(o, 0)) if outcomes else None,
            scanned=bool(linked.files) and all(f.outcome is not None for f in linked.files)))
    return out
