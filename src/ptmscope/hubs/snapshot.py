"""``ptmscope snapshot``: the files of selected Hub models at their recorded commit, in a content-addressed
store, each content scanned once by the model-file scanner (and picklescan), never loaded.

Which models: Hugging Face models in the store with at least ``min_downloads`` downloads (PeaTMOSS keeps
every model above 50), not deleted, with a recorded commit (``model.sha``); ``revision_pinned`` keeps only
those that some stored call site (``usage``) loads with a pinned revision, i.e. the models whose bytes
downstream code fixes and therefore runs as snapshotted.

Which files: the tree at the recorded commit (``/api/models/{id}/tree/{sha}?recursive&expand``, which
also carries the Hub's per-file ``securityFileStatus``), filtered by ``allow`` and ``deny`` glob patterns
(a pattern with a ``/`` matches the whole path, otherwise the file name) and a size cap. The default
allow list names weight formats and config/code files; LFS files without any extension are taken too,
since a pickle needs no name (``../shared/notes/scanners-offline.md`` §6). ``.py`` files are always taken
(custom code, below) unless denied or over the cap. What is not taken gets a ``skipped`` row with the
reason, and is not downloaded. The format is then told by the first bytes (``scan/formats.py``), never by
the name.

Downloads go through ``hf_hub_download`` (the Hub's own client, so resumption, size checks and Xet
storage work as for any user) into a temporary directory, are hashed, checked against the LFS sha256
when the Hub gives one, and moved to ``DATA_DIR/snapshots/sha256/ab/abcdef…``. A content already
there (known by its LFS sha256) is not downloaded again.

Verdicts (``model_file_verdict``) are per content, scanner and version: ``modelfiles`` (ours) on every
downloaded file, ``picklescan`` beside it on pickle-bearing ones, and ``code:<scanner>`` (bandit,
semgrep) on ``.py`` files of models with custom code (``auto_map`` in their config or ``.py`` files in the
repository), scanned like repository code with ``scan_path``. The Hub's own scan results are stored
beside ours in ``model_snapshot.hub_security``: ``{"file": securityFileStatus, "repo": {"scansDone",
"level"}}`` (``level`` from ``securityRepoStatus.filesWithIssues``).

Incremental and resumable: a model's rows are written in one transaction once its files are downloaded
and scanned, so a killed run leaves each model complete or untouched. A model whose rows are at its
current ``sha``, with no failed file and no skipped file that the current options would now take, is not
contacted again; contents whose verdicts are missing for the current scanner versions are rescanned from
the content store without any download.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from huggingface_hub import get_session, hf_hub_download
from huggingface_hub.utils._headers import build_hf_headers
from huggingface_hub.utils._http import hf_raise_for_status
from huggingface_hub.utils._pagination import paginate

from .. import __version__
from ..config import Settings
from ..errors import UsageError
from ..http import configure_huggingface_hub
from ..runtime.executors import Executor
from ..scan import formats, modelfiles
from ..scan.interface import SEVERITIES, Scanner
from ..store import Store
from ..store import snapshots as rows
from ..store.db import utcnow

log = logging.getLogger(__name__)

STAGE = "snapshot"
SOURCE = "snapshot:huggingface"  # distinct from collect's source: interrupt_stale_runs goes by source
DEFAULT_MIN_DOWNLOADS = 50
DEFAULT_MAX_FILE_SIZE = 2 << 30
DEFAULT_ALLOW = (
    "*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle", "*.joblib", "*.npy", "*.npz", "*.h5", "*.keras",
    "*.safetensors", "*.gguf", "*.onnx", "*.msgpack", "*.py", "config.json", "*.json",
)
DEFAULT_CODE_SCANNERS = ("bandit", "semgrep")
MODEL_SCANNER = modelfiles.SCANNER_NAME
PICKLESCAN = "picklescan"
CODE_PREFIX = "code:"
MODELS_PER_BATCH = 16
Progress = Callable[[int], None]

# Formats holding pickle streams: the only ones picklescan reads.
_PICKLE_BEARING = formats.PICKLE_FAMILY | {formats.TORCH_ZIP, formats.TORCHSCRIPT, formats.NPZ, formats.ZIP}
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


# --- options and results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotOptions:
    min_downloads: int = DEFAULT_MIN_DOWNLOADS
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE  # None: no cap
    revision_pinned: bool = False
    allow: tuple[str, ...] = DEFAULT_ALLOW
    deny: tuple[str, ...] = ()
    limit: int | None = None
    workers: int = 4  # files downloaded at the same time
    code_scanners: tuple[str, ...] = DEFAULT_CODE_SCANNERS
    picklescan: bool = True


@dataclass
class SnapshotSummary:
    run_id: int
    models: int = 0  # selected
    up_to_date: int = 0  # already snapshotted at their commit: not contacted
    snapshotted: int = 0  # given a new snapshot in this run
    failed_models: int = 0  # could not be listed; retried next run
    files: int = 0  # files listed in the snapshotted models
    downloaded: int = 0
    reused: int = 0  # already in the content store
    skipped: int = 0  # not taken: pattern or size cap
    failed: int = 0  # files that could not be downloaded or did not match their hash
    bytes_downloaded: int = 0
    contents_scanned: int = 0  # (content, scanner) verdicts written in this run
    custom_code_models: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)  # snapshotted files per modelfiles outcome
    problems: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in asdict(self).items() if isinstance(v, int) and k != "run_id"}
        out["verdicts"] = dict(self.verdicts)
        return out

    def line(self) -> str:
        return (f"snapshot: {self.snapshotted} models snapshotted, {self.up_to_date} up to date, "
                f"{self.failed_models} failed; {self.downloaded} files downloaded ({self.bytes_downloaded:,} bytes), "
                f"{self.reused} reused, {self.skipped} skipped, {self.failed} failed; "
                f"{self.contents_scanned} verdicts written")


# --- the content store ------------------------------------------------------------------------------------


def content_root(settings: Settings) -> Path:
    return settings.data_dir / "snapshots"


def content_path(settings: Settings, sha256: str) -> Path:
    """Where a content lives in the snapshot store."""
    return content_root(settings) / "sha256" / sha256[:2] / sha256


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _store_content(settings: Settings, source: Path, sha256: str) -> Path:
    dest = content_path(settings, sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        source.unlink()
    else:
        os.chmod(source, 0o444)  # contents are never edited in place
        os.replace(source, dest)
    return dest


# --- choosing files -----------------------------------------------------------------------------------------


def _matches(path: str, patterns: Iterable[str]) -> str | None:
    name = PurePosixPath(path).name
    for pattern in patterns:
        if fnmatch.fnmatchcase(path if "/" in pattern else name, pattern):
            return pattern
    return None


def _unsafe_path(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return not parts or path.startswith("/") or any(p in ("..", ".") for p in parts) or "\\" in path


def selection(path: str, size: int | None, lfs: bool, opts: SnapshotOptions) -> str | None:
    """Why a file is not taken (None: it is taken)."""
    if _unsafe_path(path):
        return f"unsafe path {path!r}"
    denied = _matches(path, opts.deny)
    if denied is not None:
        return f"denied by pattern {denied!r}"
    is_code = path.endswith(".py")
    no_extension = lfs and not PurePosixPath(path).suffix
    if not is_code and not no_extension and _matches(path, opts.allow) is None:
        return "matches no allow pattern"
    if opts.max_file_size is not None and size is not None and size > opts.max_file_size:
        return f"{size} bytes, over the {opts.max_file_size}-byte cap"
    return None


def _still_current(files: Sequence[rows.SnapshotFile], sha: str, opts: SnapshotOptions) -> bool:
    """Whether a stored snapshot stands under the current options (no download needed)."""
    if not files or any(f.commit != sha for f in files):
        return False
    for f in files:
        if f.status == rows.FAILED:
            return False
        # A skipped row keeps the LFS sha256 when the Hub gave one, which says whether the file is in LFS.
        if f.status == rows.SKIPPED and selection(f.path, f.size, f.sha256 is not None, opts) is None:
            return False  # taken under the current options, skipped then
    return True


# --- talking to the Hub -------------------------------------------------------------------------------------


@dataclass
class _Listed:
    path: str
    size: int | None
    lfs_sha256: str | None
    blob_id: str | None  # the git blob id of a file kept in git (not LFS)
    hub_security: dict[str, Any] | None


class _ContentLocks:
    """One lock per content being fetched, so that models sharing a file download it once."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def __call__(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


