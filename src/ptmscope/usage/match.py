"""Matching model names found in code to stored models: exactly, case-insensitively, through recorded renames
(``model_alias``: ``bert-base-uncased`` → ``google-bert/bert-base-uncased``), and as a bare name when exactly
one stored model of the hub has it (``en_core_web_sm`` → ``spacy/en_core_web_sm``)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, select

from ..store import schema

HUBS = ("huggingface", "pytorch_hub")


class ModelMatcher:
    """Stored models and their aliases, read once and held in memory for a run."""

    def __init__(self, conn: Connection) -> None:
        self._exact: dict[tuple[str, str], int] = {}
        self._lower: dict[tuple[str, str], int | None] = {}
        self._alias: dict[tuple[str, str], int | None] = {}
        self._bare: dict[tuple[str, str], int | None] = {}
        self._load(conn)

    def _load(self, conn: Connection) -> None:
        m, a = schema.model, schema.model_alias
        lower: dict[tuple[str, str], set[int]] = defaultdict(set)
        bare: dict[tuple[str, str], set[int]] = defaultdict(set)
        for hub, model_id, pk in conn.execute(select(m.c.hub, m.c.model_id, m.c.id).where(m.c.hub.in_(HUBS))):
            self._exact[(hub, model_id)] = pk
            lower[(hub, model_id.lower())].add(pk)
            if "/" in model_id:
                bare[(hub, model_id.rsplit("/", 1)[1].lower())].add(pk)
        aliases: dict[tuple[str, str], set[int]] = defaultdict(set)
        for hub, old_id, pk in conn.execute(select(a.c.hub, a.c.old_id, a.c.model).where(a.c.hub.in_(HUBS))):
            aliases[(hub, old_id)].add(pk)
            aliases[(hub, old_id.lower())].add(pk)
        # A name that fits several models matches none of them.
        self._lower = {k: next(iter(v)) if len(v) == 1 else None for k, v in lower.items()}
        self._alias = {k: next(iter(v)) if len(v) == 1 else None for k, v in aliases.items()}
        self._bare = {k: next(iter(v)) if len(v) == 1 else None for k, v in bare.items()}

    def match(self, hub: str, name: str) -> int | None:
        """The stored model ``name`` (found by a signature of ``hub``) refers to, or None."""
        for h in dict.fromkeys((hub, "huggingface")) if hub not in HUBS else (hub,):
            if h not in HUBS:
                continue
            found = (self._exact.get((h, name)) or self._lower.get((h, name.lower())) or self._alias.get((h, name))
                     or self._alias.get((h, name.lower())))
            if found is None and "/" not in name:
                found = self._bare.get((h, name.lower()))
            if found is not None:
                return found
        return None
