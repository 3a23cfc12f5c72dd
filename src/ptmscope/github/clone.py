"""Cloning repositories with git without ever running anything they contain.

What a hostile repository (or a hostile environment around us) could try, and what stops it:

- hooks: git runs with no system or global configuration (``GIT_CONFIG_NOSYSTEM``,
  ``GIT_CONFIG_GLOBAL=/dev/null``), an environment built from an allow-list (so no
  ``GIT_CONFIG_COUNT``/``GIT_CONFIG_PARAMETERS``/``GIT_TEMPLATE_DIR`` from the caller), an empty
  template (``--template=``), and ``core.hooksPath=/dev/null`` both on the command line and written
  into the clone's own config, so a committed ``.githooks`` directory or template hook has nothing
  to be wired to; other configured programs (fsmonitor, credential helpers, filters such as LFS)
  are likewise never configured;
- transports that run programs (``ext::``, ``fd::``, any ``helper::``) and URLs that git would read
  as options are refused before git starts; only the URL's own protocol is allowed;
- submodules are never fetched; their paths are listed;
- pack and tree bombs: the download is watched while it runs, and the tree is sized from
  ``git ls-tree`` (streamed, stopping at the file limit) *before* anything is checked out, so an
  over-limit repository is skipped without writing its files and an oversized single file is never
  written at all;
- symlinks are checked out as links and never followed: :func:`safe_walk` descends only real
  directories, and links that leave the tree are recorded;
- non-UTF-8 names are handled as surrogate-escaped ``str`` on disk and recorded with ``\\xNN``
  escapes, so every recorded name is valid text for any database.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceUnavailableError

GIT_DIR = ".git"
# Present while a working tree is being (re)built; a tree with it is not a finished clone.
_BUILDING = "ptmscope-building"
_PATHSPEC = "ptmscope-pathspec"
_PARTIAL_SUFFIX = ".partial"
_POLL_SECONDS = 0.1
_LIST_SHOWN = 10

_ALLOWED_SCHEMES = ("https", "http", "ssh", "git", "file")
# git reads "<transport>::<address>" as "run git-remote-<transport>"; ext:: and fd:: run commands.
_TRANSPORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_NAME_PART = re.compile(r"^[A-Za-z0-9._-]+$")
_USERINFO = re.compile(r"://[^/@\s]+@")

_PASS_THROUGH_ENV = (
    "PATH", "HOME", "TMPDIR", "SSH_AUTH_SOCK", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
)
_GIT_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "credential.helper=",
    # Automatic gc may detach into the background and outlive our timeout.
    "gc.auto=0",
    "maintenance.auto=false",
    "fetch.fsckObjects=true",
)
# Cosmetic header defects that real, old repositories carry; fsck would otherwise refuse them.
# Structural checks (.gitmodules, ".." / ".git" paths, bad trees) stay errors.
_FSCK_COSMETIC = (
    "badDate", "badDateOverflow", "badEmail", "badName", "badTimezone", "missingEmail", "missingNameBeforeEmail",
    "missingSpaceBeforeDate", "missingSpaceBeforeEmail", "multipleAuthors", "zeroPaddedDate", "zeroPaddedFilemode",
)
_MODE_SYMLINK = b"120000"
_MODE_GITLINK = b"160000"


class CloneError(SourceUnavailableError):
    """git could not list, clone, fetch or check out a repository."""


class UnsafeUrlError(CloneError):
    """A URL that git could read as an option or as a command to run."""


class _OverLimitError(Exception):
    """The repository is larger than the limits allow; the message says how."""


@dataclass(frozen=True)
class CloneLimits:
    max_bytes: int = 1 << 30  # both the download and the files kept in the tree
    max_files: int = 100_000
    max_file_bytes: int = 50 << 20  # larger files are left out of the tree and listed
    timeout: float = 600.0  # seconds per git command


@dataclass
class CloneResult:
    """What a clone holds. ``status``: cloned / partial (files were left out) / skipped (over the
    limits: nothing is kept on disk). Every name in it is printable text (see :func:`display_name`)."""

    status: str
    sha: str | None = None
    path: Path | None = None
    file_count: int = 0
    byte_count: int = 0
    reason: str | None = None
    left_out: list[tuple[str, int]] = field(default_factory=list)
    outside_links: list[tuple[str, str]] = field(default_factory=list)
    odd_names: list[str] = field(default_factory=list)
    submodules: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def notes(self) -> str | None:
        """A one-paragraph account of everything unusual, for the store's ``clone_reason``."""
        parts = [self.reason] if self.reason else []
        if self.left_out:
            parts.append("files over the size limit, not checked out: "
                         + _shown(f"{name} ({size} bytes)" for name, size in self.left_out))
        if self.outside_links:
            parts.append("symlinks leaving the tree: " + _shown(f"{name} -> {target}"
                                                                for name, target in self.outside_links))
        if self.odd_names:
            parts.append("non-UTF-8 names: " + _shown(self.odd_names))
        if self.submodules:
            parts.append("submodules not cloned: " + _shown(self.submodules))
        if self.unreadable:
            parts.append("unreadable directories: " + _shown(self.unreadable))
        return "; ".join(parts) if parts else None


