"""``ptmscope snapshot``: model files at their recorded commit, with model-file and custom-code verdicts."""

from __future__ import annotations

from enum import StrEnum

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..hubs.customcode import remote_code_exposure
from ..hubs.snapshot import DEFAULT_ALLOW, DEFAULT_CODE_SCANNERS, DEFAULT_MIN_DOWNLOADS, snapshot_models
from ..runtime.executors import LocalExecutor
from ..runtime.progress import progress_bar
from ..scan.modelfiles import OUTCOMES
from ..store.snapshots import verdict_counts
from .clone import parse_size
from .context import state


class Format(StrEnum):
    table = "table"
    json = "json"


def _max_size(text: str) -> int | None:
    return None if text.strip().lower() in ("0", "none", "unlimited") else parse_size(text, "--max-file-size")


def snapshot(
    ctx: typer.Context,
    min_downloads: int = typer.Option(DEFAULT_MIN_DOWNLOADS, "--min-downloads", min=0,
                                      help="Only models with at least this many downloads."),
    max_file_size: str = typer.Option("2GiB", "--max-file-size", metavar="SIZE",
                                      help="Larger files get a skipped record instead of a download "
                                           "(e.g. 10MB, 2GiB; 0 for no cap)."),
    revision_pinned: bool = typer.Option(False, "--revision-pinned",
                                         help="Only models that some stored call site loads with a pinned revision."),
    used: bool = typer.Option(False, "--used", help="Only models that some stored call site loads (see `usage`)."),
    allow: list[str] | None = typer.Option(None, "--allow", metavar="PATTERN",
                                           help="Files to take (glob; repeatable; default: weight formats, JSON "
                                                "and Python files). A pattern with '/' matches the whole path."),
    deny: list[str] | None = typer.Option(None, "--deny", metavar="PATTERN", help="Files never to take (repeatable)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many models (most downloaded first)."),
    workers: int = typer.Option(4, "--workers", min=1, max=64, help="Files downloaded at the same time."),
    scan_workers: int | None = typer.Option(None, "--scan-workers", min=1,
                                            help="Processes scanning model files (default: one per CPU; 1 scans "
                                                 "in this process)."),
    code_scanners: str = typer.Option(",".join(DEFAULT_CODE_SCANNERS), "--code-scanners",
                                      help="Scanners for models' custom code (comma-separated; empty for none)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Download the files of selected Hub models at their recorded commit into the content-addressed
    store and scan each with the model-file scanner (and picklescan), never loading it; custom code is
    scanned like repository code. The Hub's own scan results are kept beside ours."""
    cap = _max_size(max_file_size)
    app_state = state(ctx)
    store = app_state.store()
    names = tuple(n.strip() for n in code_scanners.split(",") if n.strip())
    executor = LocalExecutor(scan_workers) if scan_workers != 1 else None
    with progress_bar("Snapshotting models", enabled=not app_state.quiet) as advance:
        try:
            summary = snapshot_models(store, app_state.settings, min_downloads=min_downloads, max_file_size=cap,
                                      revision_pinned=revision_pinned, used=used, allow=tuple(allow or DEFAULT_ALLOW),
                                      deny=tuple(deny or ()), limit=limit, workers=workers, code_scanners=names,
                                      executor=executor, advance=advance)
        finally:
            if executor is not None:
                executor.close()
    in_store = verdict_counts(store)
    exposure = remote_code_exposure(store)
    if fmt is Format.json:
        document = {"run_id": summary.run_id, **summary.counts(), "store_verdicts": in_store,
                    "remote_code_call_sites": len(exposure),
                    "remote_code_unpinned": sum(e.flagged for e in exposure),
                    "problems": [{"item": item, "reason": reason} for item, reason in summary.problems]}
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    console = Console()
    console.print(summary.line(), markup=False, highlight=False)
    table = Table(title="Model-file verdicts (files)")
    table.add_column("Outcome")
    table.add_column("This run", justify="right")
    table.add_column("In the store", justify="right")
    keys = [*OUTCOMES, *sorted((set(summary.verdicts) | set(in_store)) - set(OUTCOMES))]
    for key in keys:
        table.add_row(key, f"{summary.verdicts.get(key, 0):,}", f"{in_store.get(key, 0):,}")
    console.print(table)
    if exposure:
        console.print(f"trust_remote_code call sites: {len(exposure):,}, "
                      f"{sum(e.flagged for e in exposure):,} without a pinned revision", markup=False, highlight=False)
    for item, reason in summary.problems:
        typer.echo(f"  failed {item}: {reason}", err=True)
