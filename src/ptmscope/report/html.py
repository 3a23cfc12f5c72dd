"""Render the report as one self-contained HTML page (jinja2 templates shipped with the package)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from .. import __version__
from .tables import Table, format_cell

if TYPE_CHECKING:
    from .build import Report


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("ptmscope.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["cell"] = format_cell
    env.filters["prose"] = prose
    return env


_CODE = re.compile(r"`([^`]+)`")


def prose(text: str) -> Markup:
    """Escaped text with `backticked` spans as <code>: the notes name commands that way."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def _numeric(table: Table) -> list[bool]:
    return [c.kind != "text" for c in table.columns]


def render(report: Report, *, html_rows: int = 50, open_rows: int = 15,
           table_files: Sequence[str] = ("json", "csv")) -> str:
    """The page. Tables up to ``open_rows`` rows show open, longer ones folded under their title; at most
    ``html_rows`` rows of a table are in the page (the JSON and CSV files hold them all)."""
    template = _environment().get_template("report.html.j2")
    context: dict[str, Any] = {
        "report": report,
        "version": __version__,
        "html_rows": html_rows,
        "open_rows": open_rows,
        "table_files": list(table_files),
        "numeric": _numeric,
        # The SVGs are produced by matplotlib from our own data, with labels escaped by it: safe to inline.
        "svg": Markup,
    }
    return template.render(**context)