def _shown(items: Iterator[str] | Sequence[str]) -> str:
    items = list(items)
    more = f" (+{len(items) - _LIST_SHOWN} more)" if len(items) > _LIST_SHOWN else ""
    return ", ".join(items[:_LIST_SHOWN]) + more


def display_name(name: str | bytes) -> str:
    """A file name as valid text: bytes that are not UTF-8 become ``\\xNN``."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    return raw.decode("utf-8", "backslashreplace")


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- URLs and paths ---------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """The URL's scheme, or :class:`UnsafeUrlError` for anything git could misuse."""
    if url.startswith("-"):
        raise UnsafeUrlError(f"refusing a URL that git would read as an option: {url!r}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeUrlError(f"refusing a URL with control characters: {url!r}")
    if _TRANSPORT.match(url):
        raise UnsafeUrlError(f"refusing a git remote-helper transport (runs a program): {url!r}")
    scheme = _SCHEME.match(url)
    if scheme is None or scheme.group(1).lower() not in _ALLOWED_SCHEMES:
        raise UnsafeUrlError(f"refusing a URL without one of the schemes {', '.join(_ALLOWED_SCHEMES)}: {url!r}")
    return scheme.group(1).lower()


def _check_part(kind: str, value: str) -> str:
    if not _NAME_PART.match(value) or value in {".", ".."}:
        raise UnsafeUrlError(f"not a repository {kind}: {value!r}")
    return value


def clone_url(git_base: str, owner: str, name: str) -> str:
    """``{git_base}/{owner}/{name}`` (DESIGN §6), for names that cannot change the path."""
    return f"{git_base.rstrip('/')}/{_check_part('owner', owner)}/{_check_part('name', name)}"


def repo_dir(repos_dir: Path, host: str, owner: str, name: str) -> Path:
    """Where a repository's clone lives: ``repos_dir/<host>/<owner>/<name>``, lower-cased, since
    repository identity is case-insensitive."""
    parts = (_check_part("host", host), _check_part("owner", owner), _check_part("name", name))
    return repos_dir.joinpath(*(part.lower() for part in parts))


def has_clone(dest: Path) -> bool:
    """Whether ``dest`` holds a finished clone (not one a killed run left half-built)."""
    git_dir = dest / GIT_DIR
    return git_dir.is_dir() and not (git_dir / _BUILDING).exists()


def redact(text: str) -> str:
    """``text`` with the credentials of any URL in it masked."""
    return _USERINFO.sub("://***@", text)


# --- running git ------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {name: value for name in _PASS_THROUGH_ENV if (value := os.environ.get(name)) is not None}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        # Empty (not unset): git then asks no program, and does not fall back to SSH_ASKPASS.
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GIT_LFS_SKIP_SMUDGE="1",
        LC_ALL="C",
    )
    return env


def _command(args: Sequence[str | bytes], scheme: str | None = None) -> list[str | bytes]:
    config: list[str] = []
    for item in _GIT_CONFIG:
        config += ["-c", item]
    for msg_id in _FSCK_COSMETIC:
        config += ["-c", f"fetch.fsck.{msg_id}=ignore"]
    if scheme is not None:
        # Only the protocol of the URL we were given: file:// is never allowed for a remote URL.
        config += ["-c", "protocol.allow=never", "-c", f"protocol.{scheme}.allow=always"]
    return ["git", *config, *args]


