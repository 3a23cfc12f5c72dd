"""``ptmscope collect github``: repository metadata, forks, search results, issues and commits."""

from __future__ import annotations

import typer

from ..errors import UsageError
from ..github.api import GitHubClient
from ..github.collect import DOWNSTREAM, collect_github
from ..runtime.progress import progress_bar
from .context import state


def github(
    ctx: typer.Context,
    from_links: bool = typer.Option(False, "--from-links", help="The repositories `ptmscope link` found in model "
                                    "cards, hub catalogues and papers."),
    org: str | None = typer.Option(None, "--org", help="Every repository of this organisation (perspective hf_org)."),
    forks: bool = typer.Option(False, "--forks", help="With --org: every fork of them too (perspective hf_org_fork)."),
    forks_of_forks: bool = typer.Option(False, "--forks-of-forks", help="With --org: forks of forks as well, "
                                        "breadth-first (implies --forks)."),
    search: str | None = typer.Option(None, "--search", help="A GitHub repository search (e.g. 'huggingface'); "
                                      "read past the 1,000-result cap by slicing on creation date."),
    with_issues: bool = typer.Option(False, "--with-issues", help="Issues, pull requests and commits of the "
                                     "repositories of --issues-of (metadata first where missing)."),
    issues_of: str = typer.Option(DOWNSTREAM, "--issues-of", help="Perspective whose repositories --with-issues "
                                  "covers (downstream, model_card, paper, hf_org, ...), or 'all'."),
    refresh: bool = typer.Option(False, "--refresh", help="Ask again about repositories already fetched; unchanged "
                                 "ones answer 304 and cost no quota."),
    workers: int = typer.Option(8, min=1, max=32, help="Parallel requests (GitHub asks for few)."),
) -> None:
    """Fill repository metadata from the GitHub API at $PTMSCOPE_GITHUB_API, as $GITHUB_TOKEN (never logged)."""
    if not (from_links or org or search or with_issues):
        raise UsageError("nothing to collect: choose --from-links, --org ORG, --search QUERY or --with-issues")
    if (forks or forks_of_forks) and not org:
        raise UsageError("--forks and --forks-of-forks need --org")
    app_state = state(ctx)
    store = app_state.store()
    client = GitHubClient(app_state.settings)
    try:
        with progress_bar("GitHub repositories", enabled=not app_state.quiet) as advance:
            summary = collect_github(store, client, from_links=from_links, org=org, forks=forks,
                                     recursive_forks=forks_of_forks, search=search, with_issues=with_issues,
                                     issues_of=issues_of, refresh=refresh, workers=workers, progress=advance)
    finally:
        client.close()
    typer.echo(summary.line())
    if summary.failed:
        typer.echo(f"  {summary.failed} failed; they are listed with their reasons in run {summary.run_id} "
                   "and retried by the next run", err=True)
    if client.stats.retries:
        typer.echo(f"  ({client.stats.requests} requests, {client.stats.retries} retried, "
                   f"{client.stats.waited_seconds:.1f}s waited on the server)", err=True)
