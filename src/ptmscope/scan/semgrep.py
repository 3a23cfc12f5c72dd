"""Semgrep with ptmscope's own rule pack (``rules/ptmscope.yaml``), run offline.

The pack holds the ``PTM1xx`` rules: AI supply-chain checks (unsafe model deserialization, remote
code, unpinned models, model output reaching eval/shell/SQL/HTML, hard-coded hub and API tokens,
unverified weight downloads) and the seed's types Bandit and Flawfinder have no check for
(privacy_attack, model_evasion, password). Each rule's ``message`` and ``metadata`` are its
documentation; ``scan/taxonomy.py`` classifies findings by that metadata.

How Semgrep is run, and why:

- Offline. Only the local rule file, ``--metrics=off --disable-version-check`` (without the
  latter Semgrep waits about 100 s on DNS when there is no network), ``--oss-only``, a fresh
  ``HOME`` per run (Semgrep writes ``~/.semgrep`` even with metrics off) and none of the caller's
  ``SEMGREP_*`` variables (an app token or a registry config would make it call out).
- One invocation per ``scan`` call, over a private flat directory holding each target's content
  under a neutral name that keeps only the extension (``000001.py``, ``000002.env``): no
  ``.semgrepignore``, ``.gitignore``, default ignore list (``tests/``, ``build/``, ...) or symlink
  of the scanned tree decides what is read, there is no command line to overflow, and results map
  back to targets by that name.
- Files over ``max_target_bytes`` are skipped before Semgrep sees them: they are mostly
  generated data (label tables, vocabularies as code) that cost seconds per rule and hold no code.
- Semgrep's own per-file errors become ``Skipped`` entries: a syntax error (Semgrep still scans
  the parts it could parse, and those findings are kept) or a rule that timed out on the file.
  A run that fails as a whole raises :class:`~ptmscope.scan.tooling.ToolError`, so that the
  caller can split the batch and find the file to blame.
- Snippets are read from the content itself (Semgrep OSS reports "requires login" in their place).
  For secret and password rules the matched text is masked in the snippet: a finding must not
  spread the credential it reports.

Notebooks, in the convention of ``ptmscope usage`` and the Bandit scanner: findings are reported
under the notebook's path with ``line``/``end_line``/``column`` within the cell's source and
`` [cell N]`` appended to the message, N being the 0-based index in the ``cells`` array with all
cell types counted. Code cells are scanned as one Python module (so ``import numpy as np`` in the
first cell resolves ``np.load`` in a later one). IPython lines (``%magic``, ``!shell``,
``x = !cmd``, ``obj?``) become ``pass  # <the line>``, and markdown and raw cells, code under a
non-Python cell magic (``%%bash``) and the cells of non-Python kernels become ``# <the line>``:
the Python rules ignore them while the token rules still see ``!huggingface-cli login --token
hf_...`` or a key pasted into markdown. Cell outputs are not scanned.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import PtmscopeError
from .interface import Finding, ScanOutcome, ScanTarget, Skipped
from .notebooks import read_notebook
from .taxonomy import classify
from .tooling import ToolError, read_target, run_tool

RULES = Path(__file__).with_name("rules") / "ptmscope.yaml"

PYTHON_SUFFIXES = frozenset({".py", ".pyw"})
NOTEBOOK_SUFFIX = ".ipynb"
# Files where the pack's language-independent rules (tokens, passwords in URLs, trust_remote_code
# in settings and command lines) find what ML repositories leak: settings, scripts, docs.
TEXT_SUFFIXES = frozenset({".yaml", ".yml", ".json", ".toml", ".cfg", ".ini", ".conf", ".env", ".properties",
                           ".sh", ".bash", ".zsh", ".txt", ".md", ".dockerfile", ".pem", ".key"})
NOTEBOOK_MAX_BYTES = 64 << 20  # outputs (images) make notebooks big; only their sources are scanned
# Bump when notebook extraction changes what Semgrep sees, so that cached results are redone.
NOTEBOOK_EXTRACTION = "1"
SECRET_TYPES = frozenset({"secret", "password"})

# An IPython line: a magic or shell escape, a shell capture, or a help query.
_IPYTHON_LINE = re.compile(r"^\s*(?:[%!?]|[\w.,\s\[\]]+=\s*[%!]|[\w.]+\?{1,2}\s*$)")
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
_NEUTRALISED = "pass  # "
_COMMENTED = "# "
_VERSION = re.compile(r"\d+\.\d+\.\d+\S*")
_SNIPPET_LINES = 10
_KEPT_SECRET_CHARS = 6


class SemgrepUnavailableError(PtmscopeError):
    """The semgrep executable is missing or does not run."""


@dataclass(frozen=True, slots=True)
class SourceLine:
    """Where a line of the module built from a notebook came from."""

    cell: int  # 0-based index in the notebook's cells, all cell types counted
    line: int  # 1-based line within the cell's source
    shift: int  # characters put in front of the cell's text on this line
    text: str  # the line as written in the cell


@dataclass
class NotebookModule:
    """A notebook's sources as one Python module, and where each of its lines came from."""

    lines: list[str] = field(default_factory=list)
    origin: list[SourceLine] = field(default_factory=list)

    def add(self, cell: int, number: int, text: str, prefix: str = "", indent: str = "") -> None:
        self.lines.append(indent + prefix + text[len(indent):])
        self.origin.append(SourceLine(cell, number, len(prefix), text))


