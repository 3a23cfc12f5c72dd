"""A card's YAML front matter, read so that a damaged card still yields what can be read.

The fence is found with huggingface_hub's own pattern (``repocard.REGEX_YAML_BLOCK``: ``---`` lines, after
optional leading blank lines), so a card means here what it means on the Hub. Before that the text is
made plain: a byte-order mark is dropped and CRLF / CR line ends become LF. The block is loaded with
libyaml's safe loader where present (the Hub's ``yaml.safe_load`` semantics, much faster).

What the Hub would reject is read anyway, with the problem recorded:
- invalid YAML: each top-level key's chunk is loaded on its own and the ones that load are kept;
- metadata that is not a mapping (a list, a scalar): no metadata;
- a front matter block after a stray first line (a logo caption pasted above it): read if its
  content is a mapping with at least one key the Hub defines for cards.

``model-index`` is read by :func:`model_index_results`, which takes what each result has instead of
requiring every key the Hub's ``model_index_to_eval_results`` requires (a result without ``dataset``
is common and still a result).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from huggingface_hub.repocard import REGEX_YAML_BLOCK

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Keys of the Hub's model and dataset card metadata; one of them makes a late block believable.
CARD_KEYS = frozenset({
    "language", "license", "license_name", "license_link", "library_name", "tags", "datasets", "metrics",
    "model-index", "pipeline_tag", "base_model", "base_model_relation", "widget", "inference", "co2_eq_emissions",
    "thumbnail", "model_name", "new_version", "extra_gated_prompt", "task_categories", "pretty_name",
})
# How many lines may precede a late front matter block.
_LATE_LINES = 3
_FENCED = re.compile(r"([ \t]*---[ \t]*\n)([\S\s]*?)(\n---[ \t]*(?:\n|$))")
_TOP_KEY = re.compile(r"^(?P<indent>[ \t]*)(?P<key>[^\s#:\-][^:#]*?|\"[^\"]*\"|'[^']*')[ \t]*:(?:[ \t]|$)")


@dataclass
class FrontMatter:
    """``data``: the metadata mapping ({} when none could be read); ``body``: the card text after the
    block, LF line ends; ``body_line``: the 1-based line of the body's first line in the normalised card;
    ``errors``: what went wrong while reading."""

    data: dict[str, Any]
    body: str
    body_line: int = 1
    found: bool = False
    errors: list[str] = field(default_factory=list)


def normalise_text(text: str) -> str:
    """The card with no byte-order mark and LF line ends."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_front_matter(text: str) -> FrontMatter:
    text = normalise_text(text)
    match = REGEX_YAML_BLOCK.search(text)
    start_line = 1
    if match is None:
        match = _late_block(text)
        if match is None:
            return FrontMatter({}, text)
        start_line = text.count("\n", 0, match.start()) + 1
    block = match.group(2)
    body = text[match.end():]
    body_line = text.count("\n", 0, match.end()) + 1
    result = FrontMatter({}, body, body_line, found=True)
    if start_line > 1:
        result.errors.append(f"front matter starts at line {start_line}, after other text")
    data, error = _load(block)
    if error is not None:
        result.errors.append(error)
    result.data = data
    return result


def _late_block(text: str) -> re.Match[str] | None:
    """A ``---`` block within the first few lines whose content names a card metadata key."""
    head = text.split("\n", _LATE_LINES + 1)
    offset = 0
    for line in head[:_LATE_LINES + 1]:
        if line.strip() == "---":
            match = _FENCED.match(text, offset)
            if match is None:
                return None
            keys = {m.group("key").strip("\"'") for m in map(_TOP_KEY.match, match.group(2).split("\n")) if m}
            return match if keys & CARD_KEYS else None
        offset += len(line) + 1
    return None


def _load(block: str) -> tuple[dict[str, Any], str | None]:
    try:
        data = yaml.load(block, Loader=_Loader)
    except yaml.YAMLError as exc:
        return _salvage(block), f"invalid YAML front matter: {_one_line(exc)}"
    except (ValueError, TypeError, RecursionError) as exc:  # libyaml on odd input (e.g. deep nesting)
        return _salvage(block), f"invalid YAML front matter: {_one_line(exc)}"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, f"front matter is a {type(data).__name__}, not a mapping; ignored"
    return {str(k): v for k, v in data.items()}, None


def _salvage(block: str) -> dict[str, Any]:
    """The top-level keys whose own lines load as YAML, each on its own."""
    lines = block.split("\n")
    indents = [len(m.group("indent")) for m in map(_TOP_KEY.match, lines) if m]
    if not indents:
        return {}
    top = min(indents)
    chunks: list[list[str]] = []
    for line in lines:
        match = _TOP_KEY.match(line)
        if match is not None and len(match.group("indent")) == top:
            chunks.append([line[top:]])
        elif chunks:
            chunks[-1].append(line[top:] if line[:top].strip() == "" else line)
    data: dict[str, Any] = {}
    for chunk in chunks:
        try:
            part = yaml.load("\n".join(chunk), Loader=_Loader)
        except (yaml.YAMLError, ValueError, TypeError, RecursionError):
            continue
        if isinstance(part, dict):
            data.update({str(k): v for k, v in part.items() if str(k) not in data})
    return data


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def model_index_results(model_index: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """``[{dataset, metric, value}]`` from a ``model-index`` (dataset: ``name`` else ``type``; metric:
    ``name`` else ``type``), and what was malformed in it. Never raises."""
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    if model_index is None:
        return results, errors
    entries = model_index if isinstance(model_index, list) else [model_index]
    for entry in entries:
        if not isinstance(entry, dict):
            errors.append("model-index entry is not a mapping")
            continue
        raw_results = entry.get("results")
        if raw_results is None:
            continue
        if not isinstance(raw_results, list):
            raw_results = [raw_results]
        for result in raw_results:
            if not isinstance(result, dict):
                errors.append("model-index result is not a mapping")
                continue
            dataset = _name_or_type(result.get("dataset"))
            if dataset is None:
                errors.append("model-index result without a dataset (kept with dataset null)")
            metrics = result.get("metrics")
            if metrics is None:
                continue
            if not isinstance(metrics, list):
                metrics = [metrics]
            for metric in metrics:
                if not isinstance(metric, dict):
                    errors.append("model-index metric is not a mapping")
                    continue
                value = metric.get("value")
                if value is None or isinstance(value, (dict, list)):
                    continue
                results.append({"dataset": dataset, "metric": _name_or_type(metric), "value": value})
    return results, errors


def _name_or_type(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("name", "type"):
            item = value.get(key)
            if isinstance(item, (str, int, float)) and str(item).strip():
                return str(item).strip()
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
