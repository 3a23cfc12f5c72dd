"""``ptmscope audit PATH``: what a code base loads from model hubs, what is known of each model, and what
to act on.

Gathering reads PATH statically (the usage analyser for model loads, license detection for PATH's own
license, the scanners for code findings), then looks every loaded model up: in the store first (exact
id, then case-insensitively, then under a former name recorded as a rename), else on the Hub endpoint
when it is reachable and allowed. Assessing turns what was gathered into :class:`Issue` values, each
with a stable id from :data:`RULES`, the one place that says why each is a risk and what to do.

Nothing here runs, imports or unpickles anything from PATH or from a model repository: file names,
metadata and stored verdicts are all that is read about models.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from sqlalchemy import Connection, case, func, select

from .. import __version__
from ..config import Settings
from ..errors import SourceUnavailableError
from ..hubs.interface import ModelRecord
from ..runtime.executors import Executor
from ..scan.interface import SEVERITIES, Finding, Scanner, ScanOutcome
from ..store import Store, schema

log = logging.getLogger(__name__)

HF = "huggingface"


# --- the issues an audit reports ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str  # kebab-case, for SARIF's rule name
    severity: str  # the usual severity; an issue may carry another one (its message says why)
    title: str
    rationale: str  # why it is a risk
    remedy: str  # what to do about it


RULES: dict[str, Rule] = {rule.id: rule for rule in (
    Rule("AUD001", "unpinned-model-load", "medium", "Model loaded without a pinned revision",
         "Without a revision, or with a branch name, every run downloads whatever the model repository holds "
         "at that moment: its owner (or whoever takes over the account) can change the weights, the "
         "configuration or the code under a deployed application, and two runs may use different models. "
         "A tag is better but can be moved too (low); only a commit id fixes the content.",
         "Pass revision=<commit sha> and update it deliberately."),
    Rule("AUD002", "trust-remote-code-unpinned", "critical", "trust_remote_code=True without a commit pin",
         "trust_remote_code runs Python files from the model repository at load time. Unpinned, that is "
         "arbitrary code the repository owner can change at any time, run with the application's rights "
         "(pinned to a tag or branch, which can be moved: high).",
         "Pin revision=<commit sha> after reviewing the repository's .py files at that commit, or load a model "
         "that needs no remote code."),
    Rule("AUD003", "pickle-only-weights", "high", "Model weights exist only in pickle formats",
         "The repository has weights only as .bin/.pt/.pth/.ckpt/.pkl files (no .safetensors or .gguf). Loading "
         "them unpickles, which can execute arbitrary code embedded in the file.",
         "Use a safetensors variant of the model (or convert it once in a sandbox), load with "
         "use_safetensors=True, or torch.load(..., weights_only=True)."),
    Rule("AUD004", "license-incompatible", "high", "Model license incompatible with the application's license",
         "The model's declared license conflicts with the license PATH is distributed under (for instance a "
         "non-commercial model in permissively licensed, commercially usable code).",
         "Replace the model, obtain other terms from its owner, or change how the application is licensed."),
    Rule("AUD005", "license-unknown", "low", "Model license unknown",
         "The model declares no license, or one no compatibility rule decides, so whether the application may "
         "use and redistribute it cannot be told.",
         "Read the model card and the license files of the repository; ask the owner when in doubt."),
    Rule("AUD006", "gated-model", "low", "Gated model",
         "The model needs an account that accepted its terms (and a token at build or run time): builds depend "
         "on a credential, and the accepted terms bind the organisation.",
         "Check the terms were accepted by the right party and keep the token out of code and images."),
    Rule("AUD007", "model-file-verdict", "critical", "A model file was flagged by ptmscope's model-file scan",
         "A snapshotted file of the model was read by ptmscope's model-file scanners, which found imports or "
         "opcodes that can run code when the file is loaded (dangerous: critical; suspicious: high).",
         "Do not load the file; use another revision or format of the model and report it to the hub."),
    Rule("AUD008", "base-model-license-conflict", "medium", "Model license contradicts its base model's",
         "The model declares a license its base model's license does not allow for derivatives (for instance "
         "a permissive license on a fine-tune of a non-commercial model): the more restrictive terms likely "
         "still apply to whoever uses it.",
         "Treat the model as carrying its base model's terms, or pick a model whose lineage is clean."),
    Rule("AUD009", "trust-remote-code", "medium", "trust_remote_code=True",
         "The load runs Python files from the model repository; the revision is pinned, so the code is fixed, "
         "but it is third-party code running with the application's rights.",
         "Review the repository's .py files at the pinned revision, as any dependency's code."),
    Rule("AUD010", "hub-security-flag", "high", "The Hub's own scan flags a file of the model",
         "The hub's malware and pickle scans reported a file of the repository as unsafe (high) or suspicious "
         "(medium).",
         "Look at the flagged file on the hub; do not load it unless its imports are understood."),
    Rule("AUD011", "model-not-found", "high", "Model not found on the hub",
         "The loaded id does not exist (any more) on the hub, or was deleted: anyone who registers that "
         "namespace can publish a model under the name the code loads (namespace reuse).",
         "Point the code at the model's current id and pin a revision, or vendor the weights."),
    Rule("AUD012", "renamed-model", "medium", "Model loaded under a former name",
         "The model was renamed or moved; the hub redirects the old name only until someone registers it "
         "again, after which the code silently loads their model.",
         "Load the model under its current id, pinned to a revision."),
    Rule("AUD013", "unresolved-model-load", "low", "Model load whose model could not be resolved statically",
         "The model name is computed at run time (a variable, an argument, configuration), so the audit cannot "
         "say which model is loaded or assess it.",
         "Review the call; pin the models it can load, or list them where the audit can read them."),
    Rule("AUD014", "application-license-unknown", "low", "No license detected for the audited code",
         "Without a license for PATH, model licenses cannot be checked against it.",
         "Add a LICENSE file, or check each model license against the terms the code is distributed under."),
)}


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


# --- what an audit gathers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallSite:
    """One model load in PATH, as the usage analyser read it."""

    path: str  # relative to PATH
    line: int | None
    cell: int | None  # notebooks: the 0-based cell index; ``line`` is then within the cell
    library: str
    call: str
    model: str | None  # the id when it could be resolved statically
    revision: str | None = None
    pinned: bool | None = None  # a revision other than main/master (None: one is passed, not readable)
    trust_remote_code: bool | None = None
    use_safetensors: bool | None = None
    expression: str | None = None
    kind: str = "hub"  # hub / local / unknown (not resolved)
    confidence: float | None = None
    pinned_to_commit: bool = False  # the only pin that cannot move: tags and branches can
    hub: str = "huggingface"
    local_path: str | None = None

    @property
    def location(self) -> str:
        where = self.path if self.cell is None else f"{self.path} cell {self.cell}"
        return f"{where}:{self.line}" if self.line is not None else where

    def sort_key(self) -> tuple[str, int, int]:
        return self.path, self.cell if self.cell is not None else -1, self.line or 0


@dataclass(frozen=True, slots=True)
class AppLicense:
    spdx: str | None
    file: str | None = None
    confidence: float | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class Compat:
    verdict: str  # compatible / incompatible / unknown
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class FileVerdict:
    path: str
    scanner: str
    outcome: str  # dangerous / suspicious / ...
    details: str | None = None


@dataclass(frozen=True, slots=True)
class HubFlag:
    path: str
    level: str  # the hub's word: unsafe / suspicious / caution / ...


@dataclass
class ModelFacts:
    """What is known of one model, from the store or from the hub."""

    source: str  # store / hub
    match: str  # exact / case_insensitive / alias (store), hub / hub_rename (hub)
    current_id: str
    hub: str = HF
    sha: str | None = None
    license_raw: str | None = None
    license: str | None = None  # SPDX expression or LicenseRef-...
    gated: str | None = None
    library_name: str | None = None
    downloads: int | None = None
    deleted: bool = False
    files: list[str] | None = None  # None: not known
    weight_formats: list[str] = field(default_factory=list)
    pickle_only: bool | None = None
    custom_code: bool | None = None
    security_status: Any = None
    hub_flags: list[HubFlag] = field(default_factory=list)
    verdicts: list[FileVerdict] = field(default_factory=list)
    base_models: list[tuple[str, str]] = field(default_factory=list)  # (parent id, relation)

    @property
    def gated_on(self) -> bool:
        return self.gated not in (None, "", "false")


@dataclass
class BaseLink:
    """One step of a model's lineage: ``child`` declares ``parent`` as its base model."""

    child: str
    parent: str
    relation: str
    child_license: str | None
    parent_license: str | None
    found: bool  # whether anything is known of the parent
    conflict: Compat | None = None  # chain_conflict(child, parent), when both licenses are known
    depth: int = 1


