"""File contents as git blobs: which contents a tree holds, and each content copied once to be scanned.

A scan result belongs to a content, named by its git blob id (sha1 of ``b"blob <size>\\0" + content``),
so one scan of a content serves every repository and path holding it. For a clone the ids are free:
``git ls-tree`` lists them without reading a file. Any other directory is walked and its files hashed
in the same format, so both kinds of tree name the same content the same way.

Nothing here follows a symlink: links, and anything else that is not a regular file, are listed as
skipped with the reason, and files are opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..github.clone import display_name, has_clone
from .interface import Skipped

CHUNK = 1 << 20
# git's own test for binary content: a NUL byte in the first 8,000 bytes.
BINARY_SNIFF = 8000
SYMLINK = "symlink, not followed"
_MODE_FILE = (b"100644", b"100755")
_MODE_SYMLINK = b"120000"
_MODE_GITLINK = b"160000"
_GIT_TIMEOUT = 600.0


class ContentChangedError(Exception):
    """A file no longer holds the content it was listed with (its tree changed meanwhile)."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: Path  # on disk; non-UTF-8 names are surrogate-escaped, which every os call accepts
    display: str  # "/"-separated, relative to the root, non-UTF-8 bytes as \xNN
    size: int
    sha: str | None  # the git blob id when the listing knew it without reading the file


@dataclass
class Tree:
    files: list[FileEntry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    commit: str | None = None  # the commit a git listing was made at


def _hasher(size: int, sha_length: int = 40) -> hashlib._Hash:
    # A repository in git's SHA-256 object format names blobs with 64 hex digits.
    algorithm = "sha256" if sha_length == 64 else "sha1"
    return hashlib.new(algorithm, b"blob %d\0" % size, usedforsecurity=False)


def blob_id(data: bytes) -> str:
    digest = _hasher(len(data))
    digest.update(data)
    return digest.hexdigest()


def _open(path: Path | str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"not a regular file: {display_name(str(path))}")
    return fd


def file_blob_id(path: Path | str) -> str:
    """The git blob id of a file's content, read in chunks (the file may be large)."""
    fd = _open(path)
    try:
        size = os.fstat(fd).st_size
        digest = _hasher(size)
        read = 0
        while chunk := os.read(fd, CHUNK):
            digest.update(chunk)
            read += len(chunk)
    finally:
        os.close(fd)
    if read != size:
        raise ContentChangedError(f"{display_name(str(path))} changed size while being read")
    return digest.hexdigest()


def _read_checked(fd: int, sha: str, out: BinaryIO | None) -> bool:
    """Read ``fd`` to its end (writing it to ``out``) checking it is blob ``sha``; whether it is binary."""
    digest = _hasher(os.fstat(fd).st_size, len(sha))
    binary: bool | None = None
    while chunk := os.read(fd, CHUNK):
        if binary is None:
            binary = b"\0" in chunk[:BINARY_SNIFF]
        digest.update(chunk)
        if out is not None:
            out.write(chunk)
    if digest.hexdigest() != sha:
        raise ContentChangedError(sha)
    return bool(binary)


def materialise_blob(source: Path | str, dest: Path, sha: str) -> bool:
    """Make ``dest`` hold the content of ``source``, checked to be blob id ``sha``; whether it is binary.

    A hard link where the file system allows one (creating thousands of small files costs far more than
    linking them), else a copy. A link is checked after it is made, so what is checked is what will be
    read. Raises :class:`ContentChangedError` (removing ``dest``) when the content is not ``sha``."""
    try:
        try:
            os.link(source, dest, follow_symlinks=False)
        except OSError:  # another file system, or hard links not allowed here
            fd = _open(source)
            try:
                with dest.open("wb") as out:
                    return _read_checked(fd, sha, out)
            finally:
                os.close(fd)
        fd = _open(dest)  # a symlink linked in place of the file is refused here
        try:
            return _read_checked(fd, sha, None)
        finally:
            os.close(fd)
    except ContentChangedError:
        dest.unlink(missing_ok=True)
        raise ContentChangedError(f"{display_name(str(source))} no longer holds blob {sha}") from None


def walk_tree(root: Path) -> Tree:
    """The files under ``root`` (outside its top-level ``.git``) as they are on disk now, in name order.

    Unlike :func:`ptmscope.github.clone.safe_walk`, symlinks, special files and unreadable directories
    are listed too (as skipped), since a scan report says what it did not read. Contents are not hashed
    here: most files are read by no scanner."""
    tree = Tree()

    def unreadable(exc: OSError) -> None:
        rel = os.path.relpath(exc.filename, root) if exc.filename else "."
        tree.skipped.append(Skipped(_display(rel), f"unreadable directory: {exc.strerror or exc}"))

    for directory, dirs, names in os.walk(root, onerror=unreadable):
        rel_dir = os.path.relpath(directory, root)
        if rel_dir == ".":
            dirs[:] = [d for d in dirs if d != ".git"]
        dirs.sort()
        links = [d for d in dirs if os.path.islink(os.path.join(directory, d))]  # listed, never entered
        for name in sorted(n for n in names + links if rel_dir != "." or n != ".git"):
            full = os.path.join(directory, name)
            rel = _display(name if rel_dir == "." else os.path.join(rel_dir, name))
            try:
                info = os.lstat(full)
            except OSError as exc:
                tree.skipped.append(Skipped(rel, f"unreadable: {exc.strerror or exc}"))
                continue
            if stat.S_ISLNK(info.st_mode):
                tree.skipped.append(Skipped(rel, SYMLINK))
            elif stat.S_ISREG(info.st_mode):
                tree.files.append(FileEntry(Path(full), rel, info.st_size, None))
            else:
                tree.skipped.append(Skipped(rel, "not a regular file"))
    tree.files.sort(key=lambda f: f.display)
    tree.skipped.sort(key=lambda s: (s.path, s.reason))
    return tree


def _display(rel: str) -> str:
    return display_name(rel.replace(os.sep, "/"))


def _git(root: Path, *args: str) -> bytes:
    # No system or global configuration, and git is told exactly which repository to read, so a
    # directory inside some other checkout is never listed as that checkout. Reading a tree runs no
    # hook or filter.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_DIR": str(root / ".git"), "GIT_WORK_TREE": str(root),
           "LC_ALL": "C", "HOME": os.environ.get("HOME", "/")}
    done = subprocess.run(["git", "-c", "core.fsmonitor=false", *args], env=env, cwd=root,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=_GIT_TIMEOUT, check=True)
    return done.stdout


