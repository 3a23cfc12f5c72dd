"""The licenses stage over the store: normalise every model and repository license, detect licenses in clones
the GitHub API said nothing about, and classify every model -> application pair and every base-model edge.

Model licenses come from ``license_raw`` (the hub stage's reading of the card and tags); a model without one
is read from its Hub tags (``license:*``) and card data (``license``, ``license_name``). Repository licenses come
from the GitHub API (``license_raw``, else the ``license`` object of the stored payload); where that is absent or
``NOASSERTION`` and the repository is cloned, from its license files (:mod:`.detect`). GitHub says
NOASSERTION when a license file exists that it could not identify, so such a repository with nothing detected
is ``LicenseRef-other``, not "no license".
"""

from __future__ import annotations

import importlib.metadata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Settings
from ..github.cloning import clone_path
from ..jsonvalues import string_list
from ..runtime.executors import Executor
from ..store import Store
from ..store import licenses as db
from .compat import VERDICTS, Verdict, chain_conflict, compatibility
from .detect import DetectedLicense, detect_repository_license
from .normalize import OTHER, license_ids, license_info, normalize_license

STAGE = "licenses"
Progress = Callable[[int], None]
_NO_ASSERTION = "NOASSERTION"


@dataclass
class LicenseRunSummary:
    run_id: int
    models: int = 0
    models_licensed: int = 0
    repositories: int = 0
    repositories_licensed: int = 0
    detected: int = 0  # repositories whose license came from their files
    detection_failed: int = 0
    model_app: Counter[str] = field(default_factory=Counter)
    base_model: Counter[str] = field(default_factory=Counter)
    top_incompatible: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        flat = {"models": self.models, "models_licensed": self.models_licensed, "repositories": self.repositories,
                "repositories_licensed": self.repositories_licensed, "detected": self.detected,
                "detection_failed": self.detection_failed}
        for verdict in VERDICTS:
            flat[f"model_app_{verdict}"] = self.model_app[verdict]
            flat[f"base_model_{verdict}"] = self.base_model[verdict]
        return flat

    def line(self) -> str:
        def verdicts(counter: Counter[str]) -> str:
            return ", ".join(f"{counter[v]} {v}" for v in VERDICTS)

        return (f"licenses: {self.models_licensed} of {self.models} models and {self.repositories_licensed} of "
                f"{self.repositories} repositories licensed ({self.detected} detected from files); "
                f"model->application pairs: {verdicts(self.model_app)}; base-model links: {verdicts(self.base_model)}")


@lru_cache(maxsize=16384)
def _normalise(raw: str | None) -> str | None:
    return normalize_license(raw)


def model_raw_license(license_raw: str | None, tags: Any, card_data: Any) -> str | None:
    """The license string of a model: ``license_raw``, else its card data, else its ``license:`` tags (the same
    reading, and the same ``other:NAME`` form, as the Hub stage's)."""
    if license_raw and license_raw.strip():
        return license_raw
    card = card_data if isinstance(card_data, dict) else {}
    values = string_list(card.get("license")) or [t[len("license:"):] for t in string_list(tags)
                                                  if t.startswith("license:")]
    if not values:
        return None
    raw = ", ".join(values)
    if raw == "other" and isinstance(card.get("license_name"), str):
        raw = f"other:{card['license_name']}"
    return raw


def repository_raw_license(license_raw: str | None, api_license: Any) -> str | None:
    if license_raw and license_raw.strip():
        return license_raw
    if isinstance(api_license, dict):
        for key in ("spdx_id", "key", "name"):
            value = api_license.get(key)
            if isinstance(value, str) and value.strip():
                return value
    return None


def _detect(path: str) -> tuple[str, DetectedLicense | None, str | None]:
    try:
        return path, detect_repository_license(Path(path)), None
    except Exception as exc:  # one unreadable clone must not stop the stage
        return path, None, f"{type(exc).__name__}: {exc}"


