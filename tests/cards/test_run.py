"""``cards extract --all`` over a store: what it writes (values, extraction records, base-model edges, review
items), what it skips on a re-run, and the LLM path end to end against a local server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select, update

from ptmscope.cards.llm import LlmSettings
from ptmscope.cards.run import extract_all
from ptmscope.config import HttpSettings, Settings
from ptmscope.runtime.executors import LocalExecutor
from ptmscope.store import Store, open_store, schema
from ptmscope.store import cards as store_cards
from tests.cards.fakes import LineExtractor, OtherLineExtractor
from tests.cards.llm_server import FakeLlm, closed_port_url, serve

SETTINGS = Settings(http=HttpSettings(timeout=5.0, max_retries=2, backoff_base=0.01, backoff_max=0.05))
NOW = datetime(2024, 5, 1, tzinfo=UTC)


def add_model(conn: Connection, model_id: str, card: str | None, *, sha: str | None = "s1",
              tags: list[str] | None = None, card_data: dict[str, Any] | None = None, hub: str = "huggingface") -> int:
    return int(conn.execute(insert(schema.model).values(
        hub=hub, model_id=model_id, author=model_id.split("/", 1)[0], sha=sha, card_text=card, card_sha=sha,
        tags=tags or [], card_data=card_data, deleted=False).returning(schema.model.c.id)).scalar_one())


M, CM, E, CE = schema.model, schema.card_metadata, schema.model_edge, schema.card_extraction


def metadata(store: Store, model_id: str) -> dict[tuple[str, str], Any]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(CM.c.field, CM.c.extractor, CM.c.value, CM.c.confidence)
                            .join(M, M.c.id == CM.c.model).where(M.c.model_id == model_id))
        return {(r.field, r.extractor): r.value for r in rows}


def edges(store: Store, model_id: str) -> set[tuple[str, str | None, str, str]]:
    parent = M.alias("parent")
    with store.engine.connect() as conn:
        rows = conn.execute(select(E.c.parent_id, parent.c.model_id.label("parent"), E.c.relation, E.c.evidence)
                            .join(M, M.c.id == E.c.child).outerjoin(parent, parent.c.id == E.c.parent)
                            .where(M.c.model_id == model_id))
        return {(r.parent_id, r.parent, r.relation, r.evidence) for r in rows}


def extraction(store: Store, model_id: str) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(select(CE).join(M, M.c.id == CE.c.model).where(M.c.model_id == model_id)).first()


@pytest.fixture
def store(sqlite_url: str) -> Store:
    store = open_store(sqlite_url)
    with store.engine.begin() as conn:
        base = add_model(conn, "google-bert/bert-base-uncased", "license: apache-2.0\n")
        add_model(conn, "Org/Base-Model", None)
        renamed = add_model(conn, "new-org/llama-tiny", None)
        conn.execute(insert(schema.model_alias).values(hub="huggingface", old_id="old-org/llama-tiny", model=renamed,
                                                       evidence="http_307", detected_at=NOW))
        add_model(conn, "acme/imdb-bert", "license: mit\ndatasets: imdb, sst2\nbase: bert-base-uncased\n",
                  tags=["base_model:finetune:google-bert/bert-base-uncased",
                        "base_model:google-bert/bert-base-uncased"])
        add_model(conn, "acme/lora", "license: mit\nbase: org/base-model, acme/lora\nrelation: adapter\n")
        add_model(conn, "acme/quant", "params: 7000000\n", card_data={"base_model": ["old-org/llama-tiny"],
                                                                      "base_model_relation": "quantized"})
        add_model(conn, "acme/orphan", "base: https://huggingface.co/ghost/never-stored/tree/main\n")
        add_model(conn, "acme/no-card", None)
        add_model(conn, "acme/empty-card", "")
        assert base
    return store


def test_first_run_writes_values_extractions_and_edges(store: Store) -> None:
    advanced: list[int] = []
    summary = extract_all(store, SETTINGS, extractor=LineExtractor(), advance=advanced.append)
    assert (summary.models, summary.extracted, summary.up_to_date, summary.failed) == (5, 5, 0, 0)
    assert sum(advanced) == 5
    assert metadata(store, "acme/imdb-bert") == {
        ("license", "yaml"): "mit", ("datasets", "rules"): ["imdb", "sst2"],
        ("base_models", "rules"): ["bert-base-uncased"]}
    # The hub's tags name the parent the way it is stored and say how it derives; the prose short name is its
    # own (unresolved) edge, since nothing tells which bert-base-uncased it is.
    assert edges(store, "acme/imdb-bert") == {
        ("google-bert/bert-base-uncased", "google-bert/bert-base-uncased", "finetune", "hub_tag"),
        ("bert-base-uncased", None, "unknown", "card:rules")}
    # Case-insensitive match to a stored model; the self-link is dropped.
    assert edges(store, "acme/lora") == {("org/base-model", "Org/Base-Model", "adapter", "card:rules")}
    # Through a rename (model_alias), from the YAML with its relation.
    assert edges(store, "acme/quant") == {("old-org/llama-tiny", "new-org/llama-tiny", "quantized", "card_yaml")}
    # Not stored: the id is kept, the parent left empty; hub URLs become ids.
    assert edges(store, "acme/orphan") == {("ghost/never-stored", None, "unknown", "card:rules")}
    row = extraction(store, "acme/imdb-bert")
    assert row.card_sha == "s1" and row.extractor_version == "lines-1" and row.error is None
    assert row.llm_model is None and row.tokens_in is None
    with store.engine.connect() as conn:
        run = conn.execute(select(schema.run).where(schema.run.c.id == summary.run_id)).one()
    assert (run.stage, run.status) == ("cards", "completed")
    assert run.counts["extracted"] == 5 and run.counts["edges"] == 5


def test_rerun_skips_unchanged_cards_and_redoes_changed_ones(store: Store) -> None:
    extract_all(store, SETTINGS, extractor=LineExtractor())
    again = extract_all(store, SETTINGS, extractor=LineExtractor())
    assert (again.extracted, again.up_to_date) == (0, 5)
    with store.engine.begin() as conn:
        conn.execute(update(schema.model).where(schema.model.c.model_id == "acme/imdb-bert").values(
            card_text="license: apache-2.0\n", card_sha="s2"))
    changed = extract_all(store, SETTINGS, extractor=LineExtractor())
    assert (changed.extracted, changed.up_to_date) == (1, 4)
    assert metadata(store, "acme/imdb-bert") == {("license", "yaml"): "apache-2.0"}
    assert extraction(store, "acme/imdb-bert").card_sha == "s2"
    # Edges are rebuilt from the new card; the hub tags still say what the base is.
    assert {e[0] for e in edges(store, "acme/imdb-bert")} == {"google-bert/bert-base-uncased"}
    newer = extract_all(store, SETTINGS, extractor=OtherLineExtractor())
    assert newer.extracted == 5
    assert extract_all(store, SETTINGS, extractor=OtherLineExtractor(), force=True).extracted == 5


def test_card_without_a_sha_is_compared_by_its_text(store: Store) -> None:
    with store.engine.begin() as conn:
        add_model(conn, "hub/entry", "license: bsd-3-clause\n", sha=None, hub="pytorch_hub")
    extract_all(store, SETTINGS, extractor=LineExtractor())
    assert extract_all(store, SETTINGS, extractor=LineExtractor()).up_to_date == 6
    with store.engine.begin() as conn:
        conn.execute(update(schema.model).where(schema.model.c.model_id == "hub/entry").values(
            card_text="license: mit\n"))
    assert extract_all(store, SETTINGS, extractor=LineExtractor()).extracted == 1
    assert metadata(store, "hub/entry") == {("license", "yaml"): "mit"}


def test_edges_to_parents_stored_later_are_linked(store: Store) -> None:
    extract_all(store, SETTINGS, extractor=LineExtractor())
    with store.engine.begin() as conn:
        add_model(conn, "Ghost/Never-Stored", None)
    summary = extract_all(store, SETTINGS, extractor=LineExtractor())
    assert summary.edges_linked == 1
    assert edges(store, "acme/orphan") == {("ghost/never-stored", "Ghost/Never-Stored", "unknown", "card:rules")}


def test_extractor_failure_and_card_problems_are_recorded(store: Store) -> None:
    with store.engine.begin() as conn:
        add_model(conn, "acme/crash", "CRASH here\n")
        add_model(conn, "acme/partial", "BROKEN-YAML\nlicense: mit\n")
    summary = extract_all(store, SETTINGS, extractor=LineExtractor())
    assert summary.failed == 1 and summary.problems == [("acme/crash", "RuntimeError: this card breaks the extractor")]
    assert metadata(store, "acme/crash") == {}
    assert extraction(store, "acme/crash").error.startswith("extractor failed: RuntimeError")
    assert extraction(store, "acme/partial").error == "invalid YAML front matter: test"
    assert metadata(store, "acme/partial") == {("license", "yaml"): "mit"}
    with store.engine.connect() as conn:
        failures = conn.execute(select(schema.failure.c.item, schema.failure.c.stage)).all()
    assert [tuple(f) for f in failures] == [("acme/crash", "cards")]
    # The same card with the same extractor would fail again: not retried.
    assert extract_all(store, SETTINGS, extractor=LineExtractor()).failed == 0


def test_process_pool_gives_the_same_rows(store: Store, sqlite_url: str, tmp_path: Any) -> None:
    extract_all(store, SETTINGS, extractor=LineExtractor())
    other = open_store(f"sqlite:///{tmp_path / 'pool.db'}")
    with store.engine.connect() as src, other.engine.begin() as dst:
        for row in src.execute(select(schema.model).order_by(schema.model.c.id)).mappings():
            dst.execute(insert(schema.model).values(**dict(row)))
        for row in src.execute(select(schema.model_alias)).mappings():
            dst.execute(insert(schema.model_alias).values(**dict(row)))
    with LocalExecutor(2) as executor:
        summary = extract_all(other, SETTINGS, extractor=LineExtractor(), executor=executor, batch_cards=2)
    assert summary.extracted == 5
    for model_id in ("acme/imdb-bert", "acme/lora", "acme/quant", "acme/orphan"):
        assert metadata(other, model_id) == metadata(store, model_id)
        assert edges(other, model_id) == edges(store, model_id)


def test_default_extractor_is_the_deterministic_one(store: Store) -> None:
    with store.engine.begin() as conn:
        add_model(conn, "acme/yaml-card", "---\nlicense: apache-2.0\nbase_model: google-bert/bert-base-uncased\n---\n"
                                          "# yaml card\n")
    extract_all(store, SETTINGS)
    values = {field: value for (field, _), value in metadata(store, "acme/yaml-card").items()}
    assert values["license"] == "apache-2.0"
    assert {e[1] for e in edges(store, "acme/yaml-card")} == {"google-bert/bert-base-uncased"}


# --- with an LLM -----------------------------------------------------------------------------------------------


def _llm(fake: FakeLlm, **kw: Any) -> LlmSettings:
    return LlmSettings(url=fake.url, model=fake.model, fields=("license", "hardware", "datasets"),
                       price_in_per_1k=1.0, price_out_per_1k=2.0, threshold=0.7, **kw)


def test_llm_fills_empty_fields_queues_uncertain_ones_and_counts_cost(store: Store) -> None:
    fake = FakeLlm(answers={"hardware": ("TPU v3-8", 0.9), "datasets": (["wiki"], 0.5), "license": ("gpl", 0.99)},
                   usage=(500, 100))
    with serve(fake):
        summary = extract_all(store, SETTINGS, extractor=LineExtractor(), llm=_llm(fake))
    assert fake.problems == []
    assert summary.llm_cards == len(fake.requests) == 5
    assert summary.tokens_in == 2500 and summary.cost_usd == pytest.approx(5 * (0.5 + 0.2))
    values = metadata(store, "acme/imdb-bert")
    assert values[("hardware", "llm:tiny-test-model")] == "TPU v3-8"
    assert values[("license", "yaml")] == "mit" and ("license", "llm:tiny-test-model") not in values
    row = extraction(store, "acme/imdb-bert")
    assert row.llm_model == "tiny-test-model" and (row.tokens_in, row.tokens_out) == (500, 100)
    assert row.cost_usd == pytest.approx(0.7) and "+llm-" in row.extractor_version
    with store.engine.connect() as conn:
        pending = store_cards.list_reviews(conn)
    # datasets at 0.5 goes to review, for the cards that had no datasets of their own.
    assert {(i.model_id, i.field, tuple(i.value)) for i in pending} == {
        (m, "datasets", ("wiki",)) for m in ("google-bert/bert-base-uncased", "acme/lora", "acme/quant", "acme/orphan")}
    assert summary.review_queued == 4
    # Up to date for the same LLM, and for a run without one.
    with serve(fake):
        assert extract_all(store, SETTINGS, extractor=LineExtractor(), llm=_llm(fake)).up_to_date == 5
    assert extract_all(store, SETTINGS, extractor=LineExtractor()).up_to_date == 5
    assert len(fake.requests) == 5


def test_llm_unreachable_run_continues_deterministically(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ptmscope.cards.llm")
    settings = LlmSettings(url=closed_port_url(), model="m", fields=("hardware",))
    summary = extract_all(store, SETTINGS, extractor=LineExtractor(), llm=settings)
    assert summary.extracted == 5 and summary.llm_unreachable == 5 and summary.llm_cards == 0
    assert summary.llm_unavailable is not None and "ConnectError" in summary.llm_unavailable
    assert len([r for r in caplog.records if r.name == "ptmscope.cards.llm"]) == 1
    assert metadata(store, "acme/imdb-bert")[("license", "yaml")] == "mit"
    assert "+llm" not in extraction(store, "acme/imdb-bert").extractor_version
    with store.engine.connect() as conn:
        counts = conn.execute(select(schema.run.c.counts).where(schema.run.c.id == summary.run_id)).scalar_one()
    assert counts["llm_unreachable"] == 5 and "ConnectError" in counts["llm_unavailable"]
    # Once the endpoint is there, the cards it missed are read again.
    fake = FakeLlm(answers={"hardware": ("TPU v3-8", 0.9)})
    with serve(fake):
        later = extract_all(store, SETTINGS, extractor=LineExtractor(), llm=_llm(fake))
    assert later.extracted == 5 and later.llm_cards == 5


def test_changed_card_drops_stale_llm_values_without_llm(store: Store) -> None:
    fake = FakeLlm(answers={"hardware": ("TPU v3-8", 0.9), "datasets": (["wiki"], 0.5)})
    with serve(fake):
        extract_all(store, SETTINGS, extractor=LineExtractor(), llm=_llm(fake))
    with store.engine.begin() as conn:
        conn.execute(update(schema.model).where(schema.model.c.model_id == "acme/lora").values(
            card_text="license: mit\n", card_sha="s9"))
    extract_all(store, SETTINGS, extractor=LineExtractor())
    assert metadata(store, "acme/lora") == {("license", "yaml"): "mit"}
    assert ("hardware", "llm:tiny-test-model") in metadata(store, "acme/quant")  # unchanged card keeps its values
    with store.engine.connect() as conn:
        assert "acme/lora" not in {i.model_id for i in store_cards.list_reviews(conn)}


# --- the store helpers, on SQLite and PostgreSQL ------------------------------------------------------------------


def test_store_helpers_on_every_backend(db_url: str) -> None:
    store = open_store(db_url)
    with store.engine.begin() as conn:
        child = add_model(conn, "acme/child", "license: mit\nbase: Acme/Parent\n")
        add_model(conn, "acme/parent", None)
    fake = FakeLlm(answers={"hardware": ("A100", 0.4), "datasets": (["wiki"], 0.95)})
    with serve(fake):
        summary = extract_all(store, SETTINGS, extractor=LineExtractor(), llm=_llm(fake))
    assert (summary.extracted, summary.llm_fields, summary.review_queued) == (1, 1, 1)
    assert edges(store, "acme/child") == {("Acme/Parent", "acme/parent", "unknown", "card:rules")}
    with store.engine.begin() as conn:
        (item,) = store_cards.list_reviews(conn)
        assert (item.field, item.value, item.status) == ("hardware", "A100", "pending")
        store_cards.resolve_review(conn, item.id, True, "8 x A100")
        # Re-queueing the same field leaves the reviewer's decision alone.
        assert store_cards.queue_reviews(conn, child, "llm:", [store_cards.ReviewRow(
            "hardware", "A100", item.extractor, 0.4, None)]) == 0
        store_cards.upsert_extraction(conn, child, card_sha="s1", extractor_version="v2", error="e")
        store_cards.upsert_extraction(conn, child, card_sha="s1", extractor_version="v3")
        best = store_cards.best_values(store_cards.metadata_for(conn, child))
    assert extraction(store, "acme/child").extractor_version == "v3"
    assert (best["hardware"].value, best["hardware"].extractor) == ("8 x A100", "review")
    assert best["datasets"].value == ["wiki"] and best["license"].extractor == "yaml"
    with store.engine.begin() as conn:
        store_cards.replace_metadata(conn, child, "deterministic", [])
        store_cards.resolve_review(conn, item.id, False)
    # Deterministic rows went; the LLM's stayed; the rejected review took its value with it.
    assert metadata(store, "acme/child") == {("datasets", "llm:tiny-test-model"): ["wiki"]}
