"""Reading ptmscope's CSV and Parquet exports back into the rows its JSONL export writes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

Fields = tuple[tuple[str, str], ...]

_SCALARS = {"int": int, "float": float, "bool": lambda cell: {"True": True, "False": False}[cell]}


def read_csv(data: bytes, fields: Fields) -> list[dict[str, Any]]:
    kinds = dict(fields)
    # newline="": line breaks inside quoted cells are data, not row ends.
    reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    assert reader.fieldnames == [name for name, _ in fields]
    rows = []
    for raw in reader:
        row: dict[str, Any] = {}
        for name, cell in raw.items():
            kind = kinds[name]
            if kind == "list":
                row[name] = json.loads(cell)  # list cells are JSON
            elif cell == "":
                row[name] = None  # CSV has no null; the test data has no empty scalar strings
            else:
                row[name] = _SCALARS.get(kind, str)(cell)
        rows.append(row)
    return rows


def read_parquet(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    for row in rows:
        # Parquet list columns hold strings; structured entry points travel as JSON strings.
        if "entrypoints" in row:
            row["entrypoints"] = [json.loads(item) for item in row["entrypoints"]]
    return rows
