"""Scoring a card extractor against labelled cards.

Labels are JSON files (``tests/cards/labels/README.md``): ``{card file: {"model_id", "labels": {field:
value}}}``. Only fields present in the labels are scored.

Measures, per field:
- **accuracy** (exact match): the share of labelled cards where the prediction equals the label after
  the normalisation below; empty equals empty (a correctly absent field is a correct answer).
- **precision / recall**: over list items for list fields (``datasets``, ``evaluation`` entries,
  ``hyper_parameters`` name/value pairs, ...), else over non-empty values: precision = matched / predicted,
  recall = matched / labelled. A field with nothing predicted has precision 1.0 (no wrong claim);
  one with nothing labelled has recall 1.0.
- **overall field accuracy**: the share of (card, field) pairs that are correct, every field weighing
  the same per card (the measure the PeaTMOSS paper reports as 67.46 % / 94.39 %).

Normalisation (applied to both sides):
- text: lower case, runs of whitespace as one space, outer punctuation and markdown marks trimmed;
- ``library``, ``pipeline_tag``, ``base_model_relation``: text, with ``_`` and ``-`` equal;
- ``license``: text, then Hub / SPDX spellings folded (``Apache 2.0`` = ``apache-2.0`` = ``Apache-2.0``,
  ``MIT License`` = ``mit``) through ``ptmscope.licenses.normalize.normalize_license`` when that module
  exists, else the alias table in :mod:`.normalize`;
- model ids (``base_models``) and dataset names: case-insensitive, ``https://huggingface.co/`` dropped; an id
  with an org and one without are equal when the name parts are equal (``bert-base-uncased`` =
  ``google-bert/bert-base-uncased``), since cards and labels often omit the org and the Hub redirects
  renamed ids. Two different orgs are different models. No rename table is used. Spaces and hyphens are
  one separator in names (``Llama 2`` = ``Llama-2``: "as written" differs only in spelling);
- numbers: ``parameter_count`` as an integer after reading ``110M``, ``1.3 billion``, ``6,053,381,344``;
  evaluation values and hyper-parameter values equal as numbers when both read as numbers
  (``2e-05`` = ``0.00002``, ``92.3%`` = ``92.3``, ``"809.75 +/- 376.19"`` = ``809.75``), else as text;
- lists are compared as sets (order and duplicates do not count);
- ``papers``: arXiv ids without version, DOIs as ``doi:10.x/y`` lower case;
- ``github_repos``: ``owner/name`` lower case;
- ``demo``: URL without scheme, ``www.``, query, fragment and trailing slash;
- ``evaluation``: entries match on metric and value (metric as text, value as number); the dataset is
  compared loosely: equal after normalisation, one containing the other, or either side empty;
- ``hardware``, ``carbon_emitted``: free-text spans; equal when one normalised span (alphanumerics only,
  ``eq`` / ``equivalent`` dropped) contains the other, since annotators and rules cut the same span at
  different words (``8 x A100 80GB`` vs ``8 x A100 80GB GPUs``);
- ``limitations``, ``biases``: presence of non-empty text (the label is a boolean).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .normalize import license_key, model_key, model_name_part, paper_key, parse_count, same_number, text_key
from .schema import FIELDS, CardExtractor, Extraction, is_empty


@dataclass
class FieldScore:
    field: str
    cards: int = 0
    correct: int = 0
    predicted: int = 0  # items (or non-empty values) predicted
    labelled: int = 0  # items (or non-empty values) labelled
    matched: int = 0  # items both predicted and labelled

    @property
    def accuracy(self) -> float:
        return self.correct / self.cards if self.cards else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.labelled if self.labelled else 1.0


@dataclass
class Mismatch:
    card: str
    field: str
    predicted: Any
    expected: Any


@dataclass
class EvalReport:
    fields: dict[str, FieldScore]
    cards: int
    mismatches: list[Mismatch] = field(default_factory=list)
    missing_cards: list[str] = field(default_factory=list)

    @property
    def pairs(self) -> int:
        return sum(score.cards for score in self.fields.values())

    @property
    def correct(self) -> int:
        return sum(score.correct for score in self.fields.values())

    @property
    def accuracy(self) -> float:
        """Overall field accuracy: correct (card, field) pairs over all pairs."""
        return self.correct / self.pairs if self.pairs else 1.0

    def to_table(self) -> str:
        width = max([len("field"), *(len(name) for name in self.fields)])
        lines = [f"{'field':<{width}}  accuracy  precision  recall  cards",
                 f"{'-' * width}  --------  ---------  ------  -----"]
        for name, score in self.fields.items():
            lines.append(f"{name:<{width}}  {score.accuracy:>7.1%}  {score.precision:>9.1%}  {score.recall:>6.1%}"
                         f"  {score.cards:>5}")
        lines.append(f"{'overall':<{width}}  {self.accuracy:>7.1%}  {'':>9}  {'':>6}  {self.cards:>5}"
                     f"   ({self.correct}/{self.pairs} field values correct)")
        if self.missing_cards:
            lines.append(f"missing card files: {', '.join(self.missing_cards)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cards": self.cards,
            "accuracy": self.accuracy,
            "correct": self.correct,
            "pairs": self.pairs,
            "fields": {name: {"accuracy": s.accuracy, "precision": s.precision, "recall": s.recall,
                              "cards": s.cards, "correct": s.correct, "predicted": s.predicted,
                              "labelled": s.labelled, "matched": s.matched} for name, s in self.fields.items()},
            "mismatches": [asdict(m) for m in self.mismatches],
            "missing_cards": self.missing_cards,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)


def load_labels(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{card file: {"model_id", "labels", ...}}`` from one label file or every ``*.json`` in a folder."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    merged: dict[str, dict[str, Any]] = {}
    for file in files:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{file}: expected an object of card file -> labels")
        for card, entry in data.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("labels"), dict):
                raise ValueError(f"{file}: {card}: expected {{'model_id', 'labels': {{...}}}}")
            merged[card] = {**entry, "model_id": entry.get("model_id")}
    return merged


def evaluate(labels: Mapping[str, Mapping[str, Any]],
             predictions: Mapping[str, Extraction | Mapping[str, Any]], *,
             fields: Iterable[str] | None = None) -> EvalReport:
    """Scores ``predictions`` (card file -> Extraction or metadata dict) against ``labels``
    (from :func:`load_labels`). A card without a prediction counts as one with every field empty."""
    names = list(fields) if fields is not None else _labelled_fields(labels)
    scores = {name: FieldScore(name) for name in names}
    report = EvalReport(scores, len(labels))
    for card, entry in labels.items():
        prediction = predictions.get(card)
        metadata = prediction.metadata() if isinstance(prediction, Extraction) else dict(prediction or {})
        for name in names:
            expected = entry["labels"].get(name)
            predicted = metadata.get(name)
            correct, n_pred, n_label, n_match = compare(name, predicted, expected)
            score = scores[name]
            score.cards += 1
            score.correct += correct
            score.predicted += n_pred
            score.labelled += n_label
            score.matched += n_match
            if not correct:
                report.mismatches.append(Mismatch(card, name, predicted, expected))
    return report


def evaluate_extractor(extractor: CardExtractor, labels: Mapping[str, Mapping[str, Any]],
                       cards_dir: str | Path) -> EvalReport:
    """Runs ``extractor`` on every labelled card in ``cards_dir`` and scores it."""
    cards_dir = Path(cards_dir)
    predictions: dict[str, Extraction] = {}
    missing: list[str] = []
    for card, entry in labels.items():
        path = cards_dir / card
        if not path.is_file():
            missing.append(card)
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        predictions[card] = extractor.extract(text, model_id=entry.get("model_id"))
    report = evaluate(labels, predictions)
    report.missing_cards = missing
    return report


def _labelled_fields(labels: Mapping[str, Mapping[str, Any]]) -> list[str]:
    seen: set[str] = set()
    for entry in labels.values():
        seen.update(entry["labels"])
    return [name for name in FIELDS if name in seen] + sorted(seen - set(FIELDS))


# --- comparison --------------------------------------------------------------------------------------

def compare(name: str, predicted: Any, expected: Any) -> tuple[bool, int, int, int]:
    """(equal, predicted items, labelled items, matched items) for one field of one card."""
    if name in ("limitations", "biases"):
        p, e = _present(predicted), _present(expected)
        return p == e, int(p), int(e), int(p and e)
    if name == "evaluation":
        return _compare_items(_as_list(predicted), _as_list(expected), _same_result)
    if name == "hyper_parameters":
        p_items = list(predicted.items()) if isinstance(predicted, dict) else []
        e_items = list(expected.items()) if isinstance(expected, dict) else []
        return _compare_items(p_items, e_items, _same_param)
    kind = FIELDS.get(name, "str")
    same = _EQUALS.get(name, _same_text)
    if kind == "list" or isinstance(expected, list):
        return _compare_items(_as_list(predicted), _as_list(expected), same)
    p_has, e_has = not is_empty(predicted), not is_empty(expected)
    if not p_has and not e_has:
        return True, 0, 0, 0
    equal = p_has and e_has and same(predicted, expected)
    return equal, int(p_has), int(e_has), int(equal)


def _present(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return not is_empty(value) and bool(str(value).strip())


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _compare_items(predicted: list[Any], expected: list[Any],
                   same: Callable[[Any, Any], bool]) -> tuple[bool, int, int, int]:
    """Greedy one-to-one matching of items; equal when every item on both sides is matched. Duplicates
    on one side (the same item twice) are folded first, so lists compare as sets."""
    predicted = _fold(predicted, same)
    expected = _fold(expected, same)
    unmatched = list(expected)
    matched = 0
    for item in predicted:
        for index, other in enumerate(unmatched):
            if same(item, other):
                matched += 1
                del unmatched[index]
                break
    equal = matched == len(predicted) == len(expected)
    return equal, len(predicted), len(expected), matched


def _fold(items: list[Any], same: Callable[[Any, Any], bool]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(same(item, seen) for seen in out):
            out.append(item)
    return out


def _same_text(a: Any, b: Any) -> bool:
    return text_key(a).replace("_", "-") == text_key(b).replace("_", "-")


def _same_license(a: Any, b: Any) -> bool:
    return _license(a) == _license(b)


def _license(value: Any) -> str | None:
    normaliser = _external_normaliser()
    if normaliser is not None and isinstance(value, str):
        try:
            spdx = normaliser(value)
        except Exception:  # another module's failure must not stop scoring
            spdx = None
        # Every unrecognised name becomes LicenseRef-other there; two different names are not equal here.
        if isinstance(spdx, str) and spdx and spdx.lower() != "licenseref-other":
            return spdx.lower()
    return license_key(value)


_NORMALISER: list[Any] = []


def _external_normaliser() -> Any:
    """``ptmscope.licenses.normalize.normalize_license`` where that module exists."""
    if not _NORMALISER:
        found: Any = None
        try:
            from ptmscope.licenses.normalize import normalize_license

            found = normalize_license
        except ImportError:
            pass
        _NORMALISER.append(found)
    return _NORMALISER[0]


def _same_model(a: Any, b: Any) -> bool:
    x, y = _fold_separators(model_key(a)), _fold_separators(model_key(b))
    if x == y:
        return True
    if ("/" in x) != ("/" in y):
        return model_name_part(x) == model_name_part(y)
    return False


def _fold_separators(name: str) -> str:
    return re.sub(r"[\s-]+", "-", name)


def _same_paper(a: Any, b: Any) -> bool:
    return paper_key(a) == paper_key(b)


def _same_repo(a: Any, b: Any) -> bool:
    return str(a).strip().lower().removesuffix(".git") == str(b).strip().lower().removesuffix(".git")


def _url_key(value: Any) -> str:
    text = str(value).strip().lower()
    text = re.sub(r"^[a-z]+://", "", text)
    text = text.removeprefix("www.")
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    return text.rstrip("/")


def _same_url(a: Any, b: Any) -> bool:
    return _url_key(a) == _url_key(b)


def _same_count(a: Any, b: Any) -> bool:
    x, y = parse_count(a), parse_count(b)
    return x is not None and x == y


def _span_key(value: Any) -> str:
    text = re.sub(r"\b(?:eq|equivalent)\b", "", str(value).lower())
    return re.sub(r"[^a-z0-9.]+", "", text).strip(".")


def _same_span(a: Any, b: Any) -> bool:
    x, y = _span_key(a), _span_key(b)
    return bool(x) and bool(y) and (x in y or y in x)


def _same_value(a: Any, b: Any) -> bool:
    if same_number(a, b):
        return True
    return text_key(a) == text_key(b)


def _same_result(a: Any, b: Any) -> bool:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    if not _same_value(a.get("value"), b.get("value")):
        return False
    ma, mb = a.get("metric"), b.get("metric")
    if is_empty(ma) != is_empty(mb) or (not is_empty(ma) and text_key(ma) != text_key(mb)):
        return False
    da, db = a.get("dataset"), b.get("dataset")
    if is_empty(da) or is_empty(db):
        return True
    x, y = text_key(da), text_key(db)
    return x in y or y in x


def _same_param(a: Any, b: Any) -> bool:
    (ka, va), (kb, vb) = a, b
    return _param_name(ka) == _param_name(kb) and _same_value(va, vb)


def _param_name(name: Any) -> str:
    return re.sub(r"[\s\-]+", "_", text_key(name))


_EQUALS: dict[str, Callable[[Any, Any], bool]] = {
    "license": _same_license,
    "datasets": _same_model,
    "languages": _same_text,
    "base_models": _same_model,
    "github_repos": _same_repo,
    "papers": _same_paper,
    "parameter_count": _same_count,
    "demo": _same_url,
    "hardware": _same_span,
    "carbon_emitted": _same_span,
}