def _failure(args: Sequence[str | bytes], stderr: bytes, returncode: int) -> CloneError:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    verb = next((a for a in args if isinstance(a, str) and not a.startswith("-")), "git")
    # The first error line says what went wrong; git follows it with generic advice.
    errors = [line.split(":", 1)[1].strip() for line in lines if line.startswith(("fatal:", "error:"))]
    reason = errors[0] if errors else lines[-1] if lines else f"exited with status {returncode}"
    return CloneError(redact(f"git {verb}: {reason}"))


def _run(args: Sequence[str | bytes], *, timeout: float, cwd: Path | None = None, scheme: str | None = None,
         watch: Path | None = None, budget: int = 0) -> bytes:
    """Run git; its stdout. With ``watch``, git is stopped once that directory outgrows ``budget``."""
    try:
        proc = subprocess.Popen(_command(args, scheme), cwd=cwd, env=_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise CloneError("git is not installed") from None
    deadline = time.monotonic() + timeout
    while True:
        try:
            out, err = proc.communicate(timeout=_POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                _stop(proc)
                raise CloneError(f"git {args[0]!s}: no result within {timeout:g} s") from None
            if watch is not None and (size := _disk_bytes(watch)) > budget:
                _stop(proc)
                raise _OverLimitError(f"download passed {size} bytes, over the limit of {budget}") from None
    if proc.returncode != 0:
        raise _failure(args, err, proc.returncode)
    return out


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.communicate()


def _disk_bytes(root: Path) -> int:
    total = 0
    stack = [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:  # git renames and deletes temporary files while we look
                        continue
        except OSError:
            continue
    return total


def git_version() -> str:
    return _run(["--version"], timeout=30).decode("ascii", "replace").strip().removeprefix("git version ")


def remote_head(url: str, branch: str | None = None, *, timeout: float = 60.0) -> str | None:
    """The commit the remote's HEAD (or ``branch``) points at, None when it has no such ref
    (an empty repository). One round trip; nothing is downloaded."""
    scheme = check_url(url)
    ref = "HEAD" if branch is None else f"refs/heads/{branch}"
    out = _run(["ls-remote", "--", url, ref], timeout=timeout, scheme=scheme)
    for line in out.splitlines():
        sha, _, name = line.partition(b"\t")
        if name == ref.encode():
            return sha.decode("ascii")
    return None


# --- cloning and updating ----------------------------------------------------------------------------------


def clone_repo(url: str, dest: Path, *, depth: int = 1, limits: CloneLimits | None = None) -> CloneResult:
    """A shallow clone of the default branch at ``dest``, replacing what was there.

    The clone is built beside ``dest`` and moved into place only when finished, so ``dest`` always
    holds a whole clone or none. A skipped repository leaves nothing at ``dest``. Raises
    :class:`CloneError` when git fails; ``dest`` is then left as it was."""
    limits = limits or CloneLimits()
    scheme = check_url(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in glob.glob(glob.escape(str(dest.parent / f".{dest.name}.")) + f"*{_PARTIAL_SUFFIX}"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a killed run
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=_PARTIAL_SUFFIX, dir=dest.parent))
    try:
        try:
            _run(["clone", "--template=", "--config", "core.hooksPath=/dev/null", "--config", "core.fsmonitor=false",
                  "--no-checkout", "--depth", str(depth), "--single-branch", "--no-tags", "--no-recurse-submodules",
                  "--quiet", "--", url, str(work)],
                 timeout=limits.timeout, scheme=scheme, watch=work / GIT_DIR / "objects", budget=limits.max_bytes)
            downloaded = _disk_bytes(work / GIT_DIR / "objects")
            if downloaded > limits.max_bytes:
                raise _OverLimitError(f"download of {downloaded} bytes, over the limit of {limits.max_bytes}")
            result = _build_tree(work, "HEAD", limits)
        except _OverLimitError as exc:
            _remove(dest)
            return CloneResult("skipped", sha=_head_or_none(work, limits.timeout), reason=str(exc))
        _remove(dest)
        work.rename(dest)
        result.path = dest
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def update_repo(url: str, dest: Path, *, depth: int = 1, limits: CloneLimits | None = None) -> CloneResult:
    """Fetch the remote HEAD into the clone at ``dest`` and rebuild its tree at that commit.

    Over the limits, the clone is removed and the result is ``skipped``. Raises :class:`CloneError`
    when there is no clone at ``dest`` or the fetch fails; the clone is then left as it was."""
    limits = limits or CloneLimits()
    scheme = check_url(url)
    git_dir = dest / GIT_DIR
    if not git_dir.is_dir():
        raise CloneError(f"no clone to update at {dest}")
    objects = git_dir / "objects"
    try:
        _run(["fetch", "--depth", str(depth), "--no-tags", "--no-recurse-submodules", "--quiet", "--", url, "HEAD"],
             cwd=dest, timeout=limits.timeout, scheme=scheme, watch=objects,
             budget=_disk_bytes(objects) + limits.max_bytes)
        sha = _rev_parse(dest, "FETCH_HEAD", limits.timeout)
        result = _build_tree(dest, sha, limits)
    except _OverLimitError as exc:
        _remove(dest)
        return CloneResult("skipped", reason=str(exc))
    result.path = dest
    return result


def _rev_parse(work: Path, rev: str, timeout: float) -> str:
    return _run(["rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}"], cwd=work,
                timeout=timeout).decode("ascii").strip()


def _head_or_none(work: Path, timeout: float) -> str | None:
    try:
        return _rev_parse(work, "HEAD", timeout)
    except CloneError:
        return None


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


@dataclass(frozen=True, slots=True)
class _TreeEntry:
    mode: bytes
    size: int
    path: bytes


def _ls_tree(work: Path, sha: str, limits: CloneLimits) -> list[_TreeEntry]:
    """Every entry of the commit's tree, streamed: a tree of a few kilobytes can name billions of
    paths through repeated subtrees, so listing stops as soon as the file limit is passed."""
    entries: list[_TreeEntry] = []
    files = 0
    args = ["ls-tree", "-r", "-l", "-z", "--full-tree", sha]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(_command(args), cwd=work, env=_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err)
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(limits.timeout, expire)
        timer.start()
        try:
            stdout = proc.stdout
            assert stdout is not None
            rest = b""
            while chunk := stdout.read(1 << 16):
                *records, rest = (rest + chunk).split(b"\0")
                for record in records:
                    meta, _, path = record.partition(b"\t")
                    mode, _kind, _object, size = meta.split()
                    entries.append(_TreeEntry(mode, 0 if size == b"-" else int(size), path))
                    files += mode != _MODE_GITLINK
                if files > limits.max_files:
                    raise _OverLimitError(f"more than {limits.max_files} files, over the limit")
        except BaseException:
            proc.kill()
            raise
        finally:
            proc.communicate()
            timer.cancel()
        if timed_out.is_set():
            raise CloneError(f"git ls-tree: no result within {limits.timeout:g} s")
        if proc.returncode != 0:
            err.seek(0)
            raise _failure(args, err.read(), proc.returncode)
    return entries


def _build_tree(work: Path, rev: str, limits: CloneLimits) -> CloneResult:
    """Check ``rev`` out into ``work`` (moving the branch there), leaving out oversized files.

    The size of every file is known from the tree before anything is written, so an over-limit
    repository raises :class:`_OverLimitError` with nothing checked out."""
    sha = _rev_parse(work, rev, limits.timeout)
    entries = _ls_tree(work, sha, limits)
    left_out = [e for e in entries if e.mode not in (_MODE_SYMLINK, _MODE_GITLINK) and e.size > limits.max_file_bytes]
    kept_bytes = sum(e.size for e in entries if e.mode not in (_MODE_SYMLINK, _MODE_GITLINK)) - sum(
        e.size for e in left_out)
    if kept_bytes > limits.max_bytes:
        raise _OverLimitError(f"{kept_bytes} bytes in files, over the limit of {limits.max_bytes}")
    git_dir = work / GIT_DIR
    building = git_dir / _BUILDING
    building.touch()
    with os.scandir(work) as top:
        for entry in top:
            if entry.name != GIT_DIR:
                _remove(Path(entry.path))
    (git_dir / "index").unlink(missing_ok=True)
    _run(["update-ref", "HEAD", sha], cwd=work, timeout=limits.timeout)
    if len(entries) > len(left_out):
        # Exclusions of literal paths, NUL-separated in a file: any byte may appear in a name, and a
        # pathspec made only of exclusions means "everything else".
        pathspec = git_dir / _PATHSPEC
        pathspec.write_bytes(b"".join(b":(exclude,literal)" + e.path + b"\0" for e in left_out) or b":(top)\0")
        _run(["checkout", sha, f"--pathspec-from-file={pathspec}", "--pathspec-file-nul"], cwd=work,
             timeout=limits.timeout)
        pathspec.unlink()
    result = CloneResult("partial" if left_out else "cloned", sha=sha,
                         left_out=[(display_name(e.path), e.size) for e in left_out],
                         submodules=[display_name(e.path) for e in entries if e.mode == _MODE_GITLINK])
    _survey(work, limits, result)
    if result.byte_count > limits.max_bytes or result.file_count > limits.max_files:
        # Checkout filters (line endings, working-tree encodings) can make files larger than their blobs.
        raise _OverLimitError(f"{result.file_count} files of {result.byte_count} bytes once checked out, "
                         f"over the limits ({limits.max_files} files, {limits.max_bytes} bytes)")
    building.unlink()
    return result


# --- walking a tree without following links -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TreeFile:
    """A regular file of a checked-out tree."""

    path: Path  # non-UTF-8 names are surrogate-escaped here, which every os and pathlib call accepts
    rel: str  # "/"-separated, relative to the root, with the same escapes
    size: int

    @property
    def display(self) -> str:
        return display_name(self.rel)


def _walk(root: Path, onerror: Callable[[str, OSError], None] | None = None,
          ) -> Iterator[tuple[os.DirEntry[str], str]]:
    """Every entry under ``root`` but the top-level ``.git``, in name order, descending only into real
    directories: a symlink is yielded as itself and never entered."""
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            if onerror is not None:
                onerror(prefix.rstrip("/") or ".", exc)
            continue
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            if not prefix and entry.name == GIT_DIR:
                continue
            rel = prefix + entry.name
            yield entry, rel
            if entry.is_dir(follow_symlinks=False):
                subdirs.append((entry.path, rel + "/"))
        stack.extend(reversed(subdirs))


def safe_walk(root: Path, onerror: Callable[[str, OSError], None] | None = None) -> Iterator[TreeFile]:
    """The regular files under ``root`` (outside its top-level ``.git``), never reached through a symlink,
    so a scanner using it reads only what the tree itself holds. ``onerror(rel, exc)`` hears of
    directories that could not be listed."""
    for entry, rel in _walk(root, onerror):
        if entry.is_file(follow_symlinks=False):
            yield TreeFile(Path(entry.path), rel, entry.stat(follow_symlinks=False).st_size)


def _leaves_tree(root_real: str, link: str, target: str) -> bool:
    if os.path.isabs(target):
        return True
    # realpath reads link targets only; it opens no file.
    resolved = os.path.realpath(link)
    return os.path.commonpath([root_real, resolved]) != root_real


def _survey(work: Path, limits: CloneLimits, result: CloneResult) -> None:
    root_real = os.path.realpath(work)
    for entry, rel in _walk(work, lambda rel, _exc: result.unreadable.append(display_name(rel))):
        if not _is_text(entry.name):
            result.odd_names.append(display_name(rel))
        if entry.is_symlink():
            result.file_count += 1
            target = os.readlink(entry.path)
            if _leaves_tree(root_real, entry.path, target):
                result.outside_links.append((display_name(rel), display_name(target)))
        elif entry.is_file(follow_symlinks=False):
            size = entry.stat(follow_symlinks=False).st_size
            if size > limits.max_file_bytes:  # grown past the limit by a checkout filter
                os.unlink(entry.path)
                result.left_out.append((display_name(rel), size))
                result.status = "partial"
                continue
            result.file_count += 1
            result.byte_count += size