@dataclass
class _ModelResult:
    target: rows.ModelTarget
    rows: list[dict[str, Any]] = field(default_factory=list)
    custom_code: bool = False
    error: str | None = None
    downloaded: int = 0
    reused: int = 0
    bytes: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)


class _Hub:
    """The few Hub calls a snapshot makes, through huggingface_hub and ptmscope's HTTP client."""

    def __init__(self, settings: Settings) -> None:
        configure_huggingface_hub(settings)
        self.settings = settings
        self.endpoint = settings.hf_endpoint
        self.token: str | bool = settings.hf_token or False
        self.headers = build_hf_headers(token=self.token, library_name="ptmscope", library_version=__version__)

    def info(self, model_id: str, sha: str) -> dict[str, Any]:
        """Model info at the commit, with the Hub's repository-level security status."""
        url = f"{self.endpoint}/api/models/{quote(model_id, safe='/')}/revision/{quote(sha, safe='')}"
        response = get_session().get(url, headers=self.headers, params={"securityStatus": True})
        hf_raise_for_status(response)
        data = response.json()
        if not isinstance(data, dict):
            raise ValueError(f"model info for {model_id} is not a JSON object")
        return data

    def tree(self, model_id: str, sha: str) -> list[dict[str, Any]]:
        """Every entry of the repository at the commit, as the Hub sends it (raw JSON: per-file security
        information is kept whole, not reduced to what huggingface_hub's ``RepoFile`` keeps)."""
        url = f"{self.endpoint}/api/models/{quote(model_id, safe='/')}/tree/{quote(sha, safe='')}"
        return [e for e in paginate(url, params={"recursive": True, "expand": True}, headers=self.headers)
                if isinstance(e, dict)]

    def download(self, model_id: str, sha: str, path: str, work: Path) -> Path:
        local = hf_hub_download(model_id, path, revision=sha, endpoint=self.endpoint, token=self.token,
                                local_dir=work, library_name="ptmscope", library_version=__version__)
        return Path(local)


