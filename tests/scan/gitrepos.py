"""Real git repositories for the scanning tests: a fork family, hostile trees, and the store rows that
make them look like clones made by ``ptmscope clone``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from ptmscope.scan.interface import Scanner
from ptmscope.scan.run import SCANNERS, make_scanners
from ptmscope.store import Store, schema

HOST = "github.com"


@dataclass(frozen=True)
class Link:
    target: str


Files = Mapping[str, bytes | Link]

SOURCES: dict[str, bytes] = {
    "README.md": b"# tinynet\n\nA small model.\n",
    "train.py": (b"import os\nimport pickle\nimport subprocess\n\n\ndef load(path):\n"
                 b"    with open(path, 'rb') as fh:\n        return pickle.load(fh)\n\n\n"
                 b"def run(cmd):\n    subprocess.call(cmd, shell=True)\n"),
    "model/net.py": (b"import hashlib\nimport yaml\n\n\ndef digest(data):\n"
                     b"    return hashlib.md5(data).hexdigest()\n\n\ndef config(text):\n    return yaml.load(text)\n"),
    "model/__init__.py": b"",
    "utils/io.py": (b"import tempfile\nimport requests\n\n\ndef fetch(url):\n"
                    b"    return requests.get(url, verify=False, timeout=5)\n\n\ndef scratch():\n"
                    b"    return tempfile.mktemp()\n"),
    "utils/safe.py": b"def add(a, b):\n    return a + b\n",
    "ext/fast.c": (b"#include <string.h>\n#include <stdio.h>\n\nvoid copy(char *dst, const char *src) {\n"
                   b"    strcpy(dst, src);\n}\n\nvoid show(const char *fmt) {\n    printf(fmt);\n}\n"),
    "tests/test_net.py": b"from model.net import digest\n\n\ndef test_digest():\n    assert digest(b'x')\n",
}
SOURCES["vendor/copy_of_train.py"] = SOURCES["train.py"]  # one content at two paths
BASE: dict[str, bytes | Link] = {**SOURCES, "docs/link.py": Link("../train.py")}


def git(root: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    done = subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


def write(root: Path, files: Files) -> None:
    for rel, content in files.items():
        path = root / os.fsdecode(rel.encode("utf-8", "surrogateescape"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        if isinstance(content, Link):
            path.symlink_to(content.target)
        else:
            path.write_bytes(content)


def commit(root: Path, files: Files, message: str = "change") -> str:
    """Write ``files`` into the repository at ``root`` (made when missing) and commit everything."""
    if not (root / ".git").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        git(root, "-c", "init.defaultBranch=main", "init", "-q")
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def fork_changes(n: int) -> dict[str, bytes | Link]:
    """Fork ``n``'s edits to the base: fork 0 has none (most forks add no commit); the others change one
    file each (a new vulnerable line) and some add a file."""
    if n == 0:
        return {}
    target = ("train.py", "model/net.py", "utils/io.py")[n % 3]
    changes: dict[str, bytes | Link] = {target: SOURCES[target] + f"\n\ndef fork{n}(x):  # fork {n}\n"
                                        f"    return eval(x)\n".encode()}
    if n % 2 == 0:
        changes[f"extra/fork{n}.py"] = f"import os\n\n\ndef go():\n    os.system('echo {n}')\n".encode()
    return changes


@dataclass(frozen=True)
class Repo:
    owner: str
    name: str
    root: Path
    sha: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def fork_family(repos_dir: Path, forks: int) -> list[Repo]:
    """An upstream repository and ``forks`` forks of it, each its own git repository where ``ptmscope
    clone`` would have put it."""
    repos = []
    for n in range(forks + 1):
        owner = "upstream" if n == 0 else f"user{n}"
        root = repos_dir / HOST / owner / "tinynet"
        commit(root, BASE, "base")
        sha = commit(root, fork_changes(n), f"fork {n}") if n else git(root, "rev-parse", "HEAD")
        repos.append(Repo(owner, "tinynet", root, sha))
    return repos


def register(store: Store, repos_dir: Path, repos: Sequence[Repo], perspective: str = "hf_org_fork") -> dict[str, int]:
    """Repository rows for ``repos`` as a finished clone records them; their ids by owner/name."""
    pks = {}
    with store.engine.begin() as conn:
        for repo in repos:
            pk = conn.execute(insert(schema.repository).values(
                host=HOST, owner=repo.owner, name=repo.name, full_name_lower=repo.full_name.lower(), status="ok",
                clone_status="cloned", clone_path=repo.root.relative_to(repos_dir).as_posix(), cloned_sha=repo.sha,
                cloned_at=datetime.now(UTC)).returning(schema.repository.c.id)).scalar_one()
            conn.execute(insert(schema.repo_source).values(repository=pk, perspective=perspective))
            pks[repo.full_name] = pk
    return pks


def available_scanners(*names: str) -> list[Scanner]:
    """The real scanners among ``names`` that exist in this checkout and can run here; a test needs at
    least bandit."""
    found: list[Scanner] = []
    for name in names:
        if name not in SCANNERS:
            continue
        try:
            scanner = make_scanners([name])[0]
            scanner.version()
        except Exception:  # another scanner still being written, or its tool missing: run without it
            continue
        found.append(scanner)
    if not any(s.name == "bandit" for s in found):
        pytest.skip("BanditScanner is not available")
    return found
