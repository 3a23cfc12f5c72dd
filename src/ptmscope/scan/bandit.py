"""Bandit over Python files and the code cells of Jupyter notebooks.

Bandit runs as the real tool (``python -m bandit`` of this interpreter, so the venv's copy) once
per batch of up to a thousand files, with every test enabled, ``# nosec`` comments ignored (the
code under audit does not get to silence its auditor) and no path excluded by name.

Notebooks: the code cells of an ``.ipynb`` are written to a temporary ``.py`` and scanned with
the rest. IPython lines (``%magic``, ``!shell``, ``x = !cmd``, ``obj?``) become ``pass``; cells
under a non-Python cell magic (``%%bash``, ``%%writefile``, ...) are left out. A code cell that
is still not valid Python 3 is left out too, and reported as a ``Skipped`` entry for the notebook
naming the cell, while the other cells are scanned. A finding in a notebook is reported under the
notebook's path with ``line`` the 1-based line within the cell's source and `` [cell N]``
appended to the message, N being the 0-based index in the notebook's ``cells`` array with all
cell types counted (the convention of ``ptmscope usage``).

Files Bandit cannot parse (Python 2 sources among them) become ``Skipped`` entries that quote
the parser's message, e.g. "Missing parentheses in call to 'print'".
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from .interface import Finding, ScanOutcome, ScanTarget, Skipped
from .notebooks import read_notebook
from .taxonomy import classify, cwe_id, digest, installed_bandit_tests
from .tooling import ToolError, batches, read_target, ruleset_digest, run_isolating, run_tool

PYTHON_SUFFIX = ".py"
NOTEBOOK_SUFFIX = ".ipynb"
_OPTIONS = ("-f", "json", "-q", "--ignore-nosec", "-x", "")
_SECONDS_PER_FILE = 5.0

# An IPython line: a magic or shell escape, a shell capture, or a help query.
_IPYTHON_LINE = re.compile(r"^\s*(?:[%!?]|[\w.,\s\[\]]+=\s*[%!]|[\w.]+\?{1,2}\s*$)")
# Cell magics whose body is ordinary Python.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})


@dataclass
class NotebookCode:
    """The Python of a notebook's code cells as one module, and where each of its lines came from."""

    lines: list[str] = field(default_factory=list)
    origin: list[tuple[int, int]] = field(default_factory=list)  # (cell index, 1-based line in cell)
    problems: list[str] = field(default_factory=list)


def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", cell.get("input", ""))  # nbformat 4, nbformat 3
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def notebook_code(data: bytes) -> NotebookCode:
    """Extract the code cells of an ``.ipynb``; ValueError when it is not a notebook."""
    _notebook, cells = read_notebook(data)
    code = NotebookCode()
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        lines = _cell_source(cell).splitlines()
        first = next((ln.strip() for ln in lines if ln.strip()), "")
        if first.startswith("%%") and first[2:].split(" ", 1)[0] not in _PYTHON_CELL_MAGICS:
            continue
        python = [ln[: len(ln) - len(ln.lstrip())] + "pass" if _IPYTHON_LINE.match(ln) else ln for ln in lines]
        try:
            ast.parse("\n".join(python))
        except SyntaxError as exc:
            code.problems.append(f"cell {index}: not valid Python 3, not scanned ({exc.msg}, line {exc.lineno})")
            continue
        except (ValueError, RecursionError, MemoryError) as exc:
            code.problems.append(f"cell {index}: not scanned ({type(exc).__name__})")
            continue
        code.lines.extend(python)
        code.origin.extend((index, n) for n in range(1, len(python) + 1))
    return code


def _parse_error(path: Path, reason: str) -> str:
    """Bandit only says "syntax error"; the parser's own message tells a Python 2 file apart."""
    if "syntax error" not in reason:
        return f"bandit: {reason}"
    try:
        ast.parse(path.read_bytes())
    except SyntaxError as exc:
        return f"not valid Python 3: {exc.msg} (line {exc.lineno})"
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        return f"not valid Python 3: {type(exc).__name__}"
    return f"bandit: {reason}"


def _snippet(code: str | None, line: int) -> str | None:
    # Bandit's "code" is the lines around the issue, each as "<number> <text>".
    for entry in (code or "").splitlines():
        number, _, text = entry.partition(" ")
        if number == str(line):
            return text.strip() or None
    return None


@dataclass
class _Input:
    targets: list[ScanTarget]
    origin: list[tuple[int, int]] | None = None  # set for notebooks


