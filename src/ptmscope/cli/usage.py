"""``ptmscope usage``: which code loads which pre-trained model, read statically (a directory, or every clone)."""

from __future__ import annotations

import shutil
from enum import StrEnum
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import UsageError
from ..runtime.executors import LocalExecutor
from ..runtime.progress import progress_bar
from ..usage.analyzer import UsageReport, analyze_file, analyze_path, settle_results
from ..usage.run import summary_document, usage_all
from .context import state
from .output import write_output


class Format(StrEnum):
    table = "table"
    json = "json"


def _table(report: UsageReport, width: int) -> str:
    table = Table(title=f"Pre-trained model loads: {len(report.usages)} call sites in {report.files} files")
    for column in ("Path", "Line", "Library", "Model", "Revision", "Remote code"):
        table.add_column(column, overflow="fold")
    for u in report.usages:
        where = f"{u.line}" if u.cell is None else f"cell {u.cell}:{u.line}"
        if u.model is not None:
            model = escape(u.model)
        elif u.kind == "local":
            model = f"[dim]local: {escape(u.local_path or u.expression)}[/dim]"
        else:
            model = f"[dim]? {escape(u.expression)}[/dim]"
        if u.confidence < 1:
            model += " [yellow](pattern)[/yellow]"
        revision = escape(u.revision) if u.revision else ("?" if u.pinned is None else "-")
        remote = {True: "[red]yes[/red]", False: "no", None: "?"}[u.trust_remote_code]
        table.add_row(escape(u.path), where, escape(u.library), model, revision, remote)
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115 - rendering only
    console.print(table)
    for path, reason in report.skipped:
        console.print(f"skipped {escape(path)}: {escape(reason)}", highlight=False)
    text = console.export_text()
    console.file.close()
    return text


def usage(
    ctx: typer.Context,
    path: Path | None = typer.Argument(None, help="A directory (or one .py / .ipynb file) to read, without the "
                                                   "store; paths are reported relative to it."),
    all_: bool = typer.Option(False, "--all", help="Every cloned repository in the store; usages are stored."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the report here instead of standard output."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Parallel workers (default: one per CPU)."),
    force: bool = typer.Option(False, "--force", help="With --all: re-read repositories already analysed."),
) -> None:
    """Find the pre-trained models the code loads (transformers, diffusers, sentence-transformers, timm,
    spaCy, torch.hub, ... see the signature catalogue), resolving model names statically; never runs
    or imports the code."""
    if (path is None) == (not all_):
        raise UsageError("give a directory to read, or --all for every cloned repository (not both)")
    app_state = state(ctx)
    with LocalExecutor(workers) as executor:
        if path is not None:
            if path.is_dir():
                report = analyze_path(path, executor)
            elif path.is_file() and path.suffix in (".py", ".ipynb"):
                root = path.parent
                report = settle_results(root, [path.name], [analyze_file(root, path.name)])
            elif path.exists():
                raise UsageError(f"not a directory, .py or .ipynb file: {path}")
            else:
                raise UsageError(f"no such directory: {path}")
            if fmt is Format.json:
                write_output(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2) + b"\n", out)
            else:
                width = 200 if out is not None else shutil.get_terminal_size((160, 24)).columns
                write_output(_table(report, width).encode(), out)
            return
        store = app_state.store()
        with progress_bar("Reading repositories", enabled=not app_state.quiet) as advance:
            summary = usage_all(store, app_state.settings, executor, advance, force=force)
    if fmt is Format.json:
        write_output(orjson.dumps(summary_document(summary), option=orjson.OPT_INDENT_2) + b"\n", out)
    else:
        write_output((summary.line() + "\n").encode(), out)
        for name, reason in summary.problems:
            typer.echo(f"  failed {name}: {reason}", err=True)
