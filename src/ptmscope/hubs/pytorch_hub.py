"""PyTorch Hub: the pytorch/hub catalogue, one markdown page per model, read into records.

A page is YAML front matter (title, summary, author, tags, github-link, github-id, ...) and markdown
whose python code blocks call ``torch.hub.load('<owner>/<repo>[:<ref>]', '<entrypoint>', ...)``.
Each distinct (repo, entrypoint) loaded anywhere in the catalogue is one model, as PeaTMOSS counted
them. Pages are third-party text: their code is read with :mod:`ast` only, never executed or
imported, and a page that does not parse costs that page's calls, not the listing.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import stat
import subprocess
import tempfile
import textwrap
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import yaml

from ..errors import SourceUnavailableError, UsageError
from .interface import ModelRecord

HUB = "pytorch_hub"
DEFAULT_SOURCE = "pytorch/hub"
MAX_FILE_BYTES = 1_000_000
CLONE_TIMEOUT_SECONDS = 300

# Pages in the catalogue repository that describe the repository, not a model.
_NOT_MODEL_PAGES = frozenset({"readme.md", "contributing.md", "code_of_conduct.md"})
_TEMPLATE_PAGES = frozenset({"_template.md", "template.md"})
# docs/template.md fills every field with "<REQUIRED: ...>" or "<OPTIONAL: ...>"; a copy left
# unedited under another name is a template too.
_PLACEHOLDER = re.compile(r"<(REQUIRED|OPTIONAL)\b")

# Catalogue tags (scripts/tags.py allows vision, nlp, generative, audio, scriptable) to ptmscope
# domains, checked in this order: the catalogue's generative models are image GANs unless a page also
# says nlp or audio, so those two win over it; "scriptable" says nothing about the domain.
_DOMAIN_BY_TAG = {"nlp": "NLP", "audio": "Audio", "vision": "CV", "generative": "CV"}

_CODE_LANGUAGES = frozenset({"", "python", "python3", "py", "ipython", "ipython3"})
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
# IPython shell escapes and magics (!pip install, %matplotlib inline) are common in the pages and
# make a whole block a SyntaxError; they load nothing, so they are replaced by `pass`.
_SHELL_LINE = re.compile(r"^(\s*)[!%]")
# How far a statement in code that does not parse as a whole may span when it is looked for line
# by line; the catalogue's longest call spans four lines.
_MAX_STATEMENT_LINES = 25
_GITHUB_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[\w.-]+")
_REPO_AND_REF = re.compile(rf"({_GITHUB_REPO.pattern})(?::(.+))?")
_SCP_LIKE_URL = re.compile(r"[\w.-]+@[\w.-]+:")
_URL_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")


class Catalogue(Iterator[ModelRecord]):
    """The records of one catalogue read, and the files that gave none as (file name, reason)."""

    def __init__(self, records: Sequence[ModelRecord], skipped: Sequence[tuple[str, str]]) -> None:
        self.records = tuple(records)
        self.skipped: list[tuple[str, str]] = list(skipped)
        self._pending = iter(self.records)

    def __next__(self) -> ModelRecord:
        return next(self._pending)


# Page file name to its (created_at, last_modified), e.g. from the catalogue's git history.
FileDates = Mapping[str, tuple[datetime | None, datetime | None]]


def iter_catalogue(source: str | Path, *, git_base: str = "https://github.com", workdir: Path | None = None,
                   file_dates: FileDates | None = None) -> Catalogue:
    """Records of the catalogue in ``source``: a directory of pages, a git URL or ``owner/name``.

    Git sources are cloned (depth 1, no hooks, no submodules) into a temporary directory under
    ``workdir`` that is gone when this returns. Raises SourceUnavailableError when the source
    cannot be read or cloned.
    """
    if isinstance(source, Path) or Path(source).is_dir():
        directory = Path(source)
        if not directory.is_dir():
            raise SourceUnavailableError(f"PyTorch Hub catalogue directory not found: {directory}")
        return read_directory(directory, file_dates)
    url = _clone_url(source, git_base)
    with tempfile.TemporaryDirectory(prefix="ptmscope-pytorch-hub-", dir=workdir) as tmp:
        checkout = Path(tmp) / "catalogue"
        _clone(url, checkout)
        return read_directory(checkout, file_dates)


class PyTorchHub:
    """The PyTorch Hub catalogue as a :class:`~ptmscope.hubs.interface.Hub`."""

    name: str = HUB

    def __init__(self, source: str | Path = DEFAULT_SOURCE, *, git_base: str = "https://github.com",
                 workdir: Path | None = None, file_dates: FileDates | None = None) -> None:
        self.source = source
        self.git_base = git_base
        self.workdir = workdir
        self.file_dates = file_dates
        self.skipped: list[tuple[str, str]] = []  # of the latest listing

    def iter_models(self, since: datetime | None = None) -> Iterator[ModelRecord]:
        """Newest first when pages have dates; records without a date are kept whatever ``since``
        says, since nothing shows they are older."""
        catalogue = iter_catalogue(self.source, git_base=self.git_base, workdir=self.workdir,
                                   file_dates=self.file_dates)
        self.skipped = catalogue.skipped
        # Timestamps, not datetimes: callers may mix naive and aware values, which do not compare.
        records = [r for r in catalogue if since is None or r.last_modified is None
                   or r.last_modified.timestamp() > since.timestamp()]
        records.sort(key=lambda r: r.last_modified.timestamp() if r.last_modified else float("-inf"),
                     reverse=True)
        yield from records


def _clone_url(source: str, git_base: str) -> str:
    if _GITHUB_REPO.fullmatch(source):
        return f"{git_base.rstrip('/')}/{source}"
    if source.startswith(_URL_SCHEMES) or _SCP_LIKE_URL.match(source):
        return source
    raise UsageError(f"PyTorch Hub source is not a directory, git URL or owner/name: {source}")


def _clone(url: str, dest: Path) -> None:
    # Hooks could come from the user's git template directory; the source's own never travel.
    command = ["git", "-c", "core.hooksPath=/dev/null"]
    if url.startswith("file://"):
        command += ["-c", "protocol.file.allow=always"]
    command += ["clone", "--depth", "1", "--no-recurse-submodules", "--quiet", "--", url, str(dest)]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=CLONE_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise SourceUnavailableError(f"cannot clone {url}: git is not installed") from None
    except subprocess.TimeoutExpired:
        raise SourceUnavailableError(f"cannot clone {url}: no answer in {CLONE_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"git exited with status {done.returncode}"
        raise SourceUnavailableError(f"cannot clone {url}: {reason}")


# --- reading pages ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Load:
    """One torch.hub.load call with its repo and entrypoint known."""

    owner: str
    repo: str
    ref: str | None
    entrypoint: str
    args: list[Any]
    kwargs: dict[str, Any]
    line: int
    commented: bool

    @property
    def key(self) -> tuple[str, str]:
        # GitHub names are case-insensitive, entrypoints (Python function names) are not.
        return f"{self.owner}/{self.repo}".lower(), self.entrypoint


@dataclass(slots=True)
class _Page:
    name: str
    text: str
    front_matter: dict[str, Any]
    front_matter_error: str | None
    loads: list[_Load] = field(default_factory=list)
    unresolved_lines: list[int] = field(default_factory=list)


def read_directory(directory: Path, file_dates: FileDates | None = None) -> Catalogue:
    """Records of the pages at the top of ``directory`` (subdirectories are not catalogue pages)."""
    root = directory.resolve()
    pages: list[_Page] = []
    skipped: list[tuple[str, str]] = []
    try:
        names = sorted(entry.name for entry in root.iterdir() if entry.name.lower().endswith(".md"))
    except OSError as exc:
        raise SourceUnavailableError(f"cannot list PyTorch Hub catalogue {directory}: {exc}") from None
    for name in names:
        text, problem = _read_page_text(root, name)
        if text is None:
            skipped.append((name, problem))
            continue
        page, problem = _parse_page(name, text)
        if page is None:
            skipped.append((name, problem))
        else:
            pages.append(page)
    records, modelless = _records(pages, file_dates or {})
    skipped += [(name, "no torch.hub.load call and no GitHub repository in the front matter")
                for name in modelless]
    return Catalogue(records, sorted(skipped))


def _read_page_text(root: Path, name: str) -> tuple[str | None, str]:
    try:
        path = (root / name).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        return None, f"unreadable: {exc}"
    if not path.is_relative_to(root):
        return None, "symlink pointing outside the catalogue"
    try:
        # Not is_file(): a FIFO named *.md would block the read below.
        if not stat.S_ISREG(path.stat().st_mode):
            return None, "not a regular file"
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    if len(data) > MAX_FILE_BYTES:
        return None, f"larger than {MAX_FILE_BYTES} bytes"
    if b"\x00" in data:
        return None, "binary content (NUL bytes)"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 ({exc.reason} at byte {exc.start})"
    return text.replace("\r\n", "\n").replace("\r", "\n"), ""


def _parse_page(name: str, text: str) -> tuple[_Page | None, str]:
    if name.lower() in _NOT_MODEL_PAGES:
        return None, "not a model page"
    if name.lower() in _TEMPLATE_PAGES:
        return None, "template"
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return None, "no front matter"
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        front_text, body_start, error = "\n".join(lines[1:]), 1, "front matter is not closed by '---'"
    else:
        front_text, body_start, error = "\n".join(lines[1:end]), end + 1, None
    if _PLACEHOLDER.search(front_text):
        return None, "template"
    front_matter: dict[str, Any] = {}
    if error is None:
        try:
            loaded = yaml.safe_load(front_text)
        except yaml.YAMLError as exc:
            error = " ".join(str(exc).split())
        else:
            if isinstance(loaded, dict):
                front_matter = _jsonable(loaded)
            elif loaded is not None:
                error = f"front matter is a {type(loaded).__name__}, expected a mapping"
    layout = front_matter.get("layout") if error is None else _layout_line(front_text)
    if layout is not None and layout != "hub_detail":
        return None, f"layout {layout!r} is not hub_detail"
    page = _Page(name, text, front_matter, error)
    _scan_code(page, lines, body_start)
    return page, ""


def _layout_line(front_text: str) -> str | None:
    """The layout of front matter YAML could not read, so that a broken template still is one."""
    match = re.search(r"^layout:\s*(\S+)\s*$", front_text, re.MULTILINE)
    return match.group(1).strip("'\"") if match else None


def _jsonable(value: Any) -> Any:
    """YAML and Python literals as JSON, which is how records are stored and hashed."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(v) for v in value), key=repr)
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, complex):
        return str(value)
    return value


