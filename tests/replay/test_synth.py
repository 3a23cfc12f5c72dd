"""The synthetic Hub corpus must look like the real Hub to every parser that reads it."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.hf_api import GitCommitInfo, ModelInfo
from huggingface_hub.utils import parse_datetime

from ptmscope.replay.synth import (
    HUB_CREATION_EPOCH,
    MALFORMATIONS,
    generate_card,
    generate_commits,
    generate_model,
    generate_models,
    malform,
    record_rng,
)

HEX24 = re.compile(r"^[0-9a-f]{24}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
# Extensions the Hub keeps in LFS, named independently of the generator's own list.
LFS_EXTENSIONS = (".safetensors", ".bin", ".pt", ".pth", ".onnx", ".gguf", ".h5", ".ckpt", ".pkl", ".zip",
                  ".msgpack", ".mp4", ".png")
HUB_LICENSE_IDS = {"apache-2.0", "mit", "openrail", "creativeml-openrail-m", "cc-by-4.0", "cc-by-nc-4.0",
                   "llama2", "llama3", "llama3.1", "llama3.2", "gemma", "gpl-3.0", "bsd-3-clause", "other",
                   "openrail++", "bigscience-bloom-rail-1.0", "unknown"}
SMALL_TEXT = (".json", ".md", ".txt", ".yaml", ".py", ".cfg", ".toml", ".lock")

# Samples are generated once per session; record i does not depend on n, so a longer sample serves
# every shorter request.
_CACHE: dict[tuple[int, float], list[dict[str, Any]]] = {}


def corpus(n: int, seed: int = 0, malformed_rate: float = 0.0) -> list[dict[str, Any]]:
    key = (seed, malformed_rate)
    if len(_CACHE.get(key, ())) < n:
        _CACHE[key] = list(generate_models(n, seed, malformed_rate=malformed_rate))
    return _CACHE[key][:n]


def siblings(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for record in records:
        yield from record["siblings"]


# --- determinism ---------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_records_and_other_seeds_differ() -> None:
    assert list(generate_models(300, seed=7)) == list(generate_models(300, seed=7))
    other = list(generate_models(300, seed=8))
    assert sum(a != b for a, b in zip(corpus(300, 7, 0.01), other, strict=True)) > 290


def test_record_i_depends_on_seed_and_index_only() -> None:
    short = list(generate_models(40, seed=3))
    long = list(generate_models(400, seed=3))
    assert short == long[:40]
    for index in (0, 17, 399):
        assert generate_model(index, record_rng(3, index)) == long[index]


def test_malformed_rate_changes_only_the_malformed_records() -> None:
    clean = corpus(2000, 5, 0.0)
    dirty = corpus(2000, 5, 0.01)
    changed = sum(a != b for a, b in zip(clean, dirty, strict=True))
    assert 5 <= changed <= 45


# --- identity and shape ----------------------------------------------------------------------------------------


def test_ids_are_unique_and_shaped_like_hub_ids() -> None:
    records = corpus(10_000)
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    legacy = [i for i in ids if "/" not in i]
    assert 0 < len(legacy) < 0.02 * len(ids)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.-]*-[a-z]+", i) for i in legacy)
    for record in records:
        assert record["modelId"] == record["id"]
        if "/" in record["id"]:
            assert record["id"].split("/")[0] == record["author"]
        assert "--" not in record["id"] and ".." not in record["id"]
    # Some authors own many models, most own one.
    per_author = Counter(r["author"] for r in records)
    assert per_author.most_common(1)[0][1] >= 20
    assert sum(1 for c in per_author.values() if c == 1) > 0.3 * len(per_author)


def test_every_field_has_the_hub_shape() -> None:
    for record in corpus(3000):
        assert HEX24.match(record["_id"]) and HEX40.match(record["sha"])
        assert ISO_MS.match(record["lastModified"]) and ISO_MS.match(record["createdAt"])
        assert record["createdAt"] <= record["lastModified"]
        assert int(record["_id"][:8], 16) == int(parse_datetime(record["createdAt"]).timestamp())
        assert record["private"] is False
        assert record["gated"] in (False, "auto", "manual")
        assert isinstance(record["disabled"], bool)
        assert isinstance(record["downloads"], int) and record["downloads"] >= 0
        assert isinstance(record["likes"], int) and record["likes"] >= 0
        assert record["tags"][-1] == "region:us" and len(set(record["tags"])) == len(record["tags"])
        assert isinstance(record["spaces"], list) and len(record["spaces"]) <= 100
        assert all(re.fullmatch(r"[^/]+/[^/]+", s) for s in record["spaces"])
        if record.get("library_name"):
            assert record["tags"][0] == record["library_name"]
        if record.get("pipeline_tag"):
            assert record["pipeline_tag"] in record["tags"]
        card = record.get("cardData")
        if card is None:
            assert "model-index" not in record
            continue
        assert record["model-index"] == (card.get("model-index") or None)
        license_id = card.get("license")
        license_tags = [t for t in record["tags"] if t.startswith("license:")]
        if license_id in HUB_LICENSE_IDS:
            assert license_tags == [f"license:{license_id}"]
        else:
            assert license_tags in ([], [f"license:{license_id}"])
        for ds in card.get("datasets") or ():
            assert f"dataset:{ds}" in record["tags"]
        bases = card.get("base_model") or []
        for base in [bases] if isinstance(bases, str) else bases:
            assert f"base_model:{base}" in record["tags"]
            assert any(t.startswith("base_model:") and t.endswith(f":{base}") and t.count(":") == 2
                       for t in record["tags"])
        if license_id == "other":
            assert card["license_name"]


def test_well_formed_records_parse_with_huggingface_hub() -> None:
    for record in corpus(3000):
        info = ModelInfo(**record)
        assert info.id == record["id"] and info.author == record["author"]
        assert info.created_at is not None and info.last_modified is not None
        assert info.created_at <= info.last_modified
        assert info.siblings is not None and len(info.siblings) == len(record["siblings"])
        assert sum(s.size or 0 for s in info.siblings) <= record["usedStorage"]
        if "cardData" in record:
            # Strict parsing: well-formed metadata raises nothing, model-index included.
            data = ModelCardData(**record["cardData"])
            if record["cardData"].get("model-index") and record["cardData"]["model-index"][0]["results"]:
                assert data.eval_results
        if info.safetensors is not None:
            assert info.safetensors.total == sum(info.safetensors.parameters.values()) > 0


def test_parameter_counts_match_weight_sizes() -> None:
    for record in corpus(3000):
        if "safetensors" not in record:
            continue
        stored = sum(s["size"] for s in record["siblings"]
                     if s["rfilename"].startswith("model") and s["rfilename"].endswith(".safetensors"))
        per_param = stored / record["safetensors"]["total"]
        assert 1.0 <= per_param < 4.2, record["id"]


def test_lfs_is_used_for_binary_files_only() -> None:
    lfs_seen = 0
    for sibling in siblings(corpus(3000)):
        name = sibling["rfilename"]
        assert isinstance(sibling["size"], int) and HEX40.match(sibling["blobId"])
        if name.endswith(LFS_EXTENSIONS) or "tfevents" in name:
            lfs = sibling["lfs"]
            assert HEX64.match(lfs["sha256"]) and lfs["size"] == sibling["size"]
            assert lfs["pointerSize"] == 125 + len(str(sibling["size"]))
            lfs_seen += 1
        elif name.endswith(SMALL_TEXT) or name in (".gitattributes", "README.md"):
            assert "lfs" not in sibling, name
    assert lfs_seen > 3000


def test_siblings_are_sorted_and_the_repo_basics_are_there() -> None:
    for record in corpus(3000):
        names = [s["rfilename"] for s in record["siblings"]]
        assert names == sorted(names) and len(set(names)) == len(names)
        assert ".gitattributes" in names
        if "cardData" in record:
            assert "README.md" in names
        if record.get("library_name") == "transformers":
            assert "config.json" in names


def test_safetensors_metadata_follows_the_hub_rule() -> None:
    # The Hub parses a root model.safetensors (or its sharded index) only, not diffusers subfolders.
    seen = 0
    for record in corpus(5000):
        names = {s["rfilename"] for s in record["siblings"]}
        has_root = "model.safetensors" in names or "model.safetensors.index.json" in names
        assert ("safetensors" in record) == has_root, record["id"]
        seen += has_root
    assert seen > 1000


def test_identical_content_shares_blob_ids_across_repositories() -> None:
    uses: Counter[str] = Counter()
    lfs_uses: Counter[str] = Counter()
    sizes: dict[str, set[int]] = {}
    lfs_sizes: dict[str, set[int]] = {}
    for sibling in siblings(corpus(5000)):
        uses[sibling["blobId"]] += 1
        sizes.setdefault(sibling["blobId"], set()).add(sibling["size"])
        if "lfs" in sibling:
            lfs_uses[sibling["lfs"]["sha256"]] += 1
            lfs_sizes.setdefault(sibling["lfs"]["sha256"], set()).add(sibling["size"])
    # .gitattributes versions, tokenizer files and re-uploaded weights recur; the rest is unique.
    assert uses.most_common(1)[0][1] > 1000
    assert 20 < sum(1 for c in uses.values() if c > 1) < 0.2 * len(uses)
    assert sum(1 for c in lfs_uses.values() if c > 1) > 5
    # Same content, same size.
    assert all(len(v) == 1 for v in sizes.values()) and all(len(v) == 1 for v in lfs_sizes.values())


# --- how sparse the metadata is ----------------------------------------------------------------------------------


def test_presence_rates_follow_the_real_hub() -> None:
    records = corpus(10_000)
    n = len(records)

    def rate(pred: Any) -> float:
        return sum(1 for r in records if pred(r)) / n

    def card_has(field: str) -> Any:
        return lambda r: isinstance(r.get("cardData"), dict) and bool(r["cardData"].get(field))

    # Table 5 of the seed paper (373,634 models): 76% content, 56% library, 4% language, 5% datasets.
    assert 0.66 <= rate(lambda r: bool(r.get("cardData"))) <= 0.86
    assert 0.45 <= rate(lambda r: "library_name" in r) <= 0.67
    assert 0.015 <= rate(card_has("language")) <= 0.08
    assert 0.02 <= rate(card_has("datasets")) <= 0.09
    # The 2023 list_models missingness table: pipeline tag missing 43%, config 48%, licence 67%,
    # model-index 77%.
    assert 0.45 <= rate(lambda r: "pipeline_tag" in r) <= 0.70
    assert 0.38 <= rate(lambda r: "config" in r) <= 0.65
    assert 0.25 <= rate(card_has("license")) <= 0.50
    assert 0.15 <= rate(card_has("model-index")) <= 0.35
    assert rate(lambda r: r["library_name"] == "transformers" if "library_name" in r else False) > 0.35
    assert 0.005 <= rate(lambda r: r["gated"] == "auto") <= 0.03
    assert 0.002 <= rate(lambda r: r["gated"] == "manual") <= 0.02
    assert 0.002 <= rate(lambda r: "/" not in r["id"]) <= 0.01
    assert 0.03 <= rate(lambda r: r["createdAt"] == HUB_CREATION_EPOCH
                        or r["createdAt"] == HUB_CREATION_EPOCH.replace(":04.", ":05.")) <= 0.12
    assert 0.005 <= rate(lambda r: bool(r["spaces"])) <= 0.06
    assert 0.0005 <= rate(lambda r: "inference" in r) <= 0.05
    years = Counter(r["createdAt"][:4] for r in records)
    assert set(years) >= {"2022", "2023", "2024", "2025"}


def test_popularity_is_heavy_tailed() -> None:
    records = corpus(10_000)
    downloads = sorted(r["downloads"] for r in records)
    likes = sorted(r["likes"] for r in records)
    assert downloads[len(downloads) // 2] < 20 and downloads[-1] > 10_000
    assert sum(d == 0 for d in downloads) > 0.2 * len(downloads)
    assert likes[len(likes) // 2] == 0 and likes[-1] > 100
    top = sum(downloads[-len(downloads) // 100:])
    assert top > 0.5 * sum(downloads)  # the top 1% take most of the downloads


def test_real_license_spellings_and_relations_appear() -> None:
    records = corpus(10_000)
    licenses = Counter(r["cardData"].get("license") for r in records if isinstance(r.get("cardData"), dict))
    assert {"apache-2.0", "mit", "cc-by-nc-4.0", "openrail", "llama2", "other"} <= set(licenses)
    relations = Counter(t.split(":")[1] for r in records for t in r["tags"]
                        if t.startswith("base_model:") and t.count(":") == 2)
    assert {"finetune", "adapter", "quantized", "merge"} <= set(relations)
    languages = [r["cardData"]["language"] for r in records
                 if isinstance(r.get("cardData"), dict) and r["cardData"].get("language")]
    assert any(isinstance(x, str) for x in languages) and any(isinstance(x, list) for x in languages)
    bases = [r["cardData"]["base_model"] for r in records
             if isinstance(r.get("cardData"), dict) and r["cardData"].get("base_model")]
    assert any(isinstance(x, str) for x in bases) and any(isinstance(x, list) for x in bases)


# --- malformed records -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(MALFORMATIONS))
def test_each_malformation_breaks_what_it_says(kind: str) -> None:
    for index in range(40):
        record = generate_model(index, record_rng(11, index), malformed_rate=0.0)
        malform(record, random.Random(index), kind)
        card = record.get("cardData")
        if kind == "card_data_list":
            assert isinstance(card, list)
        elif kind == "missing_dates":
            assert "lastModified" not in record
        elif kind == "missing_author":
            assert "author" not in record
        elif kind == "language_dict":
            assert isinstance(card["language"], dict)
        elif kind == "base_model_dicts":
            assert isinstance(card["base_model"][0], dict)
        elif kind == "datasets_string":
            assert isinstance(card["datasets"], str)
        elif kind == "model_index_malformed":
            assert isinstance(record["model-index"], (str, list))
            assert not isinstance(record["model-index"], list) or isinstance(record["model-index"][0], str)
        elif kind == "safetensors_without_total":
            assert "total" not in record["safetensors"]
            with pytest.raises(KeyError):
                ModelInfo(**record)
        elif kind == "sibling_without_size":
            assert any("size" not in s for s in record["siblings"])
        elif kind == "dates_inverted":
            assert record["lastModified"] < record["createdAt"] == HUB_CREATION_EPOCH
        elif kind == "license_list":
            assert isinstance(card["license"], list)


def test_malformed_records_still_serialise_and_mostly_parse() -> None:
    records = list(generate_models(300, seed=2, malformed_rate=1.0))
    parsed = 0
    for record in records:
        assert set(record) >= {"_id", "id", "modelId", "sha", "siblings", "tags"}
        try:
            ModelInfo(**record)
            parsed += 1
        except KeyError:
            assert "total" not in record.get("safetensors", {"total": 0})
    assert parsed > 200


# --- cards ----------------------------------------------------------------------------------------------------


def front_matter(text: str) -> tuple[bool, Any]:
    """(has front matter, parsed value or the YAML error) after undoing the harmless edge cases."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").lstrip("\n")
    if not text.startswith("---\n"):
        return False, None
    block = text[4:].split("\n---\n", 1)[0]
    try:
        return True, yaml.safe_load(block)
    except yaml.YAMLError as exc:
        return True, exc


