"""Opening, migrating and tuning the database (SQLite with WAL by default, or PostgreSQL)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..errors import StoreError, UsageError
from . import schema

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (reports, exports) run while a crawl writes; NORMAL is durable at
    # transaction boundaries in WAL mode, which is what resumability relies on.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _json_dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits and other rarities orjson refuses
        return json.dumps(value)


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=_json_dumps)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # Workers of a distributed run each open their own engine; NullPool keeps idle
        # connections from piling up on the server.
        if "nullpool" in parsed.query:
            return create_engine(parsed.difference_update_query(["nullpool"]), poolclass=NullPool,
                                 json_serializer=_json_dumps)
        return create_engine(url, json_serializer=_json_dumps)
    raise UsageError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


class Store:
    """A handle on the database; stage modules take one and use its engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self, revision: str = "head") -> None:
        cfg = alembic_config(self.engine)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def downgrade(self, revision: str) -> None:
        cfg = alembic_config(self.engine)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(self.engine)).get_current_head()

    def is_current(self) -> bool:
        return self.current_revision() == self.head_revision()

    # --- runs and failures -------------------------------------------------------------

    def start_run(self, stage: str, source: str, params: dict[str, Any] | None = None,
                  versions: dict[str, str] | None = None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(schema.run).values(
                stage=stage, source=source, started_at=utcnow(), status="running",
                params=params or {}, versions=versions or {}, counts={},
            ).returning(schema.run.c.id))
            return int(result.scalar_one())

    def interrupt_stale_runs(self, source: str) -> None:
        """Mark runs of ``source`` still "running" as interrupted: they were killed (ptmscope runs one
        job per source at a time), and their work is redone by the run about to start."""
        with self.engine.begin() as conn:
            conn.execute(update(schema.run).where(schema.run.c.source == source, schema.run.c.status == "running")
                         .values(status="interrupted", finished_at=utcnow()))

    def finish_run(self, run_id: int, status: str, counts: dict[str, Any],
                   error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(schema.run).where(schema.run.c.id == run_id).values(
                finished_at=utcnow(), status=status, counts=counts, error=error))

    @contextmanager
    def recording(self, run_id: int, counts: Callable[[], dict[str, Any]]) -> Iterator[None]:
        """Finish run ``run_id`` when the block ends: completed, interrupted (Ctrl-C) or failed with
        the error, each with the ``counts()`` reached so far."""
        status, error = "failed", None
        try:
            yield
            status = "completed"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except Exception as exc:
            error = str(exc)
            raise
        finally:
            self.finish_run(run_id, status, counts(), error)

    def record_failure(self, run_id: int, stage: str, item: str, reason: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.failure).values(
                run_id=run_id, stage=stage, item=item[:512], reason=reason, recorded_at=utcnow()))

    # --- crawl checkpoints ----------------------------------------------------------------

    def crawl_state(self, source: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.crawl_state).where(
                schema.crawl_state.c.source == source)).mappings().first()
            return dict(row) if row else None

    def save_crawl_state(self, source: str, *, watermark: str | None, run_id: int,
                         data: dict[str, Any] | None = None) -> None:
        values = {"watermark": watermark, "last_run_id": run_id, "last_completed_at": utcnow(),
                  "data": data or {}}
        with self.engine.begin() as conn:
            done = conn.execute(update(schema.crawl_state).where(
                schema.crawl_state.c.source == source).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(schema.crawl_state).values(source=source, **values))


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the database at ``url``; bring its schema to the newest migration unless told not to."""
    engine = make_engine(url)
    store = Store(engine)
    try:
        if migrate:
            store.upgrade()
        elif not store.is_current():
            raise StoreError("the database schema is not current; run `ptmscope db upgrade`")
    except OperationalError as exc:
        raise StoreError(f"cannot open database {engine.url.render_as_string()}: {exc.orig}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {exc}") from exc
    return store