def git_tree(root: Path) -> Tree | None:
    """The files of a finished clone's HEAD with their blob ids from ``git ls-tree``, checked against
    the disk: files the clone left out (over its size limit) are not there to scan and are left out
    here too, and a file whose size differs from its blob's (a checkout conversion) is hashed as it
    is on disk. None when ``root`` is not a finished clone or git cannot read it."""
    if not has_clone(root):
        return None
    try:
        commit = _git(root, "rev-parse", "--verify", "HEAD^{commit}").decode("ascii").strip()
        listing = _git(root, "ls-tree", "-r", "-l", "-z", "--full-tree", commit)
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None
    tree = Tree(commit=commit)
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, raw = record.partition(b"\t")
        mode, _kind, sha, size = meta.split()
        rel = display_name(raw)
        if mode == _MODE_SYMLINK:
            tree.skipped.append(Skipped(rel, SYMLINK))
            continue
        if mode not in _MODE_FILE:  # submodules: the clone records them; there is nothing here to read
            continue
        path = root / os.fsdecode(raw)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            tree.skipped.append(Skipped(rel, f"unreadable: {exc.strerror or exc}"))
            continue
        if not stat.S_ISREG(info.st_mode):
            tree.skipped.append(Skipped(rel, SYMLINK if stat.S_ISLNK(info.st_mode) else "not a regular file"))
            continue
        tree.files.append(FileEntry(path, rel, info.st_size, sha.decode("ascii") if info.st_size == int(size)
                                    else None))
    tree.files.sort(key=lambda f: f.display)
    tree.skipped.sort(key=lambda s: (s.path, s.reason))
    return tree