def test_cards_front_matter_is_the_card_data() -> None:
    records = corpus(1500, 4, 0.01)
    for index, record in enumerate(records):
        text = generate_card(record, random.Random(index))
        has, data = front_matter(text)
        card = record.get("cardData")
        if card is not None:
            assert has and data == card, record["id"]
        else:
            assert not has or not isinstance(data, dict)


def test_normal_cards_parse_with_huggingface_hub() -> None:
    for index, record in enumerate(corpus(600, 4)):
        if not isinstance(record.get("cardData"), dict):
            continue
        text = generate_card(record, random.Random(index), edge_rate=0.0)
        assert text.startswith("---\n")
        assert ModelCard(text).data.to_dict().get("license") == record["cardData"].get("license")


def test_card_bodies_carry_what_extractors_look_for() -> None:
    records = corpus(1500, 4)
    trainer = finetune = arxiv = github = tables = 0
    for index, record in enumerate(records):
        text = generate_card(record, random.Random(index), edge_rate=0.0)
        card = record.get("cardData") or {}
        if "generated_from_trainer" in (card.get("tags") or []):
            trainer += 1
            assert "- learning_rate: " in text and "- train_batch_size: " in text
            assert "- num_epochs: " in text and "### Framework versions" in text
            if isinstance(card.get("base_model"), str):
                base = card["base_model"]
                assert f"This model is a fine-tuned version of [{base}](https://huggingface.co/{base})" in text
                finetune += 1
        ids = [t[6:] for t in record["tags"] if t.startswith("arxiv:")]
        for arxiv_id in ids:
            assert arxiv_id in text
        arxiv += bool(ids)
        github += bool(re.search(r"https://github\.com/[\w.-]+/[\w.-]+", text))
        tables += bool(re.search(r"^\|.*\|\n\|[-:|]+\|$", text, re.MULTILINE))
    assert trainer > 100 and finetune > 30 and arxiv > 5 and github > 200 and tables > 100


