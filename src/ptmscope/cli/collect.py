"""``ptmscope collect``: bring models (and later papers and repositories) into the store."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import UsageError
from ..hubs.collect import CollectSummary, HfOptions, collect_huggingface, collect_records
from ..hubs.huggingface import HuggingFaceHub
from ..runtime.progress import progress_bar
from .context import state
from .github import github
from .papers import papers

app = typer.Typer(help="Collect models, papers and repositories into the store.", no_args_is_help=True)


def _report(summary: CollectSummary) -> None:
    typer.echo(summary.line())


@app.command()
def huggingface(
    ctx: typer.Context,
    limit: int | None = typer.Option(None, min=1, help="Stop after this many models (newest changes first)."),
    author: str | None = typer.Option(None, help="Only models of this user or organisation."),
    cards: bool = typer.Option(True, "--cards/--no-cards", help="Download each model card (README.md)."),
    history: bool = typer.Option(False, "--history", help="Also collect each model's commit history."),
    files: bool = typer.Option(False, "--files", help="Per-model file sizes and LFS sha256 (one call per model)."),
    full: bool = typer.Option(False, "--full", help="Re-list everything; flag models that disappeared as deleted."),
    workers: int = typer.Option(8, min=1, max=64, help="Parallel per-model requests (cards, history, files)."),
    endpoint: str | None = typer.Option(None, help="Hub URL (default: $HF_ENDPOINT or https://huggingface.co)."),
    batch_size: int = typer.Option(1000, min=1, hidden=True, help="Models per transaction."),
) -> None:
    """List Hugging Face models into the store; a re-run fetches only what changed since the last run."""
    app_state = state(ctx)
    settings = app_state.settings.with_overrides(hf_endpoint=endpoint.rstrip("/") if endpoint else None)
    store = app_state.store()
    hub = HuggingFaceHub(settings)
    opts = HfOptions(limit=limit, author=author, cards=cards, history=history, files=files, full=full,
                     workers=workers, batch_size=batch_size)
    try:
        with progress_bar("Hugging Face models", total=limit, enabled=not app_state.quiet) as advance:
            summary = collect_huggingface(store, hub, opts, progress=advance)
    finally:
        hub.close()
    _report(summary)
    if hub.stats.retries:
        typer.echo(f"  ({hub.stats.requests} requests, {hub.stats.retries} retried, "
                   f"{hub.stats.waited_seconds:.1f}s waited on the server)", err=True)


@app.command("pytorch-hub")
def pytorch_hub(
    ctx: typer.Context,
    source: str = typer.Option("pytorch/hub", help="A directory of catalogue pages, a git URL, or owner/name "
                               "(cloned from $PTMSCOPE_GIT_BASE)."),
) -> None:
    """Read the PyTorch Hub catalogue: one model per (repository, entrypoint) its pages load."""
    from ..hubs.pytorch_hub import HUB, iter_catalogue

    app_state = state(ctx)
    local = Path(source)
    if (source.startswith(("/", "./", "../")) or local.exists()) and not local.is_dir():
        # Spelled as a local path (or naming a file): a typo here is an input error, not an
        # unreachable remote source.
        raise UsageError(f"PyTorch Hub catalogue directory not found: {source}")
    store = app_state.store()
    catalogue = iter_catalogue(source, git_base=app_state.settings.git_base)
    summary = collect_records(store, HUB, HUB, catalogue, mark_missing_deleted=True,
                              params={"source": source}, skipped=catalogue.skipped)
    _report(summary)
    for name, reason in catalogue.skipped:
        typer.echo(f"  skipped {name}: {reason}", err=True)


app.command("papers")(papers)
app.command("github")(github)
