"""Scanning each unique content once: a fork family scanned through the store gives every repository the
findings it gets scanned on its own, for about the cost of its unique contents; a refresh scans only
what is new; hostile files are skipped with reasons; a scanner failing on one file loses only that file."""

from __future__ import annotations

import os
import pickle
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from ptmscope.config import Settings
from ptmscope.scan.bandit import BanditScanner
from ptmscope.scan.blobs import SYMLINK, file_blob_id
from ptmscope.scan.interface import Finding, Scanner, ScanOutcome, ScanTarget
from ptmscope.scan.run import Batch, BlobItem, plan_batches, scan_all, scan_batch, scan_path, stored_outcome
from ptmscope.store import Store, open_store, schema
from tests.scan.gitrepos import (
    Link,
    Repo,
    available_scanners,
    commit,
    fork_family,
    register,
)

FORKS = 8
ODD = "caf\udce9.py"


@pytest.fixture
def family(tmp_path: Path) -> tuple[Settings, list[Repo]]:
    settings = Settings(data_dir=tmp_path / "data")
    return settings, fork_family(settings.repos_dir, FORKS)


def _naive(scanners: Sequence[Scanner], repos: Sequence[Repo]) -> dict[str, list[Finding]]:
    """Every scanner once over every file of every repository in place: no dedup, nothing of ptmscope
    but its scanner classes (one invocation each, so semgrep's start-up is paid once)."""
    per_repo: dict[str, list[Finding]] = defaultdict(list)
    for scanner in scanners:
        targets = [ScanTarget(path, f"{repo.full_name}/{path.relative_to(repo.root).as_posix()}")
                   for repo in repos for path in sorted(repo.root.rglob("*"))
                   if ".git" not in path.relative_to(repo.root).parts and path.is_file() and not path.is_symlink()]
        for finding in scanner.scan([t for t in targets if scanner.accepts(t)]).findings:
            owner, name, rel = finding.path.split("/", 2)
            per_repo[f"{owner}/{name}"].append(replace(finding, path=rel))
    return per_repo


def _key(f: Finding) -> tuple[object, ...]:
    return (f.path, f.line or 0, f.column or 0, f.scanner, f.rule_id, f.message)


def test_fork_family_findings_equal_scanning_each_repository_alone(family: tuple[Settings, list[Repo]],
                                                                    db_url: str) -> None:
    settings, repos = family
    store = open_store(db_url)
    pks = register(store, settings.repos_dir, repos)
    scanners = available_scanners("bandit", "flawfinder", "semgrep", "modelfiles")
    summary = scan_all(store, settings, scanners)
    assert (summary.repositories, summary.scanned, summary.failed) == (FORKS + 1, FORKS + 1, 0)

    naive = _naive(scanners, repos)
    cheap = [s for s in scanners if s.name != "semgrep"]  # semgrep's 2 s start-up per repository is the bench's
    for repo in repos:
        stored = stored_outcome(store, pks[repo.full_name])
        assert stored.findings == sorted(naive[repo.full_name], key=_key), repo.full_name
        alone = scan_path(repo.root, cheap)
        assert [f for f in stored.findings if f.scanner != "semgrep"] == alone.findings
        assert stored.skipped == alone.skipped
        assert ("docs/link.py", SYMLINK) in [(s.path, s.reason) for s in stored.skipped]
    # Every repository has the upstream's findings; each fork's own edit adds its own.
    upstream = {_key(f) for f in stored_outcome(store, pks["upstream/tinynet"]).findings}
    assert upstream and {"B602", "B301", "B506", "B324"} <= {k[4] for k in upstream}
    for repo in repos[1:]:
        mine = {_key(f) for f in stored_outcome(store, pks[repo.full_name]).findings}
        assert any(k[4] == "B307" for k in mine - upstream), repo.full_name  # its eval()

    # The cost is the unique contents: each (content, scanner) pair once, one invocation per scanner.
    copies = unique = busy = 0
    for scanner in scanners:
        seen = set()
        for repo in repos:
            for path in repo.root.rglob("*"):
                target = ScanTarget(path, path.relative_to(repo.root).as_posix())
                if ".git" not in path.parts and path.is_file() and not path.is_symlink() and scanner.accepts(target):
                    copies += 1
                    seen.add(path.read_bytes())
        unique += len(seen)
        busy += bool(seen)
    assert summary.blobs_scanned == unique
    assert copies >= 3 * unique
    assert summary.invocations == busy
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.blob_scan)) == unique
        assert conn.scalar(select(func.count()).select_from(schema.scan)) == len(repos) * len(scanners)
        paths = conn.execute(select(schema.repo_file.c.path).where(
            schema.repo_file.c.repository == pks["upstream/tinynet"]).order_by(schema.repo_file.c.path)).scalars()
        assert "docs/link.py" in list(paths)


