"""``ptmscope report``: the HTML report with every table and figure, and the tables as JSON and CSV."""

from __future__ import annotations

from pathlib import Path

import typer

from ..report.build import FORMATS, build_report, parse_formats
from .context import state


def report(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the report into (created if needed)."),
    fmt: str = typer.Option(",".join(FORMATS), "--format", "-f",
                            help="Comma-separated: html (report.html), json and csv (tables/<name>.json|csv)."),
) -> None:
    """Write the report: seed papers' tables and figures, exposure, unpinned usage, licenses."""
    formats = parse_formats(fmt)
    app_state = state(ctx)
    result, written = build_report(app_state.store(), out.resolve(), formats)
    page = out.resolve() / "report.html"
    if not app_state.quiet:
        empty = [s.title for s in result.sections if s.empty]
        typer.echo(f"wrote {len(written)} files to {out.resolve()}", err=True)
        if empty:
            typer.echo(f"sections without data yet: {', '.join(empty)}", err=True)
    typer.echo(str(page if "html" in formats else out.resolve() / "report.json"))
