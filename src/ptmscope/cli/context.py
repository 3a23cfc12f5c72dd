"""State shared by every command: settings from the environment plus global options."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from ..config import Settings
from ..store import Store, open_store


@dataclass
class AppState:
    settings: Settings
    quiet: bool = False

    def store(self, *, migrate: bool = True) -> Store:
        return open_store(self.settings.database_url, migrate=migrate)


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppState):  # a command invoked without the root callback (tests)
        obj = AppState(Settings.from_env())
        ctx.find_root().obj = obj
    return obj
