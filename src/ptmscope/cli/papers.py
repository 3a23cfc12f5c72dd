"""``ptmscope collect papers``: the papers of the seed's venues, with their code links, into the store."""

from __future__ import annotations

from pathlib import Path

import typer

from ..papers.collect import collect_papers, make_source
from ..papers.venues import MAX_YEAR, MIN_YEAR, SOURCES, VENUES, check_request
from ..runtime.progress import progress_bar
from .context import state


def papers(
    ctx: typer.Context,
    source: str = typer.Option(..., "--source", help=f"Where to list papers: {', '.join(SOURCES)}."),
    venue: str | None = typer.Option(None, help=f"{', '.join(VENUES)} (case-insensitive; NIPS = NeurIPS). "
                                      "openreview serves ICLR, NeurIPS, ICML; dblp all but arXiv; arxiv only arXiv."),
    year: int | None = typer.Option(None, min=MIN_YEAR, max=MAX_YEAR,
                                    help="Proceedings year (needed by openreview and dblp)."),
    file: Path | None = typer.Option(None, "--file", help="A CSV or JSON paper list, for --source file "
                                     "(Papers-with-Code style CSV, papercopilot JSON, or any list with a title)."),
) -> None:
    """Collect papers: title, venue, year, authors, affiliations, countries, ids and code links."""
    app_state = state(ctx)
    name = source.strip().lower()
    # Every mistake in the options is reported before the store is opened or a request is sent.
    check_request(name, venue, year)
    paper_source = make_source(name, app_state.settings, path=file)
    try:
        store = app_state.store()
        with progress_bar(f"papers from {name}", enabled=not app_state.quiet) as advance:
            summary = collect_papers(store, paper_source, venue, year, progress=advance, path=file)
    finally:
        paper_source.close()
    typer.echo(summary.line())
    if summary.failed or summary.skipped:
        typer.echo(f"  {summary.failed + summary.skipped} entries could not be read or stored; "
                   f"they are recorded as failures of run {summary.run_id}", err=True)
