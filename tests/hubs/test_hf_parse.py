"""Turning Hub JSON into records: real recorded bodies, and the malformed shapes real data has."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ptmscope.hubs.huggingface import parse_model
from tests.conftest import shared_path


def test_every_recorded_model_info_parses_with_its_table3_fields() -> None:
    folder = shared_path("fixtures", "hf_api", "model_info")
    files = sorted(folder.glob("*.json"))
    assert len(files) >= 30
    for path in files:
        raw = json.loads(path.read_text())
        record = parse_model(raw)
        assert record.model_id == raw["id"]
        assert record.sha == raw.get("sha")
        assert record.downloads == raw.get("downloads")
        assert record.likes == raw.get("likes")
        assert record.hub_object_id == raw.get("_id")
        assert record.files is not None and len(record.files) == len(raw["siblings"])
        assert record.raw == raw and record.raw_hash


def test_bert_base_uncased_record_in_detail() -> None:
    raw = json.loads(shared_path("fixtures", "hf_api", "model_info", "google-bert__bert-base-uncased.json")
                     .read_text())
    r = parse_model(raw)
    assert r.author == "google-bert"
    assert r.created_at == datetime(2022, 3, 2, 23, 29, 4, tzinfo=UTC)
    assert r.last_modified == datetime(2024, 2, 19, 11, 6, 12, tzinfo=UTC)
    assert r.pipeline_tag == "fill-mask" and r.domain == "NLP"
    assert r.library_name == "transformers"
    assert r.license_raw == "apache-2.0"
    assert r.datasets == ("bookcorpus", "wikipedia")
    assert r.languages == ("en",)
    assert r.arxiv_ids == ("1810.04805",)
    assert r.gated == "false"
    assert r.parameter_count == 110106428
    assert r.used_storage == raw["usedStorage"]
    assert r.spaces is not None and "mteb/leaderboard" in r.spaces
    assert r.files is not None and any(f.path == "model.safetensors" and f.format == "safetensors"
                                       for f in r.files)


def test_base_models_come_from_card_and_tags() -> None:
    found = []
    for path in sorted(shared_path("fixtures", "hf_api", "model_info").glob("*.json")):
        r = parse_model(json.loads(path.read_text()))
        if r.base_models:
            found.append((r.model_id, r.base_models))
    assert found, "some recorded models declare a base model"
    for _model, bases in found:
        assert all(b and not b.startswith("base_model:") for b in bases)


def test_base_model_relation_tags_are_unwrapped() -> None:
    r = parse_model({"id": "a/b", "tags": ["base_model:finetune:meta-llama/Llama-3.1-8B",
                                           "base_model:meta-llama/Llama-3.1-8B", "base_model:quantized:x/y"],
                     "cardData": {"base_model": ["meta-llama/Llama-3.1-8B"]}})
    assert r.base_models == ("meta-llama/Llama-3.1-8B", "x/y")


@pytest.mark.parametrize(
    ("raw", "check"),
    [
        ({"id": "a/list-card", "cardData": ["license: mit"]},
         lambda r: r.card_data_error is not None and r.license_raw is None and r.card_data == ["license: mit"]),
        ({"id": "a/gated", "gated": "manual"}, lambda r: r.gated == "manual"),
        ({"id": "a/auto", "gated": "auto"}, lambda r: r.gated == "auto"),
        ({"id": "a/bare"}, lambda r: r.author == "a" and r.created_at is None and r.files is None and r.tags == ()),
        ({"id": "a/bad-date", "lastModified": "yesterday"}, lambda r: r.last_modified is None),
        ({"id": "a/lang", "cardData": {"language": {"en": True}, "datasets": "squad"}},
         lambda r: r.languages == () and r.datasets == ("squad",)),
        ({"id": "a/st", "safetensors": {"parameters": {"F32": 10, "BF16": 5}}}, lambda r: r.parameter_count == 15),
        ({"id": "a/st2", "safetensors": {"parameters": "many"}}, lambda r: r.parameter_count is None),
        ({"id": "a/sib", "siblings": [{"rfilename": "x.bin"}, {"size": 3}, "junk"]},
         lambda r: r.files is not None and [f.path for f in r.files] == ["x.bin"]),
        ({"id": "a/other", "cardData": {"license": "other", "license_name": "acme-ml"}},
         lambda r: r.license_raw == "other:acme-ml"),
        ({"id": "a/tag-license", "tags": ["license:mit", "dataset:glue"]},
         lambda r: r.license_raw == "mit" and r.datasets == ("glue",)),
        ({"id": "legacy-id"}, lambda r: r.author is None and r.model_id == "legacy-id"),
        ({"id": "a/nul", "cardData": {"license": "mi\u0000t"}}, lambda r: r.license_raw == "mit"),
        ({"id": "a/big", "downloads": 2**70},
         lambda r: r.downloads is None and r.raw["downloads"] == 2**70 and r.raw_hash),
    ],
)
def test_malformed_records_are_recorded_not_fatal(raw: dict[str, object], check: object) -> None:
    record = parse_model(raw)
    assert callable(check) and check(record)


def test_a_record_without_id_is_refused() -> None:
    with pytest.raises(ValueError, match="without an id"):
        parse_model({"_id": "x"})


def test_digest_tracks_any_change() -> None:
    a = parse_model({"id": "a/b", "downloads": 1})
    b = parse_model({"id": "a/b", "downloads": 2})
    c = parse_model({"downloads": 1, "id": "a/b"})
    assert a.raw_hash != b.raw_hash
    assert a.raw_hash == c.raw_hash
