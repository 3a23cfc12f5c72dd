"""The model-card metadata schema (DESIGN §6) and the shape every card extractor returns.

The schema is a superset of the PeaTMOSS "accurate pipeline" schema. Each field is kept with the
extractor that produced it and a confidence, so a later extractor (an LLM) can fill only what an
earlier one left empty or uncertain, and a reviewer can see where each value came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Field name -> JSON kind of its value: "str", "int", "list" (of str unless noted), "dict", "text".
FIELDS: dict[str, str] = {
    "license": "str",
    "datasets": "list",
    "languages": "list",
    "base_models": "list",
    "base_model_relation": "str",
    "library": "str",
    "pipeline_tag": "str",
    "domain": "str",
    "frameworks": "list",
    "github_repos": "list",
    "papers": "list",
    "parameter_count": "int",
    "evaluation": "list",  # [{"dataset", "metric", "value"}]
    "hyper_parameters": "dict",
    "hardware": "str",
    "carbon_emitted": "str",
    "limitations": "text",
    "biases": "text",
    "demo": "str",
    "grant": "str",
    "input_format": "str",
    "output_format": "str",
}


def empty_value(name: str) -> Any:
    """The value of an absent field: [] for lists, {} for dicts, None otherwise."""
    kind = FIELDS[name]
    return [] if kind == "list" else {} if kind == "dict" else None


def is_empty(value: Any) -> bool:
    return value is None or value in ([], {}, "")


@dataclass(frozen=True)
class FieldValue:
    """One extracted field: the value, who produced it (``yaml``, ``rules``, ``api``, ``llm:MODEL``),
    how sure it is (0..1) and a short excerpt of where it was found."""

    value: Any
    extractor: str
    confidence: float
    evidence: str | None = None


@dataclass
class Extraction:
    """The result of reading one card. ``fields`` holds only fields that were found; ``errors`` the
    problems met on the way (invalid YAML, a malformed model-index), which never stop extraction."""

    fields: dict[str, FieldValue] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        """Every schema field, absent ones as null or [] / {} (the ``cards extract`` JSON)."""
        return {name: self.fields[name].value if name in self.fields else empty_value(name) for name in FIELDS}


class CardExtractor(Protocol):
    name: str

    def extract(self, text: str, *, model_id: str | None = None, api_tags: list[str] | None = None) -> Extraction:
        """Read one card (its whole README.md text, front matter included). ``api_tags`` are the hub's
        own tags for the model where known (e.g. ``base_model:finetune:x/y``)."""
        ...
