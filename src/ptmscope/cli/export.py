"""``ptmscope export``: write stored records as JSON Lines, CSV or Parquet."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from ..store.export import export_models, export_records
from .context import state

app = typer.Typer(help="Export stored records (one record per line / row).", no_args_is_help=True)


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


@app.command()
def models(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.jsonl, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: standard output)."),
    hub: str | None = typer.Option(None, help="Only this hub (huggingface, pytorch_hub)."),
) -> None:
    """Export models: id, author, sha, dates, downloads, likes, library, task, tags, license, datasets,
    languages, base models, gating, GitHub repositories, deletion and previous ids."""
    store = state(ctx).store()
    if fmt is Format.parquet:
        n = export_models(store, fmt.value, None, out, hub=hub)
    elif out is None:
        n = export_models(store, fmt.value, sys.stdout.buffer, None, hub=hub)
        sys.stdout.buffer.flush()
    else:
        with out.open("wb") as fh:
            n = export_models(store, fmt.value, fh, out, hub=hub)
    if out is not None:
        typer.echo(f"{n} models written to {out}", err=True)


def _export_command(kind: str, doc: str) -> None:
    def command(
        ctx: typer.Context,
        fmt: Format = typer.Option(Format.jsonl, "--format", "-f", help="Output format."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: standard output)."),
    ) -> None:
        store = state(ctx).store()
        if fmt is Format.parquet or out is not None:
            if out is None:
                n = export_records(store, kind, fmt.value, None, None)
            else:
                with out.open("wb") as fh:
                    n = export_records(store, kind, fmt.value, fh, out)
            typer.echo(f"{n} {kind} written to {out}", err=True)
        else:
            n = export_records(store, kind, fmt.value, sys.stdout.buffer, None)
            sys.stdout.buffer.flush()

    command.__doc__ = doc
    app.command(kind)(command)


_export_command("repositories", "Export repositories: owner/name, Table 2 metadata, perspectives that found them, "
                                "previous names and clone state.")
_export_command("links", "Export links: the model or paper, the repository (owner/name), kind, field, line and "
                         "evidence.")
_export_command("findings", "Export findings of each repository's current scans: scanner, rule, category, "
                            "type, severity, CWE, path, line, message, repository and commit.")
_export_command("papers", "Export papers: venue, year, title, authors, affiliations, countries, ids, code links "
                          "and the repositories linked from them.")
_export_command("usages", "Export call sites that load a model: model (stored id when matched, else the resolved "
                          "name), library, call, path, line, revision, pinned, trust_remote_code, resolved, repo "
                          "(owner/name), cell, commit.")
