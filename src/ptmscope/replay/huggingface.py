"""Emulation of the Hugging Face Hub model API, served by :class:`~ptmscope.replay.server.ReplayServer`.

The real ``huggingface_hub`` client works against it unchanged (``HfApi(endpoint=server.url)``):
model listing with ``Link`` pagination, model info (with renamed repos answering 307 like the Hub
does), commit history, repository trees and file downloads (``hf_hub_download``). Single-model records
are served as recorded from the real API; no listing page was ever recorded, so listings are assembled
from those records and say so with ``X-Replay-Assembled: true``.

No tree or security response was ever recorded either (``fixtures/hf_api/PROVENANCE.md``); their shape
follows the Hub's OpenAPI description and huggingface_hub's parsers:

- ``GET /api/models/{id}/tree/{rev}[/{path}]?recursive=&expand=``: entries ``{"type", "oid", "size",
  "path"}``, LFS files with ``"lfs": {"oid": sha256, "size", "pointerSize"}``; with ``expand=true`` also
  ``lastCommit`` and ``securityFileStatus`` (``status`` plus ``avScan`` and ``pickleImportScan``, each
  ``{"status", ...}``; files the corpus has no scan for are ``unscanned``, never invented as ``safe``).
  Pages of 1000 entries (50 with ``expand``) linked by a ``cursor``, as on the Hub.
- ``?securityStatus=true`` on model info adds ``securityRepoStatus``: ``{"scansDone": bool,
  "filesWithIssues": [{"path", "level"}]}``, derived from the per-file statuses.
- ``/{id}/resolve/{rev}/{path}`` answers LFS files the way a Hub mirror does (200 with ``X-Linked-Etag``
  = the sha256 and ``X-Linked-Size``) rather than with a redirect to a CDN host, and honours
  single ``Range`` requests (what huggingface_hub sends to resume a download).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import mimetypes
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import orjson

from .server import JSON_CONTENT_TYPE, Response

Record = dict[str, Any]
Predicate = Callable[[Mapping[str, Any]], bool]

DEFAULT_PAGE_SIZE = 1000
DEFAULT_COMMITS_PAGE_SIZE = 50
DEFAULT_SORT = "trendingScore"
SORT_FIELDS = frozenset({"lastModified", "createdAt", "downloads", "likes", "trendingScore"})
_DATE_FIELDS = frozenset({"lastModified", "createdAt"})

# What GET /api/models returns per model when nothing more is asked for.
LIST_FIELDS = frozenset({"_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                         "library_name", "createdAt", "modelId"})
# Added by full=true; cardData and config stay separate flags, as on the Hub, because of their size.
FULL_LIST_FIELDS = LIST_FIELDS | {"author", "sha", "lastModified", "gated", "disabled", "inference", "siblings"}
# The Hub rejects expand values it does not know; this is huggingface_hub 2.4's ExpandModelProperty_T.
EXPANDABLE_FIELDS = frozenset({
    "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled", "downloads",
    "downloadsAllTime", "evalResults", "gated", "gguf", "inference", "inferenceProviderMapping",
    "lastModified", "library_name", "likes", "mask_token", "model-index", "pipeline_tag", "private",
    "resourceGroup", "safetensors", "sha", "siblings", "spaces", "tags", "transformersInfo", "trendingScore",
    "usedStorage", "widgetData",
})
_ALWAYS_FIELDS = frozenset({"_id", "id"})
_MODELS_PREFIX = "/api/models/"
_MODEL_ACTIONS = frozenset({"revision", "commits", "tree"})
DEFAULT_TREE_PAGE_SIZE = 1000
DEFAULT_TREE_EXPAND_PAGE_SIZE = 50
# Files a new Hub repository's default .gitattributes stores in LFS (plus GGUF and Keras, which the Hub
# now tracks too); any other file holding a NUL byte goes to LFS as well, since the Hub refuses binary
# files in plain git.
LFS_SUFFIXES = frozenset({
    ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gz", ".h5", ".joblib", ".mlmodel", ".model", ".msgpack",
    ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl", ".pt", ".pth", ".rar", ".safetensors",
    ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip", ".zst", ".gguf", ".keras",
})
_ISSUE_LEVELS = ("unsafe", "suspicious", "caution")
_PENDING_LEVELS = ("unscanned", "queued")
_FILE_ACTIONS = frozenset({"resolve"})


class _HttpError(Exception):
    """Raised anywhere below ``handle`` to answer with an error response."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class _BadRequestError(_HttpError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class _RevisionNotFoundError(_HttpError):
    def __init__(self, revision: str) -> None:
        super().__init__(404, f"Invalid rev id: {revision}", "RevisionNotFound")