def _listed(entries: Sequence[Mapping[str, Any]], repo_security: Any) -> list[_Listed]:
    scans_done = repo_security.get("scansDone") if isinstance(repo_security, dict) else None
    issues: dict[str, Any] = {}
    if isinstance(repo_security, dict) and isinstance(repo_security.get("filesWithIssues"), list):
        issues = {i["path"]: i.get("level") for i in repo_security["filesWithIssues"]
                  if isinstance(i, dict) and isinstance(i.get("path"), str)}
    out = []
    for entry in entries:
        path = entry.get("path")
        if entry.get("type") != "file" or not isinstance(path, str):
            continue
        size = entry.get("size") if isinstance(entry.get("size"), int) else None
        lfs = entry.get("lfs") if isinstance(entry.get("lfs"), dict) else None
        sha256 = lfs.get("oid") if lfs is not None and isinstance(lfs.get("oid"), str) else None
        file_security = entry.get("securityFileStatus")
        hub: dict[str, Any] | None = None
        if file_security is not None or repo_security is not None:
            hub = {"file": file_security,
                   "repo": None if repo_security is None else {"scansDone": scans_done, "level": issues.get(path)}}
        blob = entry.get("oid") if lfs is None and isinstance(entry.get("oid"), str) else None
        out.append(_Listed(path, size, sha256.lower() if sha256 else None, blob, hub))
    return out


def has_custom_code(config: Any, paths: Iterable[str]) -> bool:
    """Whether loading the model with ``trust_remote_code`` runs code from the Hub: an ``auto_map`` in
    its config, or Python files in its repository."""
    if isinstance(config, dict) and config.get("auto_map"):
        return True
    return any(p.endswith(".py") for p in paths)


def _git_blob_id(path: Path) -> str:
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _known_content(settings: Settings, f: _Listed, previous: Mapping[str, str]) -> str | None:
    """The sha256 of a listed file whose content the store already holds: by its LFS sha256, or, for a
    file kept in git, by the content an earlier snapshot held at that path when its git blob id matches."""
    if f.lfs_sha256 is not None:
        return f.lfs_sha256 if content_path(settings, f.lfs_sha256).is_file() else None
    earlier = previous.get(f.path)
    if earlier is None or f.blob_id is None:
        return None
    stored = content_path(settings, earlier)
    return earlier if stored.is_file() and _git_blob_id(stored) == f.blob_id.lower() else None


