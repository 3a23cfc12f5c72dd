"""The deterministic extractor on the labelled development set (``labels/dev_*.json``, real cards in
``../shared/fixtures/model_cards``). Prints the per-field table (``pytest -s``) and holds issue 6's target:
>= 95 % overall field accuracy and no field below 85 %.

Measured when this was written: 96.7 % overall (1151 of 1190 field values), lowest field ``datasets``
at 85.7 %. The rules were developed against these cards; the held-out split measures generalisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptmscope.cards.evaluate import evaluate_extractor, load_labels
from ptmscope.cards.extract import DeterministicExtractor
from tests.conftest import shared_path

LABELS = Path(__file__).parent / "labels"

OVERALL_TARGET = 0.95
FIELD_TARGET = 0.85


@pytest.mark.shared
def test_devset_accuracy() -> None:
    cards = shared_path("fixtures", "model_cards")
    labels = load_labels(LABELS)
    assert len(labels) >= 60
    report = evaluate_extractor(DeterministicExtractor(), labels, cards)
    print()
    print(report.to_table())
    assert report.missing_cards == []
    assert report.accuracy >= OVERALL_TARGET, report.to_table()
    for name, score in report.fields.items():
        assert score.accuracy >= FIELD_TARGET, f"{name}: {score.accuracy:.1%} < {FIELD_TARGET:.0%}\n{report.to_table()}"
