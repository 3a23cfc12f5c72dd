"""The Hugging Face Hub: listing models through huggingface_hub, and turning its JSON into records.

Listing goes through ``huggingface_hub.utils.paginate``, the very call ``HfApi.list_models`` makes
(same URL, parameters, auth headers, backoff and error mapping), but it hands us the raw JSON of
each model instead of a ``ModelInfo``. We need the raw payload anyway (it is stored whole), and a
``ModelInfo`` that fails to build from one odd record would end ``list_models``' generator and with
it the whole crawl; here one bad record is one recorded failure.
Per-model info is fetched the same way (``model_info``'s request, raw JSON back); commit
histories use ``HfApi.list_repo_commits``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx2
import orjson
from huggingface_hub import HfApi, get_session, hf_hub_url
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils._headers import build_hf_headers
from huggingface_hub.utils._http import hf_raise_for_status
from huggingface_hub.utils._pagination import paginate

from .. import __version__
from ..config import Settings
from ..errors import SourceUnavailableError
from ..http import HttpStats, configure_huggingface_hub, make_client
from ..jsonvalues import string_list
from ..timestamps import parse_timestamp
from .domains import domain_for_task
from .interface import ModelCommit, ModelFile, ModelRecord

log = logging.getLogger(__name__)

HUB = "huggingface"

# Everything Table 3 of the MLOSS paper asks for that the listing endpoint can return in one pass.
LIST_EXPAND = [
    "author", "cardData", "config", "createdAt", "disabled", "downloads", "downloadsAllTime", "gated",
    "lastModified", "library_name", "likes", "model-index", "pipeline_tag", "private", "safetensors",
    "sha", "siblings", "spaces", "tags", "transformersInfo", "usedStorage",
]
PAGE_SIZE = 1000  # the Hub's largest page

_BASE_MODEL_RELATIONS = frozenset({"adapter", "finetune", "merge", "quantized"})

_FORMAT_BY_SUFFIX = {
    ".safetensors": "safetensors", ".bin": "pytorch", ".pt": "pytorch", ".pth": "pytorch",
    ".ckpt": "checkpoint", ".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib",
    ".onnx": "onnx", ".gguf": "gguf", ".ggml": "ggml", ".h5": "keras", ".keras": "keras",
    ".tflite": "tflite", ".pb": "tensorflow", ".msgpack": "flax", ".npy": "numpy", ".npz": "numpy",
    ".mlmodel": "coreml", ".nemo": "nemo",
}


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values))


def file_format(path: str) -> str | None:
    dot = path.rfind(".")
    return _FORMAT_BY_SUFFIX.get(path[dot:].lower()) if dot >= 0 else None


_INT64 = 2**63


def _as_int(value: Any) -> int | None:
    """An integer column value; None for anything else, including what a BIGINT cannot hold."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and -_INT64 < value < _INT64:
        return value
    return None


def _files(siblings: Any) -> tuple[ModelFile, ...] | None:
    # The hottest loop of a crawl (several files per model); plain type checks keep it cheap.
    if not isinstance(siblings, list):
        return None
    files: dict[str, ModelFile] = {}
    for s in siblings:
        if type(s) is not dict:
            continue
        path = s.get("rfilename")
        if type(path) is not str:
            continue
        size = s.get("size")
        if type(size) is not int or not -_INT64 < size < _INT64:
            size = _as_int(size)
        blob = s.get("blobId")
        lfs = s.get("lfs")
        sha256 = lfs_size = None
        if type(lfs) is dict:
            sha256 = lfs.get("sha256")
            if type(sha256) is not str:
                sha256 = None
            lfs_size = _as_int(lfs.get("size"))
        files[path] = ModelFile(path, size, blob if type(blob) is str else None, sha256, lfs_size,
                                file_format(path))
    return tuple(files.values())


def _base_models(card: dict[str, Any], tags: list[str]) -> tuple[str, ...]:
    found = string_list(card.get("base_model"))
    for tag in tags:
        if not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:"):]
        relation, _, target = rest.partition(":")
        found.append(target if target and relation in _BASE_MODEL_RELATIONS else rest)
    return _unique(found)