def test_rescan_after_a_refresh_reads_only_new_content(family: tuple[Settings, list[Repo]], db_url: str) -> None:
    settings, repos = family
    store = open_store(db_url)
    pks = register(store, settings.repos_dir, repos)
    scanners = available_scanners("bandit", "flawfinder")
    first = scan_all(store, settings, scanners)
    again = scan_all(store, settings, scanners)
    assert (again.up_to_date, again.scanned, again.blobs_scanned, again.invocations) == (FORKS + 1, 0, 0, 0)

    # One fork pushes a commit: one new Python file and one edited; the clone is refreshed.
    fork = repos[3]
    sha = commit(fork.root, {"new.py": b"import pickle\npickle.loads(b'')\n",
                             "utils/safe.py": b"def add(a, b):\n    return eval(a) + b\n"})
    with store.engine.begin() as conn:
        conn.execute(update(schema.repository).where(schema.repository.c.id == pks[fork.full_name])
                     .values(cloned_sha=sha))
    refreshed = scan_all(store, settings, scanners)
    assert (refreshed.up_to_date, refreshed.scanned) == (FORKS, 1)
    assert refreshed.blobs_scanned == 2  # two new contents, read by bandit alone
    assert refreshed.blobs_reused > 0
    stored = stored_outcome(store, pks[fork.full_name])
    assert stored.findings == scan_path(fork.root, scanners).findings
    assert {"new.py", "utils/safe.py"} <= {f.path for f in stored.findings}
    with store.engine.connect() as conn:
        # The repository's file list is its new commit's; its earlier scans stay as history.
        commits = set(conn.execute(select(schema.repo_file.c.commit).where(
            schema.repo_file.c.repository == pks[fork.full_name])).scalars())
        assert commits == {sha}
        assert conn.scalar(select(func.count()).select_from(schema.scan).where(
            schema.scan.c.repository == pks[fork.full_name])) == 2 * len(scanners)
    assert first.findings > 0


class _Payload:
    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, ("echo pwned",))


# Pickled here, never loaded anywhere: it names os.system the way a malicious model file does.
MALICIOUS = pickle.dumps(_Payload(), protocol=2)


