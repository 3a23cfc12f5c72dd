"""Report tables: named columns and rows, written as JSON and CSV and shown in the HTML report."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson

Kind = Literal["text", "int", "float", "percent", "count"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"


@dataclass
class Table:
    """One table of the report. ``name`` is its file stem under ``tables/``; rows are dicts keyed by column key
    holding JSON values, tuples or datetimes (made plain when written)."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def document(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "note": self.note,
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
                "rows": [{c.key: plain(row.get(c.key)) for c in self.columns} for row in self.rows]}


def plain(value: Any) -> Any:
    """A JSON- and CSV-friendly value: tuples become lists, datetimes ISO strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def write_json(table: Table, path: Path) -> None:
    path.write_bytes(orjson.dumps(table.document(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))


def _csv_cell(value: Any) -> Any:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_csv(table: Table, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.key for c in table.columns])
        for row in table.rows:
            writer.writerow([_csv_cell(row.get(c.key)) for c in table.columns])


def format_cell(value: Any, kind: Kind) -> str:
    """How a value reads in the HTML report."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "percent" and isinstance(value, int | float):
        return f"{value:.1f}%"
    if kind == "float" and isinstance(value, int | float):
        return f"{value:,.2f}" if abs(value) < 1000 else human_count(value)
    if kind == "count" and isinstance(value, int | float):
        return human_count(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def human_count(value: float) -> str:
    """1234 -> 1.2K, 7_000_000_000 -> 7B: parameter counts read as people write them."""
    for bound, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= bound:
            return f"{value / bound:.3g}{suffix}"
    return f"{value:.3g}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"


def rows_of(items: Sequence[Any], **extra: Any) -> list[dict[str, Any]]:
    """Rows from dataclass instances (their fields), with ``extra`` computed columns."""
    rows = []
    for item in items:
        row = dict(vars(item))
        for key, fn in extra.items():
            row[key] = fn(item)
        rows.append(row)
    return rows
