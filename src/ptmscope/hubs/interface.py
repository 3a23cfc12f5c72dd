"""What every model hub gives ptmscope: :class:`ModelRecord` values, one per model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ModelFile:
    path: str
    size: int | None = None
    blob_id: str | None = None
    lfs_sha256: str | None = None
    lfs_size: int | None = None
    format: str | None = None


@dataclass(frozen=True, slots=True)
class ModelCommit:
    commit_id: str
    title: str | None = None
    message: str | None = None
    authors: tuple[str, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One model as a hub describes it. ``raw`` is the payload it was built from, kept whole."""

    hub: str
    model_id: str
    hub_object_id: str | None = None
    author: str | None = None
    sha: str | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    downloads: int | None = None
    downloads_all_time: int | None = None
    likes: int | None = None
    library_name: str | None = None
    pipeline_tag: str | None = None
    domain: str | None = None
    tags: tuple[str, ...] = ()
    license_raw: str | None = None
    datasets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    base_models: tuple[str, ...] = ()
    arxiv_ids: tuple[str, ...] = ()
    gated: str | None = None
    private: bool | None = None
    disabled: bool | None = None
    card_data: Any = None
    card_data_error: str | None = None
    model_index: Any = None
    config: Any = None
    transformers_info: Any = None
    safetensors: Any = None
    parameter_count: int | None = None
    used_storage: int | None = None
    spaces: tuple[str, ...] | None = None
    security_status: Any = None
    github_repo: str | None = None
    entrypoints: tuple[dict[str, Any], ...] = ()
    title: str | None = None
    summary: str | None = None
    files: tuple[ModelFile, ...] | None = None  # None: the listing did not say; () : no files
    card_text: str | None = None
    commits: tuple[ModelCommit, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    raw_hash: str | None = None


class Hub(Protocol):
    """A model registry ptmscope can list."""

    name: str

    def iter_models(self, since: datetime | None = None) -> Iterator[ModelRecord]:
        """Models created or modified after ``since`` (all models when None), newest first."""
        ...
