"""Scanning a fork family: naive per-repository scanning vs ptmscope's scan-each-content-once.

Generates one repository (a few thousand lines of varied Python with known vulnerable and safe
patterns, plus some C) and ``--forks`` forks with small changes (a quarter add no commit, the rest
edit a file, some add one), each a real git repository where ``ptmscope clone`` puts clones, and
measures in the same run:
- naive: every scanner once per repository over that repository's files (what scanning each
  repository on its own costs: the scanners' start-up is paid per repository);
- ptmscope: ``scan_all`` over the family into a new SQLite store, serially (no worker pool, so the
  ratio is the saving of scanning each unique content once), and again with the local process pool.
Prints both times, the ratio, and whether every repository's findings are identical.
Target (issue 4): >= 15x with 40 forks, identical findings.

    python bench/scan_forks.py [--forks 40] [--files 40] [--scanners bandit,flawfinder,semgrep,modelfiles]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ptmscope.scan.interface import Finding, Scanner, ScanTarget

HOST = "github.com"

# Function bodies, risky and safe variants of the same calls; {n} makes each instance its own function.
PY_SNIPPETS = (
    "def load_{n}(path):\n    import pickle\n    with open(path, 'rb') as fh:\n        return pickle.load(fh)\n",
    "def weights_{n}(path):\n    import torch\n    return torch.load(path)\n",
    "def safe_weights_{n}(path):\n    import torch\n    return torch.load(path, weights_only=True)\n",
    "def model_{n}(name):\n    from transformers import AutoModel\n"
    "    return AutoModel.from_pretrained(name, trust_remote_code=True)\n",
    "def config_{n}(text):\n    import yaml\n    return yaml.load(text)\n",
    "def safe_config_{n}(text):\n    import yaml\n    return yaml.safe_load(text)\n",
    "def shell_{n}(cmd):\n    import subprocess\n    return subprocess.call(cmd, shell=True)\n",
    "def digest_{n}(data):\n    import hashlib\n    return hashlib.md5(data).hexdigest()\n",
    "def fetch_{n}(url):\n    import requests\n    return requests.get(url, verify=False, timeout=10)\n",
    "def evaluate_{n}(expr):\n    return eval(expr)\n",
    "def scratch_{n}():\n    import tempfile\n    return tempfile.mktemp()\n",
    "def check_{n}(x):\n    assert x > 0\n    return x\n",
    "def add_{n}(a, b):\n    total = a + b\n    for i in range(3):\n        total += i\n    return total\n",
    "class Layer{n}:\n    def __init__(self, width):\n        self.width = width\n\n"
    "    def forward(self, xs):\n        return [x * self.width for x in xs]\n",
    "def mean_{n}(xs):\n    xs = list(xs)\n    return sum(xs) / len(xs) if xs else 0.0\n",
    "def words_{n}(text):\n    return sorted(set(text.lower().split()))\n",
)
C_SNIPPETS = (
    "void copy_{n}(char *dst, const char *src) {{\n    strcpy(dst, src);\n}}\n",
    "void show_{n}(const char *fmt) {{\n    printf(fmt);\n}}\n",
    "int sum_{n}(const int *xs, int n) {{\n    int s = 0;\n    for (int i = 0; i < n; i++) s += xs[i];\n"
    "    return s;\n}}\n",
    "void name_{n}(char *buf, const char *who) {{\n    sprintf(buf, \"hi %s\", who);\n}}\n",
)


def python_module(rng: random.Random, tag: str, functions: int) -> bytes:
    parts = [f'"""Module {tag}."""\n']
    for n in range(functions):
        parts.append(rng.choice(PY_SNIPPETS).format(n=n))
    return "\n\n".join(parts).encode()


def c_module(rng: random.Random, tag: str, functions: int) -> bytes:
    body = "".join(rng.choice(C_SNIPPETS).format(n=n) + "\n" for n in range(functions))
    return f"/* {tag} */\n#include <stdio.h>\n#include <string.h>\n\n{body}".encode()


def make_files(rng: random.Random, tag: str, files: int) -> dict[str, bytes]:
    """A repository's files: ``files`` Python modules of ~80 lines, a few C files, a README, settings."""
    out = {"README.md": f"# {tag}\n\nTrains a small model.\n".encode(),
           "requirements.txt": f"# {tag}\ntorch\ntransformers\npyyaml\nrequests\n".encode()}
    for i in range(files):
        package = ("models", "data", "train", "utils")[i % 4]
        out[f"{package}/m{i:03d}.py"] = python_module(rng, f"{tag}/{i}", rng.randint(14, 24))
    for i in range(max(1, files // 10)):
        out[f"csrc/k{i:02d}.c"] = c_module(rng, f"{tag}/c{i}", 6)
    return out


def git(root: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.org"}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True).stdout.decode().strip()


def make_repo(root: Path, files: Mapping[str, bytes]) -> str:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    git(root, "-c", "init.defaultBranch=main", "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "snapshot")
    return git(root, "rev-parse", "HEAD")


def register(url: str, repos_dir: Path, repos: Sequence[tuple[str, str, Path, str]]) -> dict[str, int]:
    from sqlalchemy import insert

    from ptmscope.store import open_store, schema

    store = open_store(url)
    pks = {}
    with store.engine.begin() as conn:
        for owner, name, root, sha in repos:
            pks[f"{owner}/{name}"] = conn.execute(insert(schema.repository).values(
                host=HOST, owner=owner, name=name, full_name_lower=f"{owner}/{name}".lower(), status="ok",
                clone_status="cloned", clone_path=root.relative_to(repos_dir).as_posix(),
                cloned_sha=sha).returning(schema.repository.c.id)).scalar_one()
    return pks


def fork_family(repos_dir: Path, forks: int, files: int, seed: int) -> list[tuple[str, str, Path, str]]:
    rng = random.Random(seed)
    base = make_files(rng, "upstream", files)
    repos = []
    for k in range(forks + 1):
        tree = dict(base)
        if k and k % 4:  # a quarter of the forks add no commit
            target = sorted(p for p in base if p.endswith(".py"))[rng.randrange(files)]
            tree[target] = base[target] + f"\n\ndef fork_{k}(x):\n    return eval(x)\n".encode()
            if k % 3 == 0:
                tree[f"experiments/fork_{k}.py"] = python_module(rng, f"fork{k}", 6)
        owner = "upstream" if k == 0 else f"user{k:02d}"
        root = repos_dir / HOST / owner / "model-zoo"
        repos.append((owner, "model-zoo", root, make_repo(root, tree)))
    return repos


def files_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if ".git" not in p.relative_to(root).parts and p.is_file()
                  and not p.is_symlink())


def naive(scanners: Sequence[Scanner], repos: Sequence[tuple[str, str, Path, str]],
          ) -> tuple[float, dict[str, list[Finding]]]:
    """Each scanner once per repository, over the files it reads, in place."""
    found: dict[str, list[Finding]] = {}
    start = time.perf_counter()
    for owner, name, root, _ in repos:
        findings: list[Finding] = []
        for scanner in scanners:
            targets = [ScanTarget(p, p.relative_to(root).as_posix()) for p in files_of(root)]
            findings += scanner.scan([t for t in targets if scanner.accepts(t)]).findings
        found[f"{owner}/{name}"] = findings
    return time.perf_counter() - start, found


def key(f: Finding) -> tuple[str, int, int, str, str, str]:
    return (f.path, f.line or 0, f.column or 0, f.scanner, f.rule_id, f.message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forks", type=int, default=40)
    parser.add_argument("--files", type=int, default=40, help="Python modules per repository")
    parser.add_argument("--scanners", default="bandit,flawfinder,semgrep,modelfiles")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from ptmscope.config import Settings
    from ptmscope.runtime.executors import LocalExecutor
    from ptmscope.scan.run import make_scanners, scan_all, stored_outcome
    from ptmscope.store import open_store

    scanners = make_scanners(args.scanners.split(","))
    with tempfile.TemporaryDirectory(prefix="ptmscope-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        repos = fork_family(settings.repos_dir, args.forks, args.files, args.seed)
        copies = sum(len(files_of(root)) for _, _, root, _ in repos)
        lines = sum(p.read_bytes().count(b"\n") for p in files_of(repos[0][2]))
        print(f"fork family: 1 repository + {args.forks} forks, {copies} file copies, "
              f"{lines} lines in the upstream; scanners: {', '.join(s.name for s in scanners)}")

        naive_s, naive_found = naive(scanners, repos)
        print(f"naive, each repository on its own:  {naive_s:8.1f} s")

        url = f"sqlite:///{Path(tmp) / 'serial.db'}"
        pks = register(url, settings.repos_dir, repos)
        start = time.perf_counter()
        summary = scan_all(open_store(url), settings, scanners)
        serial_s = time.perf_counter() - start
        print(f"ptmscope scan --all, serial:        {serial_s:8.1f} s  ({summary.blobs_scanned} contents scanned, "
              f"{summary.invocations} scanner runs, {summary.findings} findings)")

        pooled_url = f"sqlite:///{Path(tmp) / 'pool.db'}"
        register(pooled_url, settings.repos_dir, repos)
        start = time.perf_counter()
        with LocalExecutor() as executor:
            scan_all(open_store(pooled_url), settings, scanners, executor)
        pooled_s = time.perf_counter() - start
        print(f"ptmscope scan --all, {os.cpu_count()} processes:   {pooled_s:8.1f} s")

        store = open_store(url)
        identical = all(
            stored_outcome(store, pks[name]).findings == sorted(found, key=key)
            for name, found in naive_found.items())
        total = sum(len(found) for found in naive_found.values())
        print(f"findings: {total} over all repositories; identical per repository: {'yes' if identical else 'NO'}")
        print(f"ratio naive / ptmscope: {naive_s / serial_s:.1f}x serial, {naive_s / pooled_s:.1f}x with the pool "
              "(target >= 15x)")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
