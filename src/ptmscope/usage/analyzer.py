"""Which code loads which pre-trained model: ``analyze_path(root)`` over a directory's Python files and
Jupyter notebooks, statically.

Per file (in a worker process when an executor is given): read it (size cap, any encoding), skip it
cheaply when it imports no library of the catalogue, parse it (a notebook's code cells as one module, so
names flow between cells), and turn each matching call into a call site with its argument values. A file
that does not parse (Python 2, syntax errors, null bytes) is reported as skipped and read again with a
pattern fallback, whose call sites have confidence 0.5. Then per repository: settle the values that
depend on other files, and classify each model id (hub id, local path, or unresolved).

The analysed code is never executed or imported, and no symlink is followed.
"""

from __future__ import annotations

import ast
import io
import os
import re
import stat
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..runtime.executors import Executor
from ..scan.notebooks import read_notebook
from .crossfile import RepoResolver
from .resolve import CallSite, ModuleAnalyzer
from .signatures import Catalogue, Signature, catalogue
from .values import Choice, Const, LocalPath, Unknown, Value, text_of

MAX_SOURCE_BYTES = 1 << 20
MAX_NOTEBOOK_BYTES = 16 << 20
FALLBACK_CONFIDENCE = 0.5
CHUNK_FILES = 200
SYMLINK = "symlink, not followed"
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".venv", "venv",
                        "site-packages", ".ipynb_checkpoints"})
_IMPORT_RE = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import\b|import[ \t]+([^#\n;]+))", re.M)
_FROM_RE = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+\(?([^#\n;)]+)", re.M)
_CALL_RE = re.compile(r"""([A-Za-z_][\w.]*)\s*\(\s*(?:([A-Za-z_]\w*)\s*=\s*)?[rbuRBU]?(['"])([^'"\n]{1,300})\3""")
_MAGIC_RE = re.compile(r"^(\s*)(?:[%!?]|\w+\s*=\s*[%!])")
# Cell magics whose body is Python run in the kernel.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "python", "python3", "debug", "memit",
                                 "mprun", "ipython"})
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".h5", ".hdf5", ".onnx", ".pkl", ".pickle",
                    ".pb", ".gguf", ".ggml", ".msgpack", ".tflite", ".keras", ".npz", ".npy", ".joblib", ".json",
                    ".yaml", ".yml", ".zip", ".tar", ".gz", ".tgz", ".model", ".weights", ".engine")
# First path components that name a directory of the project, not a hub namespace.
_DIR_NAMES = frozenset({"checkpoints", "checkpoint", "ckpt", "ckpts", "output", "outputs", "out", "models",
                        "model", "saved_models", "saved_model", "weights", "pretrained", "pretrained_models",
                        "results", "runs", "experiments", "exp", "logs", "data", "tmp", "temp", "cache",
                        "artifacts", "trained_models", "save", "saved", "local", "resources", "assets", "ckpt_dir",
                        "model_dir", "models_dir", "workdir", "work_dirs", "lora", "adapters", "finetuned"})
_UNPINNED = frozenset({"main", "master", "head"})


@dataclass(frozen=True, slots=True)
class Usage:
    """One load of a pre-trained model found in the code.

    ``model`` is the hub id when the argument resolved statically to one; null otherwise (``resolved``
    false), including for local paths (``kind`` "local", the path in ``local_path``). ``kind`` is "hub",
    "local" or "unknown" (unresolved). ``pinned``: a revision other than main/master is given (null when a
    revision is passed but could not be resolved); a commit sha (``pinned_to_commit``; also set where the
    library checks a hash it ships, ``pinned_by = "checksum"`` in the catalogue) is the only pin that
    cannot move, since branches and tags can. ``trust_remote_code`` is false when not passed (the
    libraries' default) and null when passed an unresolvable value; ``use_safetensors`` is null unless
    passed a constant. In a notebook ``cell`` is the index in its ``cells`` array (all cell types counted)
    and ``line`` is 1-based within that cell's source."""

    model: str | None
    library: str
    call: str
    path: str
    line: int
    cell: int | None
    revision: str | None
    pinned: bool | None
    pinned_to_commit: bool
    trust_remote_code: bool | None
    use_safetensors: bool | None
    resolved: bool
    expression: str
    confidence: float
    kind: str
    hub: str
    local_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "library": self.library, "call": self.call, "path": self.path,
                "line": self.line, "cell": self.cell, "revision": self.revision, "pinned": self.pinned,
                "trust_remote_code": self.trust_remote_code, "resolved": self.resolved,
                "pinned_to_commit": self.pinned_to_commit, "use_safetensors": self.use_safetensors,
                "expression": self.expression, "confidence": self.confidence, "kind": self.kind, "hub": self.hub,
                "local_path": self.local_path}


@dataclass
class UsageReport:
    usages: list[Usage] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0

    def to_json(self) -> dict[str, Any]:
        """The DESIGN §6 document: ``{"usages": [...], "skipped": [{"path", "reason"}], "files": n}``."""
        return {"usages": [u.to_json() for u in self.usages],
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped], "files": self.files}


