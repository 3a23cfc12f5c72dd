"""The store: one SQLAlchemy schema, Alembic migrations, small read/write functions."""

from .db import Store, open_store

__all__ = ["Store", "open_store"]
