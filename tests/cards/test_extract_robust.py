"""The extractor never raises: real cards, malformed cards, and garbage."""

from __future__ import annotations

import json
import random

import pytest

from ptmscope.cards.extract import extract_card
from ptmscope.cards.schema import FIELDS, Extraction
from tests.conftest import shared_path

FRAGMENTS = [
    "---\n", "---", "\ufeff", "\r\n", "\r", "license: mit\n", "model-index:\n- name: x\n  results:\n", "  - metrics:\n",
    "    - value: 1e400\n", "[", "]", "{", "}", "|", "| a | b |\n|---|---|\n", "```python\n", "```", "OrderedDict([(",
    "# ", "## Limitations\n", "- learning_rate: 2e-05\n", "fine-tuned version of [", "](https://huggingface.co/",
    "https://github.com/", "arxiv.org/abs/", "10.", "<table><tr><td>", "</td>", "<!--", "-->", "*", "_", "`", "\\",
    "\x00", "\u202e", "7B parameters", "trained on", "a single A100", " ", "\n", "\t", "&amp;", "&#0;", ":", "'", '"',
]


def _check(result: Extraction) -> None:
    metadata = result.metadata()
    assert set(metadata) == set(FIELDS)
    json.dumps(metadata, default=str)  # the cards extract contract prints this as JSON
    for value in result.fields.values():
        assert 0.0 <= value.confidence <= 1.0
        assert value.extractor in ("yaml", "rules", "api")


def test_random_bytes_and_fragment_soup() -> None:
    rng = random.Random(20260611)
    for _ in range(150):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400)))
        _check(extract_card(raw.decode("utf-8", errors="replace")))
        soup = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randrange(0, 80)))
        tags = rng.choice([None, [], ["base_model:"], ["base_model:finetune:"], ["base_model::x"]])
        _check(extract_card(soup, model_id=rng.choice([None, "a/b", "", "x"]), api_tags=tags))


@pytest.mark.parametrize("text", [
    "",
    "---",
    "---\n---",
    "---\n" + "a:\n  " * 300 + "b\n---\n",  # deep nesting
    "---\n" + "[" * 5000 + "\n---\n",  # more nesting than the YAML parser recurses into
    "---\n!!python/object/apply:os.system ['echo hi']\n---\n",  # never constructed: safe loader
    "---\nlicense: !!binary AAAA\nbase_model: [1, 2, {a: b}]\nlanguage: {en: 1}\ntags: 5\n---\n",
    "---\nmodel-index: [{name: x, results: [{metrics: 5}]}]\nco2_eq_emissions: {emissions: [1]}\n---\n",
    "#" * 10_000,
    "| a |\n" * 5_000,
    "- " * 20_000,
    "`" * 10_000 + "python\nimport transformers\n",
    "> " * 5_000 + "x",
    "[" * 10_000 + "](" * 1_000,
])
def test_pathological_inputs(text: str) -> None:
    _check(extract_card(text))


def test_yaml_tags_are_not_constructed() -> None:
    result = extract_card("---\n!!python/object/apply:os.system ['echo hi']\n---\n# M\n")
    assert result.errors  # rejected by the safe loader, recorded
    assert result.fields == {}


def test_non_string_input_is_survived() -> None:
    _check(extract_card(None))  # type: ignore[arg-type]


@pytest.mark.shared
def test_every_fixture_card_extracts() -> None:
    folders = [shared_path("fixtures", "model_cards"), shared_path("fixtures", "model_cards_edge")]
    count = 0
    for folder in folders:
        for path in sorted(folder.glob("*.md")):
            if path.name == "PROVENANCE.md":
                continue
            text = path.read_bytes().decode("utf-8", errors="replace")
            result = extract_card(text, model_id=path.stem.replace("__", "/", 1))
            _check(result)
            assert not [e for e in result.errors if "Error:" in e], (path.name, result.errors)  # no rule crashed
            count += 1
    assert count >= 222 + 12


@pytest.mark.shared
def test_edge_cards_record_their_problems() -> None:
    edge = shared_path("fixtures", "model_cards_edge")
    invalid = extract_card((edge / "hf_hub_tests__sample_invalid_card_data.md").read_text(encoding="utf-8"))
    assert invalid.errors == ["front matter is a list, not a mapping; ignored"]
    index = extract_card((edge / "hf_hub_tests__sample_invalid_model_index.md").read_text(encoding="utf-8"))
    assert index.metadata()["license"] == "mit"
    assert index.metadata()["library"] == "timm"
    assert index.metadata()["evaluation"] == [{"dataset": None, "metric": "acc", "value": 0.9}]
    assert any("model-index" in e for e in index.errors)
    crlf = extract_card((edge / "hf_hub_tests__sample_windows_line_breaks.md").read_bytes().decode("utf-8"))
    assert crlf.metadata()["license"] is not None
    template = extract_card((edge / "hf_hub_template__modelcard_template.md").read_text(encoding="utf-8"))
    assert any(e.startswith("invalid YAML front matter") for e in template.errors)
    assert template.metadata()["hardware"] is None  # "{{ hardware_type | default(...) }}" is no hardware
