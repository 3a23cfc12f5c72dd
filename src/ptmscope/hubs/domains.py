"""Problem domain of a model from its pipeline tag (data in ``domains.toml``)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

DOMAINS = ("NLP", "CV", "Audio", "Multimodal", "RL", "Tabular", "Other")


@cache
def task_domains() -> dict[str, str]:
    text = resources.files(__package__).joinpath("domains.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    mapping: dict[str, str] = {}
    for domain, entry in table.items():
        if domain not in DOMAINS:
            raise ValueError(f"domains.toml names an unknown domain {domain!r}")
        for task in entry["tasks"]:
            if task in mapping:
                raise ValueError(f"task {task!r} is mapped twice in domains.toml")
            mapping[task] = domain
    return mapping


def domain_for_task(pipeline_tag: str | None) -> str:
    if not pipeline_tag:
        return "Other"
    return task_domains().get(pipeline_tag.strip().lower(), "Other")