# --- code blocks -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Snippet:
    """Parsed code and where its first line is in the page."""

    tree: ast.Module
    first_line: int
    commented: bool


@dataclass(frozen=True, slots=True)
class _Assignment:
    name: str
    value: str
    line: int
    commented: bool


def _code_blocks(lines: list[str], start: int) -> Iterator[tuple[list[str], int]]:
    """Python (or unlabelled) fenced blocks of the body: (lines, 1-based page line of the first)."""
    i = start
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence, language = len(opening.group(1)), opening.group(2), opening.group(3).lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                break
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            j += 1
        if language in _CODE_LANGUAGES:
            yield body, i + 2
        i = j + 1


def _scan_code(page: _Page, lines: list[str], body_start: int) -> None:
    snippets: list[_Snippet] = []
    for block, first_line in _code_blocks(lines, body_start):
        live = [f"{m.group(1)}pass" if (m := _SHELL_LINE.match(line)) else line for line in block]
        snippets += [_Snippet(tree, line, False) for tree, line in _parse_code(live, first_line)]
        for run, run_line in _comment_runs(block, first_line):
            snippets += [_Snippet(tree, line, True) for tree, line in _parse_statements(run, run_line)]
    load_names = {"torch.hub.load"}
    assignments: list[_Assignment] = []
    calls: list[tuple[ast.Call, int, bool]] = []
    for snippet in snippets:
        offset = snippet.first_line - 1
        for node in ast.walk(snippet.tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                load_names |= _load_aliases(node)
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
                  and isinstance(node.value.value, str)):
                assignments.append(_Assignment(node.targets[0].id, node.value.value, node.lineno + offset,
                                               snippet.commented))
            elif isinstance(node, ast.Call):
                calls.append((node, node.lineno + offset, snippet.commented))
    assignments.sort(key=lambda a: a.line)
    seen: set[tuple[int, str, str]] = set()
    for call, line, commented in sorted(calls, key=lambda c: (c[1], c[0].col_offset)):
        if _dotted(call.func) not in load_names:
            continue
        loads = _resolve_load(call, line, commented, assignments)
        if not loads:
            page.unresolved_lines.append(line)
        for load in loads:
            if (load.line, *load.key) not in seen:
                seen.add((load.line, *load.key))
                page.loads.append(load)


