"""Flawfinder over C, C++ and CUDA sources.

Flawfinder runs as the real tool (``python -m flawfinder`` of this interpreter) once per batch of
files, with CSV output and these choices:

- Files are named on the command line, which makes Flawfinder read them whatever their
  extension; that is how ``.cu``/``.cuh`` get scanned (its directory walk skips them).
- ``--minlevel=0``, then hits Flawfinder itself lowered to level 0 after looking at the call
  (a constant format string, a harmless scanf format) are dropped: that keeps its default
  output plus the level-0 input-source rules (``recv``, ``fread``, ...), so every rule of its
  ruleset can report.
- ``--falsepositive`` off (its default): a dangerous name not followed by ``(`` still counts,
  because calls through macros and function pointers look like that.
- ``--neverignore``: ``flawfinder: ignore`` comments in the code under audit do not hide hits.
- Non-UTF-8 sources: Flawfinder decodes with the locale and skips a file that fails. A file
  that is not UTF-8 is handed over as a UTF-8 copy decoded as Latin-1, which maps each byte to
  one character and so keeps every line and column where it was; findings name the original.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from importlib.metadata import version as dist_version
from pathlib import Path

from .interface import Finding, ScanOutcome, ScanTarget, Skipped
from .taxonomy import classify, cwe_id, digest, installed_flawfinder_rules
from .tooling import batches, read_target, ruleset_digest, run_isolating, run_tool

SUFFIXES = frozenset({".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".cu", ".cuh"})
_OPTIONS = ("--csv", "--minlevel=0", "--neverignore", "--quiet", "--dataonly")
_SECONDS_PER_FILE = 2.0


def _utf8(data: bytes) -> str | None:
    """The text to hand Flawfinder if ``data`` is not already UTF-8 it can read, else None."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # Latin-1 maps every byte to one character, so lines and columns stay put.
        return data.decode("latin-1")
    return None


def _safe_name(path: str) -> bool:
    """Whether Flawfinder reads this name and writes it back unchanged: it refuses names with control
    characters, and a name that is not UTF-8 would come back altered in its output."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in path)


class FlawfinderScanner:
    """Flawfinder on C/C++/CUDA sources (choices and encoding handling in the module docstring)."""

    name = "flawfinder"

    def __init__(self, *, timeout: float = 120.0, max_bytes: int = 5_000_000) -> None:
        self.timeout = timeout  # per run, plus _SECONDS_PER_FILE for each file in it
        self.max_bytes = max_bytes

    def version(self) -> str:
        return dist_version("flawfinder")

    def ruleset(self) -> str:
        rules = ",".join(f"{r.function}:{r.rule_id}:{r.level}" for r in installed_flawfinder_rules())
        return ruleset_digest(self.version(), rules, " ".join(_OPTIONS), digest())

    def accepts(self, target: ScanTarget) -> bool:
        return Path(target.display).suffix.lower() in SUFFIXES or target.path.suffix.lower() in SUFFIXES

    def scan(self, targets: Sequence[ScanTarget]) -> ScanOutcome:
        outcome = ScanOutcome()
        with tempfile.TemporaryDirectory(prefix="ptmscope-flawfinder-") as tmp:
            inputs: dict[str, list[ScanTarget]] = {}
            for number, target in enumerate(targets):
                data = read_target(target, self.max_bytes)
                if isinstance(data, Skipped):
                    outcome.skipped.append(data)
                    continue
                path = str(target.path.absolute())
                text = _utf8(data)
                if text is not None or not _safe_name(path):
                    copy = Path(tmp) / f"source{number}.c"
                    copy.write_text(text if text is not None else data.decode("utf-8"), encoding="utf-8")
                    path = str(copy)
                inputs.setdefault(path, []).append(target)
            for batch in batches(list(inputs)):
                outputs, failed = run_isolating(batch, lambda files: self._run(files, tmp))
                for output in outputs:
                    self._collect(output, inputs, outcome)
                for path, reason in failed:
                    outcome.skipped.extend(Skipped(t.display, f"flawfinder: {reason}") for t in inputs[path])
        return outcome

    def _run(self, files: Sequence[str], tmp: str) -> str:
        # UTF-8 mode whatever the machine's locale: the inputs were made UTF-8 above.
        env = {**os.environ, "PYTHONUTF8": "1"}
        return run_tool([sys.executable, "-m", "flawfinder", *_OPTIONS, "--", *files],
                        timeout=self.timeout + _SECONDS_PER_FILE * len(files), cwd=tmp, env=env)

    def _collect(self, output: str, inputs: dict[str, list[ScanTarget]], outcome: ScanOutcome) -> None:
        for row in csv.DictReader(io.StringIO(output)):
            targets = inputs.get(row.get("File") or "")
            rule_id = row.get("RuleId") or ""
            level = row.get("Level") or ""
            if not targets or not rule_id or not level.isdigit():
                continue
            if level == "0" and row.get("DefaultLevel") != "0":
                continue  # Flawfinder looked at the call and judged it not risky
            outcome.findings.extend(self._finding(row, rule_id, int(level), t.display) for t in targets)

    def _finding(self, row: dict[str, str], rule_id: str, level: int, display: str) -> Finding:
        cls = classify(self.name, rule_id, level)
        message = f"{row.get('Name', '')}: {row.get('Warning', '')}"
        if row.get("Suggestion"):
            message = f"{message} {row['Suggestion']}"
        line, column = row.get("Line", ""), row.get("Column", "")
        return Finding(
            scanner=self.name, rule_id=rule_id, path=display, line=int(line) if line.isdigit() else None,
            message=message, original_severity=f"level {level}", severity=cls.severity,
            vuln_type=cls.vuln_type, category=cls.category, cwe=cwe_id(row.get("CWEs")) or cls.cwe,
            column=int(column) if column.isdigit() else None, snippet=(row.get("Context") or "").strip() or None,
        )
