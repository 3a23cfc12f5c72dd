"""Listing trees by content: git ls-tree ids and hashed files name contents alike; links are never followed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ptmscope.scan.blobs import (
    SYMLINK,
    ContentChangedError,
    blob_id,
    file_blob_id,
    git_tree,
    materialise_blob,
    walk_tree,
)
from tests.scan.gitrepos import Link, commit, git

ODD = "caf\udce9.py"  # the byte 0xE9 alone: not UTF-8


def _files(root: Path) -> dict[str, bytes | Link]:
    return {
        "a.py": b"print('a')\n",
        "dir/b.py": b"x = 1\n",
        "dir/same.py": b"print('a')\n",
        "bin.dat": b"\x00\x01\x02" * 100,
        ODD: b"import os\n",
        "link.py": Link("a.py"),
        "loop": Link("loop"),
        "outside": Link("/etc/passwd"),
        "dirlink": Link("dir"),
    }


def test_git_listing_and_walk_name_the_same_contents(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    sha = commit(root, _files(root))
    listed = git_tree(root)
    assert listed is not None and listed.commit == sha
    walked = walk_tree(root)
    assert [f.display for f in listed.files] == [f.display for f in walked.files] == [
        "a.py", "bin.dat", "caf\\xe9.py", "dir/b.py", "dir/same.py"]
    for from_git, on_disk in zip(listed.files, walked.files, strict=True):
        assert on_disk.sha is None  # a walk reads nothing until asked
        assert from_git.sha == file_blob_id(on_disk.path) == git(root, "hash-object", "--", os.fsdecode(
            os.fsencode(on_disk.path)))
        assert from_git.size == on_disk.size
    assert listed.files[0].sha == listed.files[4].sha == blob_id(b"print('a')\n")
    links = [(s.path, s.reason) for s in listed.skipped]
    assert links == [(s.path, s.reason) for s in walked.skipped]
    assert links == [("dirlink", SYMLINK), ("link.py", SYMLINK), ("loop", SYMLINK), ("outside", SYMLINK)]


def test_git_listing_follows_the_disk(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    commit(root, {"kept.py": b"a = 1\n", "left_out.bin": b"big" * 100, "converted.py": b"b = 2\n"})
    (root / "left_out.bin").unlink()  # what a clone does with a file over its size limit
    (root / "converted.py").write_bytes(b"b = 2\r\n")  # what an eol attribute does on checkout
    listed = git_tree(root)
    assert listed is not None
    files = {f.display: f for f in listed.files}
    assert sorted(files) == ["converted.py", "kept.py"]
    assert files["kept.py"].sha == blob_id(b"a = 1\n")
    assert files["converted.py"].sha is None  # its blob is not what is on disk: hashed when read
    assert file_blob_id(files["converted.py"].path) == blob_id(b"b = 2\r\n")


def test_plain_directories_and_unfinished_clones_are_not_git_listed(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    assert git_tree(tmp_path / "plain") is None
    root = tmp_path / "building"
    commit(root, {"a.py": b"a = 1\n"})
    (root / ".git" / "ptmscope-building").touch()
    assert git_tree(root) is None
    # A directory inside some other checkout is not that checkout.
    outer = tmp_path / "outer"
    commit(outer, {"sub/a.py": b"a = 1\n"})
    assert git_tree(outer / "sub") is None


def test_walk_lists_special_files_and_skips_only_the_top_git(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    (tmp_path / "sub" / ".git").mkdir(parents=True)
    (tmp_path / "sub" / ".git" / "x.py").write_text("x = 1\n")
    tree = walk_tree(tmp_path)
    assert [f.display for f in tree.files] == ["sub/.git/x.py"]
    assert [(s.path, s.reason) for s in tree.skipped] == [("pipe", "not a regular file")]


def _other_file_system(tmp_path: Path) -> Path:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no writable second file system to copy across")
    return Path(tempfile.mkdtemp(dir=shm))


@pytest.mark.parametrize("across", [False, True], ids=["hard-linked", "copied"])
def test_materialising_checks_the_content_and_never_follows_links(tmp_path: Path, across: bool) -> None:
    work = _other_file_system(tmp_path) if across else tmp_path / "work"
    work.mkdir(exist_ok=True)
    try:
        source = tmp_path / "a.py"
        source.write_bytes(b"\x00binary")
        assert materialise_blob(source, work / "copy", blob_id(b"\x00binary")) is True
        assert (work / "copy").read_bytes() == b"\x00binary"
        assert ((work / "copy").stat().st_ino == source.stat().st_ino) is not across
        source.unlink()
        source.write_bytes(b"changed")  # a new file, the way git replaces one
        with pytest.raises(ContentChangedError, match="no longer holds blob"):
            materialise_blob(source, work / "copy2", blob_id(b"\x00binary"))
        assert not (work / "copy2").exists()
        (tmp_path / "link").symlink_to(source)
        with pytest.raises(OSError):
            materialise_blob(tmp_path / "link", work / "copy3", blob_id(b"changed"))
        with pytest.raises(OSError):
            file_blob_id(tmp_path / "link")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_sha256_repositories(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    try:
        git(root, "init", "-q", "--object-format=sha256")
    except subprocess.CalledProcessError:
        pytest.skip("this git cannot make SHA-256 repositories")
    commit(root, {"a.py": b"a = 1\n"})
    listed = git_tree(root)
    assert listed is not None
    [entry] = listed.files
    assert entry.sha is not None and len(entry.sha) == 64
    assert materialise_blob(entry.path, tmp_path / "copy", entry.sha) is False
