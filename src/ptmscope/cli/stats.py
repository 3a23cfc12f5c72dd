"""``ptmscope stats``: summary statistics of the store."""

from __future__ import annotations

from enum import StrEnum

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..analysis.coverage import coverage as compute_coverage
from .context import state
from .scan import vulns

app = typer.Typer(help="Summary statistics of what is stored.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    json = "json"


@app.command()
def coverage(
    ctx: typer.Context,
    hub: str = typer.Option("huggingface", help="Which hub's models."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Share of models with each kind of metadata (Table 5 of the MLOSS collection paper)."""
    total, rows = compute_coverage(state(ctx).store(), hub)
    if fmt is Format.json:
        typer.echo(orjson.dumps({"hub": hub, "models": total, "rows": [r.__dict__ for r in rows]},
                                option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"Metadata coverage: {total:,} {hub} models (deleted excluded)")
    for col, justify in (("Metadata", "left"), ("Description", "left"), ("Models", "right"),
                         ("Percent", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(r.metadata, r.description, f"{r.models:,}", f"{r.percent:.1f}%")
    Console().print(table)


app.command("vulns")(vulns)