def _snapshot_one(hub: _Hub, settings: Settings, target: rows.ModelTarget, opts: SnapshotOptions,
                  previous: Mapping[str, str], locks: _ContentLocks) -> _ModelResult:
    """List, choose and download one model's files; runs on a download thread. ``previous`` maps the
    paths of the model's earlier snapshot to their sha256."""
    result = _ModelResult(target)
    try:
        info = hub.info(target.model_id, target.sha)
        listed = _listed(hub.tree(target.model_id, target.sha), info.get("securityRepoStatus"))
    except Exception as exc:  # one model's failure is recorded, never the end of the run
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    config = info.get("config") if isinstance(info.get("config"), dict) else target.config
    result.custom_code = has_custom_code(config, (f.path for f in listed))
    tmp_root = content_root(settings) / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    for f in listed:
        row: dict[str, Any] = {"path": f.path, "commit": target.sha, "sha256": f.lfs_sha256, "size": f.size,
                               "status": rows.SKIPPED, "reason": None, "format": None, "hub_security": f.hub_security,
                               "fetched_at": now}
        result.rows.append(row)
        reason = selection(f.path, f.size, f.lfs_sha256 is not None, opts)
        if reason is not None:
            row["reason"] = reason
            continue
        with locks(f.lfs_sha256 or f"{target.model_id}\0{f.path}"):
            known = _known_content(settings, f, previous)
            if known is not None:
                row.update(status=rows.DOWNLOADED, sha256=known)
                result.reused += 1
                continue
            _download(hub, settings, target, f, opts, row, result, tmp_root)
    return result


def _download(hub: _Hub, settings: Settings, target: rows.ModelTarget, f: _Listed, opts: SnapshotOptions,
              row: dict[str, Any], result: _ModelResult, tmp_root: Path) -> None:
    """Download one file into the content store, completing its row."""
    try:
        with tempfile.TemporaryDirectory(prefix="dl-", dir=tmp_root) as work:
            local = hub.download(target.model_id, target.sha, f.path, Path(work))
            digest, size = _hash_file(local)
            if f.lfs_sha256 is not None and digest != f.lfs_sha256:
                raise _ContentError(f"sha256 {digest} is not the LFS sha256 {f.lfs_sha256}")
            if opts.max_file_size is not None and size > opts.max_file_size:
                raise _ContentError(f"{size} bytes arrived, over the {opts.max_file_size}-byte cap")
            _store_content(settings, local, digest)
    except Exception as exc:  # HUB_ERRORS, a hash mismatch, or anything huggingface_hub raises
        row.update(status=rows.FAILED, reason=f"{type(exc).__name__}: {exc}")
        result.problems.append((f"{target.model_id}/{f.path}", row["reason"]))
        return
    row.update(status=rows.DOWNLOADED, sha256=digest, size=size)
    result.downloaded += 1
    result.bytes += size


class _ContentError(Exception):
    pass


# --- scanning contents ---------------------------------------------------------------------------------------


def _model_scanner_version() -> str:
    return f"{modelfiles.ENGINE_VERSION}+{modelfiles.ModelFileScanner().ruleset()}"


def picklescan_version() -> str | None:
    try:
        return version("picklescan")
    except PackageNotFoundError:
        return None


def _finding(f: Any) -> dict[str, Any]:
    return {"rule_id": f.rule_id, "severity": f.severity, "line": f.line, "message": f.message,
            "vuln_type": f.vuln_type, "cwe": f.cwe, "path": f.path}


def _linked(source: Path, folder: Path, name: str) -> Path:
    """``source`` under ``name`` in ``folder``: a hard link, or a copy across file systems."""
    dest = folder / (PurePosixPath(name).name or "content")
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)
    return dest


