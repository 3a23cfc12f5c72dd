"""Reading loosely typed JSON from remote APIs, where a field's documented shape is not always its real one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def string_list(value: Any) -> list[str]:
    """A field documented as ``str | list[str]``, whatever shape it really came in; blanks dropped."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """``values`` in slices of ``size``: keeps ``IN (...)`` lists and multi-row inserts within what every
    database accepts in one statement."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
