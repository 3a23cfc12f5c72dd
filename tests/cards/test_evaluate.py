"""Scoring: the documented normalisation, per-field measures, and loading label files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ptmscope.cards.evaluate import compare, evaluate, evaluate_extractor, load_labels
from ptmscope.cards.extract import DeterministicExtractor
from ptmscope.cards.schema import Extraction, FieldValue


@pytest.mark.parametrize(("field", "predicted", "expected"), [
    ("license", "Apache 2.0", "apache-2.0"),
    ("license", "Apache-2.0", "apache-2.0"),
    ("license", "MIT License", "mit"),
    ("license", "CC BY-NC 4.0", "cc-by-nc-4.0"),
    ("library", "sentence_transformers", "sentence-transformers"),
    ("base_models", ["google-bert/bert-base-uncased"], ["bert-base-uncased"]),
    ("base_models", ["https://huggingface.co/gpt2"], ["gpt2"]),
    ("base_models", ["Llama-2"], ["Llama 2"]),
    ("parameter_count", 110_000_000, "110M"),
    ("parameter_count", "1.3 billion", 1_300_000_000),
    ("papers", ["1810.04805v2", "DOI:10.1145/ABC"], ["doi:10.1145/abc", "1810.04805"]),
    ("github_repos", ["Org/Repo"], ["org/repo"]),
    ("languages", ["EN", "fr", "en"], ["fr", "en"]),
    ("demo", "http://www.huggingface.co/spaces/a/b/", "https://huggingface.co/spaces/a/b"),
    ("hardware", "8 x A100 80GB GPUs", "8 x A100 80GB"),
    ("carbon_emitted", "149.2 kg CO2eq", "149.2 kg CO2 eq."),
    ("limitations", "Not for medical use.", True),
    ("biases", None, False),
    ("datasets", [], []),
    ("pipeline_tag", None, None),
    ("hyper_parameters", {"learning_rate": "2e-05", "Train Batch Size": "16"},
     {"learning_rate": "0.00002", "train_batch_size": "16"}),
    ("evaluation", [{"dataset": "GLUE SST-2", "metric": "Accuracy", "value": "92.3%"}],
     [{"dataset": "sst-2", "metric": "accuracy", "value": 92.3}]),
    ("evaluation", [{"dataset": None, "metric": "f1", "value": 0.5}],
     [{"dataset": "dev", "metric": "F1", "value": 0.5}]),
])
def test_equal_after_normalisation(field: str, predicted: Any, expected: Any) -> None:
    assert compare(field, predicted, expected)[0]


@pytest.mark.parametrize(("field", "predicted", "expected"), [
    ("license", "mit", "apache-2.0"),
    ("base_models", ["google/bert-base-uncased"], ["other/bert-base-uncased"]),
    ("base_models", ["bert-base-cased"], ["bert-base-uncased"]),
    ("parameter_count", 110_000_000, 340_000_000),
    ("languages", ["en"], ["en", "fr"]),
    ("limitations", None, True),
    ("demo", "https://huggingface.co/spaces/a/b", None),
    ("hardware", "A100", "TPU v3-8"),
    ("hyper_parameters", {"learning_rate": "2e-05"}, {"learning_rate": "3e-05"}),
    ("evaluation", [{"dataset": "x", "metric": "f1", "value": 0.5}], [{"dataset": "x", "metric": "acc", "value": 0.5}]),
    ("evaluation", [{"dataset": "x", "metric": None, "value": 0.5}], [{"dataset": "x", "metric": "acc", "value": 0.5}]),
    ("evaluation", [{"dataset": "mnli", "metric": "acc", "value": 0.5}],
     [{"dataset": "qqp", "metric": "acc", "value": 0.5}]),
])
def test_different_after_normalisation(field: str, predicted: Any, expected: Any) -> None:
    assert not compare(field, predicted, expected)[0]


def test_item_counts_for_precision_and_recall() -> None:
    # predicted, labelled, matched
    assert compare("datasets", ["a", "b", "c"], ["b", "d"])[1:] == (3, 2, 1)
    assert compare("license", "mit", None)[1:] == (1, 0, 0)
    assert compare("license", None, "mit")[1:] == (0, 1, 0)
    assert compare("hyper_parameters", {"lr": "1", "x": "2"}, {"lr": "1"})[1:] == (2, 1, 1)


def _labels() -> dict[str, dict[str, Any]]:
    return {
        "a.md": {"model_id": "o/a", "labels": {"license": "mit", "datasets": ["x", "y"], "limitations": True}},
        "b.md": {"model_id": "o/b", "labels": {"license": None, "datasets": [], "limitations": False}},
    }


def test_report_measures() -> None:
    predictions: dict[str, Extraction | dict[str, Any]] = {
        "a.md": {"license": "MIT", "datasets": ["x"], "limitations": "Not for production."},
        "b.md": Extraction(fields={"license": FieldValue("apache-2.0", "rules", 0.6)}),
    }
    report = evaluate(_labels(), predictions)
    assert list(report.fields) == ["license", "datasets", "limitations"]
    license_score = report.fields["license"]
    assert (license_score.cards, license_score.correct) == (2, 1)
    assert license_score.precision == 0.5 and license_score.recall == 1.0
    datasets = report.fields["datasets"]
    assert datasets.accuracy == 0.5  # b: empty == empty is correct; a: one of two
    assert datasets.precision == 1.0 and datasets.recall == 0.5
    assert report.fields["limitations"].accuracy == 1.0
    assert report.pairs == 6 and report.correct == 4
    assert report.accuracy == pytest.approx(4 / 6)
    assert {(m.card, m.field) for m in report.mismatches} == {("a.md", "datasets"), ("b.md", "license")}
    table = report.to_table()
    assert "license" in table and "66.7%" in table
    data = json.loads(report.to_json())
    assert data["accuracy"] == pytest.approx(4 / 6)
    assert data["fields"]["datasets"]["recall"] == 0.5


def test_missing_prediction_counts_as_empty() -> None:
    report = evaluate(_labels(), {})
    assert report.fields["license"].correct == 1  # b has no license
    assert report.fields["limitations"].correct == 1


def test_load_labels_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "dev_a.json").write_text(json.dumps({"a.md": _labels()["a.md"]}), encoding="utf-8")
    (tmp_path / "dev_b.json").write_text(json.dumps({"b.md": _labels()["b.md"]}), encoding="utf-8")
    (tmp_path / "README.md").write_text("not labels", encoding="utf-8")
    assert set(load_labels(tmp_path)) == {"a.md", "b.md"}
    assert load_labels(tmp_path / "dev_a.json")["a.md"]["model_id"] == "o/a"
    (tmp_path / "bad.json").write_text(json.dumps({"c.md": {"model_id": "x"}}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.md"):
        load_labels(tmp_path / "bad.json")


def test_evaluate_extractor_on_written_cards(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nlicense: mit\ndatasets:\n- x\n- y\n---\n# A\n\n## Limitations\n\n"
                                   "Only trained on short English texts.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n\nNothing declared.\n", encoding="utf-8")
    labels = {**_labels(), "gone.md": {"model_id": "o/gone", "labels": {"license": "mit"}}}
    report = evaluate_extractor(DeterministicExtractor(), labels, tmp_path)
    assert report.missing_cards == ["gone.md"]
    assert report.fields["license"].correct == 2  # a, b right; gone.md predicted empty vs mit
    assert report.fields["datasets"].accuracy == 1.0
    assert report.fields["limitations"].accuracy == 1.0
