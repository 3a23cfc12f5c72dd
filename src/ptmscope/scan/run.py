"""Running the scanners: over one directory (``scan PATH``), or over every clone in the store (``scan --all``).

Both go the same way: list the files; ask each scanner which it reads; group those by content (git blob
id); put each content once into a private work directory (hard-linked, or copied across file systems)
and scan it there in batches; give each result to every path holding that content. Across a store, a
content already scanned with the same scanner version and rule set is not scanned again, so forks and
copies cost nothing and a re-scan after a refresh reads only new content. Findings are the same as
scanning each repository on its own, since the analysers are per-file and a result is keyed on the
whole content.

Scanning the work directory rather than the tree in place, because:
- what is scanned there is checked to be the blob its result is stored under, so a clone changing
  meanwhile cannot put a wrong result in the cache;
- the scanners see no configuration the repository ships (``.bandit``, ``.semgrepignore``, ...), no
  symlinks, and no directory names a scanner might treat specially (``tests/``, ``vendor/``): only
  file contents under their own file names (language detection), which is what per-file results
  keyed on content need.

Binary contents, and contents over ``max_text_bytes``, are read only by scanners of model files; for
the others they are skipped with the reason. A scanner failing on a batch has the batch split until
the file it fails on is found; that file is skipped with the reason and the rest are scanned. Nothing
here executes, imports or unpickles what it scans.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from heapq import heapify, heappop, heapreplace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from .. import __version__
from ..config import Settings
from ..errors import UsageError
from ..github.cloning import clone_path
from ..jsonvalues import chunks
from ..runtime.executors import Executor
from ..store import Store, schema
from ..store.clones import dialect_insert
from ..store.db import utcnow
from .blobs import ContentChangedError, FileEntry, Tree, file_blob_id, git_tree, materialise_blob, walk_tree
from .interface import SEVERITIES, Finding, Scanner, ScanOutcome, ScanTarget, Skipped

log = logging.getLogger(__name__)

STAGE = "scan"
SCANNERS: dict[str, tuple[str, str]] = {
    "bandit": ("ptmscope.scan.bandit", "BanditScanner"),
    "flawfinder": ("ptmscope.scan.flawfinder", "FlawfinderScanner"),
    "semgrep": ("ptmscope.scan.semgrep", "SemgrepScanner"),
    "modelfiles": ("ptmscope.scan.modelfiles", "ModelFileScanner"),
}
# Scanners that read binary and large files (serialised models); every other scanner reads source text.
BINARY_SCANNERS = frozenset({"modelfiles"})
# Scanners that use every CPU themselves (semgrep --jobs): splitting their work among workers would only
# pay their start-up again.
SELF_PARALLEL = frozenset({"semgrep"})
MAX_TEXT_BYTES = 1 << 20
# A batch is one scanner invocation. Start-up dominates small batches (semgrep: ~2 s), so batches are
# large; they are split further only to give every worker a share.
BATCH_FILES = 2000
BATCH_BYTES = 64 << 20
MIN_BATCH_FILES = 100
REPOS_PER_ROUND = 500
# What a file costs a scanner besides its bytes (opening, parsing, reporting), in bytes' worth of time.
_FILE_COST = 2048
Progress = Callable[[int], None]

# BlobResult.status values that are results of the content; the others say it could not be read as listed.
_FINAL = ("ok", "skipped", "failed")
_CHANGED = "changed"

R = schema.repository
B = schema.blob
BS = schema.blob_scan
BF = schema.blob_finding
S = schema.scan
F = schema.finding
RF = schema.repo_file


def make_scanners(names: Sequence[str]) -> list[Scanner]:
    """Scanner instances by name (``bandit``, ``flawfinder``, ``semgrep``, ``modelfiles``). Each module
    is imported only when asked for, so one scanner's missing tool does not stop the others."""
    scanners: list[Scanner] = []
    for name in names:
        if name not in SCANNERS:
            raise UsageError(f"unknown scanner {name!r} (known: {', '.join(SCANNERS)})")
        module, cls = SCANNERS[name]
        try:
            scanners.append(getattr(importlib.import_module(module), cls)())
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"scanner {name} is not available: {exc}") from exc
    return scanners