@dataclass(frozen=True)
class _Projection:
    """Which fields of a record a response carries (None: all) and whether siblings keep blob data."""

    fields: frozenset[str] | None
    blobs: bool



def _project(record: Mapping[str, Any], projection: _Projection) -> Record:
    fields = projection.fields
    out = dict(record) if fields is None else {k: v for k, v in record.items() if k in fields}
    siblings = out.get("siblings")
    if not projection.blobs and isinstance(siblings, list):
        out["siblings"] = [{"rfilename": s["rfilename"]} for s in siblings
                           if isinstance(s, Mapping) and "rfilename" in s]
    return out


class _Entry:
    """One model record plus its serialized projections.

    Records are replaced, never edited in place, so a cached encoding can never go stale and a sort
    index built earlier keeps serving the consistent record it was built from.
    """

    __slots__ = ("encoded", "record")

    def __init__(self, record: Record) -> None:
        self.record = record
        self.encoded: dict[_Projection, bytes] = {}

    def encode(self, projection: _Projection) -> bytes:
        cached = self.encoded.get(projection)
        if cached is None:
            # orjson returns its oversized working buffer; a right-sized copy keeps a cache of 100k
            # records compact and, measured, makes filling it about three times faster.
            cached = bytes(orjson.dumps(_project(self.record, projection)))
            self.encoded[projection] = cached
        return cached


def _sort_value(record: Mapping[str, Any], sort: str) -> float:
    """Numeric sort key; missing or unparsable values sort after everything else."""
    value = record.get(sort)
    if sort in _DATE_FIELDS:
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value).timestamp()
            except ValueError:
                return -math.inf
        return -math.inf
    if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
        return float(value)
    return -math.inf


@dataclass(frozen=True)
class _SortIndex:
    """Models in listing order. ``keys[i]`` is ``(-value, id)``: ascending keys give the Hub's
    descending order with ties broken by id, and let a cursor be found by bisection."""

    keys: list[tuple[float, str]]
    entries: list[_Entry]


def _model_id(record: Mapping[str, Any]) -> str:
    model_id = record.get("id")
    if not isinstance(model_id, str) or not model_id:
        raise ValueError("a model record needs a non-empty string 'id'")
    return model_id


def _synthetic_commit(record: Mapping[str, Any]) -> Record | None:
    sha = record.get("sha")
    if not isinstance(sha, str):
        return None
    author = record.get("author")
    return {
        "id": sha,
        "title": "Current revision",
        "message": "",
        "authors": [{"user": author}] if isinstance(author, str) else [],
        # The Hub dates every commit; a record missing both dates still gets one.
        "date": record.get("lastModified") or record.get("createdAt") or "2022-03-02T23:29:04.000Z",
    }