@dataclass
class ModelAudit:
    model: str  # as the code names it
    sites: list[CallSite]
    facts: ModelFacts | None = None
    lookup: str = "not_looked_up"  # store / hub / not_found / unreachable / offline / error / not_in_store
    note: str | None = None
    compatibility: Compat | None = None
    lineage: list[BaseLink] = field(default_factory=list)

    @property
    def pinned(self) -> bool:
        """Every load names a revision (a commit, a tag or a branch other than main)."""
        return all(s.pinned for s in self.sites)

    @property
    def pinned_to_commit(self) -> bool:
        return all(s.pinned_to_commit for s in self.sites)

    @property
    def first_site(self) -> CallSite:
        return min(self.sites, key=CallSite.sort_key)


@dataclass(frozen=True, slots=True)
class Issue:
    rule: str  # an id of RULES
    severity: str
    message: str
    model: str | None = None
    path: str | None = None
    line: int | None = None
    cell: int | None = None

    @property
    def title(self) -> str:
        return RULES[self.rule].title

    @property
    def location(self) -> str | None:
        if self.path is None:
            return None
        where = self.path if self.cell is None else f"{self.path} cell {self.cell}"
        return f"{where}:{self.line}" if self.line is not None else where


@dataclass
class AuditResult:
    root: Path
    license: AppLicense
    models: list[ModelAudit] = field(default_factory=list)
    local: list[CallSite] = field(default_factory=list)
    unresolved: list[CallSite] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    scan: ScanOutcome | None = None  # None: not scanned (--no-scan)
    scanners: list[tuple[str, str]] = field(default_factory=list)  # (name, version)
    usage_files: int = 0
    usage_skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    notes: list[str] = field(default_factory=list)
    hub_endpoint: str | None = None
    hub_status: str = "off"  # off / reachable / unreachable / unused
    store_url: str | None = None
    version: str = __version__

    @property
    def findings(self) -> list[Finding]:
        return list(self.scan.findings) if self.scan is not None else []

    def issue_counts(self) -> dict[str, int]:
        found = dict.fromkeys(SEVERITIES, 0)
        for issue in self.issues:
            found[issue.severity] += 1
        return found

    def finding_counts(self) -> dict[str, int]:
        found = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            found[f.severity] = found.get(f.severity, 0) + 1
        return found

    def worst(self) -> str | None:
        """The highest severity among issues and findings, None when there are none."""
        severities = [i.severity for i in self.issues] + [f.severity for f in self.findings]
        return max(severities, key=rank) if severities else None

    def breaches(self, fail_on: str | None) -> bool:
        worst = self.worst()
        return fail_on is not None and worst is not None and rank(worst) >= rank(fail_on)