def _parameter_count(safetensors: Any) -> int | None:
    if not isinstance(safetensors, dict):
        return None
    total = _as_int(safetensors.get("total"))
    if total is not None:
        return total
    params = safetensors.get("parameters")
    if isinstance(params, dict):
        counts = [_as_int(v) for v in params.values()]
        if counts and all(c is not None for c in counts):
            return sum(c for c in counts if c is not None)
    return None


def _gated(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _drop_nul(value: Any) -> Any:
    # PostgreSQL text and JSONB cannot hold NUL characters; drop them for every store alike.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_drop_nul(v) for v in value]
    if isinstance(value, dict):
        return {_drop_nul(k): _drop_nul(v) for k, v in value.items()}
    return value


def raw_digest(raw: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The payload cleaned for storage, and a digest that changes whenever any field does."""
    try:
        encoded = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits: rare, but a hub can send them
        import json
        encoded = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    if b"\\u0000" in encoded:
        raw = _drop_nul(raw)
    return raw, hashlib.blake2b(encoded, digest_size=16).hexdigest()


def parse_model(raw: dict[str, Any]) -> ModelRecord:
    """Build a record from one Hub model JSON object; raises ValueError when it has no id."""
    model_id = raw.get("id") or raw.get("modelId")
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError("model record without an id")
    raw, digest = raw_digest(raw)
    tags = string_list(raw.get("tags"))
    card_raw = raw.get("cardData")
    card: dict[str, Any] = card_raw if isinstance(card_raw, dict) else {}
    card_error = None
    if card_raw is not None and not isinstance(card_raw, dict):
        card_error = f"cardData is a {type(card_raw).__name__}, expected a mapping"
    license_values = string_list(card.get("license")) or [t[len("license:"):] for t in tags
                                                       if t.startswith("license:")]
    license_raw = ", ".join(license_values) if license_values else None
    if license_raw == "other" and isinstance(card.get("license_name"), str):
        license_raw = f"other:{card['license_name']}"
    datasets = string_list(card.get("datasets")) + [t[len("dataset:"):] for t in tags if t.startswith("dataset:")]
    model_index = raw.get("model-index")
    if model_index is None:
        model_index = card.get("model-index")
    spaces = raw.get("spaces")
    pipeline_tag = raw.get("pipeline_tag") if isinstance(raw.get("pipeline_tag"), str) else None
    author = raw.get("author") if isinstance(raw.get("author"), str) else None
    if author is None and "/" in model_id:
        author = model_id.split("/", 1)[0]
    library = raw.get("library_name") if isinstance(raw.get("library_name"), str) else None
    return ModelRecord(
        hub=HUB,
        model_id=model_id.strip(),
        hub_object_id=raw.get("_id") if isinstance(raw.get("_id"), str) else None,
        author=author,
        sha=raw.get("sha") if isinstance(raw.get("sha"), str) else None,
        created_at=parse_timestamp(raw.get("createdAt")),
        last_modified=parse_timestamp(raw.get("lastModified")),
        downloads=_as_int(raw.get("downloads")),
        downloads_all_time=_as_int(raw.get("downloadsAllTime")),
        likes=_as_int(raw.get("likes")),
        library_name=library,
        pipeline_tag=pipeline_tag,
        domain=domain_for_task(pipeline_tag),
        tags=tuple(tags),
        license_raw=license_raw,
        datasets=_unique(datasets),
        languages=_unique(string_list(card.get("language"))),
        base_models=_base_models(card, tags),
        arxiv_ids=_unique([t[len("arxiv:"):] for t in tags if t.startswith("arxiv:")]),
        gated=_gated(raw.get("gated")),
        private=raw.get("private") if isinstance(raw.get("private"), bool) else None,
        disabled=raw.get("disabled") if isinstance(raw.get("disabled"), bool) else None,
        card_data=card_raw,
        card_data_error=card_error,
        model_index=model_index,
        config=raw.get("config"),
        transformers_info=raw.get("transformersInfo"),
        safetensors=raw.get("safetensors"),
        parameter_count=_parameter_count(raw.get("safetensors")),
        used_storage=_as_int(raw.get("usedStorage")),
        spaces=tuple(string_list(spaces)) if spaces is not None else None,
        security_status=raw.get("securityRepoStatus"),
        files=_files(raw.get("siblings")),
        raw=raw,
        raw_hash=digest,
    )


@dataclass(frozen=True)
class ModelDetail:
    """What per-model calls add to a listed record."""

    current_id: str  # differs from the asked-for id when the Hub redirected (a rename)
    files: tuple[ModelFile, ...] | None = None


class HuggingFaceHub:
    """The Hub behind ``settings.hf_endpoint``, through huggingface_hub's client."""

    name = HUB

    def __init__(self, settings: Settings, stats: HttpStats | None = None) -> None:
        self.settings = settings
        self.stats = stats or HttpStats()
        configure_huggingface_hub(settings, self.stats)
        self.endpoint = settings.hf_endpoint
        self.api = HfApi(endpoint=self.endpoint, token=settings.hf_token or False,
                         library_name="ptmscope", library_version=__version__)
        self._headers = build_hf_headers(token=settings.hf_token or False, library_name="ptmscope",
                                         library_version=__version__)
        self._files_client = make_client(settings, stats=self.stats, headers=self._headers)

    def check_reachable(self) -> None:
        """Fail fast with a clear message when the endpoint does not answer at all; huggingface_hub
        would otherwise retry a wrong URL for minutes."""
        try:
            self._files_client.head(f"{self.endpoint}/api/models")
        except httpx2.TransportError as exc:
            raise SourceUnavailableError(f"cannot reach the Hugging Face Hub at {self.endpoint}: {exc}") from exc

    def list_raw(self, *, author: str | None = None, sort: str = "lastModified",
                 page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Raw model objects, newest change first; pages are fetched lazily as the caller reads."""
        params: dict[str, Any] = {"sort": sort, "limit": page_size, "expand": LIST_EXPAND}
        if author:
            params["author"] = author
        yield from paginate(f"{self.endpoint}/api/models", params=params, headers=self._headers)

    def iter_models(self, since: datetime | None = None) -> Iterator[ModelRecord]:
        for raw in self.list_raw():
            record = parse_model(raw)
            if since and record.last_modified and record.last_modified < since:
                return
            yield record

    def model_info_raw(self, model_id: str, *, files: bool = False) -> dict[str, Any]:
        """GET /api/models/{id} as ``HfApi.model_info`` sends it (same session, headers and error
        mapping), kept as JSON: ``ModelInfo`` raises on shapes real records have, such as
        ``safetensors`` without ``total``."""
        params = {"blobs": True} if files else {}
        response = get_session().get(f"{self.endpoint}/api/models/{quote(model_id, safe='/')}",
                                     headers=self._headers, params=params)
        hf_raise_for_status(response)
        data = response.json()
        if not isinstance(data, dict):
            raise ValueError(f"model info for {model_id} is not a JSON object")
        return data

    def model_detail(self, model_id: str, *, files: bool) -> ModelDetail:
        """Follow renames (the Hub answers an old id with a 307) and, if asked, get file sizes/LFS."""
        info = self.model_info_raw(model_id, files=files)
        current = info["id"] if isinstance(info.get("id"), str) else model_id
        return ModelDetail(current_id=current, files=_files(info.get("siblings")) if files else None)

    def exists_as(self, model_id: str) -> str | None:
        """The id a model is reachable under now (itself, or its new name), or None if gone."""
        try:
            return self.model_detail(model_id, files=False).current_id
        except RepositoryNotFoundError:
            return None

    def card_text(self, model_id: str, revision: str | None) -> str | None:
        url = hf_hub_url(model_id, "README.md", revision=revision or "main", endpoint=self.endpoint)
        response = self._files_client.get(url)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.content.decode("utf-8", errors="replace")

    def commits(self, model_id: str, revision: str | None) -> tuple[ModelCommit, ...]:
        history = self.api.list_repo_commits(model_id, revision=revision or "main")
        return tuple(
            ModelCommit(commit_id=c.commit_id, title=c.title, message=c.message,
                        authors=tuple(c.authors), created_at=c.created_at)
            for c in history)

    def close(self) -> None:
        self._files_client.close()


HUB_ERRORS = (HfHubHTTPError, EntryNotFoundError, httpx2.HTTPError, OSError, ValueError)
