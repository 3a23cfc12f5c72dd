"""``ptmscope db``: create and migrate the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError, UsageError
from ..store import Store
from ..store.db import make_engine
from .context import state

app = typer.Typer(help="Create, migrate and inspect the database.", no_args_is_help=True)


@contextmanager
def _schema_store(ctx: typer.Context) -> Iterator[Store]:
    # Not open_store(migrate=False): that refuses a database whose schema is not current, which is
    # exactly the database these commands exist for (a new one, or one behind the newest migration).
    store = Store(make_engine(state(ctx).settings.database_url))
    try:
        yield store
    except CommandError as exc:  # an unknown target revision
        raise UsageError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open database {store.engine.url.render_as_string()}: "
                         f"{getattr(exc, 'orig', None) or exc}") from exc
    finally:
        store.engine.dispose()


@app.command()
def upgrade(ctx: typer.Context, revision: str = typer.Argument("head", help="Target migration.")) -> None:
    """Create the database or migrate it to the newest schema."""
    with _schema_store(ctx) as store:
        store.upgrade(revision)
        typer.echo(f"database at revision {store.current_revision()} ({store.engine.url.render_as_string()})")


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the schema revision of the database and whether it is the newest."""
    with _schema_store(ctx) as store:
        rev, head = store.current_revision(), store.head_revision()
    typer.echo(f"current: {rev or 'none (empty database)'}; newest: {head}")
    if rev != head:
        raise typer.Exit(1)