@dataclass
class FileResult:
    path: str
    sites: list[tuple[CallSite, int | None]] = field(default_factory=list)  # (site, cell); site.line in cell
    skipped: list[tuple[str, str]] = field(default_factory=list)


# --- listing ---------------------------------------------------------------------------------------------


def list_sources(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The ``.py`` and ``.ipynb`` files under ``root`` (relative, "/"-separated, sorted; non-UTF-8 names
    surrogate-escaped as the os module gives them), and the ones not read with why (symlinks, shown with
    :func:`display`). Symlinked directories are not entered."""
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not os.path.islink(os.path.join(directory, d)))
        rel_dir = os.path.relpath(directory, root)
        for name in names:
            if not name.endswith((".py", ".ipynb")):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError as exc:
                skipped.append((display(rel), f"unreadable: {exc.strerror or exc}"))
                continue
            if stat.S_ISLNK(info.st_mode):
                skipped.append((display(rel), SYMLINK))
            elif stat.S_ISREG(info.st_mode):
                files.append(rel)
    return sorted(files), sorted(skipped)


def display(rel: str) -> str:
    """A listed path as valid text: bytes that are not UTF-8 become ``\\xNN``."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _read(root: Path, rel: str, limit: int) -> bytes:
    fd = os.open(os.path.join(root, rel), os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        if info.st_size > limit:
            raise _TooLargeError(f"{info.st_size} bytes, over the {limit} read")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit + 1)
    finally:
        os.close(fd)


class _TooLargeError(Exception):
    pass


def decode_source(data: bytes) -> str:
    """Source text in its declared encoding (PEP 263), undecodable bytes replaced: a model id is ASCII, so a
    stray Latin-1 byte in a comment must not cost the file."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


# --- one file --------------------------------------------------------------------------------------------


def imported_roots(text: str) -> set[str]:
    """Top-level modules a source imports, read with a pattern (also in files that do not parse)."""
    roots: set[str] = set()
    for from_module, names in _IMPORT_RE.findall(text):
        if from_module:
            roots.add(from_module.split(".", 1)[0])
        else:
            for part in names.split(","):
                words = part.split()
                if words:
                    roots.add(words[0].split(".", 1)[0].strip("()\\"))
    return roots


def analyze_file(root: Path, rel: str, cat: Catalogue | None = None) -> FileResult:
    """The call sites of one file (positions in cell coordinates for notebooks)."""
    cat = cat or catalogue()
    result = FileResult(display(rel))
    notebook = rel.endswith(".ipynb")
    try:
        data = _read(root, rel, MAX_NOTEBOOK_BYTES if notebook else MAX_SOURCE_BYTES)
    except _TooLargeError as exc:
        result.skipped.append((result.path, str(exc)))
        return result
    except OSError as exc:
        result.skipped.append((result.path, f"unreadable: {exc.strerror or exc}"))
        return result
    try:
        if notebook:
            _analyze_notebook(data, result, cat)
        else:
            _analyze_source(decode_source(data), result, cat)
    except (RecursionError, MemoryError) as exc:
        result.sites.clear()
        result.skipped.append((result.path, f"too deeply nested to analyse ({type(exc).__name__})"))
    return result


def _parse(text: str, rel: str) -> ast.Module | str:
    try:
        return ast.parse(text, filename=rel)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return f"does not parse as Python 3: {exc.msg}{where}"
    except ValueError as exc:  # null bytes
        return f"does not parse as Python 3: {exc}"


def _analyze_source(text: str, result: FileResult, cat: Catalogue) -> None:
    if not cat.worth_reading(imported_roots(text), text):
        return
    tree = _parse(text, result.path)
    if isinstance(tree, str):
        result.skipped.append((result.path, tree))
        result.sites.extend((site, None) for site in fallback_sites(text, cat))
        return
    result.sites.extend((site, None) for site in ModuleAnalyzer(tree, result.path, cat).call_sites())


def _cell_source(cell: Any) -> str | None:
    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return None
    source = cell.get("source", cell.get("input", ""))
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else None


def _code_lines(source: str) -> list[str]:
    """A cell's lines with IPython syntax (magics, shell escapes, help) replaced by ``pass``, so the cell
    parses and keeps its line numbers."""
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        words = lines[0].lstrip()[2:].split(maxsplit=1)
        if not words or words[0] not in _PYTHON_CELL_MAGICS:
            return [""] * len(lines)  # %%bash, %%writefile, %%html: not Python run here
        lines = ["pass", *lines[1:]]
    out = []
    for line in lines:
        magic = _MAGIC_RE.match(line)
        out.append(f"{magic.group(1)}pass" if magic else line)
    return out


def _analyze_notebook(data: bytes, result: FileResult, cat: Catalogue) -> None:
    try:
        _, cells = read_notebook(data)
    except ValueError as exc:
        result.skipped.append((result.path, str(exc)))
        return
    sources = [(index, _code_lines(src)) for index, cell in enumerate(cells) if (src := _cell_source(cell)) is not None]
    code = "\n".join("\n".join(lines) for _, lines in sources)
    if not cat.worth_reading(imported_roots(code), code):
        return
    good: list[tuple[int, list[str]]] = []
    for index, lines in sources:
        problem = _parse("\n".join(lines), result.path)
        if isinstance(problem, str):
            result.skipped.append((result.path, f"cell {index} {problem} (the other cells are read)"))
            continue
        good.append((index, lines))
    # One module of all the code cells, in order, so that names defined in one cell resolve in the next.
    combined: list[str] = []
    where: list[tuple[int, int]] = []
    for index, lines in good:
        for number, text in enumerate(lines, start=1):
            combined.append(text)
            where.append((index, number))
    tree = _parse("\n".join(combined), result.path)
    if isinstance(tree, str):  # cells that parse alone but not together (an open bracket across cells)
        result.skipped.append((result.path, tree))
        return
    for site in ModuleAnalyzer(tree, result.path, cat).call_sites():
        cell: int | None = None
        line = site.line
        if 0 < site.line <= len(where):
            cell, line = where[site.line - 1]
        result.sites.append((replace(site, line=line), cell))


def fallback_sites(text: str, cat: Catalogue) -> list[CallSite]:
    """Call sites found by pattern in a file that does not parse: a call whose name resolves through the
    file's imports to a signature, with a string literal as its model argument."""
    names: dict[str, str] = {}
    for module, imported in _FROM_RE.findall(text):
        for part in imported.split(","):
            words = part.replace("\\", " ").split()
            if words:
                names[words[-1] if len(words) == 3 and words[1] == "as" else words[0]] = f"{module}.{words[0]}"
    for _, plain in _IMPORT_RE.findall(text):
        for part in plain.split(","):
            words = part.split()
            if len(words) == 3 and words[1] == "as":
                names[words[2]] = words[0]
            elif words:
                names[words[0].split(".", 1)[0]] = words[0].split(".", 1)[0]
    index = {id(sig): n for n, sig in enumerate(cat.signatures)}
    sites: list[CallSite] = []
    for match in _CALL_RE.finditer(text):
        dotted, keyword, _, literal = match.groups()
        head, _, rest = dotted.partition(".")
        if head not in names:
            continue
        qual = names[head] + (f".{rest}" if rest else "")
        sig = cat.match(qual)
        if sig is None or sig.model_from != "argument":
            continue
        if keyword and keyword not in sig.model.keywords:
            continue
        if not keyword and sig.model.position != 0:
            continue
        line = text.count("\n", 0, match.start()) + 1
        sites.append(CallSite(index[id(sig)], qual, line, Const(literal), repr(literal), None, None, None,
                              confidence=FALLBACK_CONFIDENCE))
    return sites


def analyze_chunk(task: tuple[str, list[str]]) -> list[FileResult]:
    """Worker entry point: the files ``task[1]`` of the directory ``task[0]``."""
    root, rels = task
    cat = catalogue()
    return [analyze_file(Path(root), rel, cat) for rel in rels]


# --- the repository --------------------------------------------------------------------------------------


def _strip(text: str, sig: Signature) -> str:
    for prefix in sig.strip_prefixes:
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def is_local_path(text: str, files_are_hub: bool = False) -> bool:
    """Whether a model argument names a local file or directory rather than a hub id. Hub ids have at most
    one "/" (owner/name) and no file extension of weights or configs."""
    if text.startswith(("./", "../", "/", "~", ".\\")) or text in (".", "..") or "\\" in text:
        return True
    if re.match(r"[A-Za-z]:[\\/]", text):
        return True
    if "://" in text:
        return False
    parts = text.split("/")
    if len(parts) > 2:
        return True
    if len(parts) == 2 and parts[0].lower() in _DIR_NAMES:
        return True
    if text.lower().endswith(_WEIGHT_SUFFIXES):
        return not (files_are_hub and len(parts) == 1)
    return False


def _bool(value: Value | None) -> tuple[bool | None, bool]:
    """(the constant bool, whether the argument was given)."""
    if value is None:
        return None, False
    if isinstance(value, Const) and isinstance(value.value, bool):
        return value.value, True
    return None, True


def _options(value: Value) -> tuple[Value, ...]:
    return value.options if isinstance(value, Choice) else (value,)


def _usages(site: CallSite, cell: int | None, path: str, sig: Signature, resolver: RepoResolver) -> list[Usage]:
    revision_value = resolver.settle(site.revision) if site.revision is not None else None
    revision = text_of(revision_value) if revision_value is not None else None
    trust, _ = _bool(resolver.settle(site.trust_remote_code) if site.trust_remote_code is not None else None)
    if site.trust_remote_code is None:
        trust = False
    safetensors, _ = _bool(resolver.settle(site.use_safetensors) if site.use_safetensors is not None else None)
    values = _options(resolver.settle(site.model)) if site.model is not None else (None,)
    out = []
    for value in values:
        model: str | None = None
        local: str | None = None
        kind = "unknown"
        rev = revision
        text = text_of(value) if value is not None else None
        if isinstance(value, LocalPath):
            kind, local = "local", value.text
        elif text:
            if sig.model_from == "torch_hub":
                repo, _, entry = text.partition("\0")
                repo, _, ref = repo.partition(":")
                if site.local_forced or is_local_path(repo) or not entry:
                    kind, local = "local", repo
                else:
                    kind, model = "hub", f"{repo}/{entry}"
                    rev = rev or ref or None
            else:
                text = _strip(text.strip(), sig)
                if site.local_forced or is_local_path(text, sig.files_are_hub):
                    kind, local = "local", text
                elif text:
                    kind = "hub"
                    model = sig.id_template.format(text) if sig.id_template and "/" not in text else text
        pinned: bool | None
        fixed = bool(rev and _SHA.fullmatch(rev))
        if sig.pinned_by == "checksum" and kind == "hub":
            pinned = fixed = True  # the library checks the content against its own hash
        elif revision_value is None and rev is None:
            pinned = False
        elif rev is None:
            pinned = None  # a revision is passed, but not one we could read
        else:
            pinned = rev.lower() not in _UNPINNED
        out.append(Usage(
            model=model, library=sig.library, call=site.call, path=path, line=site.line, cell=cell, revision=rev,
            pinned=pinned, pinned_to_commit=fixed, trust_remote_code=trust,
            use_safetensors=safetensors, resolved=model is not None, expression=site.expression,
            confidence=site.confidence, kind=kind, hub=sig.hub, local_path=local))
    return out


def settle_results(root: Path, files: list[str], results: Iterable[FileResult], cat: Catalogue | None = None,
                   ) -> UsageReport:
    """The report of a directory from its per-file results."""
    cat = cat or catalogue()
    resolver = RepoResolver(root, {f for f in files if f.endswith(".py")}, cat)
    report = UsageReport(files=len(files))
    for result in results:
        report.skipped.extend(result.skipped)
        for site, cell in result.sites:
            report.usages.extend(_usages(site, cell, result.path, cat.signatures[site.signature], resolver))
    report.usages.sort(key=lambda u: (u.path, u.cell if u.cell is not None else -1, u.line, u.call, u.model or ""))
    report.skipped.sort()
    return report


def analyze_path(root: Path, executor: Executor | None = None) -> UsageReport:
    """Every model load in the ``.py`` files and notebooks under ``root``; paths relative to it. With an
    executor the files are read in chunks on its workers; the cross-file pass runs here."""
    cat = catalogue()
    files, skipped = list_sources(root)
    if executor is not None and executor.workers > 1 and len(files) > CHUNK_FILES:
        size = max(CHUNK_FILES // 4, min(CHUNK_FILES, len(files) // (executor.workers * 4) or 1))
        tasks = [(str(root), files[i:i + size]) for i in range(0, len(files), size)]
        results: list[FileResult] = [r for chunk in executor.map(analyze_chunk, tasks) for r in chunk]
    else:
        results = [analyze_file(root, rel, cat) for rel in files]
    report = settle_results(root, files, results, cat)
    report.skipped = sorted(report.skipped + skipped)
    return report


def analyze_source(text: str, path: str = "snippet.py") -> list[Usage]:
    """The usages in one piece of source text (no other files to settle against)."""
    cat = catalogue()
    result = FileResult(path)
    _analyze_source(text, result, cat)
    resolver = RepoResolver(Path("/nonexistent-ptmscope-root"), set(), cat)
    return [u for site, cell in result.sites for u in _usages(site, cell, path, cat.signatures[site.signature],
                                                               resolver)]


__all__ = ["FileResult", "Unknown", "Usage", "UsageReport", "analyze_file", "analyze_path", "analyze_source"]
