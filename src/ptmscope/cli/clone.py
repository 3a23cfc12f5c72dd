"""``ptmscope clone``: shallow clones of stored repositories under ``PTMSCOPE_DATA_DIR/repos/``."""

from __future__ import annotations

import re

import typer

from ..errors import UsageError
from ..github.clone import CloneLimits
from ..github.cloning import clone_all
from ..runtime.progress import progress_bar
from .context import state

_REPO = re.compile(r"^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str, option: str) -> int:
    """Bytes from ``500M``, ``2G``, ``1.5GiB`` or a plain number (powers of 1024)."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise UsageError(f"{option}: not a size: {text!r} (use e.g. 500M or 2G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _repo_names(repos: list[str]) -> list[tuple[str, str]]:
    names = []
    for repo in repos:
        match = _REPO.match(repo.strip().removesuffix(".git"))
        if match is None or {match.group(1), match.group(2)} & {".", ".."}:
            raise UsageError(f"not a repository owner/name: {repo!r}")
        names.append((match.group(1), match.group(2)))
    return names


def clone(
    ctx: typer.Context,
    repos: list[str] | None = typer.Argument(None, metavar="REPO",
                                             help="Repositories as owner/name (added to the store when new)."),
    all_: bool = typer.Option(False, "--all", help="Every stored repository whose status is ok or pending."),
    depth: int = typer.Option(1, min=1, help="Commits of history to fetch."),
    workers: int = typer.Option(4, min=1, max=64, help="Repositories cloned at the same time."),
    max_size: str = typer.Option("1G", help="Skip repositories whose download or files are larger (e.g. 500M, 2G)."),
    max_files: int = typer.Option(100_000, min=1, help="Skip repositories with more files."),
    max_file_size: str = typer.Option("50M", help="Leave larger files out of the checkout (they are recorded)."),
    timeout: float = typer.Option(600.0, min=1, help="Seconds any one git command may take."),
    force: bool = typer.Option(False, "--force", help="Clone afresh even when the remote HEAD has not moved."),
) -> None:
    """Clone repositories safely (shallow, hooks off, no submodules).

    A re-run fetches only repositories whose remote HEAD moved."""
    if bool(repos) == all_:
        raise UsageError("give repositories as owner/name, or --all (not both)")
    names = None if all_ else _repo_names(repos or [])
    limits = CloneLimits(max_bytes=parse_size(max_size, "--max-size"), max_files=max_files,
                         max_file_bytes=parse_size(max_file_size, "--max-file-size"), timeout=timeout)
    app_state = state(ctx)
    store = app_state.store()
    with progress_bar("Cloning repositories", enabled=not app_state.quiet) as advance:
        summary = clone_all(store, app_state.settings, names=names, depth=depth, workers=workers, limits=limits,
                            force=force, progress=advance)
    typer.echo(summary.line())
    for name, status, reason in summary.problems:
        typer.echo(f"  {status} {name}: {reason}", err=True)
