"""``ptmscope lineage MODEL``: a model's base models and the models derived from it, from ``model_edge``."""

from __future__ import annotations

from enum import StrEnum

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from ..cards.lineage import Lineage, LineageNode
from ..cards.lineage import lineage as build_lineage
from ..errors import UsageError
from .context import state


class Format(StrEnum):
    table = "table"
    json = "json"


_NOTES = {
    "cycle": "[red](cycle: already on this path)[/]",
    "self-link": "[red](names itself)[/]",
    "seen": "[dim](shown above)[/]",
    "depth": "[dim](more beyond --depth)[/]",
}


def _label(node: LineageNode) -> str:
    name = escape(node.model_id)
    text = f"[bold]{name}[/]" if node.pk is not None else f"{name} [dim](not stored)[/]"
    text += f"  [cyan]{escape(node.relation)}[/] [dim]{escape(node.evidence)}[/]"
    if node.note:
        text += " " + _NOTES.get(node.note, escape(node.note))
    return text


def _add(tree: Tree, nodes: list[LineageNode], limit: int) -> None:
    for node in nodes[:limit]:
        _add(tree.add(_label(node)), node.children, limit)
    if len(nodes) > limit:
        tree.add(f"[dim]... and {len(nodes) - limit} more (--format json lists all)[/]")


def render(result: Lineage, console: Console, *, limit: int) -> None:
    root = escape(result.model_id) + ("" if result.pk is not None else " [dim](not stored)[/]")
    up = Tree(f"[bold]{root}[/] [dim]← derived from[/]")
    _add(up, result.ancestors, limit)
    if not result.ancestors:
        up.add("[dim]no base models on record[/]")
    console.print(up)
    down = Tree(f"[bold]{root}[/] [dim]→ models derived from it[/]")
    _add(down, result.descendants, limit)
    if not result.descendants:
        down.add("[dim]no derived models on record[/]")
    console.print(down)
    for cycle in result.cycles:
        console.print(f"[red]cycle:[/] {escape(' → '.join(cycle))}", highlight=False)


def lineage(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="A model id (org/name), as stored or as named by a card."),
    depth: int = typer.Option(3, "--depth", min=1, max=50, help="How many edges to follow each way."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    limit: int = typer.Option(50, "--limit", min=1, help="Table: at most this many models under each one."),
) -> None:
    """Ancestors (base models) and descendants (fine-tunes, adapters, quantisations, merges) of a model."""
    store = state(ctx).store()
    with store.engine.connect() as conn:
        result = build_lineage(conn, model, depth=depth)
    if result is None:
        raise UsageError(f"no model {model!r} in the store, and no stored card names it as a base model")
    if fmt is Format.json:
        typer.echo(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    render(result, Console(), limit=limit)
