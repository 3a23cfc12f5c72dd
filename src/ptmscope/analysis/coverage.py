"""Metadata coverage of collected models (Table 5 of the MLOSS collection paper).

"Content" follows the paper's Table 3 grouping: a model has content metadata when it has a model
card (text or YAML metadata), evaluation results (model-index) or declared datasets.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..store import Store, schema


@dataclass(frozen=True)
class CoverageRow:
    metadata: str
    description: str
    models: int
    percent: float


ROWS = (
    ("full_name", "Name of the model"),
    ("content", "Any content metadata (card text, card YAML, model-index or datasets)"),
    ("language", "Languages the model is trained on"),
    ("datasets", "Datasets the model is trained on"),
    ("libraries", "Library it was developed with (e.g. transformers, timm)"),
    ("license", "A declared license"),
    ("base_model", "A declared base model"),
    ("card", "A model card (README.md) was downloaded"),
    ("pipeline_tag", "A task (pipeline tag)"),
    ("parameter_count", "A parameter count (safetensors metadata)"),
)


def _nonempty(value: object) -> bool:
    return bool(value)


def coverage(store: Store, hub: str = "huggingface") -> tuple[int, list[CoverageRow]]:
    m = schema.model
    query = select(m.c.model_id, m.c.card_data, m.c.model_index, m.c.datasets, m.c.languages, m.c.library_name,
                   m.c.license_raw, m.c.base_models, m.c.card_text.is_not(None).label("has_card"),
                   m.c.pipeline_tag, m.c.parameter_count).where(m.c.hub == hub, m.c.deleted.is_(False))
    counts = dict.fromkeys((key for key, _ in ROWS), 0)
    total = 0
    with store.engine.connect() as conn:
        for row in conn.execution_options(yield_per=5000).execute(query):
            total += 1
            has = {
                "full_name": bool(row.model_id),
                "content": bool(row.has_card or _nonempty(row.card_data) or _nonempty(row.model_index)
                                or _nonempty(row.datasets)),
                "language": _nonempty(row.languages),
                "datasets": _nonempty(row.datasets),
                "libraries": bool(row.library_name),
                "license": bool(row.license_raw),
                "base_model": _nonempty(row.base_models),
                "card": bool(row.has_card),
                "pipeline_tag": bool(row.pipeline_tag),
                "parameter_count": row.parameter_count is not None,
            }
            for key, present in has.items():
                counts[key] += present
    return total, [CoverageRow(key, desc, counts[key], (100.0 * counts[key] / total) if total else 0.0)
                   for key, desc in ROWS]
