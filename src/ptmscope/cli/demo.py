"""``ptmscope demo``: the pipeline end to end on a corpus ptmscope generates itself, offline."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import typer

from ..runtime.progress import progress_bar
from .context import state


def demo(
    ctx: typer.Context,
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Where the demo writes its store and files."),
) -> None:
    """Run the pipeline on the bundled corpus, offline, and print where its output is."""
    from ..demo.run import run_demo

    quiet = state(ctx).quiet
    with ExitStack() as bars:
        def progress(label: str, total: int | None) -> Callable[[int], None]:
            # One live bar at a time (rich allows no more): a new stage closes the previous bar.
            bars.close()
            return bars.enter_context(progress_bar(label, total, enabled=not quiet))

        def say(line: str) -> None:
            bars.close()
            typer.echo(line)

        result = run_demo(out, say, progress)
    typer.echo("")
    typer.echo(f"Demo output in {result.out.resolve()}:")
    for path in result.files:
        typer.echo(f"  {path}")
    if result.report is not None:
        typer.echo(f"Report: {result.report}")
    typer.echo(f"Database: {result.db_url}")
    typer.echo(f"Explore it: ptmscope --db {result.db_url} stats coverage   (or: browse)")


