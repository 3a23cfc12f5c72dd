"""Progress bars for long work. Rendered on a terminal, silent in pipes and under --quiet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

stderr_console = Console(stderr=True)


@contextmanager
def progress_bar(description: str, total: int | None = None, *, enabled: bool = True,
                 ) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(n)``; the bar is indeterminate when ``total`` is unknown."""
    if not enabled or not stderr_console.is_terminal:
        yield lambda _n: None
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=stderr_console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