def _hostile(root: Path, huge: int) -> str:
    return commit(root, {
        "weights.bin": MALICIOUS + b"\0" * huge,  # binary and over the text limit: for the model scanner only
        "ok.py": b"import subprocess\nsubprocess.call('ls', shell=True)\n",
        "binary.py": b"\x00\x01 not python" * 10,
        "huge.py": b"x = 1\n" * (huge // 6 + 1),
        ODD: b"import os\nos.system('echo')\n",
        "py2.py": b"print 'hello'\n",
        "loop.py": Link("loop.py"),
        "escape.py": Link("/etc/passwd"),
        "native.c": b"#include <string.h>\nvoid f(char *d, char *s) { strcpy(d, s); }\n",
    })


def test_hostile_files_are_skipped_with_reasons(tmp_path: Path, db_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    root = settings.repos_dir / "github.com" / "evil" / "repo"
    sha = _hostile(root, huge=20_000)
    scanners = available_scanners("bandit", "flawfinder", "modelfiles")
    alone = scan_path(root, scanners, max_text_bytes=10_000)
    reasons = {(s.path, s.reason.split(":")[0]) for s in alone.skipped}
    assert {("binary.py", "bandit"), ("huge.py", "bandit"), ("py2.py", "bandit")} <= reasons
    skipped = {s.path: s.reason for s in alone.skipped}
    assert skipped["loop.py"] == skipped["escape.py"] == SYMLINK
    assert "binary content" in skipped["binary.py"]
    assert "over the 10000" in skipped["huge.py"]
    assert "not valid Python 3" in skipped["py2.py"]
    found = {(f.path, f.rule_id) for f in alone.findings}
    assert {("ok.py", "B602"), ("caf\\xe9.py", "B605")} <= found
    if any(s.name == "flawfinder" for s in scanners):
        assert any(f.path == "native.c" and f.scanner == "flawfinder" for f in alone.findings)
    if any(s.name == "modelfiles" for s in scanners):
        assert any(f.path == "weights.bin" and f.severity == "critical" for f in alone.findings)
        assert "weights.bin" not in skipped

    store = open_store(db_url)
    [pk] = register(store, settings.repos_dir, [Repo("evil", "repo", root, sha)]).values()
    summary = scan_all(store, settings, scanners, max_text_bytes=10_000)
    assert (summary.scanned, summary.failed) == (1, 0)
    assert stored_outcome(store, pk) == alone


class _Crashing(BanditScanner):
    """The real Bandit, made to crash on one file the way a tool with a bug would."""

    def scan(self, targets: Sequence[ScanTarget]) -> ScanOutcome:
        if any(b"CRASH" in t.path.read_bytes() for t in targets):
            raise RuntimeError("segmentation fault")
        return super().scan(targets)


def test_a_scanner_crashing_on_one_file_loses_only_that_file(tmp_path: Path) -> None:
    for n in range(8):
        (tmp_path / f"m{n}.py").write_text(f"import os\nos.system('echo {n}')\n" + ("# CRASH\n" if n == 5 else ""))
    paths = [tmp_path / f"m{n}.py" for n in range(8)]
    items = [BlobItem(file_blob_id(p), str(p), p.name, p.stat().st_size) for p in paths]
    result = scan_batch(Batch(_Crashing(), tuple(items)))
    by_display = {item.display: r for item in items for r in result.results if r.sha == item.sha}
    assert by_display["m5.py"].status == "failed"
    assert by_display["m5.py"].reason == "bandit failed: RuntimeError: segmentation fault"
    assert by_display["m5.py"].findings == []
    for n in (0, 1, 2, 3, 4, 6, 7):
        r = by_display[f"m{n}.py"]
        assert r.status == "ok" and "B605" in {f.rule_id for f in r.findings}
        assert all(f.path == f"m{n}.py" for f in r.findings)
    assert 1 < result.invocations <= 1 + 2 * 3  # halving down to the one file: log2(8) levels

    outcome = scan_path(tmp_path, [_Crashing()])
    assert [s.reason for s in outcome.skipped] == ["bandit failed: RuntimeError: segmentation fault"]
    assert {f.path for f in outcome.findings} == {f"m{n}.py" for n in range(8)} - {"m5.py"}


def test_batches_share_the_work_and_respect_their_limits() -> None:
    scanner = BanditScanner()
    items = [BlobItem(f"{n:040x}", f"/x/{n}.py", f"{n}.py", size) for n, size in enumerate([10] * 450 + [5000] * 50)]
    batches = plan_batches(scanner, items, workers=4, batch_files=200, batch_bytes=1 << 30)
    assert len(batches) == 4
    assert sorted(i.sha for b in batches for i in b.items) == sorted(i.sha for i in items)
    assert max(len(b.items) for b in batches) <= 200
    loads = [sum(i.size for i in b.items) for b in batches]
    assert max(loads) - min(loads) <= 5000
    assert len(plan_batches(scanner, items[:50], workers=4)) == 1  # too few to be worth splitting
    assert len(plan_batches(scanner, items, workers=1, batch_bytes=100_000)) == 3
    assert plan_batches(scanner, [], workers=4) == []


def test_a_clone_that_moved_under_the_store_is_reported_not_scanned(family: tuple[Settings, list[Repo]],
                                                                   sqlite_url: str) -> None:
    settings, repos = family
    store: Store = open_store(sqlite_url)
    register(store, settings.repos_dir, repos[:2])
    commit(repos[1].root, {"moved.py": b"x = 1\n"})  # HEAD moved; the store still names the old commit
    os.rename(repos[0].root, repos[0].root.with_name("gone"))
    summary = scan_all(store, settings, available_scanners("bandit"))
    assert (summary.scanned, summary.failed) == (0, 2)
    reasons = dict(summary.problems)
    assert "no finished clone" in reasons["upstream/tinynet"]
    assert "the clone on disk is at" in reasons["user1/tinynet"]
