"""Front matter: fences, damaged YAML, and model-index results."""

from __future__ import annotations

from ptmscope.cards.frontmatter import model_index_results, normalise_text, read_front_matter

CARD = "---\nlicense: mit\nlanguage:\n- en\n---\n# Title\n\nBody text.\n"


def test_plain_front_matter() -> None:
    front = read_front_matter(CARD)
    assert front.found
    assert front.data == {"license": "mit", "language": ["en"]}
    assert front.body.startswith("# Title")
    assert front.body_line == 6
    assert front.errors == []


def test_bom_crlf_and_leading_blank_lines() -> None:
    text = "\ufeff\r\n  \r\n" + CARD.replace("\n", "\r\n")
    front = read_front_matter(text)
    assert front.data["license"] == "mit"
    assert "\r" not in front.body
    assert front.body.startswith("# Title")


def test_old_mac_line_ends() -> None:
    front = read_front_matter(CARD.replace("\n", "\r"))
    assert front.data["language"] == ["en"]


def test_indented_keys_after_a_blank_line() -> None:
    text = "\n---\n      tags:\n      - ml-agents\n      library_name: ml-agents\n---\n  # Agent\n"
    front = read_front_matter(text)
    assert front.data == {"tags": ["ml-agents"], "library_name": "ml-agents"}


def test_block_after_a_stray_first_line() -> None:
    text = "Hugging Face's logo\n---\nlanguage: yo\ndatasets:\n\n---\n# Model\n"
    front = read_front_matter(text)
    assert front.data == {"language": "yo", "datasets": None}
    assert front.body.startswith("# Model")
    assert any("line 2" in e for e in front.errors)


def test_late_block_needs_a_card_key() -> None:
    # A horizontal-rule-delimited paragraph of prose is not metadata.
    text = "Intro line\n---\nsome: thing\n---\n# Model\n"
    front = read_front_matter(text)
    assert front.data == {}
    assert not front.found
    assert front.body == text


def test_no_front_matter() -> None:
    front = read_front_matter("# Just markdown\n\ntext")
    assert front.data == {}
    assert not front.found
    assert front.body == "# Just markdown\n\ntext"


def test_invalid_yaml_keeps_the_keys_that_load() -> None:
    text = "---\nlicense: apache-2.0\ntags: [unclosed\nlibrary_name: timm\npipeline_tag: image-classification\n---\nx"
    front = read_front_matter(text)
    assert front.data["license"] == "apache-2.0"
    assert front.data["library_name"] == "timm"
    assert front.data["pipeline_tag"] == "image-classification"
    assert "tags" not in front.data
    assert len(front.errors) == 1 and front.errors[0].startswith("invalid YAML front matter")


def test_template_placeholders_are_invalid_yaml_but_not_fatal() -> None:
    text = "---\n{{ card_data }}\nlicense: mit\n---\n# {{ model_id }}\n"
    front = read_front_matter(text)
    assert front.data == {"license": "mit"}
    assert front.errors


def test_metadata_that_is_not_a_mapping() -> None:
    front = read_front_matter("---\n[]\n---\n# invalid\n")
    assert front.data == {}
    assert front.errors == ["front matter is a list, not a mapping; ignored"]
    assert front.body.startswith("# invalid")


def test_empty_block() -> None:
    front = read_front_matter("---\n\n---\ntext")
    assert front.data == {}
    assert front.errors == []
    assert front.body == "text"


def test_normalise_text() -> None:
    assert normalise_text("\ufeffa\r\nb\rc") == "a\nb\nc"


def test_model_index_results() -> None:
    index = [{
        "name": "m",
        "results": [
            {"task": {"type": "text-classification"}, "dataset": {"name": "GLUE SST-2", "type": "glue"},
             "metrics": [{"type": "accuracy", "value": 0.93, "name": "Accuracy"}, {"type": "f1", "value": 0.9}]},
            {"dataset": {"type": "LunarLander-v2"}, "metrics": [{"type": "mean_reward", "value": "235.82 +/- 34.79"}]},
        ],
    }]
    results, errors = model_index_results(index)
    assert results == [
        {"dataset": "GLUE SST-2", "metric": "Accuracy", "value": 0.93},
        {"dataset": "GLUE SST-2", "metric": "f1", "value": 0.9},
        {"dataset": "LunarLander-v2", "metric": "mean_reward", "value": "235.82 +/- 34.79"},
    ]
    assert errors == []


def test_malformed_model_index_is_tolerated() -> None:
    index = [
        "not a mapping",
        {"name": "x", "results": [
            {"task": {"type": "image-classification"}, "metrics": [{"type": "acc", "value": 0.9}]},
            42,
            {"dataset": {"name": "d"}, "metrics": [None, {"type": "acc"}]},
        ]},
        {"name": "y", "results": None},
    ]
    results, errors = model_index_results(index)
    assert results == [{"dataset": None, "metric": "acc", "value": 0.9}]
    assert len(errors) == 4  # a string entry, a result without dataset, a number result, a None metric
    assert model_index_results({"results": "nonsense"})[0] == []
    assert model_index_results(None) == ([], [])