@dataclass(frozen=True, slots=True)
class ScannerKey:
    """What a scan result depends on besides the content."""

    name: str
    version: str
    ruleset: str

    @classmethod
    def of(cls, scanner: Scanner) -> ScannerKey:
        try:
            return cls(scanner.name, scanner.version(), scanner.ruleset())
        except Exception as exc:  # asking for the version runs the tool: this is where a broken install shows
            raise UsageError(f"scanner {scanner.name} cannot run: {_brief(exc)}") from exc


# --- one batch: what a worker does ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlobItem:
    sha: str
    source: str  # a file holding the content (surrogate-escaped for non-UTF-8 names)
    display: str  # the first path it was seen at
    size: int


@dataclass(frozen=True)
class Batch:
    scanner: Scanner
    items: tuple[BlobItem, ...]
    max_text_bytes: int = MAX_TEXT_BYTES
    work_root: str | None = None


@dataclass
class BlobResult:
    sha: str
    status: str  # ok / skipped / failed, or "changed": the content was not there to read
    reason: str | None = None
    kind: str | None = None  # text / binary, when it was read
    findings: list[Finding] = field(default_factory=list)  # reported under the item's display path


@dataclass
class BatchResult:
    scanner: str
    results: list[BlobResult]
    invocations: int


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


@dataclass
class _Slots:
    """Numbered directories of a batch's work directory, and how many times each name is used."""

    work: Path
    names: dict[str, int] = field(default_factory=dict)
    dirs: int = 0

    def place(self, item: BlobItem) -> Path:
        """Where the copy of ``item`` goes: under its own file name (so extension- and name-based language
        detection see the real name), in the first directory where that name is free; a batch of
        thousands of files needs a handful of directories, not one per file."""
        name = item.display.rsplit("/", 1)[-1]
        # Listed names never climb out of their tree, but a copy must stay inside the work directory
        # whatever it is given, and a \xNN-escaped name can outgrow the file system's name limit.
        if name in ("", ".", "..") or len(name.encode()) > 200:
            suffix = Path(name).suffix
            name = "content" + (suffix if suffix.isascii() and len(suffix) <= 16 else "")
        slot = self.names.get(name, 0)
        self.names[name] = slot + 1
        if slot == self.dirs:
            (self.work / str(slot)).mkdir()
            self.dirs += 1
        return self.work / str(slot) / name


def _scan_isolating(scanner: Scanner, targets: list[ScanTarget]) -> tuple[ScanOutcome, dict[str, str], int]:
    """The scanner's outcome on ``targets``, the targets it failed on with why, and how many
    invocations it took: a failing batch is halved until the failing files are alone."""
    try:
        return scanner.scan(targets), {}, 1
    except Exception as exc:  # a scanner crashing or timing out on some file must not lose the batch
        if len(targets) == 1:
            log.debug("%s failed on %s", scanner.name, targets[0].display, exc_info=True)
            return ScanOutcome(), {targets[0].display: f"{scanner.name} failed: {_brief(exc)}"}, 1
    half = len(targets) // 2
    first, failed_first, calls_first = _scan_isolating(scanner, targets[:half])
    second, failed_second, calls_second = _scan_isolating(scanner, targets[half:])
    return (ScanOutcome(first.findings + second.findings, first.skipped + second.skipped),
            failed_first | failed_second, 1 + calls_first + calls_second)


def _reason(scanner: str, reason: str) -> str:
    return reason if reason.startswith(scanner) else f"{scanner}: {reason}"


