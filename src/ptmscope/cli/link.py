"""``ptmscope link``: GitHub repositories named by stored models and papers, with evidence."""

from __future__ import annotations

import typer

from ..link.run import link_all, subject_count
from ..runtime.progress import progress_bar
from .context import state


def link(ctx: typer.Context) -> None:
    """Find the GitHub repositories that model cards, PyTorch Hub entries and papers name.

    Re-running replaces each model's and paper's links with what its stored text says now."""
    app_state = state(ctx)
    store = app_state.store()
    with progress_bar("Linking models and papers", total=subject_count(store), enabled=not app_state.quiet) as advance:
        summary = link_all(store, progress=advance)
    typer.echo(summary.line())