def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", cell.get("input", ""))  # nbformat 4, nbformat 3
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def _is_python(notebook: dict[str, Any]) -> bool:
    metadata = notebook.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    for key, field_name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field_name), str):
            return str(section[field_name]).lower().startswith("python")
    return True  # old notebooks name no language; IPython was Python then


def notebook_module(data: bytes) -> NotebookModule:
    """A notebook's sources as one Python module; ValueError when it is not a notebook."""
    notebook, cells = read_notebook(data)
    python = _is_python(notebook)
    module = NotebookModule()
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        lines = _cell_source(cell).splitlines()
        first = next((ln.strip() for ln in lines if ln.strip()), "")
        code = (python and cell.get("cell_type") == "code"
                and not (first.startswith("%%") and first[2:].split(" ", 1)[0] not in _PYTHON_CELL_MAGICS))
        for number, text in enumerate(lines, start=1):
            if not code:
                module.add(index, number, text, _COMMENTED)
            elif _IPYTHON_LINE.match(text):
                module.add(index, number, text, _NEUTRALISED, text[: len(text) - len(text.lstrip())])
            else:
                module.add(index, number, text)
    return module


def _kind(display: str) -> str | None:
    name = PurePosixPath(display).name.lower()
    suffix = PurePosixPath(name).suffix
    if suffix in PYTHON_SUFFIXES:
        return "python"
    if suffix == NOTEBOOK_SUFFIX:
        return "notebook"
    if suffix in TEXT_SUFFIXES or name == "dockerfile" or name.startswith(".env"):
        return "text"
    return None


def _staged_suffix(display: str, kind: str) -> str:
    """The extension Semgrep detects the language by, and the pack's ``paths`` filters match."""
    name = PurePosixPath(display).name.lower()
    if kind == "notebook":
        return ".py"
    if name == "dockerfile":
        return ".dockerfile"
    if name.startswith(".env"):  # .env, .env.local, .env.example
        return ".env"
    return PurePosixPath(name).suffix


@dataclass
class _Staged:
    target: ScanTarget
    data: bytes  # what Semgrep reads (for a notebook, the module built from it)
    notebook: NotebookModule | None = None

    @cached_property
    def lines(self) -> list[str]:
        return [ln.decode("utf-8", errors="replace").rstrip("\r") for ln in self.data.split(b"\n")]

    def locate(self, line: int, column: int | None) -> tuple[int | None, int | None]:
        """(line, column) of a position in the staged file, in the terms of the original file."""
        if self.notebook is None:
            return line, column
        if not 1 <= line <= len(self.notebook.origin):
            return None, None
        origin = self.notebook.origin[line - 1]
        return origin.line, None if column is None else max(1, column - origin.shift)

    def cell(self, line: int) -> int | None:
        if self.notebook is None or not 1 <= line <= len(self.notebook.origin):
            return None
        return self.notebook.origin[line - 1].cell

    def source_line(self, line: int) -> str | None:
        if self.notebook is not None:
            return self.notebook.origin[line - 1].text if 1 <= line <= len(self.notebook.origin) else None
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else None