def scan_batch(batch: Batch) -> BatchResult:
    """Copy each content of the batch into a private directory (checking it is still the blob listed)
    and scan the copies with one scanner invocation. Runs on executor workers."""
    scanner = batch.scanner
    name = scanner.name
    reads_binary = name in BINARY_SCANNERS
    results: dict[str, BlobResult] = {}
    by_target: dict[str, str] = {}
    targets: list[ScanTarget] = []
    if batch.work_root is not None:
        os.makedirs(batch.work_root, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ptmscope-scan-", dir=batch.work_root) as tmp:
        slots = _Slots(Path(tmp))
        for item in batch.items:
            if item.size > batch.max_text_bytes and not reads_binary:
                reason = f"{name}: {item.size} bytes, over the {batch.max_text_bytes} read as source text"
                results[item.sha] = BlobResult(item.sha, "skipped", reason)
                continue
            dest = slots.place(item)
            try:
                binary = materialise_blob(item.source, dest, item.sha)
            except (OSError, ContentChangedError) as exc:
                results[item.sha] = BlobResult(item.sha, _CHANGED, f"unreadable: {_brief(exc)}")
                continue
            kind = "binary" if binary else "text"
            if binary and not reads_binary:
                results[item.sha] = BlobResult(item.sha, "skipped", f"{name}: binary content", kind)
                continue
            results[item.sha] = BlobResult(item.sha, "ok", None, kind)
            target = ScanTarget(dest, dest.relative_to(slots.work).as_posix())
            by_target[target.display] = by_target[str(target.path)] = item.sha
            targets.append(target)
        if not targets:
            return BatchResult(name, list(results.values()), 0)
        outcome, failed, invocations = _scan_isolating(scanner, targets)
    displays = {item.sha: item.display for item in batch.items}
    reasons: dict[str, list[str]] = defaultdict(list)
    for finding in outcome.findings:
        sha = by_target.get(finding.path)
        if sha is None:
            log.warning("%s reported a finding on %r, which it was not given", name, finding.path)
            continue
        results[sha].findings.append(replace(finding, path=displays[sha]))
    for skipped in outcome.skipped:
        sha = by_target.get(skipped.path)
        if sha is None:
            log.warning("%s skipped %r, which it was not given: %s", name, skipped.path, skipped.reason)
            continue
        reasons[sha].append(_reason(name, skipped.reason))
    for target_display, reason in failed.items():
        result = results[by_target[target_display]]
        result.status, result.reason = "failed", reason
    for sha, texts in reasons.items():
        result = results[sha]
        if result.status == "ok":
            result.status, result.reason = "skipped", "; ".join(dict.fromkeys(texts))
    return BatchResult(name, list(results.values()), invocations)


def plan_batches(scanner: Scanner, items: Iterable[BlobItem], *, workers: int, max_text_bytes: int = MAX_TEXT_BYTES,
                 batch_files: int = BATCH_FILES, batch_bytes: int = BATCH_BYTES, work_root: str | None = None,
                 ) -> list[Batch]:
    """Batches of one scanner's contents: at most ``batch_files`` files and about ``batch_bytes`` bytes
    each, and (unless the scanner is parallel itself) at least one per worker once there are
    ``MIN_BATCH_FILES`` files per worker to share; balanced by cost (largest first, each to the
    cheapest batch with room)."""
    todo = sorted(items, key=lambda i: (-i.size, i.sha))
    if not todo:
        return []
    total = sum(i.size for i in todo)
    count = max(math.ceil(len(todo) / batch_files), math.ceil(total / batch_bytes),
                1 if scanner.name in SELF_PARALLEL else min(workers, len(todo) // MIN_BATCH_FILES), 1)
    count = min(count, len(todo))
    members: list[list[BlobItem]] = [[] for _ in range(count)]
    open_batches = [(0, n) for n in range(count)]  # (cost, batch number)
    heapify(open_batches)
    for item in todo:
        cost, n = open_batches[0]
        members[n].append(item)
        if len(members[n]) < batch_files:
            heapreplace(open_batches, (cost + item.size + _FILE_COST, n))
        else:
            heappop(open_batches)
    return [Batch(scanner, tuple(m), max_text_bytes, work_root) for m in members if m]


def _run(batches: list[Batch], executor: Executor | None) -> Iterator[BatchResult]:
    # Largest first, so that the long tasks are not the ones left running at the end.
    batches = sorted(batches, key=lambda b: -sum(i.size for i in b.items))
    return executor.map(scan_batch, batches) if executor is not None else map(scan_batch, batches)


# --- one directory ---------------------------------------------------------------------------------------


def _takers(scanners: Sequence[Scanner], entry: FileEntry) -> tuple[list[Scanner], list[tuple[str, Skipped]]]:
    """The scanners that read ``entry``, and (scanner, skipped) for those that could not tell."""
    target = ScanTarget(entry.path, entry.display)
    takers: list[Scanner] = []
    unsure: list[tuple[str, Skipped]] = []
    for scanner in scanners:
        try:
            if scanner.accepts(target):
                takers.append(scanner)
        except Exception as exc:  # a scanner sniffing content may meet an unreadable file
            unsure.append((scanner.name, Skipped(entry.display,
                                                 f"{scanner.name}: cannot tell whether to read it: {_brief(exc)}")))
    return takers, unsure


def _sorted(outcome: ScanOutcome) -> ScanOutcome:
    findings = sorted(outcome.findings, key=lambda f: (f.path, f.line or 0, f.column or 0, f.scanner, f.rule_id,
                                                       f.message))
    return ScanOutcome(findings, sorted(set(outcome.skipped), key=lambda s: (s.path, s.reason)))


def _resolve(tree: Tree, entry: FileEntry) -> str | None:
    if entry.sha is not None:
        return entry.sha
    try:
        return file_blob_id(entry.path)
    except (OSError, ContentChangedError) as exc:
        tree.skipped.append(Skipped(entry.display, f"unreadable: {_brief(exc)}"))
        return None


def _outcome_for(uses: Iterable[tuple[str, str]], results: Mapping[str, tuple[str | None, list[Finding]]],
                 ) -> tuple[list[Finding], list[Skipped]]:
    """Findings and skipped entries of the paths in ``uses`` ((path, sha) pairs) from per-content
    results ((reason, findings) by sha, findings under any path)."""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for display, sha in uses:
        reason, found = results[sha]
        findings.extend(f if f.path == display else replace(f, path=display) for f in found)
        if reason:
            skipped.append(Skipped(display, reason))
    return findings, skipped


def scan_path(root: Path, scanners: Sequence[Scanner], *, executor: Executor | None = None,
              max_text_bytes: int = MAX_TEXT_BYTES, batch_files: int = BATCH_FILES,
              batch_bytes: int = BATCH_BYTES) -> ScanOutcome:
    """Scan the files under ``root`` as they are on disk now; paths relative to ``root``. Without an
    executor the batches run one after another in this process."""
    if not root.is_dir():
        raise UsageError(f"not a directory: {root}")
    tree = walk_tree(root)
    uses: dict[str, list[tuple[str, str]]] = defaultdict(list)
    first: dict[str, dict[str, BlobItem]] = defaultdict(dict)
    for entry in tree.files:
        takers, unsure = _takers(scanners, entry)
        tree.skipped += [skipped for _, skipped in unsure]
        if not takers or (sha := _resolve(tree, entry)) is None:
            continue
        for scanner in takers:
            uses[scanner.name].append((entry.display, sha))
            first[scanner.name].setdefault(sha, BlobItem(sha, str(entry.path), entry.display, entry.size))
    workers = executor.workers if executor is not None else 1
    batches = [batch for scanner in scanners
               for batch in plan_batches(scanner, first[scanner.name].values(), workers=workers,
                                         max_text_bytes=max_text_bytes, batch_files=batch_files,
                                         batch_bytes=batch_bytes)]
    results: dict[str, dict[str, tuple[str | None, list[Finding]]]] = defaultdict(dict)
    for batch_result in _run(batches, executor):
        for r in batch_result.results:
            reason = r.reason if r.status != _CHANGED else f"changed while being scanned ({r.reason})"
            results[batch_result.scanner][r.sha] = (reason, r.findings)
    outcome = ScanOutcome(skipped=list(tree.skipped))
    for scanner in scanners:
        found, skipped = _outcome_for(uses[scanner.name], results[scanner.name])
        outcome.findings += found
        outcome.skipped += skipped
    return _sorted(outcome)


# --- every clone in the store ----------------------------------------------------------------------------


@dataclass
class ScanSummary:
    run_id: int
    repositories: int = 0  # with a clone on record
    up_to_date: int = 0  # already scanned at their commit with these scanners
    scanned: int = 0  # given per-repository scans in this run
    failed: int = 0
    files: int = 0  # (path, scanner) pairs read in the repositories scanned
    blobs_scanned: int = 0  # (content, scanner) pairs scanned in this run
    blobs_reused: int = 0  # (content, scanner) pairs answered by earlier scans
    invocations: int = 0
    findings: int = 0  # findings written to the repositories scanned
    problems: list[tuple[str, str]] = field(default_factory=list)  # (owner/name, reason)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int) and k != "run_id"}

    def line(self) -> str:
        return (f"scan: {self.scanned} repositories scanned, {self.up_to_date} up to date, {self.failed} failed; "
                f"{self.blobs_scanned} contents scanned, {self.blobs_reused} reused, "
                f"{self.invocations} scanner runs; {self.findings} findings")


@dataclass
class _RepoWork:
    pk: int
    full_name: str
    commit: str
    scanners: list[Scanner]
    skipped: list[Skipped]  # entries no scanner reads: symlinks, unreadable files
    uses: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))  # (path, sha)
    scanner_skipped: dict[str, list[Skipped]] = field(default_factory=lambda: defaultdict(list))
    items: dict[str, BlobItem] = field(default_factory=dict)  # where to read each content used


def fingerprint(scanner: str, rule_id: str, path: str, line: int | None, snippet: str | None) -> str:
    """Identifies a finding across commits: its code, not its line number, when the scanner quotes it,
    so that an edit above it does not make it look new."""
    anchor = " ".join(snippet.split()) if snippet else str(line)
    return hashlib.sha256("\0".join((scanner, rule_id, path, anchor)).encode()).hexdigest()


def _blob_ids(conn: Connection, sizes: Mapping[str, int]) -> dict[str, int]:
    shas = sorted(sizes)
    for part in chunks(shas):
        conn.execute(dialect_insert(conn, B).on_conflict_do_nothing(index_elements=["sha"]),
                     [{"sha": sha, "size": sizes[sha]} for sha in part])
    ids: dict[str, int] = {}
    for part in chunks(shas):
        ids.update((sha, pk) for pk, sha in conn.execute(select(B.c.id, B.c.sha).where(B.c.sha.in_(part))))
    return ids


def _key_filter(key: ScannerKey) -> Any:
    return and_(BS.c.scanner == key.name, BS.c.scanner_version == key.version, BS.c.ruleset == key.ruleset)


def _seen(conn: Connection, key: ScannerKey, shas: Sequence[str]) -> set[str]:
    seen: set[str] = set()
    for part in chunks(sorted(shas)):
        seen.update(conn.execute(select(B.c.sha).join(BS, BS.c.blob == B.c.id).where(
            _key_filter(key), B.c.sha.in_(part))).scalars())
    return seen


def _store_batch(conn: Connection, key: ScannerKey, result: BatchResult, sizes: Mapping[str, int]) -> None:
    final = [r for r in result.results if r.status in _FINAL]
    if not final:
        return
    ids = _blob_ids(conn, {r.sha: sizes[r.sha] for r in final})
    for kind in ("text", "binary"):
        known = [ids[r.sha] for r in final if r.kind == kind]
        for part in chunks(known):
            conn.execute(update(B).where(B.c.id.in_(part), B.c.kind.is_(None)).values(kind=kind))
    now = utcnow()
    # DO NOTHING: an equal result stored meanwhile (another run) stands; its findings are not added twice.
    stmt = dialect_insert(conn, BS).on_conflict_do_nothing(
        index_elements=["blob", "scanner", "scanner_version", "ruleset"]).returning(BS.c.id, BS.c.blob)
    scan_ids: dict[int, int] = {}
    for results in chunks(final):
        rows = [{"blob": ids[r.sha], "scanner": key.name, "scanner_version": key.version, "ruleset": key.ruleset,
                 "status": r.status, "reason": r.reason, "scanned_at": now} for r in results]
        scan_ids.update((blob, pk) for pk, blob in conn.execute(stmt, rows))
    findings = [{"blob_scan": scan_ids[ids[r.sha]], "rule_id": f.rule_id, "line": f.line, "column": f.column,
                 "end_line": f.end_line, "message": f.message, "original_severity": f.original_severity,
                 "severity": f.severity, "vuln_type": f.vuln_type, "category": f.category, "cwe": f.cwe,
                 "cve": f.cve, "confidence": f.confidence, "snippet": f.snippet}
                for r in final if ids[r.sha] in scan_ids for f in r.findings]
    for batch in chunks(findings):
        conn.execute(insert(BF), list(batch))


def _stored_results(conn: Connection, key: ScannerKey, shas: Sequence[str],
                    ) -> dict[str, tuple[str, str | None, list[tuple[Finding, int]]]]:
    """Per sha: status, reason and findings (with their blob_finding ids) of stored scans."""
    out: dict[str, tuple[str, str | None, list[tuple[Finding, int]]]] = {}
    query = (select(B.c.sha, BS.c.status, BS.c.reason, BF).select_from(BS.join(B, BS.c.blob == B.c.id)
                                                                        .outerjoin(BF, BF.c.blob_scan == BS.c.id))
             .where(_key_filter(key)).order_by(BF.c.id))
    for part in chunks(sorted(set(shas))):
        for row in conn.execute(query.where(B.c.sha.in_(part))):
            entry = out.setdefault(row.sha, (row.status, row.reason, []))
            if row.id is not None:
                entry[2].append((Finding(
                    scanner=key.name, rule_id=row.rule_id, path="", line=row.line, message=row.message or "",
                    original_severity=row.original_severity or "", severity=row.severity or "low",
                    vuln_type=row.vuln_type, category=row.category, cwe=row.cwe, cve=row.cve,
                    confidence=row.confidence, column=row.column, end_line=row.end_line, snippet=row.snippet),
                    row.id))
    return out


def _record_files(conn: Connection, work: _RepoWork, entries: Sequence[tuple[FileEntry, str]],
                  skipped: Sequence[Skipped]) -> None:
    """The commit's files on ``repo_file``, once per commit; rows of the repository's earlier commits
    go (its scans and findings stay)."""
    has = conn.execute(select(RF.c.id).where(RF.c.repository == work.pk, RF.c.commit == work.commit).limit(1))
    if has.first() is not None:
        return
    conn.execute(delete(RF).where(RF.c.repository == work.pk))
    ids = _blob_ids(conn, {sha: entry.size for entry, sha in entries})
    rows = [{"repository": work.pk, "commit": work.commit, "path": entry.display, "blob": ids[sha], "skipped": None}
            for entry, sha in entries]
    rows += [{"repository": work.pk, "commit": work.commit, "path": s.path, "blob": None, "skipped": s.reason}
             for s in skipped]
    for part in chunks(rows):
        conn.execute(insert(RF), list(part))


def _materialise(conn: Connection, work: _RepoWork, key: ScannerKey, started: datetime) -> int:
    """The repository's scan row for one scanner and its findings, from the stored per-content results;
    how many findings. Replaces a row of the same key, so a repeated run leaves one."""
    uses = work.uses[key.name]
    stored = _stored_results(conn, key, [sha for _, sha in uses])
    missing = sorted({sha for _, sha in uses} - stored.keys())
    if missing:
        raise _NotScannedError(f"{key.name}: {len(missing)} contents could not be read as listed")
    findings: list[dict[str, Any]] = []
    skipped = list(work.skipped) + work.scanner_skipped[key.name]
    for display, sha in uses:
        _status, reason, found = stored[sha]
        if reason:
            skipped.append(Skipped(display, reason))
        for f, blob_finding in found:
            findings.append({"rule_id": f.rule_id, "vuln_type": f.vuln_type, "category": f.category,
                             "severity": f.severity, "original_severity": f.original_severity,
                             "confidence": f.confidence, "cwe": f.cwe, "cve": f.cve, "path": display, "line": f.line,
                             "column": f.column, "end_line": f.end_line, "message": f.message, "snippet": f.snippet,
                             "fingerprint": fingerprint(key.name, f.rule_id, display, f.line, f.snippet),
                             "blob_finding": blob_finding})
    skipped = sorted(set(skipped), key=lambda s: (s.path, s.reason))
    conn.execute(delete(S).where(S.c.repository == work.pk, S.c.commit == work.commit, S.c.scanner == key.name,
                                 S.c.scanner_version == key.version, S.c.ruleset == key.ruleset))
    scan_id = conn.execute(insert(S).values(
        scanner=key.name, scanner_version=key.version, ruleset=key.ruleset, repository=work.pk, commit=work.commit,
        status="partial" if skipped else "ok", started_at=started, finished_at=utcnow(), files=len(uses),
        skipped=[{"path": s.path, "reason": s.reason} for s in skipped]).returning(S.c.id)).scalar_one()
    for part in chunks(findings):
        conn.execute(insert(F), [{**row, "scan": scan_id} for row in part])
    return len(findings)


class _NotScannedError(Exception):
    pass


def current_scans() -> Any:
    """The ids of the scans that describe each repository now: at its cloned commit, and per scanner the
    latest (a newer scanner version or rule set supersedes an older one)."""
    return (select(func.max(S.c.id).label("id")).select_from(S.join(R, R.c.id == S.c.repository))
            .where(S.c.commit == R.c.cloned_sha).group_by(S.c.repository, S.c.scanner))


def stored_outcome(store: Store, repository: int) -> ScanOutcome:
    """A repository's findings and skipped files from its current scans, as ``scan_path`` reports them."""
    outcome = ScanOutcome()
    with store.engine.connect() as conn:
        scans = conn.execute(select(S.c.id, S.c.scanner, S.c.skipped).where(
            S.c.repository == repository, S.c.id.in_(current_scans()))).all()
        names = {row.id: row.scanner for row in scans}
        for row in scans:
            outcome.skipped += [Skipped(s["path"], s["reason"]) for s in row.skipped or []]
        for part in chunks(sorted(names)):
            for f in conn.execute(select(F).where(F.c.scan.in_(part)).order_by(F.c.id)):
                outcome.findings.append(Finding(
                    scanner=names[f.scan], rule_id=f.rule_id, path=f.path, line=f.line, message=f.message or "",
                    original_severity=f.original_severity or "", severity=f.severity or "low", vuln_type=f.vuln_type,
                    category=f.category, cwe=f.cwe, cve=f.cve, confidence=f.confidence, column=f.column,
                    end_line=f.end_line, snippet=f.snippet))
    return _sorted(outcome)


def severity_counts(store: Store, scanners: Sequence[str] | None = None) -> dict[str, int]:
    """Findings of the current scans per normalised severity (of the named scanners, or all)."""
    query = select(F.c.severity, func.count()).join(S, S.c.id == F.c.scan).where(S.c.id.in_(current_scans()))
    if scanners is not None:
        query = query.where(S.c.scanner.in_(list(scanners)))
    with store.engine.connect() as conn:
        found: dict[str, int] = {severity: n for severity, n in conn.execute(query.group_by(F.c.severity))}
    return {severity: int(found.get(severity, 0)) for severity in SEVERITIES}


def _plan_repo(settings: Settings, row: Any, needed: list[Scanner]) -> tuple[_RepoWork, list[tuple[FileEntry, str]]]:
    root = clone_path(settings, row.clone_path)
    tree = git_tree(root)
    if tree is None:
        raise _NotScannedError(f"no finished clone to read at {root}")
    if tree.commit != row.cloned_sha:
        raise _NotScannedError(f"the clone on disk is at {tree.commit}, the store says {row.cloned_sha}")
    work = _RepoWork(row.id, f"{row.owner}/{row.name}", row.cloned_sha, needed, tree.skipped)
    entries: list[tuple[FileEntry, str]] = []
    for entry in tree.files:
        takers, unsure = _takers(needed, entry)
        for name, skipped in unsure:
            work.scanner_skipped[name].append(skipped)
        # Every file is recorded on repo_file with its blob; only files some scanner reads are hashed
        # when the listing did not name their blob.
        sha = entry.sha if entry.sha is not None or not takers else _resolve(tree, entry)
        if sha is None:
            continue
        entries.append((entry, sha))
        for scanner in takers:
            work.uses[scanner.name].append((entry.display, sha))
        if takers:
            work.items.setdefault(sha, BlobItem(sha, str(entry.path), entry.display, entry.size))
    return work, entries


def scan_all(store: Store, settings: Settings, scanners: Sequence[Scanner], executor: Executor | None = None,
             progress: Progress | None = None, *, max_text_bytes: int = MAX_TEXT_BYTES,
             batch_files: int = BATCH_FILES, batch_bytes: int = BATCH_BYTES, repos_per_round: int = REPOS_PER_ROUND,
             work_root: Path | None = None) -> ScanSummary:
    """Scan every cloned repository in the store with ``scanners``, each unique content once.

    Repositories go in rounds of ``repos_per_round`` (bounding memory): list each clone's files
    (``git ls-tree``), gather the contents no earlier scan with the same scanner version and rule set
    has seen, scan those in batches on ``executor``, store the result per content, then write each
    repository's ``scan`` and ``finding`` rows from the stored results. Every step commits as it goes,
    so a killed run keeps what it finished and a re-run scans only the rest; a repository already
    scanned at its commit with these scanners is left as it is. ``progress(n)`` hears of repositories
    done."""
    keys = {s.name: ScannerKey.of(s) for s in scanners}
    params = {"scanners": sorted(keys), "max_text_bytes": max_text_bytes, "batch_files": batch_files,
              "batch_bytes": batch_bytes, "executor": type(executor).__name__ if executor else None}
    run_id = store.start_run(STAGE, "clones", params,
                             versions={"ptmscope": __version__} | {k.name: f"{k.version} {k.ruleset}"
                                                                   for k in keys.values()})
    summary = ScanSummary(run_id)
    with store.engine.connect() as conn:
        repos = conn.execute(select(R.c.id, R.c.owner, R.c.name, R.c.clone_path, R.c.cloned_sha).where(
            R.c.clone_status.in_(("cloned", "partial")), R.c.clone_path.is_not(None),
            R.c.cloned_sha.is_not(None)).order_by(R.c.id)).all()
    summary.repositories = len(repos)
    # Beside the clones by default, so that contents are hard-linked into the work directory, not copied.
    options = _Options(max_text_bytes, batch_files, batch_bytes, str(work_root or settings.data_dir / "scan-work"))
    with store.recording(run_id, summary.counts):
        for start in range(0, len(repos), repos_per_round):
            _round(store, settings, scanners, keys, repos[start:start + repos_per_round], executor, progress,
                   summary, options)
    return summary


@dataclass(frozen=True)
class _Options:
    max_text_bytes: int
    batch_files: int
    batch_bytes: int
    work_root: str


def _round(store: Store, settings: Settings, scanners: Sequence[Scanner], keys: Mapping[str, ScannerKey],
           repos: Sequence[Any], executor: Executor | None, progress: Progress | None, summary: ScanSummary,
           options: _Options) -> None:
    started = utcnow()

    def fail(full_name: str, reason: str) -> None:
        summary.failed += 1
        summary.problems.append((full_name, reason))
        store.record_failure(summary.run_id, STAGE, full_name, reason)
        if progress:
            progress(1)

    with store.engine.connect() as conn:
        done = {(pk, name) for pk, name, version, ruleset in conn.execute(
            select(S.c.repository, S.c.scanner, S.c.scanner_version, S.c.ruleset).join(R, R.c.id == S.c.repository)
            .where(S.c.repository.in_([r.id for r in repos]), S.c.commit == R.c.cloned_sha))
            if name in keys and (version, ruleset) == (keys[name].version, keys[name].ruleset)}
    works: list[_RepoWork] = []
    for row in repos:
        needed = [s for s in scanners if (row.id, s.name) not in done]
        if not needed:
            summary.up_to_date += 1
            if progress:
                progress(1)
            continue
        try:
            work, entries = _plan_repo(settings, row, needed)
        except _NotScannedError as exc:
            fail(f"{row.owner}/{row.name}", str(exc))
            continue
        with store.engine.begin() as conn:
            _record_files(conn, work, entries, work.skipped)
        works.append(work)

    # Each content once per scanner across the round, read where it was first seen.
    first: dict[str, dict[str, BlobItem]] = defaultdict(dict)
    for work in works:
        for name, uses in work.uses.items():
            for _display, sha in uses:
                first[name].setdefault(sha, work.items[sha])
    batches: list[Batch] = []
    workers = executor.workers if executor is not None else 1
    with store.engine.connect() as conn:
        for scanner in scanners:
            items = first[scanner.name]
            seen = _seen(conn, keys[scanner.name], list(items))
            summary.blobs_reused += len(seen)
            batches += plan_batches(scanner, (item for sha, item in items.items() if sha not in seen),
                                    workers=workers, max_text_bytes=options.max_text_bytes,
                                    batch_files=options.batch_files, batch_bytes=options.batch_bytes,
                                    work_root=options.work_root)
    sizes = {item.sha: item.size for batch in batches for item in batch.items}
    for result in _run(batches, executor):
        summary.invocations += result.invocations
        summary.blobs_scanned += sum(r.status in _FINAL for r in result.results)
        with store.engine.begin() as conn:
            _store_batch(conn, keys[result.scanner], result, sizes)

    for work in works:
        try:
            with store.engine.begin() as conn:
                found = sum(_materialise(conn, work, keys[s.name], started) for s in work.scanners)
        except _NotScannedError as exc:
            fail(work.full_name, str(exc))
            continue
        summary.scanned += 1
        summary.findings += found
        summary.files += sum(len(uses) for uses in work.uses.values())
        if progress:
            progress(1)