def test_card_edge_cases_appear_at_the_requested_rate() -> None:
    records = corpus(600, 4)
    edges = Counter[str]()
    for index, record in enumerate(records):
        text = generate_card(record, random.Random(index), edge_rate=1.0)
        has, data = front_matter(text)
        if record.get("cardData") is not None:
            assert data == record["cardData"]
            edges["crlf" if "\r\n" in text else "bom" if text.startswith("\ufeff") else "blank"] += 1
            assert not text.startswith("---\n")
        else:
            assert has and not isinstance(data, dict)
            assert isinstance(data, yaml.YAMLError)
            edges["template" if "{{" in text else "invalid"] += 1
    assert set(edges) == {"crlf", "bom", "blank", "invalid", "template"}
    normal = sum(not generate_card(r, random.Random(i)).startswith(("---\n", "# ")) for i, r in enumerate(records))
    assert normal < 0.1 * len(records)


# --- commits --------------------------------------------------------------------------------------------------


def test_commits_parse_like_list_repo_commits() -> None:
    for index, record in enumerate(corpus(500, 6)):
        items = generate_commits(record, random.Random(index))
        infos = [
            GitCommitInfo(commit_id=item["id"], authors=[a["user"] for a in item["authors"]],
                          created_at=parse_datetime(item["date"]), title=item["title"], message=item["message"],
                          formatted_title=item.get("formatted", {}).get("title"),
                          formatted_message=item.get("formatted", {}).get("message"))
            for item in items
        ]
        assert infos[0].commit_id == record["sha"]
        assert infos[0].created_at == parse_datetime(record["lastModified"])
        assert all(HEX40.match(i.commit_id) for i in infos) and len({i.commit_id for i in infos}) == len(infos)
        dates = [i.created_at for i in infos]
        assert dates == sorted(dates, reverse=True)
        if len(infos) > 1:
            assert infos[-1].title == "initial commit" and infos[-1].authors == ["system"]
            if not record["createdAt"].startswith(HUB_CREATION_EPOCH[:16]):
                assert infos[-1].created_at == parse_datetime(record["createdAt"])


def test_commit_count_can_be_chosen() -> None:
    record = corpus(10)[3]
    assert len(generate_commits(record, random.Random(1), n=1)) == 1
    assert generate_commits(record, random.Random(1), n=1)[0]["id"] == record["sha"]
    assert len(generate_commits(record, random.Random(1), n=25)) == 25
    with pytest.raises(ValueError):
        generate_commits(record, random.Random(1), n=0)