class HubCorpus:
    """The models, redirects, model cards, files and commit histories the emulated Hub knows.

    All mutation goes through methods so that tests can change the corpus between (or during) crawls
    from any thread. Records passed in are copied one level deep; nested values are shared and must
    not be edited afterwards.
    """

    def __init__(
        self,
        models: Iterable[Mapping[str, Any]] = (),
        *,
        renames: Mapping[str, str] | None = None,
        cards: Mapping[str, str] | None = None,
        commits: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        files: Mapping[str, Mapping[str, bytes]] | None = None,
        security: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        for record in models:
            self._entries[_model_id(record)] = _Entry(dict(record))
        self._renames = dict(renames or {})
        self._cards = dict(cards or {})
        self._commits = {mid: [dict(c) for c in items] for mid, items in (commits or {}).items()}
        self._files = {mid: dict(items) for mid, items in (files or {}).items()}
        self._security = {mid: {path: dict(s) for path, s in items.items()} for mid, items in (security or {}).items()}
        self._indexes: dict[str, _SortIndex] = {}

    @classmethod
    def from_shared_fixtures(cls, fixtures_dir: Path) -> HubCorpus:
        """Load recorded Hub responses: ``model_info/*.json`` records and the 307 renames in ``_index.json``."""
        records = [orjson.loads(path.read_bytes()) for path in sorted((fixtures_dir / "model_info").glob("*.json"))]
        renames: dict[str, str] = {}
        for interaction in orjson.loads((fixtures_dir / "_index.json").read_bytes()):
            if interaction.get("status") != 307:
                continue
            headers = {k.lower(): v for k, v in interaction.get("headers", {}).items()}
            old = urlsplit(interaction["url"]).path
            new = urlsplit(headers["location"]).path
            if old.startswith(_MODELS_PREFIX) and new.startswith(_MODELS_PREFIX):
                renames[unquote(old[len(_MODELS_PREFIX):])] = unquote(new[len(_MODELS_PREFIX):])
        return cls(records, renames=renames)

    # -- reading -----------------------------------------------------------------------------------

    @property
    def models(self) -> dict[str, Record]:
        """A snapshot of id -> record; the records themselves are shared and must not be edited."""
        with self._lock:
            return {mid: entry.record for mid, entry in self._entries.items()}

    @property
    def renames(self) -> dict[str, str]:
        with self._lock:
            return dict(self._renames)

    def get_model(self, model_id: str) -> Record | None:
        entry = self._entry(model_id)
        return entry.record if entry is not None else None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._entries

    def resolve_rename(self, model_id: str) -> str | None:
        """Where a former id now lives, if it was renamed (a live model of that id takes precedence)."""
        with self._lock:
            return None if model_id in self._entries else self._renames.get(model_id)

    def file(self, model_id: str, filename: str) -> bytes | None:
        with self._lock:
            if filename == "README.md" and model_id in self._cards:
                return self._cards[model_id].encode()
            return self._files.get(model_id, {}).get(filename)

    def files_of(self, model_id: str) -> dict[str, bytes]:
        """Every file of a model's repository by path, its card as README.md included."""
        with self._lock:
            files = dict(self._files.get(model_id, {}))
            if model_id in self._cards:
                files["README.md"] = self._cards[model_id].encode()
            return files

    def security_of(self, model_id: str, path: str) -> Record | None:
        """The Hub's scan of one file (a ``securityFileStatus`` object), if the corpus has one."""
        with self._lock:
            found = self._security.get(model_id, {}).get(path)
            return dict(found) if found is not None else None

    def commits_of(self, model_id: str) -> list[Record]:
        """Commits newest first; a model without recorded history gets one commit for its current sha."""
        with self._lock:
            commits = self._commits.get(model_id)
            if commits is not None:
                return list(commits)
            entry = self._entries.get(model_id)
        synthetic = _synthetic_commit(entry.record) if entry is not None else None
        return [synthetic] if synthetic is not None else []

    def _entry(self, model_id: str) -> _Entry | None:
        with self._lock:
            return self._entries.get(model_id)

    def _sorted(self, sort: str) -> _SortIndex:
        with self._lock:
            index = self._indexes.get(sort)
            if index is None:
                pairs = sorted((((-_sort_value(entry.record, sort), mid), entry)
                                for mid, entry in self._entries.items()), key=lambda pair: pair[0])
                index = _SortIndex([key for key, _ in pairs], [entry for _, entry in pairs])
                self._indexes[sort] = index
            return index

    # -- mutation ----------------------------------------------------------------------------------

    def put_model(self, record: Mapping[str, Any]) -> None:
        """Add a model, or replace the record of an existing one (keyed by its ``id``)."""
        model_id = _model_id(record)
        with self._lock:
            self._entries[model_id] = _Entry(dict(record))
            self._indexes.clear()

    def update_model(self, model_id: str, changes: Mapping[str, Any]) -> None:
        """Replace some top-level fields of a model's record (KeyError if the model is unknown)."""
        with self._lock:
            record = {**self._entries[model_id].record, **changes}
            if _model_id(record) != model_id:
                raise ValueError("use rename_model to change a model's id")
            self._entries[model_id] = _Entry(record)
            self._indexes.clear()

    def remove_model(self, model_id: str) -> None:
        """Delete a model with its card, files and history, as deleting a repo does (KeyError if unknown)."""
        with self._lock:
            del self._entries[model_id]
            self._cards.pop(model_id, None)
            self._files.pop(model_id, None)
            self._security.pop(model_id, None)
            self._commits.pop(model_id, None)
            self._indexes.clear()

    def rename_model(self, old_id: str, new_id: str) -> None:
        """Move a repo the way the Hub does: same ``_id``, new ``id``, and the old id answers 307."""
        with self._lock:
            if new_id in self._entries:
                raise ValueError(f"cannot rename {old_id} to {new_id}: that id is taken")
            record = self._entries.pop(old_id).record
            renamed = {**record, "id": new_id}
            if "modelId" in record:
                renamed["modelId"] = new_id
            if "/" in new_id and "author" in record:
                renamed["author"] = new_id.split("/", 1)[0]
            self._entries[new_id] = _Entry(renamed)
            if old_id in self._cards:
                self._cards[new_id] = self._cards.pop(old_id)
            if old_id in self._files:
                self._files[new_id] = self._files.pop(old_id)
            if old_id in self._security:
                self._security[new_id] = self._security.pop(old_id)
            if old_id in self._commits:
                self._commits[new_id] = self._commits.pop(old_id)
            # Earlier redirects to the old id now point straight at the new one, so clients never
            # follow a chain.
            for former, target in list(self._renames.items()):
                if target == old_id:
                    self._renames[former] = new_id
            self._renames.pop(new_id, None)
            self._renames[old_id] = new_id
            self._indexes.clear()

    def add_rename(self, old_id: str, new_id: str) -> None:
        """Declare a redirect without moving any record (as recorded from the Hub)."""
        with self._lock:
            self._renames[old_id] = new_id

    def set_card(self, model_id: str, text: str) -> None:
        with self._lock:
            self._cards[model_id] = text

    def set_file(self, model_id: str, filename: str, data: bytes) -> None:
        with self._lock:
            self._files.setdefault(model_id, {})[filename] = data

    def set_security(self, model_id: str, path: str, status: Mapping[str, Any]) -> None:
        """The Hub's own scan of one file, as ``securityFileStatus`` (``{"status", "avScan", ...}``)."""
        with self._lock:
            self._security.setdefault(model_id, {})[path] = dict(status)

    def put_repo(self, record: Mapping[str, Any], files: Mapping[str, bytes],
                 security: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """A model together with its files: the record's ``siblings`` are made to match them (sizes,
        blob ids, LFS hashes), as the Hub derives them from the repository."""
        model_id = _model_id(record)
        with self._lock:
            self._files[model_id] = dict(files)
            self._security[model_id] = {path: dict(s) for path, s in (security or {}).items()}
            self.put_model({**record, "siblings": siblings(self.files_of(model_id))})

    def set_commits(self, model_id: str, commits: Sequence[Mapping[str, Any]]) -> None:
        """Replace a model's history; ``commits`` are Hub commit dicts, newest first."""
        with self._lock:
            self._commits[model_id] = [dict(c) for c in commits]


# -- HTTP helpers ------------------------------------------------------------------------------------


def _weak_etag(body: bytes) -> str:
    # Same shape as the Hub's (Express) ETags, e.g. W/"1d15-r7PCBmUJ9jp31RqAXVh6fIaaB9Y".
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


def _json(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
    out = {"Content-Type": JSON_CONTENT_TYPE, "ETag": _weak_etag(body)}
    out.update(headers or {})
    return Response(status, out, body)


def _error(status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None,
           ) -> Response:
    extra = dict(headers or {})
    if code is not None:
        # huggingface_hub picks its exception class (RepositoryNotFoundError, ...) from X-Error-Code.
        extra["X-Error-Code"] = code
        extra["X-Error-Message"] = message
    return _json(status, orjson.dumps({"error": message}), extra)


def _repo_not_found() -> Response:
    return _error(404, "Repository not found", "RepoNotFound")


def _redirect(location: str) -> Response:
    # Byte for byte what the Hub answers for a renamed repo (see the recorded 307s in _index.json).
    return Response(307, {"Content-Type": "text/plain; charset=utf-8", "Location": location},
                    f"Temporary Redirect. Redirecting to {location}".encode())


def _single(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _flag(query: Mapping[str, list[str]], name: str) -> bool:
    value = _single(query, name)
    return value is not None and value.lower() in ("1", "true")


def _expand(query: Mapping[str, list[str]], allowed: frozenset[str] | None) -> frozenset[str]:
    values = frozenset(query.get("expand", []) + query.get("expand[]", []))
    if allowed is not None:
        unknown = values - allowed
        if unknown:
            raise _BadRequestError(f'"expand" values must be among {sorted(allowed)}; got {sorted(unknown)}')
    return values


def _query_string(query: Mapping[str, list[str]], drop: str = "") -> list[tuple[str, str]]:
    return [(name, value) for name, values in query.items() if name != drop for value in values]


def _with_query(path: str, query: Mapping[str, list[str]]) -> str:
    items = _query_string(query)
    return f"{path}?{urlencode(items)}" if items else path


def _next_link(base_url: str, path: str, query: Mapping[str, list[str]], param: str, value: str) -> str:
    # The next URL carries every original parameter: huggingface_hub requests it as is.
    items = [*_query_string(query, drop=param), (param, value)]
    return f'<{base_url}{path}?{urlencode(items)}>; rel="next"'


def _split_repo(segments: list[str], actions: frozenset[str]) -> tuple[list[str], str | None, list[str]] | None:
    """Split percent-encoded path segments into (repo segments, action, rest).

    Repo ids have one segment (legacy ids such as ``gpt2``) or two (``org/name``).
    """
    if len(segments) >= 4 and segments[2] in actions:
        repo, action, rest = segments[:2], segments[2], segments[3:]
    elif len(segments) >= 3 and segments[1] in actions:
        repo, action, rest = segments[:1], segments[1], segments[2:]
    elif 1 <= len(segments) <= 2:
        repo, action, rest = segments, None, []
    else:
        return None
    return (repo, action, rest) if all(repo) else None


def _encode_cursor(sort: str, key: tuple[float, str]) -> str:
    neg_value, model_id = key
    payload = orjson.dumps([sort, None if math.isinf(neg_value) else neg_value, model_id])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, neg_value, model_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise _BadRequestError("invalid cursor") from exc
    if cursor_sort != sort or not isinstance(model_id, str) or not isinstance(neg_value, int | float | None):
        raise _BadRequestError("cursor does not belong to this listing")
    return (math.inf if neg_value is None else float(neg_value), model_id)


def _author_of(record: Mapping[str, Any]) -> str | None:
    author = record.get("author")
    if isinstance(author, str):
        return author
    model_id = str(record.get("id", ""))
    return model_id.split("/", 1)[0] if "/" in model_id else None


def _list_filters(query: Mapping[str, list[str]]) -> list[Predicate]:
    predicates: list[Predicate] = []
    author = _single(query, "author")
    if author:
        predicates.append(lambda r: _author_of(r) == author)
    search = _single(query, "search")
    if search:
        needle = search.lower()
        predicates.append(lambda r: needle in str(r.get("id", "")).lower())
    pipeline_tag = _single(query, "pipeline_tag")
    if pipeline_tag:
        predicates.append(lambda r: r.get("pipeline_tag") == pipeline_tag)
    wanted = set(query.get("filter", []))
    if wanted:
        # Library and task filters match even when a record does not repeat them in its tags.
        predicates.append(lambda r: wanted <= {*(r.get("tags") or ()), r.get("pipeline_tag"), r.get("library_name")})
    return predicates


def _git_blob_sha(data: bytes) -> str:
    # The Hub's ETag for a regular (non-LFS) file is its git blob id.
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path: str, data: bytes) -> bool:
    """Whether the Hub would store this file in LFS (see ``LFS_SUFFIXES``)."""
    suffixes = {s.lower() for s in PurePosixPath(path).suffixes}
    return bool(suffixes & LFS_SUFFIXES) or b"\0" in data[:8000]


def _lfs_pointer(data: bytes) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{digest}\nsize {len(data)}\n".encode()


def siblings(files: Mapping[str, bytes]) -> list[Record]:
    """The ``siblings`` of a model info with ``blobs=true`` for these files, sorted by path."""
    out: list[Record] = []
    for path in sorted(files):
        data = files[path]
        if is_lfs(path, data):
            pointer = _lfs_pointer(data)
            out.append({"rfilename": path, "blobId": _git_blob_sha(pointer), "size": len(data),
                        "lfs": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                "pointerSize": len(pointer)}})
        else:
            out.append({"rfilename": path, "blobId": _git_blob_sha(data), "size": len(data)})
    return out


_UNSCANNED: Record = {"status": "unscanned", "avScan": {"status": "unscanned"},
                      "pickleImportScan": {"status": "unscanned"}}


def _repo_security(statuses: Mapping[str, Mapping[str, Any]]) -> Record:
    """``securityRepoStatus`` from per-file statuses: the files with issues, and whether every file
    has been scanned."""
    issues = [{"path": path, "level": s.get("status")} for path, s in sorted(statuses.items())
              if s.get("status") in _ISSUE_LEVELS]
    done = all(s.get("status") not in _PENDING_LEVELS for s in statuses.values())
    return {"scansDone": done, "filesWithIssues": issues}


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a single ``bytes=`` range asks for; None to send the whole file."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, _, last_text = header[len("bytes="):].strip().partition("-")
    try:
        if not first_text:  # a suffix: the last N bytes
            return (max(0, size - int(last_text)), size - 1) if last_text else None
        first = int(first_text)
        last = min(int(last_text), size - 1) if last_text else size - 1
    except ValueError:
        return None
    # A range starting past the end is answered 416; one that ends before it starts is ignored.
    return (first, last) if first <= last or first >= size else None


def _cursor_offset(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (binascii.Error, ValueError) as exc:
        raise _BadRequestError("invalid cursor") from exc
    if value < 0:
        raise _BadRequestError("invalid cursor")
    return value


def _content_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename)
    if guessed is None:
        return "text/plain; charset=utf-8" if filename.endswith(".md") else "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


class HuggingFaceApp:
    """Answers the Hub's model endpoints from a :class:`HubCorpus` (see the module docstring)."""

    def __init__(self, corpus: HubCorpus, page_size_max: int = DEFAULT_PAGE_SIZE,
                 commits_page_size: int = DEFAULT_COMMITS_PAGE_SIZE, tree_page_size: int = DEFAULT_TREE_PAGE_SIZE,
                 tree_expand_page_size: int = DEFAULT_TREE_EXPAND_PAGE_SIZE) -> None:
        if min(page_size_max, commits_page_size, tree_page_size, tree_expand_page_size) < 1:
            raise ValueError("page sizes must be positive")
        self.corpus = corpus
        self.page_size_max = page_size_max
        self.commits_page_size = commits_page_size
        self.tree_page_size = tree_page_size
        self.tree_expand_page_size = tree_expand_page_size

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               base_url: str) -> Response:
        if method not in ("GET", "HEAD"):
            return _error(405, "Method not allowed")
        try:
            if path in ("/api/models", "/api/models/"):
                return self._list_models(query, base_url)
            if path.startswith(_MODELS_PREFIX):
                return self._model_route(path, query, base_url)
            return self._resolve_route(method, path, query, headers)
        except _HttpError as exc:
            return _error(exc.status, str(exc), exc.code)

    # -- GET /api/models ---------------------------------------------------------------------------

    def _list_models(self, query: dict[str, list[str]], base_url: str) -> Response:
        sort = _single(query, "sort") or DEFAULT_SORT
        if sort not in SORT_FIELDS:
            raise _BadRequestError(f'"sort" must be one of {sorted(SORT_FIELDS)}')
        limit = self._page_size(_single(query, "limit"))
        expand = _expand(query, EXPANDABLE_FIELDS)
        if expand:
            fields = expand | _ALWAYS_FIELDS
        else:
            fields = FULL_LIST_FIELDS if _flag(query, "full") else LIST_FIELDS
            if _flag(query, "cardData"):
                fields |= {"cardData"}
            if _flag(query, "config"):
                fields |= {"config"}
        projection = _Projection(fields=fields, blobs=False)
        predicates = _list_filters(query)

        index = self.corpus._sorted(sort)
        cursor = _single(query, "cursor")
        start = bisect_right(index.keys, _decode_cursor(cursor, sort)) if cursor else 0
        parts: list[bytes] = []
        last = -1
        has_more = False
        for position in range(start, len(index.entries)):
            entry = index.entries[position]
            if predicates and not all(p(entry.record) for p in predicates):
                continue
            if len(parts) == limit:
                has_more = True
                break
            parts.append(entry.encode(projection))
            last = position

        extra = {"X-Replay-Assembled": "true"}
        if has_more:
            extra["Link"] = _next_link(base_url, "/api/models", query, "cursor",
                                       _encode_cursor(sort, index.keys[last]))
        return _json(200, b"[" + b",".join(parts) + b"]", extra)

    def _page_size(self, raw: str | None) -> int:
        if raw is None:
            return min(DEFAULT_PAGE_SIZE, self.page_size_max)
        try:
            size = int(raw)
        except ValueError as exc:
            raise _BadRequestError('"limit" must be an integer') from exc
        if size < 1:
            raise _BadRequestError('"limit" must be positive')
        return min(size, self.page_size_max)

    # -- /api/models/{repo_id}[/revision/{rev} | /commits/{rev}] -----------------------------------

    def _model_route(self, path: str, query: dict[str, list[str]], base_url: str) -> Response:
        segments = path[len(_MODELS_PREFIX):].split("/")
        parsed = _split_repo(segments, _MODEL_ACTIONS)
        if parsed is None or (parsed[1] is not None and len(parsed[2]) != 1
                              and not (parsed[1] == "tree" and len(parsed[2]) >= 1)):
            return _error(404, "Not Found")
        repo, action, rest = parsed
        model_id = "/".join(unquote(s) for s in repo)
        suffix = "".join(f"/{s}" for s in ([action, *rest] if action else []))
        entry = self._entry_or_redirect(model_id, query, lambda target: f"{_MODELS_PREFIX}{target}{suffix}")
        if isinstance(entry, Response):
            return entry

        if action == "commits":
            return self._commits(model_id, entry, unquote(rest[0]), query, base_url, path)
        if action == "tree":
            return self._tree(model_id, entry, unquote(rest[0]), unquote("/".join(rest[1:])), query, base_url, path)
        if action == "revision":
            self._check_revision(model_id, entry, unquote(rest[0]))
        expand = _expand(query, EXPANDABLE_FIELDS)
        projection = _Projection(fields=expand | _ALWAYS_FIELDS if expand else None, blobs=_flag(query, "blobs"))
        if not _flag(query, "securityStatus"):
            return _json(200, entry.encode(projection))
        body = _project(entry.record, projection)
        body["securityRepoStatus"] = _repo_security(
            {p: self.corpus.security_of(model_id, p) or _UNSCANNED for p in self.corpus.files_of(model_id)})
        return _json(200, orjson.dumps(body))

    def _entry_or_redirect(self, model_id: str, query: dict[str, list[str]],
                           location: Callable[[str], str]) -> _Entry | Response:
        """The model's entry; else the 307 a renamed repo answers (``location`` builds the new path
        from the quoted new id), else the Hub's 404."""
        entry = self.corpus._entry(model_id)
        if entry is not None:
            return entry
        target = self.corpus.resolve_rename(model_id)
        if target is None:
            return _repo_not_found()
        return _redirect(_with_query(location(quote(target, safe="/")), query))

    def _check_revision(self, model_id: str, entry: _Entry, revision: str) -> str:
        """The commit a revision resolves to; only ``main`` and known commit ids exist here."""
        head = entry.record.get("sha")
        if revision in ("main", head):
            return head if isinstance(head, str) else revision
        if any(commit.get("id") == revision for commit in self.corpus.commits_of(model_id)):
            return revision
        raise _RevisionNotFoundError(revision)

    def _commits(self, model_id: str, entry: _Entry, revision: str, query: dict[str, list[str]],
                 base_url: str, path: str) -> Response:
        resolved = self._check_revision(model_id, entry, revision)
        commits = self.corpus.commits_of(model_id)
        ids = [c.get("id") for c in commits]
        # A branch lists the whole history even if the record's sha and the history disagree.
        start = ids.index(resolved) if revision != "main" and resolved in ids else 0
        raw_page = _single(query, "p") or "0"
        if not raw_page.isdigit():
            raise _BadRequestError('"p" must be a non-negative integer')
        page = int(raw_page)
        size = self.commits_page_size
        begin = start + page * size
        chunk = commits[begin:begin + size]
        if "formatted" in _expand(query, None):
            chunk = [{**c, "formatted": {"title": c.get("title"), "message": c.get("message")}} for c in chunk]
        extra = {}
        if begin + size < len(commits):
            extra["Link"] = _next_link(base_url, path, query, "p", str(page + 1))
        return _json(200, orjson.dumps(chunk), extra)

    # -- GET /api/models/{repo_id}/tree/{revision}[/{path}] -------------------------------------------

    def _tree(self, model_id: str, entry: _Entry, revision: str, folder: str, query: dict[str, list[str]],
              base_url: str, path: str) -> Response:
        commit = self._check_revision(model_id, entry, revision)
        files = self.corpus.files_of(model_id)
        folder = folder.strip("/")
        prefix = f"{folder}/" if folder else ""
        if folder and folder in files:
            raise _HttpError(404, f"{folder} is a file, not a folder", "EntryNotFound")
        inside = {p: data for p, data in files.items() if p.startswith(prefix)}
        if folder and not inside:
            raise _HttpError(404, f"Entry not found: {folder}", "EntryNotFound")
        recursive, expand = _flag(query, "recursive"), _flag(query, "expand")
        folders: set[str] = set()
        for p in inside:
            parts = p[len(prefix):].split("/")[:-1]
            folders.update(prefix + "/".join(parts[:i + 1]) for i in range(len(parts)))
        listed = [(p, True) for p in inside] + [(d, False) for d in folders]
        if not recursive:
            listed = [(p, is_file) for p, is_file in listed if "/" not in p[len(prefix):]]
        listed.sort(key=lambda item: (item[1], item[0]))  # folders first, then files, each by path
        size = self.tree_expand_page_size if expand else self.tree_page_size
        start = _cursor_offset(_single(query, "cursor"))
        last_commit = self._last_commit(model_id, entry, commit) if expand else None
        page = []
        for p, is_file in listed[start:start + size]:
            if is_file:
                item = self._tree_file(model_id, p, inside[p])
                if expand:
                    item["securityFileStatus"] = self.corpus.security_of(model_id, p) or dict(_UNSCANNED)
            else:
                below = sorted((q, _git_blob_sha(d)) for q, d in inside.items() if q.startswith(f"{p}/"))
                oid = hashlib.sha1(orjson.dumps(below)).hexdigest()
                item = {"type": "directory", "oid": oid, "size": 0, "path": p}
            if last_commit is not None:
                item["lastCommit"] = last_commit
            page.append(item)
        extra = {}
        if start + size < len(listed):
            cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
            extra["Link"] = _next_link(base_url, path, query, "cursor", cursor)
        return _json(200, orjson.dumps(page), extra)

    @staticmethod
    def _tree_file(model_id: str, path: str, data: bytes) -> Record:
        if not is_lfs(path, data):
            return {"type": "file", "oid": _git_blob_sha(data), "size": len(data), "path": path}
        pointer = _lfs_pointer(data)
        return {"type": "file", "oid": _git_blob_sha(pointer), "size": len(data), "path": path,
                "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": len(pointer)}}

    def _last_commit(self, model_id: str, entry: _Entry, commit: str) -> Record:
        # Per-file history is not kept: every entry names the commit the tree was asked at.
        for c in self.corpus.commits_of(model_id):
            if c.get("id") == commit:
                return {"id": commit, "title": c.get("title") or "", "date": c.get("date")}
        synthetic = _synthetic_commit(entry.record) or {}
        return {"id": commit, "title": synthetic.get("title", ""), "date": synthetic.get("date")}

    # -- GET|HEAD /{repo_id}/resolve/{revision}/{filename} ---------------------------------------------

    def _resolve_route(self, method: str, path: str, query: dict[str, list[str]],
                       headers: Mapping[str, str]) -> Response:
        parsed = _split_repo(path[1:].split("/"), _FILE_ACTIONS)
        if parsed is None or parsed[1] is None or len(parsed[2]) < 2:
            return _error(404, "Not Found")
        repo, _, rest = parsed
        model_id = "/".join(unquote(s) for s in repo)
        entry = self._entry_or_redirect(model_id, query, lambda target: f"/{target}/resolve/{'/'.join(rest)}")
        if isinstance(entry, Response):
            return entry
        commit = self._check_revision(model_id, entry, unquote(rest[0]))
        commit_header = {"X-Repo-Commit": commit}
        filename = unquote("/".join(rest[1:]))
        data = self.corpus.file(model_id, filename)
        if data is None:
            # The commit header lets huggingface_hub cache the file's absence for that revision.
            return _error(404, "Entry not found", "EntryNotFound", commit_header)
        out = {"Content-Type": _content_type(filename), "Accept-Ranges": "bytes", **commit_header}
        if is_lfs(filename, data):
            # What huggingface_hub keys its cache and its checks on: the LFS sha256 and the real size.
            digest = hashlib.sha256(data).hexdigest()
            out.update({"ETag": f'"{digest}"', "X-Linked-Etag": f'"{digest}"', "X-Linked-Size": str(len(data))})
        else:
            out["ETag"] = f'"{_git_blob_sha(data)}"'
        wanted = _byte_range(headers.get("range"), len(data)) if method == "GET" else None
        if wanted is None:
            return Response(200, out, data)
        first, last = wanted
        if first >= len(data):
            return Response(416, {**out, "Content-Range": f"bytes */{len(data)}"}, b"")
        return Response(206, {**out, "Content-Range": f"bytes {first}-{last}/{len(data)}"}, data[first:last + 1])