def _versions() -> dict[str, str]:
    versions = {"ptmscope": __version__}
    for package in ("license-expression", "pyaskalono"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def check_all(store: Store, settings: Settings, advance: Progress | None = None, *,
              executor: Executor | None = None, top: int = 20) -> LicenseRunSummary:
    """Normalise, detect and classify (see the module docstring); replaces every ``license_check`` row.
    ``advance(n)`` hears of models, repositories and pairs done; ``executor`` runs file detection in parallel
    (in this process when None)."""
    step = advance or (lambda _n: None)
    run_id = store.start_run(STAGE, "store", {"executor": type(executor).__name__ if executor else None},
                             versions=_versions())
    summary = LicenseRunSummary(run_id)
    with store.recording(run_id, summary.counts):
        model_spdx, model_names = _models(store, summary, step)
        repo_spdx = _repositories(store, settings, summary, step, executor)
        _classify(store, summary, step, model_spdx, model_names, repo_spdx, top)
    return summary


def _models(store: Store, summary: LicenseRunSummary, step: Progress) -> tuple[dict[int, str | None], dict[int, str]]:
    spdx_of: dict[int, str | None] = {}
    names: dict[int, str] = {}
    updates: list[tuple[int, str | None, str | None]] = []
    with store.engine.connect() as conn:
        for row in db.models(conn):
            raw = model_raw_license(row.license_raw, row.tags, row.card_data)
            spdx = _normalise(raw)
            spdx_of[row.pk] = spdx
            names[row.pk] = row.model_id
            summary.models += 1
            summary.models_licensed += spdx is not None
            if (raw, spdx) != (row.license_raw, row.license_spdx):
                updates.append((row.pk, raw, spdx))
            step(1)
    with store.engine.begin() as conn:
        db.set_model_licenses(conn, updates)
    return spdx_of, names


def _repositories(store: Store, settings: Settings, summary: LicenseRunSummary, step: Progress,
                  executor: Executor | None) -> dict[int, str | None]:
    spdx_of: dict[int, str | None] = {}
    raws: dict[int, str | None] = {}
    stored: dict[int, tuple[str | None, str | None]] = {}
    to_detect: dict[str, tuple[int, str]] = {}
    with store.engine.connect() as conn:
        for row in db.repositories(conn):
            raw = repository_raw_license(row.license_raw, row.api_license)
            spdx = _normalise(raw)
            raws[row.pk] = raw
            spdx_of[row.pk] = spdx
            stored[row.pk] = (row.license_raw, row.license_spdx)
            summary.repositories += 1
            if spdx is None and row.clone_path is not None and (raw is None or raw.strip().upper() == _NO_ASSERTION):
                to_detect[str(clone_path(settings, row.clone_path))] = (row.pk, row.full_name)
            else:
                step(1)
    results = (executor.map(_detect, list(to_detect)) if executor is not None
               else map(_detect, list(to_detect)))
    for path, detected, error in results:
        pk, full_name = to_detect[path]
        if error is not None:
            summary.detection_failed += 1
            store.record_failure(summary.run_id, STAGE, full_name, f"license detection failed: {error}")
        elif detected is not None:
            spdx_of[pk] = detected.spdx
            summary.detected += 1
        step(1)
    updates: list[tuple[int, str | None, str | None]] = []
    for pk, found in spdx_of.items():
        raw = raws[pk]
        spdx = OTHER if found is None and raw is not None and raw.strip().upper() == _NO_ASSERTION else found
        spdx_of[pk] = spdx
        summary.repositories_licensed += spdx is not None
        if (raw, spdx) != stored[pk]:
            updates.append((pk, raw, spdx))
    with store.engine.begin() as conn:
        db.set_repository_licenses(conn, updates)
    return spdx_of


def _classify(store: Store, summary: LicenseRunSummary, step: Progress, model_spdx: dict[int, str | None],
              model_names: dict[int, str], repo_spdx: dict[int, str | None], top: int) -> None:
    with store.engine.connect() as conn:
        pairs = db.model_app_pairs(conn)
        edges = db.base_model_edges(conn)
    rows: list[dict[str, Any]] = []
    pair_cache: dict[tuple[str | None, str | None], Verdict] = {}
    incompatible: Counter[tuple[str, str, str]] = Counter()
    for pair in pairs:
        model, app = model_spdx.get(pair.model), repo_spdx.get(pair.repository)
        verdict = pair_cache.get((model, app))
        if verdict is None:
            verdict = pair_cache[(model, app)] = compatibility(model, app)
        summary.model_app[verdict.verdict] += 1
        if verdict.verdict == "incompatible":
            incompatible[(model or "", app or "", verdict.rule)] += 1
        rows.append({"kind": "model_app", "model": pair.model, "repository": pair.repository, "parent": None,
                     "model_license": model, "other_license": app, "verdict": verdict.verdict,
                     "rule": verdict.rule, "reason": verdict.reason})
        step(1)
    chain_cache: dict[tuple[str | None, str | None, str | None], Verdict] = {}
    for edge in edges:
        child, parent = model_spdx.get(edge.child), model_spdx.get(edge.parent)
        name = model_names.get(edge.child) if _has_naming_terms(parent) else None
        verdict = chain_cache.get((child, parent, name))
        if verdict is None:
            verdict = chain_cache[(child, parent, name)] = chain_conflict(child, parent, child_name=name)
        summary.base_model[verdict.verdict] += 1
        rows.append({"kind": "base_model", "model": edge.child, "repository": None, "parent": edge.parent,
                     "model_license": child, "other_license": parent, "verdict": verdict.verdict,
                     "rule": verdict.rule, "reason": verdict.reason})
        step(1)
    with store.engine.begin() as conn:
        db.replace_checks(conn, rows)
    summary.top_incompatible = [{"model_license": m, "app_license": a, "rule": r, "pairs": n}
                                for (m, a, r), n in incompatible.most_common(top)]


@lru_cache(maxsize=4096)
def _has_naming_terms(expr: str | None) -> bool:
    return expr is not None and any(license_info(i).name_prefix for i in license_ids(expr))
