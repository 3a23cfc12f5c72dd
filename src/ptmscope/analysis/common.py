"""Small helpers the analysis modules share: a model's domain, time periods, medians, ordering."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum

from ..hubs.domains import DOMAINS, domain_for_task

UNKNOWN = "(unknown)"


class Period(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


def domain_of(domain: str | None, pipeline_tag: str | None) -> str:
    """The stored domain, or the one its pipeline tag maps to: rows written before the hub stage kept
    a domain have only the tag, and both must land in the same bar."""
    return domain or domain_for_task(pipeline_tag)


def period_of(when: datetime, period: Period) -> str:
    """A label that sorts in time order as a string: 2023-03, 2023-Q1, 2023."""
    if period is Period.month:
        return f"{when.year:04d}-{when.month:02d}"
    if period is Period.quarter:
        return f"{when.year:04d}-Q{(when.month - 1) // 3 + 1}"
    return f"{when.year:04d}"


def period_range(first: str, last: str, period: Period) -> list[str]:
    """Every period label from ``first`` to ``last`` inclusive, so a chart over time shows quiet periods as
    gaps instead of drawing distant periods side by side."""
    def index(label: str) -> int:
        year = int(label[:4])
        if period is Period.month:
            return year * 12 + int(label[5:7]) - 1
        if period is Period.quarter:
            return year * 4 + int(label[6]) - 1
        return year

    def label(i: int) -> str:
        if period is Period.month:
            return f"{i // 12:04d}-{i % 12 + 1:02d}"
        if period is Period.quarter:
            return f"{i // 4:04d}-Q{i % 4 + 1}"
        return f"{i:04d}"

    return [label(i) for i in range(index(first), index(last) + 1)]


def domain_order(domains: Iterable[str]) -> list[str]:
    """The hubs stage's domains in their usual order, any others after them by name."""
    present = set(domains)
    return [d for d in DOMAINS if d in present] + sorted(present - set(DOMAINS))


def hub_order(hubs: Iterable[str]) -> list[str]:
    present = set(hubs)
    known = ("huggingface", "pytorch_hub")
    return [h for h in known if h in present] + sorted(present - set(known))


def median(values: Sequence[int]) -> float:
    return float(statistics.median(values))


def percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0