def _parse_code(lines: list[str], first_line: int) -> list[tuple[ast.Module, int]]:
    tree = _try_parse("\n".join(lines))
    if tree is not None:
        return [(tree, first_line)]
    return list(_parse_statements(lines, first_line))


def _parse_statements(lines: list[str], first_line: int) -> Iterator[tuple[ast.Module, int]]:
    """What parses of code that does not as a whole (Python 2, shell, prose): at each line the
    shortest run of lines that parses, or the line is dropped."""
    i = 0
    while i < len(lines):
        for end in range(i + 1, min(len(lines), i + _MAX_STATEMENT_LINES) + 1):
            tree = _try_parse(textwrap.dedent("\n".join(lines[i:end])))
            if tree is not None:
                yield tree, first_line + i
                i = end
                break
        else:
            i += 1


def _try_parse(source: str) -> ast.Module | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings (invalid escapes) in someone else's snippets
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def _comment_runs(block: list[str], first_line: int) -> Iterator[tuple[list[str], int]]:
    """Consecutive whole-line comments with their '#' removed: variants are often left commented out
    (``# model = torch.hub.load(..., 'resnet34')``), sometimes over several lines."""
    run: list[str] = []
    for index, line in enumerate([*block, ""]):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            uncommented = stripped[1:]
            run.append(uncommented[1:] if uncommented.startswith(" ") else uncommented)
        elif run:
            yield run, first_line + index - len(run)
            run = []