# --- facts from metadata ----------------------------------------------------------------------------------

# Formats a load unpickles; a repository with weights only in these makes every load run the unpickler.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
# Formats that hold tensors as data: their presence gives a loader a way around the unpickler.
SAFE_SUFFIXES = (".safetensors", ".gguf")
_SHA = re.compile(r"[0-9a-f]{7,64}")


def is_commit(revision: str | None) -> bool:
    return revision is not None and _SHA.fullmatch(revision) is not None


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def weight_facts(files: Sequence[str] | None, safetensors_meta: Any = None) -> tuple[list[str], bool | None]:
    """The weight formats among ``files`` and whether they are pickle only (None when files are unknown).

    ``safetensors_meta`` is the hub's safetensors summary: when present the repository has safetensors
    weights even if its file list is not known.
    """
    if files is None:
        return (["safetensors"], False) if safetensors_meta else ([], None)
    suffixes = {_suffix(f) for f in files}
    formats = sorted(s.lstrip(".") for s in suffixes if s in PICKLE_SUFFIXES or s in SAFE_SUFFIXES)
    has_pickle = any(s in PICKLE_SUFFIXES for s in suffixes)
    has_safe = bool(safetensors_meta) or any(s in SAFE_SUFFIXES for s in suffixes)
    return formats, has_pickle and not has_safe


def custom_code(config: Any, tags: Iterable[str] | None, files: Sequence[str] | None) -> bool | None:
    """Whether the repository ships code a ``trust_remote_code`` load would run (None: cannot tell)."""
    if isinstance(config, dict) and config.get("auto_map"):
        return True
    tag_list = list(tags or [])
    if "custom_code" in tag_list:
        return True
    if files is not None:
        return any(f.endswith(".py") for f in files)
    if config is None and not tag_list:
        return None
    return False