def scan_content(item: tuple[str, str, str, bool, str]) -> list[dict[str, Any]]:
    """Verdict rows for one content (sha256, its file in the store, a path it is held under, whether to ask
    picklescan too, a work directory): ``modelfiles``, and picklescan's when it read the file. Runs on
    executor workers; static only (nothing is loaded, imported or unpickled)."""
    sha256, path, shown, cross_check, work = item
    scanner = modelfiles.ModelFileScanner()
    # Under its own file name: picklescan picks its reader by extension (ours reads the bytes).
    with tempfile.TemporaryDirectory(prefix="scan-", dir=work) as tmp:
        verdict = scanner.verdict(_linked(Path(path), Path(tmp), shown), display=shown, cross_check=cross_check)
    now = utcnow()
    out = [{"sha256": sha256, "scanner": MODEL_SCANNER, "scanner_version": _model_scanner_version(),
            "outcome": verdict.outcome, "format": verdict.format, "scanned_at": now,
            "details": {"reasons": list(verdict.reasons), "globals": list(verdict.globals),
                        "findings": [_finding(f) for f in verdict.findings],
                        "engines": [list(e) for e in verdict.engines]}}]
    for engine, said in verdict.engines[1:]:
        name, _, engine_version = engine.partition(" ")
        if name != PICKLESCAN:
            continue
        head, _, rest = said.partition(":")
        if head in (modelfiles.CLEAN, modelfiles.SUSPICIOUS, modelfiles.DANGEROUS, modelfiles.INCONCLUSIVE):
            outcome = head
        elif said.startswith("not run"):
            outcome = modelfiles.SKIPPED
        else:  # picklescan raised: it could not tell
            outcome = modelfiles.INCONCLUSIVE
        globals_ = [g.strip() for g in rest.split(",") if g.strip()] if head in ("dangerous", "suspicious") else []
        out.append({"sha256": sha256, "scanner": PICKLESCAN, "scanner_version": engine_version,
                    "outcome": outcome, "format": verdict.format, "scanned_at": now,
                    "details": {"said": said, "globals": globals_}})
    return out


def _needs_model_scan(keys: Mapping[str, Mapping[str, tuple[str, str | None]]], sha: str, model_version: str,
                      pickle_version: str | None) -> bool:
    if not rows.has_verdict(keys, sha, MODEL_SCANNER, model_version):
        return True
    fmt = keys[sha][MODEL_SCANNER][1]
    return (pickle_version is not None and fmt is not None and formats.split_codec(fmt)[1] in _PICKLE_BEARING
            and not rows.has_verdict(keys, sha, PICKLESCAN, pickle_version))


def _code_outcome(findings: Sequence[Mapping[str, Any]], skipped: str | None) -> tuple[str, str | None]:
    """A code file's outcome from its findings: critical → dangerous, high or medium → suspicious, only
    low ones (asserts, ``random`` ...) or none → clean; the highest severity is kept either way."""
    worst = max((f["severity"] for f in findings), key=lambda s: _SEVERITY_RANK.get(s, 0), default=None)
    if worst == "critical":
        return modelfiles.DANGEROUS, worst
    if worst in ("high", "medium"):
        return modelfiles.SUSPICIOUS, worst
    if skipped is not None and not findings:
        return modelfiles.SKIPPED, None
    return modelfiles.CLEAN, worst


def scan_code(settings: Settings, scanners: Sequence[Scanner], items: Mapping[str, str],
              executor: Executor | None) -> list[dict[str, Any]]:
    """``code:<scanner>`` verdict rows for Python contents (sha256 → a file name it is held under), scanned
    together with ``scan_path`` from a work directory of hard links into the content store."""
    from ..scan.run import ScannerKey, scan_path  # the scan stage pulls in every scanner module

    if not items or not scanners:
        return []
    keys = {s.name: ScannerKey.of(s) for s in scanners}
    work_root = content_root(settings) / "tmp"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="code-", dir=work_root) as tmp:
        for sha, name in items.items():
            folder = Path(tmp) / sha
            folder.mkdir()
            _linked(content_path(settings, sha), folder, name)
        outcome = scan_path(Path(tmp), scanners, executor=executor)
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in outcome.findings:
        sha = f.path.split("/", 1)[0]
        found.setdefault((sha, f.scanner), []).append(_finding(f) | {"path": items.get(sha, f.path)})
    skipped: dict[str, str] = {}
    for s in outcome.skipped:
        skipped.setdefault(s.path.split("/", 1)[0], s.reason)
    now = utcnow()
    out = []
    for sha in items:
        for name, key in keys.items():
            findings = found.get((sha, name), [])
            reason = skipped.get(sha)
            mine = reason if reason is not None and reason.startswith(name) else None
            result, worst = _code_outcome(findings, mine)
            out.append({"sha256": sha, "scanner": f"{CODE_PREFIX}{name}",
                        "scanner_version": f"{key.version}+{key.ruleset}"[:64], "outcome": result, "format": "python",
                        "scanned_at": now, "details": {"findings": findings, "max_severity": worst, "skipped": mine,
                                                       "path": items[sha]}})
    return out


