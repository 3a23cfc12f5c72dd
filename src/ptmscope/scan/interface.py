"""What every scanner gives ptmscope: findings on files, and the files it could not scan, with why.

A scanner works on files by content: ``scan`` receives ``ScanTarget`` values (a readable path on
disk plus the path to report) and must report findings under ``target.display`` so that one scan
of a unique file content can be mapped back to every repository and path holding it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class ScanTarget:
    path: Path  # where the content can be read (never executed or imported)
    display: str  # the path findings are reported under (relative to the scanned root)


@dataclass(frozen=True, slots=True)
class Finding:
    scanner: str
    rule_id: str  # the scanner's own id: B301, FF1001, PTM101, ...
    path: str
    line: int | None
    message: str
    original_severity: str  # the scanner's own word (HIGH, ERROR, level 4, ...)
    severity: str = "low"  # normalised, one of SEVERITIES (scan/taxonomy.py)
    vuln_type: str | None = None
    category: str | None = None
    cwe: str | None = None  # "CWE-502"
    cve: str | None = None
    confidence: str | None = None
    column: int | None = None
    end_line: int | None = None
    snippet: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


@dataclass
class ScanOutcome:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class Scanner(Protocol):
    """A static analyser run as a real tool; never runs the code it reads."""

    name: str

    def version(self) -> str:
        """The tool's version (part of the cache key of every scan result)."""
        ...

    def ruleset(self) -> str:
        """A digest of the rules in force (part of the cache key)."""
        ...

    def accepts(self, target: ScanTarget) -> bool:
        """Whether this scanner reads this file (by extension, or by content for model files)."""
        ...

    def scan(self, targets: Sequence[ScanTarget]) -> ScanOutcome:
        """Scan many files in one invocation (start-up costs dominate per-file runs)."""
        ...