def _mask(snippet: str, secret: str) -> str:
    kept = min(_KEPT_SECRET_CHARS, len(secret) // 4)
    masked = secret[:kept] + "…"
    return snippet.replace(secret, masked) if secret else snippet


class SemgrepScanner:
    """Semgrep OSS with the ``PTM1xx`` rule pack on Python files, notebooks and text settings files."""

    name = "semgrep"

    def __init__(self, *, executable: str | os.PathLike[str] | None = None, timeout: int = 5,
                 timeout_threshold: int = 3, max_target_bytes: int = 1_000_000, jobs: int | None = None,
                 run_timeout: float = 3600.0) -> None:
        self._executable = executable
        self.timeout = timeout  # per rule and file, Semgrep's --timeout
        self.timeout_threshold = timeout_threshold  # rules timing out before Semgrep gives up on a file
        self.max_target_bytes = max_target_bytes
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        self.jobs = jobs if jobs is not None else max(1, cpus or 1)
        self.run_timeout = run_timeout  # for one whole invocation

    @cached_property
    def executable(self) -> str:
        """The semgrep command: as given, else the one installed beside this Python, else on PATH."""
        if self._executable is not None:
            return os.fspath(self._executable)
        beside = Path(sys.executable).parent / "semgrep"
        found = str(beside) if beside.is_file() else shutil.which("semgrep")
        if found is None:
            raise SemgrepUnavailableError("semgrep is not installed: install ptmscope with its dependencies "
                                          "(pip install 'semgrep>=1.182,<2') or put semgrep on PATH")
        return found

    def version(self) -> str:
        return self._version

    @cached_property
    def _version(self) -> str:
        if self._executable is None:
            # The semgrep installed with ptmscope: its wheel ships the engine it reports, and asking
            # the package costs nothing where `semgrep --version` costs a second per scan.
            try:
                return importlib.metadata.version("semgrep")
            except importlib.metadata.PackageNotFoundError:
                pass
        with tempfile.TemporaryDirectory(prefix="ptmscope-semgrep-") as tmp:
            try:
                out = run_tool([self.executable, "--version", "--disable-version-check"], timeout=120.0, cwd=tmp,
                               env=self._environment(Path(tmp)))
            except (OSError, ToolError) as exc:
                raise SemgrepUnavailableError(f"{self.executable} --version failed: {exc}") from exc
        match = _VERSION.search(out)
        if match is None:
            raise SemgrepUnavailableError(f"{self.executable} --version printed no version: {out.strip()[:200]!r}")
        return match.group()

    def ruleset(self) -> str:
        """The pack's digest, with the settings that change what a file's result is."""
        digest = hashlib.sha256(RULES.read_bytes())
        digest.update(f"\0max_target_bytes={self.max_target_bytes}\0notebooks={NOTEBOOK_EXTRACTION}".encode())
        return digest.hexdigest()

    def accepts(self, target: ScanTarget) -> bool:
        return _kind(target.display) is not None

    def scan(self, targets: Sequence[ScanTarget]) -> ScanOutcome:
        outcome = ScanOutcome()
        with tempfile.TemporaryDirectory(prefix="ptmscope-semgrep-") as tmp:
            root = Path(tmp)
            tree = root / "targets"
            tree.mkdir()
            staged = self._stage(targets, tree, outcome)
            if staged:
                report = self._run(root, tree)
                self._collect(report, staged, outcome)
        return outcome

    # -- staging ---------------------------------------------------------------------------

    def _stage(self, targets: Sequence[ScanTarget], tree: Path, outcome: ScanOutcome) -> dict[str, _Staged]:
        staged: dict[str, _Staged] = {}
        width = len(str(len(targets)))
        for number, target in enumerate(targets, start=1):
            kind = _kind(target.display) or "text"
            limit = NOTEBOOK_MAX_BYTES if kind == "notebook" else self.max_target_bytes
            data = read_target(target, limit)
            if isinstance(data, Skipped):
                outcome.skipped.append(data)
                continue
            entry = _Staged(target, data)
            if kind == "notebook":
                try:
                    entry.notebook = notebook_module(data)
                except ValueError as exc:
                    outcome.skipped.append(Skipped(target.display, str(exc)))
                    continue
                entry.data = "".join(f"{ln}\n" for ln in entry.notebook.lines).encode("utf-8", "replace")
                if len(entry.data) > self.max_target_bytes:
                    reason = f"notebook sources larger than {self.max_target_bytes} bytes ({len(entry.data)})"
                    outcome.skipped.append(Skipped(target.display, reason))
                    continue
            name = f"{number:0{width}d}{_staged_suffix(target.display, kind)}"
            (tree / name).write_bytes(entry.data)
            staged[name] = entry
        return staged

    # -- running ---------------------------------------------------------------------------

    @staticmethod
    def _environment(home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEMGREP_")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
                   SEMGREP_ENABLE_VERSION_CHECK="0", SEMGREP_SEND_METRICS="off")
        return env

    def _run(self, root: Path, tree: Path) -> dict[str, Any]:
        home = root / "home"
        home.mkdir()
        argv = [self.executable, "scan", "--config", str(RULES.resolve()), "--json", "--quiet",
                "--metrics=off", "--disable-version-check", "--oss-only", "--no-rewrite-rule-ids", "--no-git-ignore",
                "--timeout", str(self.timeout), "--timeout-threshold", str(self.timeout_threshold),
                "--max-target-bytes", str(self.max_target_bytes), "--jobs", str(self.jobs), "."]
        try:
            out = run_tool(argv, timeout=self.run_timeout, cwd=str(tree), env=self._environment(home))
        except FileNotFoundError as exc:
            raise SemgrepUnavailableError(f"cannot run {self.executable}: {exc.strerror or exc}") from exc
        try:
            report: dict[str, Any] = json.loads(out)
        except ValueError as exc:
            raise ToolError(f"no JSON report ({out.strip()[:200]!r})") from exc
        if not isinstance(report, dict) or not isinstance(report.get("results"), list):
            raise ToolError("JSON report without results")
        # Per-file errors come with status 0 and a path; an error without one (a rule Semgrep rejects)
        # means every file went unchecked by that rule.
        fatal = [e for e in report.get("errors", []) if not e.get("path") and e.get("level") == "error"]
        if fatal:
            raise ToolError("; ".join(str(e.get("message", e.get("type")))[:300] for e in fatal))
        return report

    # -- results ---------------------------------------------------------------------------

    def _collect(self, report: dict[str, Any], staged: dict[str, _Staged], outcome: ScanOutcome) -> None:
        located = []
        for result in report["results"]:
            name = PurePosixPath(str(result.get("path", ""))).name
            if name in staged:
                located.append((name, result["start"]["line"], result["start"]["col"], str(result["check_id"]), result))
        # In the order of the targets and of their staged lines, which for a notebook is cell order.
        for name, *_, result in sorted(located, key=lambda r: r[:4]):
            outcome.findings.append(self._finding(result, staged[name]))
        reasons: dict[tuple[str, str], None] = {}
        for error in report.get("errors", []):
            name = PurePosixPath(str(error.get("path", ""))).name
            if name in staged:
                entry = staged[name]
                reasons[entry.target.display, self._reason(error, entry).replace(name, entry.target.display)] = None
        outcome.skipped.extend(Skipped(display, reason) for display, reason in reasons)

    def _reason(self, error: dict[str, Any], entry: _Staged) -> str:
        kind = error.get("type")
        name = str(kind[0] if isinstance(kind, list) and kind else kind)
        if name == "Timeout":
            return f"semgrep: rule {error.get('rule_id', '?')} timed out on this file ({self.timeout} s)"
        spans = [s for s in error.get("spans") or [] if isinstance(s, dict)]
        where = ", ".join(self._where(entry, s) for s in spans)
        if name == "PartialParsing":
            return f"semgrep: syntax error, {where or 'part of the file'} not analysed (the rest was scanned)"
        if name in ("Syntax error", "Lexical error", "Other syntax error"):
            return (f"semgrep: {name.lower()}{' at ' + where if where else ''}: the code rules did not run "
                    "(the text rules did)")
        message = str(error.get("message", "")).strip().splitlines()
        return f"semgrep: {name}: {message[0][:200] if message else 'no message'}"

    @staticmethod
    def _where(entry: _Staged, span: dict[str, Any]) -> str:
        first, last = int(span["start"]["line"]), int(span["end"]["line"])
        cell, (start, _), (end, _) = entry.cell(first), entry.locate(first, None), entry.locate(last, None)
        lines = f"line {start}" if start == end else f"lines {start}-{end}"
        return lines if cell is None else f"cell {cell} {lines}"

    def _finding(self, result: dict[str, Any], entry: _Staged) -> Finding:
        extra = result.get("extra") or {}
        metadata = extra.get("metadata") or {}
        rule_id = str(result["check_id"])
        severity = str(extra.get("severity", ""))
        cls = classify(self.name, rule_id, severity)
        start, end = result["start"], result["end"]
        first, last = int(start["line"]), int(end["line"])
        line, column = entry.locate(first, start.get("col"))
        end_line, _ = entry.locate(last, None)
        message = " ".join(str(extra.get("message", "")).split())
        cell = entry.cell(first)
        if cell is not None:
            end_line = end_line if entry.cell(last) == cell else None
            message = f"{message} [cell {cell}]"
        snippet_lines = [entry.source_line(n) for n in range(first, min(last, first + _SNIPPET_LINES - 1) + 1)]
        snippet = "\n".join(s for s in snippet_lines if s is not None) or None
        if snippet and cls.vuln_type in SECRET_TYPES:
            matched = entry.data[int(start["offset"]):int(end["offset"])].decode("utf-8", errors="replace")
            for part in matched.splitlines():
                snippet = _mask(snippet, part)
        confidence = metadata.get("confidence")
        return Finding(
            scanner=self.name, rule_id=rule_id, path=entry.target.display, line=line, message=message,
            original_severity=severity, severity=cls.severity, vuln_type=cls.vuln_type, category=cls.category,
            cwe=cls.cwe, confidence=str(confidence) if confidence is not None else None, column=column,
            end_line=end_line, snippet=snippet,
        )
