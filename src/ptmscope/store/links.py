"""Writing repositories found by ``link``, the perspectives that found them, and the links themselves.

Links have no natural key (the same repository can be linked from several fields and lines), so a
subject's links are replaced as a whole: delete, then insert the new set, in the caller's
transaction. That makes re-linking idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from sqlalchemy import Connection, delete, insert, select

from ..link.extract import LinkCandidate
from ..link.urls import RepoRef
from . import schema
from .models import dialect_insert

HOST = "github.com"
# DESIGN §3's perspectives, and the PyTorch Hub catalogue's own declarations.
PERSPECTIVES = frozenset({"paper", "model_card", "hub_catalogue", "hf_org", "hf_org_fork", "github_search",
                          "downstream", "user"})
_CHUNK = 1000

R = schema.repository


def _known(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """Stored repositories under these lower-case names, or under an old name they were renamed from."""
    known: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        known.update((name, pk) for name, pk in conn.execute(
            select(R.c.full_name_lower, R.c.id).where(R.c.host == HOST, R.c.full_name_lower.in_(chunk))))
        a = schema.repo_alias
        missing = [k for k in chunk if k not in known]
        if missing:
            known.update((name, pk) for name, pk in conn.execute(
                select(a.c.old_name_lower, a.c.repository).where(a.c.host == HOST, a.c.old_name_lower.in_(missing))))
    return known


def ensure_repositories(conn: Connection, refs: Iterable[RepoRef]) -> dict[str, int]:
    """Primary keys of the repositories ``refs`` name, by :attr:`RepoRef.key`; the ones not stored yet
    are added as ``pending`` under the first spelling seen. Existing rows are left as they are."""
    first: dict[str, RepoRef] = {}
    for ref in refs:
        first.setdefault(ref.key, ref)
    keys = list(first)
    known = _known(conn, keys)
    new = [{"host": HOST, "owner": first[k].owner, "name": first[k].name, "full_name_lower": k,
            "url": first[k].canonical_url, "status": "pending"} for k in keys if k not in known]
    if new:
        # DO NOTHING: a concurrent writer may have added the same repository meanwhile.
        conn.execute(dialect_insert(conn, R).on_conflict_do_nothing(index_elements=["host", "full_name_lower"]), new)
        known.update(_known(conn, [row["full_name_lower"] for row in new]))
    return known


# The usage stage's links: code that loads a model, found by reading the code, not by a reference.
DOWNSTREAM = "downstream"


def add_sources(conn: Connection, repo_pks: Iterable[int], perspective: str) -> None:
    """Record that ``perspective`` found these repositories."""
    if perspective not in PERSPECTIVES:
        raise ValueError(f"unknown perspective {perspective!r}")
    rows = [{"repository": pk, "perspective": perspective} for pk in sorted(set(repo_pks))]
    if rows:
        conn.execute(dialect_insert(conn, schema.repo_source).on_conflict_do_nothing(
            index_elements=["repository", "perspective"]), rows)


def replace_links(conn: Connection, subject: Literal["model", "paper"],
                  candidates_by_subject: Mapping[int, Sequence[LinkCandidate]], repo_pks: Mapping[str, int]) -> int:
    """Replace every link of these models (or papers) with their candidates; returns links written.
    ``repo_pks`` must hold every candidate's repository (see :func:`ensure_repositories`). Links of
    kind ``downstream`` belong to the usage stage (which replaces them per repository) and stay."""
    subjects = list(candidates_by_subject)
    column = schema.link.c[subject]
    for start in range(0, len(subjects), _CHUNK):
        conn.execute(delete(schema.link).where(column.in_(subjects[start:start + _CHUNK]),
                                               schema.link.c.kind != DOWNSTREAM))
    rows = [{"model": pk if subject == "model" else None, "paper": pk if subject == "paper" else None,
             "repository": repo_pks[c.repo.key], "kind": c.kind, "field": c.field, "line": c.line,
             "evidence": c.evidence, "confidence": c.confidence}
            for pk, candidates in candidates_by_subject.items() for c in candidates]
    if rows:
        conn.execute(insert(schema.link), rows)
    return len(rows)


def replace_links_for_model(conn: Connection, model_pk: int, candidates: Sequence[LinkCandidate]) -> dict[str, int]:
    """One model's links, replaced; returns the repositories they point to (key -> primary key)."""
    repo_pks = ensure_repositories(conn, (c.repo for c in candidates))
    replace_links(conn, "model", {model_pk: candidates}, repo_pks)
    return repo_pks


def replace_links_for_paper(conn: Connection, paper_pk: int, candidates: Sequence[LinkCandidate]) -> dict[str, int]:
    """One paper's links, replaced; returns the repositories they point to (key -> primary key)."""
    repo_pks = ensure_repositories(conn, (c.repo for c in candidates))
    replace_links(conn, "paper", {paper_pk: candidates}, repo_pks)
    return repo_pks