def code_scanner_versions(scanners: Sequence[Scanner]) -> dict[str, str]:
    from ..scan.run import ScannerKey

    return {f"{CODE_PREFIX}{s.name}": f"{k.version}+{k.ruleset}"[:64] for s in scanners for k in [ScannerKey.of(s)]}


# --- the stage ----------------------------------------------------------------------------------------------


def snapshot_models(store: Store, settings: Settings, *, min_downloads: int = DEFAULT_MIN_DOWNLOADS,
                    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE, revision_pinned: bool = False,
                    used: bool = False,
                    allow: Sequence[str] = DEFAULT_ALLOW, deny: Sequence[str] = (), limit: int | None = None,
                    workers: int = 4, code_scanners: Sequence[str] = DEFAULT_CODE_SCANNERS, picklescan: bool = True,
                    executor: Executor | None = None, advance: Progress | None = None) -> SnapshotSummary:
    """Snapshot the selected models (see the module docstring); ``advance(n)`` hears of models done.
    Model-file and code scans run on ``executor`` (in this process without one); downloads on
    ``workers`` threads."""
    from ..scan.run import make_scanners

    if min_downloads < 0 or (max_file_size is not None and max_file_size < 0) or workers < 1:
        raise UsageError("min_downloads and max_file_size must not be negative, workers must be positive")
    opts = SnapshotOptions(min_downloads, max_file_size, revision_pinned, tuple(allow), tuple(deny), limit, workers,
                           tuple(code_scanners), picklescan)
    chosen_code = make_scanners(list(opts.code_scanners)) if opts.code_scanners else []
    model_version = _model_scanner_version()
    pickle_version = picklescan_version() if picklescan else None
    code_versions = code_scanner_versions(chosen_code)
    versions = {"ptmscope": __version__, MODEL_SCANNER: model_version, "huggingface_hub": version("huggingface_hub")}
    versions |= code_versions | ({PICKLESCAN: pickle_version} if pickle_version else {})
    params = {"min_downloads": min_downloads, "max_file_size": max_file_size, "revision_pinned": revision_pinned,
              "used": used,
              "allow": list(opts.allow), "deny": list(opts.deny), "limit": limit,
              "code_scanners": list(opts.code_scanners), "picklescan": picklescan}
    store.interrupt_stale_runs(SOURCE)
    # What a killed run left half-downloaded: one snapshot run per data directory at a time, as per source.
    shutil.rmtree(content_root(settings) / "tmp", ignore_errors=True)
    run_id = store.start_run(STAGE, SOURCE, params, versions)
    summary = SnapshotSummary(run_id)
    with store.recording(run_id, summary.counts):
        with store.engine.connect() as conn:
            targets = rows.select_models(conn, min_downloads=min_downloads, revision_pinned=revision_pinned,
                                         limit=limit, used=used)
        summary.models = len(targets)
        hub = _Hub(settings)
        stage = _Stage(store, settings, opts, hub, summary, executor, chosen_code, model_version, pickle_version,
                       code_versions, advance)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snapshot") as pool:
            for start in range(0, len(targets), MODELS_PER_BATCH):
                stage.batch(targets[start:start + MODELS_PER_BATCH], pool)
    return summary