def hub_flags(security_status: Any) -> list[HubFlag]:
    """Files the hub's own scans flag, from its ``securityRepoStatus`` (``filesWithIssues``)."""
    if not isinstance(security_status, dict):
        return []
    flagged = security_status.get("filesWithIssues")
    flags = []
    for item in flagged if isinstance(flagged, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        level = str(item.get("level") or "unknown").lower()
        if level != "safe":
            flags.append(HubFlag(item["path"], level))
    return flags


def _license_of(raw: str | None, spdx: str | None) -> str | None:
    if spdx:
        return spdx
    if not raw:
        return None
    from ..licenses.normalize import normalize_license

    normalized = normalize_license(raw)
    return str(normalized) if normalized else None


def facts_from_record(record: ModelRecord, *, match: str) -> ModelFacts:
    files = [f.path for f in record.files] if record.files is not None else None
    formats, pickle_only = weight_facts(files, record.safetensors)
    return ModelFacts(
        source="hub", match=match, current_id=record.model_id, hub=record.hub, sha=record.sha,
        license_raw=record.license_raw, license=_license_of(record.license_raw, None), gated=record.gated,
        library_name=record.library_name, downloads=record.downloads, deleted=False, files=files,
        weight_formats=formats, pickle_only=pickle_only,
        custom_code=custom_code(record.config, record.tags, files),
        security_status=record.security_status, hub_flags=hub_flags(record.security_status),
        base_models=[(b, "unknown") for b in record.base_models])


# --- the store ----------------------------------------------------------------------------------------------

M = schema.model
MA = schema.model_alias
MF = schema.model_file
ME = schema.model_edge
SNAP = schema.model_snapshot
VERDICT = schema.model_file_verdict


def _find_row(conn: Connection, model_id: str, hub: str | None) -> tuple[Any, str] | None:
    """The stored model a load names, and how it matched: exact, case_insensitive or alias (a rename)."""
    prefer = case((M.c.hub == HF, 0), else_=1)
    where_hub = [M.c.hub == hub] if hub else []
    row = conn.execute(select(M).where(M.c.model_id == model_id, *where_hub).order_by(prefer).limit(1)).first()
    if row is not None:
        return row, "exact"
    row = conn.execute(select(M).where(func.lower(M.c.model_id) == model_id.lower(), *where_hub)
                       .order_by(prefer, M.c.id).limit(1)).first()
    if row is not None:
        return row, "case_insensitive"
    where_alias = [MA.c.hub == hub] if hub else []
    row = conn.execute(select(M).join(MA, MA.c.model == M.c.id)
                       .where(func.lower(MA.c.old_id) == model_id.lower(), *where_alias)
                       .order_by(prefer, M.c.id).limit(1)).first()
    return (row, "alias") if row is not None else None


def _verdicts(conn: Connection, pk: int) -> list[FileVerdict]:
    rows = conn.execute(select(SNAP.c.path, VERDICT.c.scanner, VERDICT.c.outcome, VERDICT.c.details)
                        .join(VERDICT, VERDICT.c.sha256 == SNAP.c.sha256)
                        .where(SNAP.c.model == pk, VERDICT.c.outcome.in_(("dangerous", "suspicious")))
                        .order_by(SNAP.c.path, VERDICT.c.scanner))
    found: dict[tuple[str, str], FileVerdict] = {}
    for row in rows:
        details = _brief_details(row.details)
        verdict = FileVerdict(row.path, row.scanner, row.outcome, details)
        key = (row.path, row.scanner)
        # Several scanner versions may have read the file; the worst verdict stands.
        if key not in found or (found[key].outcome != "dangerous" and row.outcome == "dangerous"):
            found[key] = verdict
    return list(found.values())


def _brief_details(details: Any) -> str | None:
    if details is None:
        return None
    if isinstance(details, dict):
        for name in ("message", "globals", "rules", "imports"):
            value = details.get(name)
            if value:
                return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        return None
    if isinstance(details, list):
        return ", ".join(map(str, details[:8])) or None
    return str(details)


def stored_facts(conn: Connection, model_id: str, hub: str | None = None) -> ModelFacts | None:
    found = _find_row(conn, model_id, hub)
    if found is None:
        return None
    row, match = found
    files: list[str] | None = [r.path for r in conn.execute(select(MF.c.path).where(MF.c.model == row.id))]
    if not files:
        files = None  # a model without file rows was listed, not detailed: its files are not known
    edges = [(r.parent_id, r.relation) for r in conn.execute(
        select(ME.c.parent_id, ME.c.relation).where(ME.c.child == row.id).order_by(ME.c.id))]
    edges = edges or [(b, "unknown") for b in (row.base_models or []) if isinstance(b, str)]
    # A model linked to the same parent by several pieces of evidence is one lineage step.
    bases: dict[str, str] = {}
    for parent, relation in edges:
        bases.setdefault(parent, relation)
    formats, pickle_only = weight_facts(files, row.safetensors)
    return ModelFacts(
        source="store", match=match, current_id=row.model_id, hub=row.hub, sha=row.sha,
        license_raw=row.license_raw, license=_license_of(row.license_raw, row.license_spdx), gated=row.gated,
        library_name=row.library_name, downloads=row.downloads, deleted=bool(row.deleted), files=files,
        weight_formats=formats, pickle_only=pickle_only, custom_code=custom_code(row.config, row.tags, files),
        security_status=row.security_status, hub_flags=hub_flags(row.security_status),
        verdicts=_verdicts(conn, row.id), base_models=list(bases.items()))


# --- the hub --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HubAnswer:
    status: str  # found / not_found / unreachable / error
    record: ModelRecord | None = None
    note: str | None = None


class ModelSource(Protocol):
    """Where models missing from the store are looked up (the Hub endpoint, or a test double)."""

    endpoint: str

    def lookup(self, model_id: str) -> HubAnswer: ...


class HubLookup:
    """Model metadata from the Hugging Face endpoint in ``settings``, through ptmscope's HTTP layer.

    Reachability is checked once, on the first lookup: an endpoint that does not answer makes every
    lookup "unreachable" at once instead of each waiting for its own retries.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.endpoint = settings.hf_endpoint
        self.reachable: bool | None = None
        self.reason: str | None = None
        self._hub: Any = None

    def _connect(self) -> bool:
        if self.reachable is None:
            from ..hubs.huggingface import HuggingFaceHub

            self._hub = HuggingFaceHub(self.settings)
            try:
                self._hub.check_reachable()
                self.reachable = True
            except SourceUnavailableError as exc:
                self.reachable = False
                self.reason = str(exc)
        return bool(self.reachable)

    def lookup(self, model_id: str) -> HubAnswer:
        if not self._connect():
            return HubAnswer("unreachable", note=self.reason)
        from huggingface_hub import get_session
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
        from huggingface_hub.utils._headers import build_hf_headers
        from huggingface_hub.utils._http import hf_raise_for_status

        from ..hubs.huggingface import HUB_ERRORS, parse_model

        headers = build_hf_headers(token=self.settings.hf_token or False, library_name="ptmscope",
                                   library_version=__version__)
        # The default model record already has siblings, cardData, config, tags and gated; ``expand``
        # would replace it and cannot be combined with securityStatus, which adds the hub's own scan.
        try:
            response = get_session().get(f"{self.endpoint}/api/models/{quote(model_id, safe='/')}",
                                         headers=headers, params={"securityStatus": True})
            hf_raise_for_status(response)
            data = response.json()
            if not isinstance(data, dict):
                raise ValueError("model info is not a JSON object")
            return HubAnswer("found", parse_model(data))
        except RepositoryNotFoundError:
            return HubAnswer("not_found", note=f"{self.endpoint} has no model {model_id}")
        except HfHubHTTPError as exc:
            return HubAnswer("error", note=f"{self.endpoint} answered {_status(exc)} for {model_id}")
        except HUB_ERRORS as exc:
            return HubAnswer("error", note=f"could not read {model_id} from {self.endpoint}: {_brief(exc)}")

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()


def _status(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(getattr(response, "status_code", "an error"))


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


# --- gathering ------------------------------------------------------------------------------------------------


def _relative(path: Any, root: Path) -> str:
    p = Path(str(path))
    if p.is_absolute():
        try:
            p = p.relative_to(root.resolve())
        except ValueError:
            try:
                p = p.relative_to(root)
            except ValueError:
                return p.as_posix()
    return p.as_posix()


def call_site(usage: Any, root: Path) -> CallSite:
    """A :class:`CallSite` from the usage analyser's record (read by attribute, as it documents them)."""
    def get(name: str, default: Any = None) -> Any:
        return getattr(usage, name, default)

    model = get("model")
    resolved = get("resolved", model is not None)
    model = model if resolved and isinstance(model, str) and model else None
    kind = str(get("kind") or ("hub" if model else "unknown"))
    revision = get("revision")
    return CallSite(
        path=_relative(get("path"), root), line=get("line"), cell=get("cell"), library=str(get("library") or ""),
        call=str(get("call") or ""), model=model, revision=revision, pinned=get("pinned"),
        trust_remote_code=get("trust_remote_code"), use_safetensors=get("use_safetensors"),
        expression=get("expression"), kind=kind, confidence=get("confidence"),
        pinned_to_commit=bool(get("pinned_to_commit", get("pinned") and is_commit(revision))),
        hub=str(get("hub") or HF), local_path=get("local_path"))


def app_license(root: Path) -> AppLicense:
    from ..licenses.detect import detect_repository_license

    detected = detect_repository_license(root)
    if detected is None:
        return AppLicense(None)
    file = getattr(detected, "file", None)
    return AppLicense(getattr(detected, "spdx", None), _relative(file, root) if file else None,
                      getattr(detected, "confidence", None), getattr(detected, "method", None))


class _Resolver:
    """Facts of a model id from the store, else the hub; each id is asked once per audit."""

    def __init__(self, conn: Connection | None, hub: ModelSource | None, offline: bool) -> None:
        self.conn = conn
        self.hub = hub
        self.offline = offline
        self.cache: dict[tuple[str, str], tuple[ModelFacts | None, str, str | None]] = {}

    def resolve(self, model_id: str, hub_name: str = HF) -> tuple[ModelFacts | None, str, str | None]:
        key = (hub_name, model_id)
        if key not in self.cache:
            self.cache[key] = self._resolve(model_id, hub_name)
        return self.cache[key]

    def _resolve(self, model_id: str, hub_name: str) -> tuple[ModelFacts | None, str, str | None]:
        if self.conn is not None:
            facts = stored_facts(self.conn, model_id, hub_name)
            if facts is not None:
                return facts, "store", None
        if hub_name != HF:
            return None, "not_in_store", f"{hub_name} models are looked up in the store only"
        if self.offline or self.hub is None:
            return None, "offline", "not in the store; the hub was not asked (offline)"
        answer = self.hub.lookup(model_id)
        if answer.status == "found" and answer.record is not None:
            renamed = answer.record.model_id.lower() != model_id.lower()
            return facts_from_record(answer.record, match="hub_rename" if renamed else "hub"), "hub", None
        return None, answer.status, answer.note


MAX_LINEAGE = 6  # base-model steps followed from a loaded model; real chains are short, cycles exist


def _lineage(facts: ModelFacts, resolver: _Resolver, chain_conflict: Callable[..., Any]) -> list[BaseLink]:
    links: list[BaseLink] = []
    seen = {facts.current_id.lower()}
    frontier: list[tuple[ModelFacts, int]] = [(facts, 1)]
    while frontier:
        child, depth = frontier.pop(0)
        for parent_id, relation in child.base_models:
            parent, _, _ = resolver.resolve(parent_id, child.hub)
            link = BaseLink(child.current_id, parent_id, relation, child.license,
                            parent.license if parent else None, parent is not None, depth=depth)
            if link.child_license and link.parent_license:
                # The child's name matters too: some licenses fix how derivatives must be named.
                link.conflict = _compat(chain_conflict(link.child_license, link.parent_license,
                                                       child_name=child.current_id))
            links.append(link)
            if parent is not None and parent.current_id.lower() not in seen and depth < MAX_LINEAGE:
                seen.add(parent.current_id.lower())
                frontier.append((parent, depth + 1))
    return links


def _compat(verdict: Any) -> Compat | None:
    if verdict is None:
        return None
    return Compat(str(getattr(verdict, "verdict", "unknown")), str(getattr(verdict, "rule", "")),
                  str(getattr(verdict, "reason", "")))


def gather(root: Path, *, store: Store | None = None, hub: ModelSource | None = None, offline: bool = False,
           scanners: Sequence[Scanner] = (), executor: Executor | None = None,
           usage_report: Any = None) -> AuditResult:
    """Everything the audit knows of ``root``; ``assess`` turns it into issues. ``usage_report`` is the
    usage analyser's report when the caller already has it."""
    from ..licenses.compat import chain_conflict, compatibility

    if usage_report is None:
        from ..usage.analyzer import analyze_path

        usage_report = analyze_path(root, executor=executor)
    result = AuditResult(root=root, license=app_license(root), hub_endpoint=hub.endpoint if hub else None,
                         hub_status="off" if offline or hub is None else "unused",
                         store_url=_safe_url(store) if store is not None else None)
    sites = [call_site(u, root) for u in getattr(usage_report, "usages", [])]
    result.usage_files = _count(getattr(usage_report, "files", 0))
    result.usage_skipped = [_skipped(s, root) for s in getattr(usage_report, "skipped", []) or []]
    by_model: dict[tuple[str, str], list[CallSite]] = {}
    for site in sorted(sites, key=CallSite.sort_key):
        if site.kind == "local":
            result.local.append(site)
        elif site.model is None:
            result.unresolved.append(site)
        else:
            by_model.setdefault((site.hub, site.model), []).append(site)

    conn = store.engine.connect() if store is not None else None
    try:
        resolver = _Resolver(conn, hub, offline)
        for (hub_name, model_id), model_sites in by_model.items():
            entry = ModelAudit(model_id, model_sites)
            entry.facts, entry.lookup, entry.note = resolver.resolve(model_id, hub_name)
            if entry.facts is not None:
                if entry.facts.license and result.license.spdx:
                    entry.compatibility = _compat(compatibility(entry.facts.license, result.license.spdx))
                entry.lineage = _lineage(entry.facts, resolver, chain_conflict)
            result.models.append(entry)
    finally:
        if conn is not None:
            conn.close()
    if isinstance(hub, HubLookup) and hub.reachable is not None:
        result.hub_status = "reachable" if hub.reachable else "unreachable"
        if not hub.reachable:
            result.notes.append(f"hub not reachable, models missing from the store were not assessed: {hub.reason}")
    if scanners:
        from ..scan.run import ScannerKey, scan_path

        result.scanners = [(key.name, key.version) for key in map(ScannerKey.of, scanners)]
        result.scan = scan_path(root, scanners, executor=executor)
    else:
        result.notes.append("PATH was not scanned (--no-scan)")
    result.issues = assess(result)
    return result


def _skipped(item: Any, root: Path) -> tuple[str, str]:
    """A file the usage analyser did not read: a (path, reason) pair, or a record with those fields."""
    if isinstance(item, tuple | list) and len(item) == 2:
        return _relative(item[0], root), str(item[1])
    return _relative(getattr(item, "path", item), root), str(getattr(item, "reason", ""))


def _count(value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        return len(value)
    except TypeError:
        return 0


def _safe_url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=True)


# --- assessing ------------------------------------------------------------------------------------------------


def _at(site: CallSite) -> dict[str, Any]:
    return {"path": site.path, "line": site.line, "cell": site.cell}


def _site_issues(entry: ModelAudit) -> list[Issue]:
    issues = []
    facts = entry.facts
    model = entry.model
    for site in entry.sites:
        rev = f"revision {site.revision!r}" if site.revision else "no revision"
        if site.trust_remote_code:
            if not site.pinned_to_commit:
                # A tag or branch pin still lets the owner swap the code that runs: weaker, not safe.
                severity = "high" if site.pinned else "critical"
                code = "; the repository ships custom code" if facts is not None and facts.custom_code else ""
                issues.append(Issue("AUD002", severity, f"{model} loaded with trust_remote_code=True and {rev}"
                                    f"{' (a tag or branch, which can move)' if site.pinned else ''}{code}",
                                    model, **_at(site)))
            elif facts is None or facts.custom_code is not False:  # else nothing for the flag to run
                known = " (the repository ships custom code)" if facts is not None and facts.custom_code else ""
                issues.append(Issue("AUD009", "medium", f"{model} runs repository code at {rev}{known}",
                                    model, **_at(site)))
            continue
        if site.pinned_to_commit:
            continue
        if site.pinned is None:
            issues.append(Issue("AUD001", "low", f"{model} loaded with a revision computed at run time: check "
                                "it always names a commit", model, **_at(site)))
        elif site.pinned:
            issues.append(Issue("AUD001", "low", f"{model} pinned to {rev}, a tag or branch that can be moved; "
                                "a commit cannot", model, **_at(site)))
        else:
            what = f"branch {site.revision!r}" if site.revision else "no revision"
            issues.append(Issue("AUD001", "medium", f"{model} loaded with {what}: the weights can change under "
                                "the application", model, **_at(site)))
    return issues


def _model_issues(entry: ModelAudit, app: AppLicense) -> list[Issue]:
    at = _at(entry.first_site)
    model = entry.model
    facts = entry.facts
    if facts is None:
        if entry.lookup == "not_found":
            return [Issue("AUD011", "high", f"{model} does not exist on the hub: whoever registers it controls "
                          "what this code loads", model, **at)]
        return []
    issues = []
    if facts.deleted:
        issues.append(Issue("AUD011", "high", f"{model} was deleted from the hub (recorded in the store): whoever "
                            "registers it controls what this code loads", model, **at))
    if facts.match in ("alias", "hub_rename"):
        issues.append(Issue("AUD012", "medium", f"{model} is now {facts.current_id}; load it under that id",
                            model, **at))
    if facts.pickle_only and not all(s.use_safetensors for s in entry.sites):
        formats = ", ".join(facts.weight_formats) or "pickle"
        issues.append(Issue("AUD003", "high", f"{model} has weights only as {formats} (no safetensors): loading "
                            "unpickles them", model, **at))
    # One issue per file, however many scanners agree on it: the worst outcome, every scanner named.
    by_path: dict[str, list[FileVerdict]] = {}
    for verdict in facts.verdicts:
        by_path.setdefault(verdict.path, []).append(verdict)
    for path, verdicts in by_path.items():
        worst = "dangerous" if any(v.outcome == "dangerous" for v in verdicts) else verdicts[0].outcome
        said = "; ".join(f"{v.scanner}: {v.outcome}" + (f" ({v.details})" if v.details else "") for v in verdicts)
        issues.append(Issue("AUD007", "critical" if worst == "dangerous" else "high",
                            f"{model}: {path} is {worst} ({said})", model, **at))
    for flag in facts.hub_flags:
        severity = "high" if flag.level in ("unsafe", "dangerous", "malicious") else "medium"
        issues.append(Issue("AUD010", severity, f"{model}: the hub's scan marks {flag.path} as {flag.level}",
                            model, **at))
    if facts.license is None:
        raw = f" ({facts.license_raw!r} is not a known license)" if facts.license_raw else ""
        issues.append(Issue("AUD005", "low", f"{model} declares no license{raw}", model, **at))
    elif entry.compatibility is not None:
        c = entry.compatibility
        if c.verdict == "incompatible":
            issues.append(Issue("AUD004", "high", f"{model} is {facts.license}, incompatible with {app.spdx}: "
                                f"{c.reason} [{c.rule}]", model, **at))
        elif c.verdict != "compatible":
            issues.append(Issue("AUD005", "low", f"{model} is {facts.license}; no rule decides it against "
                                f"{app.spdx}: {c.reason}", model, **at))
    if facts.gated_on:
        issues.append(Issue("AUD006", "low", f"{model} is gated ({facts.gated}): loading it needs accepted terms "
                            "and a token", model, **at))
    for link in entry.lineage:
        if link.conflict is not None and link.conflict.verdict == "incompatible":
            issues.append(Issue("AUD008", "medium", f"{link.child} declares {link.child_license} but its base "
                                f"model {link.parent} is {link.parent_license}: {link.conflict.reason}",
                                model, **at))
    return issues


def assess(result: AuditResult) -> list[Issue]:
    """The issues of an audit, most severe first, then by location."""
    issues: list[Issue] = []
    for entry in result.models:
        issues += _site_issues(entry)
        issues += _model_issues(entry, result.license)
    for site in result.unresolved:
        what = f" ({site.expression})" if site.expression else ""
        issues.append(Issue("AUD013", "low", f"{site.call} loads a model named at run time{what}", None,
                            **_at(site)))
    if result.license.spdx is None:
        issues.append(Issue("AUD014", "low", "no license file or declaration found in PATH"))
    return sorted(issues, key=lambda i: (-rank(i.severity), i.path or "", i.cell if i.cell is not None else -1,
                                         i.line or 0, i.rule))


def rules_used(issues: Iterable[Issue]) -> list[Rule]:
    ids = {i.rule for i in issues}
    return [rule for rule_id, rule in RULES.items() if rule_id in ids]