def _load_aliases(node: ast.Import | ast.ImportFrom) -> set[str]:
    """Dotted names that mean torch.hub.load after this import."""
    names: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname and alias.name == "torch":
                names.add(f"{alias.asname}.hub.load")
            elif alias.asname and alias.name == "torch.hub":
                names.add(f"{alias.asname}.load")
    elif node.module == "torch" and node.level == 0:
        names |= {f"{a.asname or a.name}.load" for a in node.names if a.name == "hub"}
    elif node.module == "torch.hub" and node.level == 0:
        names |= {a.asname or a.name for a in node.names if a.name == "load"}
    return names


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _resolve_load(call: ast.Call, line: int, commented: bool, assignments: list[_Assignment]) -> list[_Load]:
    """The (repo, entrypoint) pairs a call loads; several when a variable argument has variants."""
    positional: list[ast.expr] = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            break
        positional.append(arg)
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg is not None}
    # Older torch releases named the first parameter `github`.
    repo_arg = positional[0] if positional else keywords.get("repo_or_dir", keywords.get("github"))
    model_arg = positional[1] if len(positional) > 1 else keywords.get("model")
    if repo_arg is None or model_arg is None:
        return []
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg in ("repo_or_dir", "github", "model"):
            continue
        value = _literal(kw.value)
        if kw.arg is not None and value is not _NOT_LITERAL:
            kwargs[kw.arg] = value
        elif kw.arg is None and isinstance(value, dict):  # **{'topN': 6, ...}
            kwargs.update(value)
    if kwargs.get("source") == "local":
        return []
    args: list[Any] = []
    for arg in positional[2:]:
        value = _literal(arg)
        if value is _NOT_LITERAL:  # later positions would be misread without this one
            break
        args.append(value)
    loads = []
    for repo_text, repo_commented in _string_values(repo_arg, line, assignments):
        match = _REPO_AND_REF.fullmatch(repo_text)
        if match is None:
            continue
        owner, repo = match.group(1).split("/")
        for entrypoint, entry_commented in _string_values(model_arg, line, assignments):
            loads.append(_Load(owner, repo, match.group(2), entrypoint, args, kwargs, line,
                               commented or repo_commented or entry_commented))
    return loads


_NOT_LITERAL = object()


