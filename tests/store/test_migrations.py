from __future__ import annotations

from sqlalchemy import inspect

from ptmscope.store import open_store
from ptmscope.store.schema import metadata


def test_migrations_create_every_table_of_the_schema(db_url: str) -> None:
    store = open_store(db_url)
    assert store.is_current()
    tables = set(inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= tables
    # The migration and the schema module must describe the same columns.
    for name, table in metadata.tables.items():
        migrated = {c["name"] for c in inspect(store.engine).get_columns(name)}
        assert migrated == set(table.columns.keys()), name


def test_downgrade_to_nothing_and_back(db_url: str) -> None:
    store = open_store(db_url)
    store.downgrade("base")
    assert "model" not in inspect(store.engine).get_table_names()
    store.upgrade()
    assert store.is_current()
