"""``ptmscope db``: create and migrate the store."""

from __future__ import annotations

import typer

from .context import state

app = typer.Typer(help="Create, migrate and inspect the database.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context, revision: str = typer.Argument("head", help="Target migration.")) -> None:
    """Create the database or migrate it to the newest schema."""
    store = state(ctx).store(migrate=False)
    store.upgrade(revision)
    typer.echo(f"database at revision {store.current_revision()} ({store.engine.url.render_as_string()})")


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the schema revision of the database and whether it is the newest."""
    store = state(ctx).store(migrate=False)
    rev, head = store.current_revision(), store.head_revision()
    typer.echo(f"current: {rev or 'none (empty database)'}; newest: {head}")
    if rev != head:
        raise typer.Exit(1)
