"""Reading Jupyter notebooks as data (never running them): the cells of nbformat 4 and of the
older worksheets layout."""

from __future__ import annotations

import json
from typing import Any


def read_notebook(data: bytes) -> tuple[dict[str, Any], list[Any]]:
    """The notebook object and its cells (all types, in order); ValueError when it is not a notebook."""
    try:
        notebook = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not a notebook: invalid JSON ({exc})") from exc
    if not isinstance(notebook, dict):
        raise ValueError("not a notebook: top level is not an object")
    cells = notebook.get("cells")
    if cells is None:
        sheets = notebook.get("worksheets")
        cells = [c for sheet in (sheets if isinstance(sheets, list) else []) if isinstance(sheet, dict)
                 for c in sheet.get("cells") or []]
    return notebook, cells if isinstance(cells, list) else []
