"""Metadata coverage (MLOSS Table 5) on hand-built stores whose every count is known."""

from __future__ import annotations

from typing import Any

import pytest

from ptmscope.analysis.coverage import coverage
from ptmscope.hubs.collect import collect_records
from ptmscope.hubs.interface import ModelRecord
from ptmscope.store import Store, open_store

# The rows of Table 5, in the paper's order.
ROWS = ["full_name", "content", "language", "datasets", "libraries", "license", "base_model", "card",
        "pipeline_tag", "parameter_count"]


def hf(model_id: str, **fields: Any) -> ModelRecord:
    return ModelRecord(hub="huggingface", model_id=model_id, raw={"id": model_id}, **fields)


FULL = dict(card_text="# card", card_data={"license": "mit"}, model_index=[{"name": "m", "results": []}],
            datasets=("squad",), languages=("en",), library_name="transformers", license_raw="mit",
            base_models=("org/base",), pipeline_tag="fill-mask", parameter_count=110)

MODELS = [
    # id, fields, and the rows it counts in (besides full_name, which every model has)
    (hf("org/full", **FULL), {"content", "language", "datasets", "libraries", "license", "base_model", "card",
                              "pipeline_tag", "parameter_count"}),
    (hf("org/bare"), set()),
    # Each kind of content metadata on its own counts as content.
    (hf("org/card-only", card_text="# just a README"), {"content", "card"}),
    (hf("org/yaml-only", card_data={"tags": ["x"]}), {"content"}),
    (hf("org/index-only", model_index=[{"name": "m"}]), {"content"}),
    (hf("org/datasets-only", datasets=("imdb", "sst2")), {"content", "datasets"}),
    # Empty containers are no metadata.
    (hf("org/empty-containers", card_data={}, model_index=[], datasets=(), languages=(), base_models=()), set()),
    (hf("org/lib-and-task", library_name="timm", pipeline_tag="image-classification"), {"libraries", "pipeline_tag"}),
    (hf("org/license-lang", license_raw="apache-2.0", languages=("de", "fr")), {"license", "language"}),
    (hf("org/base-and-params", base_models=("a/b",), parameter_count=7_000_000_000), {"base_model",
                                                                                      "parameter_count"}),
]
LIVE = len(MODELS)


def expected_counts() -> dict[str, int]:
    counts = dict.fromkeys(ROWS, 0)
    counts["full_name"] = LIVE
    for _, rows in MODELS:
        for row in rows:
            counts[row] += 1
    return counts


def fill(store: Store) -> None:
    # Deleted models do not count: stored first, then missing from the second listing.
    deleted = [hf("org/deleted-full", **FULL), hf("org/deleted-bare")]
    records = [record for record, _ in MODELS]
    collect_records(store, "huggingface", "huggingface", records + deleted, mark_missing_deleted=True)
    collect_records(store, "huggingface", "huggingface", records, mark_missing_deleted=True)
    # Another hub's models count for that hub only.
    collect_records(store, "pytorch_hub", "pytorch_hub",
                    [ModelRecord(hub="pytorch_hub", model_id="pytorch/vision/resnet18", card_text="page",
                                 library_name="torch", pipeline_tag="image-classification")],
                    mark_missing_deleted=True)


def test_every_row_on_a_known_store(db_url: str) -> None:
    store = open_store(db_url)
    fill(store)
    total, rows = coverage(store)
    assert total == LIVE
    assert [r.metadata for r in rows] == ROWS
    expected = expected_counts()
    assert {r.metadata: r.models for r in rows} == expected
    for r in rows:
        assert r.percent == pytest.approx(100 * expected[r.metadata] / LIVE), r.metadata
        assert r.description
    # The store is built so that no row is trivially all or nothing (full_name excepted).
    assert all(0 < n < LIVE for key, n in expected.items() if key != "full_name")


def test_other_hub(db_url: str) -> None:
    store = open_store(db_url)
    fill(store)
    total, rows = coverage(store, "pytorch_hub")
    assert total == 1
    by_key = {r.metadata: r for r in rows}
    assert {k for k, r in by_key.items() if r.models} == {"full_name", "content", "card", "libraries",
                                                          "pipeline_tag"}
    assert by_key["card"].percent == 100.0 and by_key["license"].percent == 0.0


def test_no_models_is_zero_percent(db_url: str) -> None:
    store = open_store(db_url)
    total, rows = coverage(store)
    assert total == 0
    assert [(r.metadata, r.models, r.percent) for r in rows] == [(key, 0, 0.0) for key in ROWS]


def test_only_deleted_models_is_zero_percent(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    collect_records(store, "huggingface", "huggingface", [hf("org/a", **FULL)], mark_missing_deleted=True)
    collect_records(store, "huggingface", "huggingface", [], mark_missing_deleted=True)
    total, rows = coverage(store)
    assert total == 0 and all(r.models == 0 and r.percent == 0.0 for r in rows)