class BanditScanner:
    """Bandit on ``.py`` files and notebook code cells (see the module docstring for notebooks)."""

    name = "bandit"

    def __init__(self, *, timeout: float = 120.0, max_bytes: int = 5_000_000) -> None:
        self.timeout = timeout  # per run, plus _SECONDS_PER_FILE for each file in it
        self.max_bytes = max_bytes

    def version(self) -> str:
        return dist_version("bandit")

    def ruleset(self) -> str:
        return ruleset_digest(self.version(), ",".join(installed_bandit_tests()), " ".join(_OPTIONS), digest())

    def accepts(self, target: ScanTarget) -> bool:
        return _suffix(target) in (PYTHON_SUFFIX, NOTEBOOK_SUFFIX)

    def scan(self, targets: Sequence[ScanTarget]) -> ScanOutcome:
        outcome = ScanOutcome()
        with tempfile.TemporaryDirectory(prefix="ptmscope-bandit-") as tmp:
            inputs = self._prepare(targets, Path(tmp), outcome)
            paths = list(inputs)
            for batch in batches(paths):
                reports, failed = run_isolating(batch, lambda files: self._run(files, tmp))
                for report in reports:
                    self._collect(report, inputs, outcome)
                for path, reason in failed:
                    outcome.skipped.extend(Skipped(t.display, f"bandit: {reason}") for t in inputs[path].targets)
        return outcome

    def _prepare(self, targets: Sequence[ScanTarget], tmp: Path, outcome: ScanOutcome) -> dict[str, _Input]:
        inputs: dict[str, _Input] = {}
        for number, target in enumerate(targets):
            data = read_target(target, self.max_bytes)
            if isinstance(data, Skipped):
                outcome.skipped.append(data)
                continue
            if _suffix(target) != NOTEBOOK_SUFFIX:
                inputs.setdefault(str(target.path.absolute()), _Input([])).targets.append(target)
                continue
            try:
                code = notebook_code(data)
            except ValueError as exc:
                outcome.skipped.append(Skipped(target.display, str(exc)))
                continue
            outcome.skipped.extend(Skipped(target.display, problem) for problem in code.problems)
            if code.lines:
                module = tmp / f"notebook{number}.py"
                module.write_text("\n".join(code.lines) + "\n", encoding="utf-8")
                inputs[str(module)] = _Input([target], code.origin)
        return inputs

    def _run(self, files: Sequence[str], tmp: str) -> dict[str, Any]:
        report = Path(tempfile.mkstemp(suffix=".json", dir=tmp)[1])
        try:
            run_tool([sys.executable, "-m", "bandit", *_OPTIONS, "-o", str(report), "--", *files],
                     timeout=self.timeout + _SECONDS_PER_FILE * len(files), cwd=tmp, ok_codes=(0, 1))
            try:
                parsed: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ToolError(f"unreadable JSON report ({exc})") from exc
        finally:
            report.unlink(missing_ok=True)
        return parsed

    def _collect(self, report: dict[str, Any], inputs: dict[str, _Input], outcome: ScanOutcome) -> None:
        for error in report.get("errors", []):
            source = inputs.get(error.get("filename", ""))
            if source is not None:
                reason = _parse_error(Path(error["filename"]), str(error.get("reason", "")))
                outcome.skipped.extend(Skipped(t.display, reason) for t in source.targets)
        for result in report.get("results", []):
            source = inputs.get(result.get("filename", ""))
            if source is not None:
                outcome.findings.extend(self._finding(result, source.origin, t.display) for t in source.targets)

    def _finding(self, result: dict[str, Any], origin: list[tuple[int, int]] | None, display: str) -> Finding:
        cls = classify("bandit", result["test_id"], result["issue_severity"],
                                     result.get("issue_confidence"))
        line: int | None = result.get("line_number")
        line_range = result.get("line_range") or [line]
        end_line: int | None = max(line_range) if line_range and line_range[-1] is not None else None
        message = str(result.get("issue_text", ""))
        snippet = _snippet(result.get("code"), line) if line else None
        if origin is not None and line and line <= len(origin):
            cell, line = origin[line - 1]
            last_cell, last_line = origin[end_line - 1] if end_line and end_line <= len(origin) else (None, None)
            end_line = last_line if last_cell == cell else None
            message = f"{message} [cell {cell}]"
        column = result.get("col_offset")
        return Finding(
            scanner=self.name, rule_id=result["test_id"], path=display, line=line, message=message,
            original_severity=result["issue_severity"], severity=cls.severity, vuln_type=cls.vuln_type,
            category=cls.category, cwe=cwe_id((result.get("issue_cwe") or {}).get("id")) or cls.cwe,
            confidence=result.get("issue_confidence"),
            column=column + 1 if isinstance(column, int) else None,  # Bandit counts from 0; we from 1
            end_line=end_line, snippet=snippet,
        )


def _suffix(target: ScanTarget) -> str:
    # The reported path carries the real name; content-addressed copies may only keep the suffix.
    suffix = Path(target.display).suffix.lower()
    return suffix if suffix in (PYTHON_SUFFIX, NOTEBOOK_SUFFIX) else target.path.suffix.lower()