def _literal(node: ast.expr) -> Any:
    try:
        return _jsonable(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _string_values(node: ast.expr, line: int, assignments: list[_Assignment]) -> list[tuple[str, bool]]:
    """A string argument's values and whether each comes from a commented-out line.

    A variable takes its latest uncommented string assignment before the call; commented-out
    reassignments before the call are variants, as in ``model_type = "DPT_Large"`` followed by
    ``#model_type = "DPT_Hybrid"``.
    """
    if isinstance(node, ast.Constant):
        return [(node.value, False)] if isinstance(node.value, str) and node.value.strip() else []
    if not isinstance(node, ast.Name):
        return []
    earlier = [a for a in assignments if a.name == node.id and a.line < line]
    live = [a for a in earlier if not a.commented]
    values = [(live[-1].value, False)] if live else []
    values += [(a.value, True) for a in earlier if a.commented]
    return list(dict.fromkeys(v for v in values if v[0].strip()))


# --- records -----------------------------------------------------------------------------------------


def _records(pages: list[_Page], file_dates: FileDates) -> tuple[list[ModelRecord], list[str]]:
    """The catalogue's records, and the pages that name no model at all."""
    order = {page.name: index for index, page in enumerate(pages)}
    by_key: dict[tuple[str, str], list[tuple[_Page, _Load]]] = {}
    for page in pages:
        for load in page.loads:
            by_key.setdefault(load.key, []).append((page, load))
    records: dict[str, ModelRecord] = {}
    modelless: list[str] = []
    for sightings in by_key.values():
        first = sightings[0][1]
        entrypoints = tuple({"repo": f"{load.owner}/{load.repo}", "ref": load.ref, "entrypoint": load.entrypoint,
                             "args": load.args, "kwargs": load.kwargs, "file": page.name, "line": load.line,
                             "commented": load.commented} for page, load in sightings)
        home = _home_page([page for page, _ in sightings], first.entrypoint, order)
        model_id = f"{first.owner}/{first.repo}/{first.entrypoint}"
        records[model_id] = _record(home, model_id, f"{first.owner}/{first.repo}", entrypoints, file_dates)
    for page in pages:
        if page.loads:
            continue
        # No load call we could read: the page still names a model, so it is kept as one record
        # named after its title; its entrypoints are unknown, hence none.
        github_repo = _front_matter_repo(page.front_matter)
        if github_repo is None:
            modelless.append(page.name)
            continue
        slug = re.sub(r"[^a-z0-9]+", "-", (_text(page.front_matter.get("title")) or page.name[:-3]).lower())
        model_id = f"{github_repo}/{slug.strip('-')}"
        # setdefault: a model some other page loads by that same name keeps that page's record.
        records.setdefault(model_id, _record(page, model_id, github_repo, (), file_dates))
    return sorted(records.values(), key=lambda r: (order[r.raw["file"]], r.model_id)), modelless


def _home_page(candidates: list[_Page], entrypoint: str, order: dict[str, int]) -> _Page:
    """The page a model's metadata comes from when several load it (NVIDIA's pages load each
    other's models): the one whose title names it, else the one that loads it first, else the
    first page."""
    def normal(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower())

    wanted = normal(entrypoint)

    def rank(page: _Page) -> tuple[bool, bool, int]:
        title = normal(_text(page.front_matter.get("title")) or "")
        first = next((load for load in page.loads if not load.commented), None)
        return (not (title and title in wanted), not (first and first.entrypoint == entrypoint),
                order[page.name])

    return min(candidates, key=rank)


def _record(page: _Page, model_id: str, github_repo: str, entrypoints: tuple[dict[str, Any], ...],
            file_dates: FileDates) -> ModelRecord:
    fm = page.front_matter
    tags = _tags(fm.get("tags"))
    lowered = {t.lower() for t in tags}
    domain = next((d for tag, d in _DOMAIN_BY_TAG.items() if tag in lowered), "Other")
    raw = {"file": page.name, "front_matter": fm, "front_matter_error": page.front_matter_error,
           "unresolved_load_lines": page.unresolved_lines}
    digest = hashlib.blake2b(orjson.dumps({"raw": raw, "entrypoints": entrypoints, "card": page.text},
                                          option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()
    created_at, last_modified = file_dates.get(page.name, (None, None))
    return ModelRecord(
        hub=HUB,
        model_id=model_id,
        author=_text(fm.get("author")),
        created_at=created_at,
        last_modified=last_modified,
        domain=domain,
        tags=tags,
        github_repo=github_repo,
        entrypoints=entrypoints,
        title=_text(fm.get("title")),
        summary=_text(fm.get("summary")),
        card_text=page.text,
        raw=raw,
        raw_hash=digest,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _tags(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(dict.fromkeys(t for t in (_text(item) for item in items) if t))


def _front_matter_repo(front_matter: dict[str, Any]) -> str | None:
    for key in ("github-id", "github-link"):
        repo = github_repo_from(_text(front_matter.get(key)))
        if repo is not None:
            return repo
    return None


def github_repo_from(value: str | None) -> str | None:
    """``owner/name`` from a github-id or a GitHub URL, however deep (/tree/..., /blob/..., .git)."""
    if not value:
        return None
    if "github.com" in value.lower():
        parts = urlsplit(value if "://" in value else f"https://{value}")
        if parts.hostname not in ("github.com", "www.github.com"):
            return None
        path = parts.path
    else:
        path = value.split("?")[0].split("#")[0]
    segments = [s for s in path.split("/") if s]
    if len(segments) < 2:
        return None
    owner, name = segments[0], segments[1].removesuffix(".git")
    return f"{owner}/{name}" if _GITHUB_REPO.fullmatch(f"{owner}/{name}") else None
