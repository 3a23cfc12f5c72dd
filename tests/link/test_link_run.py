"""``link`` end to end on SQLite and PostgreSQL: repositories, perspectives, links with evidence,
case-insensitive identity, renamed repositories, idempotence, the CLI command."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import typer
from sqlalchemy import insert, select
from typer.testing import CliRunner

from ptmscope.cli.link import link
from ptmscope.hubs.collect import collect_records
from ptmscope.hubs.interface import ModelRecord
from ptmscope.link.run import link_all, subject_count
from ptmscope.store import Store, open_store, schema

ALPHA_CARD = """\
---
license: mit
github: Org/Repo
---

# alpha

Code: [Org/Repo](https://github.com/Org/Repo/tree/main).
This model was trained using [transformers](https://github.com/huggingface/transformers).
An old link: https://git.io/abc and a user page https://github.com/someone
"""

ALPHA = ModelRecord(hub="huggingface", model_id="acme/alpha", author="acme", sha="a1",
                    card_data={"license": "mit", "github": "Org/Repo"}, card_text=ALPHA_CARD)
BETA = ModelRecord(hub="huggingface", model_id="acme/beta", author="acme", sha="b1",
                   card_text="see github.com/org/repo/issues\nand https://github.com/OldOrg/OldName.git\n")
PLAIN = ModelRecord(hub="huggingface", model_id="acme/plain", author="acme", sha="p1",
                    card_text="No code here: https://huggingface.co/acme/plain")
GONE = ModelRecord(hub="huggingface", model_id="acme/gone", author="acme", sha="g1",
                   card_text="https://github.com/acme/gone-code")
VISION = ModelRecord(
    hub="pytorch_hub", model_id="pytorch/vision/resnet18", github_repo="pytorch/vision",
    entrypoints=({"repo": "pytorch/vision", "ref": "v0.10.0", "entrypoint": "resnet18",
                  "file": "pytorch_vision_resnet.md", "line": 21, "args": [], "kwargs": {}, "commented": False},),
    card_text="---\nlayout: hub_detail\ngithub-link: https://github.com/pytorch/vision/blob/main/hubconf.py\n---\n")

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Store:
    store = open_store(db_url)
    collect_records(store, "huggingface", "huggingface", [ALPHA, BETA, PLAIN, GONE], mark_missing_deleted=True)
    collect_records(store, "huggingface", "huggingface", [ALPHA, BETA, PLAIN], mark_missing_deleted=True)
    collect_records(store, "pytorch_hub", "pytorch_hub", [VISION], mark_missing_deleted=True)
    with store.engine.begin() as conn:
        conn.execute(insert(schema.paper).values(
            source="test", source_id="p1", title="A paper", code_links=["https://github.com/ORG/repo"],
            abstract="We compare with torchvision (https://github.com/pytorch/vision)."))
        # Already known from GitHub, spelled its way, with metadata a link run must not touch.
        vision = conn.execute(insert(schema.repository).values(
            host="github.com", owner="PyTorch", name="Vision", full_name_lower="pytorch/vision",
            url="https://github.com/PyTorch/Vision", stars=15000, status="ok").returning(schema.repository.c.id))
        conn.execute(insert(schema.repo_alias).values(host="github.com", old_name_lower="oldorg/oldname",
                                                      repository=vision.scalar_one(), evidence="http_301",
                                                      detected_at=NOW))
    return store


def _links(store: Store) -> list[tuple[Any, ...]]:
    m, p, r, lk = schema.model, schema.paper, schema.repository, schema.link
    query = (select(m.c.model_id, p.c.source_id, r.c.full_name_lower, lk.c.kind, lk.c.field, lk.c.line,
                    lk.c.evidence, lk.c.confidence)
             .select_from(lk.join(r, r.c.id == lk.c.repository).outerjoin(m, m.c.id == lk.c.model)
                          .outerjoin(p, p.c.id == lk.c.paper)))
    with store.engine.connect() as conn:
        return sorted((tuple(row) for row in conn.execute(query)), key=repr)


def _repositories(store: Store) -> dict[str, tuple[Any, ...]]:
    r = schema.repository
    with store.engine.connect() as conn:
        return {row.full_name_lower: (row.owner, row.name, row.url, row.status, row.stars)
                for row in conn.execute(select(r))}


def _sources(store: Store) -> dict[str, set[str]]:
    r, s = schema.repository, schema.repo_source
    out: dict[str, set[str]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(select(r.c.full_name_lower, s.c.perspective).join(s, s.c.repository == r.c.id)):
            out.setdefault(row.full_name_lower, set()).add(row.perspective)
    return out


def test_link_all_end_to_end_and_idempotent(store: Store) -> None:
    assert subject_count(store) == 5  # four live models, one paper
    ticks: list[int] = []
    first = link_all(store, progress=ticks.append, batch_size=2)
    assert sum(ticks) == 5

    assert _repositories(store) == {
        "org/repo": ("Org", "Repo", "https://github.com/Org/Repo", "pending", None),
        "huggingface/transformers": ("huggingface", "transformers", "https://github.com/huggingface/transformers",
                                     "pending", None),
        "pytorch/vision": ("PyTorch", "Vision", "https://github.com/PyTorch/Vision", "ok", 15000),
    }
    assert _sources(store) == {"org/repo": {"model_card", "paper"}, "huggingface/transformers": {"model_card"},
                               "pytorch/vision": {"model_card", "hub_catalogue", "paper"}}
    assert _links(store) == sorted([
        ("acme/alpha", None, "org/repo", "model_card", "github", None, "Org/Repo", 0.8),
        ("acme/alpha", None, "org/repo", "model_card", "card_text", 8,
         "Code: [Org/Repo](https://github.com/Org/Repo/tree/main).", 1.0),
        ("acme/alpha", None, "huggingface/transformers", "library_mention", "card_text", 9,
         "This model was trained using [transformers](https://github.com/huggingface/transformers).", 0.3),
        ("acme/beta", None, "org/repo", "model_card", "card_text", 1, "see github.com/org/repo/issues", 1.0),
        # A name the repository had before a rename (repo_alias) links the repository it is now.
        ("acme/beta", None, "pytorch/vision", "model_card", "card_text", 2,
         "and https://github.com/OldOrg/OldName.git", 1.0),
        ("pytorch/vision/resnet18", None, "pytorch/vision", "hub_declared", "github_repo", None,
         "github_repo: pytorch/vision", 1.0),
        ("pytorch/vision/resnet18", None, "pytorch/vision", "hub_declared", "entrypoint", 21,
         "torch.hub.load('pytorch/vision:v0.10.0', 'resnet18') in pytorch_vision_resnet.md", 1.0),
        ("pytorch/vision/resnet18", None, "pytorch/vision", "model_card", "card_text", 3,
         "github-link: https://github.com/pytorch/vision/blob/main/hubconf.py", 1.0),
        (None, "p1", "org/repo", "paper_code", "code_links", None, "https://github.com/ORG/repo", 1.0),
        (None, "p1", "pytorch/vision", "paper_text", "abstract", None,
         "We compare with torchvision (https://github.com/pytorch/vision).", 0.7),
    ], key=repr)

    assert first.counts() == {
        "models": 4, "models_linked": 3, "model_links": 8, "library_mentions": 1, "papers": 1, "papers_linked": 1,
        "paper_links": 2, "repositories": 3, "repositories_new": 2, "rejected": 1, "unresolvable": 1}
    assert "3 of 4 models linked" in first.line()

    links_before, repos_before, sources_before = _links(store), _repositories(store), _sources(store)
    second = link_all(store)
    assert (_links(store), _repositories(store), _sources(store)) == (links_before, repos_before, sources_before)
    assert second.counts() == {**first.counts(), "repositories_new": 0}

    with store.engine.connect() as conn:
        runs = conn.execute(select(schema.run.c.id, schema.run.c.status, schema.run.c.counts)
                            .where(schema.run.c.stage == "link").order_by(schema.run.c.id)).all()
        failures = conn.execute(select(schema.failure.c.run_id, schema.failure.c.item, schema.failure.c.reason)
                                .where(schema.failure.c.stage == "link")).all()
    assert [(status, counts) for _, status, counts in runs] == [("completed", first.counts()),
                                                                 ("completed", second.counts())]
    assert sorted(failures) == [(run_id, "model:huggingface:acme/alpha",
                                 "git.io short link (unresolvable): https://git.io/abc") for run_id, _, _ in runs]


def test_changed_card_replaces_its_links(store: Store) -> None:
    link_all(store)
    edited = ModelRecord(hub="huggingface", model_id="acme/beta", author="acme", sha="b2", raw={"edited": True},
                         card_text="moved to https://github.com/acme/new-home")
    collect_records(store, "huggingface", "huggingface", [ALPHA, edited, PLAIN], mark_missing_deleted=True)
    summary = link_all(store)
    beta = [row for row in _links(store) if row[0] == "acme/beta"]
    assert beta == [("acme/beta", None, "acme/new-home", "model_card", "card_text", 1,
                     "moved to https://github.com/acme/new-home", 1.0)]
    assert summary.repositories_new == 1
    # Repositories stay known once found, even when nothing links them any more.
    assert set(_repositories(store)) == {"org/repo", "huggingface/transformers", "pytorch/vision", "acme/new-home"}


def test_cli_command(store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTMSCOPE_DB", db_url)
    app = typer.Typer()
    app.command()(link)
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "link: 3 of 4 models linked (8 links, 1 library mentions), 1 of 1 papers (2 links); "
        "3 repositories (2 new); 1 references rejected, 1 unresolvable"]