@dataclass
class _Stage:
    store: Store
    settings: Settings
    opts: SnapshotOptions
    hub: _Hub
    summary: SnapshotSummary
    executor: Executor | None
    code_scanners: list[Scanner]
    model_version: str
    pickle_version: str | None
    code_versions: dict[str, str]
    advance: Progress | None
    locks: _ContentLocks = field(default_factory=_ContentLocks)

    def batch(self, targets: Sequence[rows.ModelTarget], pool: ThreadPoolExecutor) -> None:
        with self.store.engine.connect() as conn:
            stored = rows.stored_files(conn, [t.pk for t in targets])
        current = [t for t in targets if _still_current(stored[t.pk], t.sha, self.opts)]
        todo = [t for t in targets if t not in current]
        results = list(pool.map(lambda t: _snapshot_one(
            self.hub, self.settings, t, self.opts,
            {f.path: f.sha256 for f in stored[t.pk] if f.status == rows.DOWNLOADED and f.sha256}, self.locks), todo))

        # Contents to scan: downloaded now, or held by up-to-date snapshots without current verdicts.
        contents: dict[str, str] = {}  # sha256 -> a path it is held under
        code: dict[str, str] = {}
        for t in current:
            custom = has_custom_code(t.config, (f.path for f in stored[t.pk]))
            for f in stored[t.pk]:
                if f.status == rows.DOWNLOADED and f.sha256:
                    contents.setdefault(f.sha256, f.path)
                    if custom and f.path.endswith(".py"):
                        code.setdefault(f.sha256, f.path)
        for r in results:
            for row in r.rows:
                if row["status"] == rows.DOWNLOADED:
                    contents.setdefault(row["sha256"], row["path"])
                    if r.custom_code and row["path"].endswith(".py"):
                        code.setdefault(row["sha256"], row["path"])
        self._scan(contents, code)

        with self.store.engine.connect() as conn:
            latest = rows.latest_verdicts(conn, contents, MODEL_SCANNER)
        for r in results:
            self._write(r, latest)
        self.summary.up_to_date += len(current)
        if self.advance is not None:
            self.advance(len(targets))

    def _scan(self, contents: Mapping[str, str], code: Mapping[str, str]) -> None:
        with self.store.engine.connect() as conn:
            keys = rows.verdict_keys(conn, contents)
        work = content_root(self.settings) / "tmp"
        work.mkdir(parents=True, exist_ok=True)
        missing = [(sha, str(content_path(self.settings, sha)), path, self.pickle_version is not None, str(work))
                   for sha, path in sorted(contents.items())
                   if _needs_model_scan(keys, sha, self.model_version, self.pickle_version)
                   and content_path(self.settings, sha).is_file()]
        verdicts = self.executor.map(scan_content, missing) if self.executor is not None else map(scan_content,
                                                                                                  missing)
        for found in verdicts:
            with self.store.engine.begin() as conn:
                rows.write_verdicts(conn, found)
            self.summary.contents_scanned += len(found)
        code_todo = {sha: path for sha, path in sorted(code.items())
                     if content_path(self.settings, sha).is_file()
                     and not all(rows.has_verdict(keys, sha, name, v) for name, v in self.code_versions.items())}
        found_code = scan_code(self.settings, self.code_scanners, code_todo, self.executor)
        with self.store.engine.begin() as conn:
            rows.write_verdicts(conn, found_code)
        self.summary.contents_scanned += len(found_code)

    def _write(self, result: _ModelResult, latest: Mapping[str, tuple[str, str | None]]) -> None:
        s = self.summary
        name = result.target.model_id
        if result.error is not None:
            s.failed_models += 1
            s.problems.append((name, result.error))
            self.store.record_failure(s.run_id, STAGE, name, result.error)
            return
        for row in result.rows:
            if row["status"] == rows.DOWNLOADED and row["sha256"] in latest:
                row["format"] = latest[row["sha256"]][1]
        with self.store.engine.begin() as conn:
            rows.replace_snapshot(conn, result.target.pk, result.rows)
        for item, reason in result.problems:
            self.store.record_failure(s.run_id, STAGE, item, reason)
        s.snapshotted += 1
        s.custom_code_models += result.custom_code
        s.files += len(result.rows)
        s.downloaded += result.downloaded
        s.reused += result.reused
        s.bytes_downloaded += result.bytes
        s.skipped += sum(row["status"] == rows.SKIPPED for row in result.rows)
        s.failed += sum(row["status"] == rows.FAILED for row in result.rows)
        s.problems.extend(result.problems)
        for row in result.rows:
            key = row["status"]
            if key == rows.DOWNLOADED:
                key = latest[row["sha256"]][0] if row["sha256"] in latest else "unscanned"
            s.verdicts[key] = s.verdicts.get(key, 0) + 1

