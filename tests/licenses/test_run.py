"""The licenses stage on a small store whose answers are known, and ``ptmscope licenses`` on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import insert, select
from typer.testing import CliRunner

from ptmscope.cli.context import AppState
from ptmscope.cli.licenses import licenses
from ptmscope.config import Settings
from ptmscope.licenses.run import check_all, model_raw_license, repository_raw_license
from ptmscope.store import Store, open_store, schema
from tests.licenses.texts import BSD_3_CLAUSE

MODELS = {  # model_id: (license_raw, tags, card_data)
    "meta-llama/Llama-2-7b-hf": ("llama2", None, None),
    "org/bert": (None, ["transformers", "license:apache-2.0"], None),
    "org/nc-model": (None, [], {"license": "cc-by-nc-4.0"}),
    "org/gpl-model": ("gpl-3.0", None, None),
    "someone/llama-ft": ("apache-2.0", None, None),
    "org/other-model": (None, None, {"license": "other", "license_name": "deepseek"}),
    "org/silent": (None, ["pytorch"], {}),
}
REPOS = {  # owner/name: (license_raw, raw payload license, cloned LICENSE text)
    "a/app-mit": ("MIT", None, None),
    "b/app-noassertion": (None, {"key": "other", "name": "Other", "spdx_id": "NOASSERTION"}, BSD_3_CLAUSE),
    "c/app-noassertion-uncloned": (None, {"key": "other", "name": "Other", "spdx_id": "NOASSERTION"}, None),
    "d/app-none": (None, None, None),
    "e/app-gpl": (None, {"key": "gpl-3.0", "name": "GNU General Public License v3.0", "spdx_id": "GPL-3.0"}, None),
}
USAGES = [("meta-llama/Llama-2-7b-hf", "a/app-mit"), ("meta-llama/Llama-2-7b-hf", "a/app-mit"),
          ("org/nc-model", "a/app-mit"), ("org/gpl-model", "a/app-mit"), ("org/gpl-model", "e/app-gpl"),
          ("org/bert", "b/app-noassertion"), ("org/bert", "c/app-noassertion-uncloned"), ("org/bert", "d/app-none"),
          ("org/silent", "a/app-mit"), (None, "d/app-none")]
LINKS = [("org/other-model", "e/app-gpl", "downstream"), ("org/gpl-model", "d/app-none", "model_card")]
EDGES = [("someone/llama-ft", "meta-llama/Llama-2-7b-hf"), ("org/gpl-model", "org/bert"), ("org/bert", "google/bert")]
EXPECTED = {  # (model, repository or parent): (verdict, rule)
    ("meta-llama/Llama-2-7b-hf", "a/app-mit"): ("compatible", "LIC021"),
    ("org/nc-model", "a/app-mit"): ("incompatible", "LIC010"),
    ("org/gpl-model", "a/app-mit"): ("incompatible", "lf-matrix"),
    ("org/gpl-model", "e/app-gpl"): ("compatible", "LIC000"),
    ("org/bert", "b/app-noassertion"): ("compatible", "lf-matrix"),
    ("org/bert", "c/app-noassertion-uncloned"): ("unknown", "LIC003"),
    ("org/bert", "d/app-none"): ("unknown", "LIC002"),
    ("org/silent", "a/app-mit"): ("unknown", "LIC001"),
    ("org/other-model", "e/app-gpl"): ("incompatible", "LIC020"),
    ("someone/llama-ft", "meta-llama/Llama-2-7b-hf"): ("incompatible", "LIC116"),
    ("org/gpl-model", "org/bert"): ("compatible", "lf-matrix"),
}


def build_store(url: str, settings: Settings) -> Store:
    store = open_store(url)
    with store.engine.begin() as conn:
        models: dict[str, int] = {}
        for model_id, (raw, tags, card) in MODELS.items():
            models[model_id] = conn.execute(insert(schema.model).values(
                hub="huggingface", model_id=model_id, license_raw=raw, tags=tags, card_data=card, deleted=False,
            ).returning(schema.model.c.id)).scalar_one()
        repos: dict[str, int] = {}
        for full_name, (raw, api_license, text) in REPOS.items():
            owner, name = full_name.split("/")
            cloned = None
            if text is not None:
                cloned = f"github.com/{owner}/{name}"
                (settings.repos_dir / cloned).mkdir(parents=True)
                (settings.repos_dir / cloned / "LICENSE").write_text(text, encoding="utf-8")
            repos[full_name] = conn.execute(insert(schema.repository).values(
                host="github.com", owner=owner, name=name, full_name_lower=full_name, license_raw=raw,
                raw={"full_name": full_name, "license": api_license}, clone_path=cloned,
                clone_status="cloned" if cloned else None,
            ).returning(schema.repository.c.id)).scalar_one()
        for model_id, repo in USAGES:
            conn.execute(insert(schema.usage).values(
                repository=repos[repo], path="app.py", line=1, library="transformers", call="from_pretrained",
                model_name=model_id, model=models[model_id] if model_id else None, resolved=model_id is not None))
        for model_id, repo, kind in LINKS:
            conn.execute(insert(schema.link).values(model=models[model_id], repository=repos[repo], kind=kind,
                                                    evidence="test"))
        for child, parent in EDGES:
            conn.execute(insert(schema.model_edge).values(child=models[child], parent_id=parent,
                                                          parent=models.get(parent), relation="finetune",
                                                          evidence="card_yaml"))
    return store


def stored_checks(store: Store) -> dict[tuple[str, str], tuple[str, str]]:
    m, p, r, lc = schema.model, schema.model.alias("p"), schema.repository, schema.license_check
    with store.engine.connect() as conn:
        rows = conn.execute(select(lc.c.kind, lc.c.verdict, lc.c.rule, m.c.model_id, r.c.full_name_lower,
                                   p.c.model_id.label("parent"))
                            .join(m, m.c.id == lc.c.model).outerjoin(r, r.c.id == lc.c.repository)
                            .outerjoin(p, p.c.id == lc.c.parent)).all()
    return {(row.model_id, row.full_name_lower if row.kind == "model_app" else row.parent): (row.verdict, row.rule)
            for row in rows}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_check_all_classifies_every_pair_and_chain(db_url: str, settings: Settings) -> None:
    store = build_store(db_url, settings)
    done: list[int] = []
    summary = check_all(store, settings, done.append)
    assert stored_checks(store) == EXPECTED
    assert dict(summary.model_app) == {"compatible": 3, "incompatible": 3, "unknown": 3}
    assert dict(summary.base_model) == {"compatible": 1, "incompatible": 1}
    assert (summary.models, summary.models_licensed) == (7, 6)
    assert (summary.repositories, summary.repositories_licensed, summary.detected) == (5, 4, 1)
    assert sum(done) == 7 + 5 + 9 + 2
    assert summary.top_incompatible[0]["pairs"] == 1
    assert {row["rule"] for row in summary.top_incompatible} == {"LIC010", "lf-matrix", "LIC020"}

    with store.engine.connect() as conn:
        models = {row.model_id: (row.license_raw, row.license_spdx) for row in conn.execute(
            select(schema.model.c.model_id, schema.model.c.license_raw, schema.model.c.license_spdx))}
        repos = {row.full_name_lower: (row.license_raw, row.license_spdx) for row in conn.execute(
            select(schema.repository.c.full_name_lower, schema.repository.c.license_raw,
                   schema.repository.c.license_spdx))}
        run = conn.execute(select(schema.run).where(schema.run.c.id == summary.run_id)).one()
    assert models["org/bert"] == ("apache-2.0", "Apache-2.0")  # from the license: tag
    assert models["org/other-model"] == ("other:deepseek", "LicenseRef-deepseek")  # card license_name
    assert models["org/silent"] == (None, None)
    assert repos["b/app-noassertion"] == ("NOASSERTION", "BSD-3-Clause")  # detected in the clone
    assert repos["c/app-noassertion-uncloned"] == ("NOASSERTION", "LicenseRef-other")
    assert repos["e/app-gpl"] == ("GPL-3.0", "GPL-3.0-only")
    assert repos["d/app-none"] == (None, None)
    assert (run.stage, run.status) == ("licenses", "completed")
    assert run.counts["model_app_incompatible"] == 3 and run.counts["detected"] == 1


def test_a_rerun_replaces_the_checks(sqlite_url: str, settings: Settings) -> None:
    store = build_store(sqlite_url, settings)
    check_all(store, settings)
    with store.engine.begin() as conn:  # the application relicenses to GPL: the NC model stays incompatible
        conn.execute(schema.repository.update().where(schema.repository.c.full_name_lower == "a/app-mit")
                     .values(license_raw="GPL-3.0-only"))
    check_all(store, settings)
    checks = stored_checks(store)
    assert len(checks) == len(EXPECTED)
    assert checks[("org/gpl-model", "a/app-mit")] == ("compatible", "LIC000")
    assert checks[("org/nc-model", "a/app-mit")] == ("incompatible", "LIC010")
    with store.engine.connect() as conn:
        assert len(conn.execute(select(schema.license_check.c.id)).all()) == 11


def test_raw_license_fallbacks() -> None:
    assert model_raw_license("mit", ["license:apache-2.0"], {"license": "gpl-3.0"}) == "mit"
    assert model_raw_license(None, ["license:apache-2.0"], {"license": ["mit", "cc-by-4.0"]}) == "mit, cc-by-4.0"
    assert model_raw_license("", ["license:apache-2.0"], None) == "apache-2.0"
    assert model_raw_license(None, None, {"license": "other", "license_name": "jamba-open-model-license"}) == (
        "other:jamba-open-model-license")
    assert repository_raw_license(None, {"key": "mit", "spdx_id": "MIT"}) == "MIT"
    assert repository_raw_license("Apache-2.0", {"spdx_id": "MIT"}) == "Apache-2.0"
    assert repository_raw_license(None, None) is None


def _app(settings: Settings) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = AppState(settings, quiet=True)

    app.command("licenses")(licenses)
    return app


def test_cli_json_and_table(sqlite_url: str, settings: Settings) -> None:
    settings = Settings(data_dir=settings.data_dir, db_url=sqlite_url)
    build_store(sqlite_url, settings)
    result = CliRunner().invoke(_app(settings), ["licenses", "--format", "json", "--limit", "2"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["model_app"] == {"compatible": 3, "incompatible": 3, "unknown": 3}
    assert document["base_model"] == {"compatible": 1, "incompatible": 1, "unknown": 0}
    assert len(document["top_incompatible"]) == 2
    result = CliRunner(env={"COLUMNS": "160"}).invoke(_app(settings), ["licenses"])
    assert result.exit_code == 0, result.output
    assert "model -> application" in result.stdout and "LIC010" in result.stdout


@pytest.mark.parametrize(("text", "fmt", "expected"), [
    ("Apache License 2.0", "table", "Apache-2.0\n"),
    ("unknown", "table", "(no license information)\n"),
    ("llama3.1", "json", '{"input":"llama3.1","spdx":"LicenseRef-llama3.1","family":"ml-restricted"}\n'),
])
def test_cli_normalize(tmp_path: Path, text: str, fmt: str, expected: str) -> None:
    settings = Settings(data_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'never.db'}")
    result = CliRunner().invoke(_app(settings), ["licenses", "--normalize", text, "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout == expected
    assert not (tmp_path / "never.db").exists()  # the quick mode does not touch the store


def test_cli_rejects_a_bad_limit(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(Settings(data_dir=tmp_path)), ["licenses", "--limit", "-1"])
    assert result.exit_code == 2
