"""The base-model graph: edges from every kind of evidence, and ``lineage`` over real-data shapes (chains,
diamonds, cycles, self-links, parents that are not stored)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import typer
from sqlalchemy import Connection, insert

from ptmscope.cards.lineage import edges_from_evidence, lineage, normalise_parent, normalise_relation
from ptmscope.cards.schema import Extraction, FieldValue
from ptmscope.cli import main as cli_main
from ptmscope.cli.lineage import lineage as lineage_command
from ptmscope.store import Store, open_store, schema
from ptmscope.store.cards import EdgeRow, replace_edges
from tests.clirun import logging_restored


def _edges(model_id: str, tags: list[str] | None = None, card_data: dict[str, Any] | None = None,
           base: list[str] | None = None, relation: str | None = None) -> set[tuple[str, str, str]]:
    fields = {}
    if base is not None:
        fields["base_models"] = FieldValue(base, "rules", 0.6)
    if relation is not None:
        fields["base_model_relation"] = FieldValue(relation, "rules", 0.6)
    return {(e.parent_id, e.relation, e.evidence) for e in edges_from_evidence(model_id, tags, card_data,
                                                                                Extraction(fields))}


def test_hub_tags_with_and_without_relation() -> None:
    tags = ["base_model:meta-llama/Llama-2-7b-hf", "base_model:quantized:meta-llama/Llama-2-7b-hf",
            "base_model:adapter:mistralai/Mistral-7B-v0.1", "region:us", "base_model:weird:x/y"]
    assert _edges("me/m", tags) == {("meta-llama/Llama-2-7b-hf", "quantized", "hub_tag"),
                                    ("mistralai/Mistral-7B-v0.1", "adapter", "hub_tag")}


def test_yaml_relation_and_sources_merged_per_parent() -> None:
    card_data = {"base_model": ["Qwen/Qwen2-7B", "mistralai/Mistral-7B-v0.1"], "base_model_relation": "merge"}
    found = _edges("me/merged", ["base_model:merge:Qwen/Qwen2-7B"], card_data, base=["qwen/qwen2-7b"],
                   relation="finetune")
    # One edge per parent whatever the case; the hub tag's spelling and the most explicit relation win.
    assert found == {("Qwen/Qwen2-7B", "merge", "hub_tag,card_yaml,card:rules"),
                     ("mistralai/Mistral-7B-v0.1", "merge", "card_yaml")}
    assert _edges("me/ft", card_data={"base_model": "a/b"}) == {("a/b", "unknown", "card_yaml")}
    assert _edges("me/ft", base=["a/b"], relation="fine-tuned") == {("a/b", "finetune", "card:rules")}


def test_self_links_and_urls() -> None:
    assert _edges("Me/Model", ["base_model:me/model"], {"base_model": "Me/Model"}, base=["me/MODEL"]) == set()
    assert normalise_parent("https://huggingface.co/google/flan-t5-base/tree/main") == "google/flan-t5-base"
    assert normalise_parent("hf.co/gpt2") == "gpt2"
    assert normalise_parent("  <https://huggingface.co/models/org/x?x=1>  ") == "org/x"
    assert normalise_parent("") is None and normalise_parent(3) is None
    assert [normalise_relation(w) for w in ("Quantised", "LoRA", "merged", "distilled", None)] == [
        "quantized", "adapter", "merge", "unknown", "unknown"]


# --- traversal ----------------------------------------------------------------------------------------------


def _model(conn: Connection, model_id: str) -> int:
    return int(conn.execute(insert(schema.model).values(hub="huggingface", model_id=model_id, deleted=False)
                            .returning(schema.model.c.id)).scalar_one())


def _raw_edge(conn: Connection, child: int, parent: int | None, parent_id: str, relation: str = "unknown") -> None:
    # Written directly: other writers (or older data) may hold edges ours would not write.
    conn.execute(insert(schema.model_edge).values(child=child, parent=parent, parent_id=parent_id, relation=relation,
                                                  evidence="test"))


@pytest.fixture
def graph(sqlite_url: str) -> Store:
    """base ← ft ← (lora, quant); base ← quant (a diamond); x ↔ y (a cycle); s names itself;
    ft also names ghost/unstored; kid names "ghost/unstored" too."""
    store = open_store(sqlite_url)
    with store.engine.begin() as conn:
        pk = {m: _model(conn, m) for m in ("org/base", "org/ft", "org/lora", "org/quant", "c/x", "c/y", "c/self",
                                            "c/kid")}
        replace_edges(conn, pk["org/ft"], "org/ft", "huggingface",
                      [EdgeRow("Org/Base", "finetune", "hub_tag"), EdgeRow("ghost/unstored", "unknown", "card:rules")])
        replace_edges(conn, pk["org/lora"], "org/lora", "huggingface", [EdgeRow("org/ft", "adapter", "card_yaml")])
        replace_edges(conn, pk["org/quant"], "org/quant", "huggingface",
                      [EdgeRow("org/ft", "quantized", "hub_tag"), EdgeRow("org/base", "quantized", "hub_tag")])
        _raw_edge(conn, pk["c/x"], pk["c/y"], "c/y", "finetune")
        _raw_edge(conn, pk["c/y"], pk["c/x"], "c/x", "finetune")
        _raw_edge(conn, pk["c/self"], pk["c/self"], "c/self")
        replace_edges(conn, pk["c/kid"], "c/kid", "huggingface", [EdgeRow("Ghost/Unstored", "merge", "card_yaml")])
    return store


def _tree(nodes: list[Any]) -> list[Any]:
    return [(n.model_id, n.relation, n.note, _tree(n.children)) for n in nodes]


def test_ancestors_and_descendants(graph: Store) -> None:
    with graph.engine.connect() as conn:
        result = lineage(conn, "org/quant")
    assert result is not None and result.pk is not None
    assert _tree(result.ancestors) == [
        ("org/ft", "quantized", None, [("org/base", "finetune", "seen", []),
                                       ("ghost/unstored", "unknown", None, [])]),
        ("org/base", "quantized", None, [])]
    assert result.descendants == [] and result.cycles == []
    with graph.engine.connect() as conn:
        down = lineage(conn, "ORG/BASE")  # any case
    assert down is not None and down.model_id == "org/base"
    assert _tree(down.descendants) == [
        ("org/ft", "finetune", None, [("org/lora", "adapter", None, []), ("org/quant", "quantized", "seen", [])]),
        ("org/quant", "quantized", None, [])]


def test_depth_limit_is_marked(graph: Store) -> None:
    with graph.engine.connect() as conn:
        result = lineage(conn, "org/base", depth=1)
    assert result is not None
    assert _tree(result.descendants) == [("org/ft", "finetune", "depth", []), ("org/quant", "quantized", None, [])]


def test_cycles_and_self_links_end_the_walk(graph: Store) -> None:
    with graph.engine.connect() as conn:
        cycle = lineage(conn, "c/x", depth=10)
        itself = lineage(conn, "c/self", depth=10)
    assert cycle is not None and itself is not None
    assert _tree(cycle.ancestors) == [("c/y", "finetune", None, [("c/x", "finetune", "cycle", [])])]
    assert _tree(cycle.descendants) == [("c/y", "finetune", None, [("c/x", "finetune", "cycle", [])])]
    assert cycle.cycles == [["c/x", "c/y", "c/x"]]
    assert _tree(itself.ancestors) == [("c/self", "unknown", "self-link", [])]
    assert itself.cycles[0] == ["c/self", "c/self"]


def test_a_parent_that_is_not_stored(graph: Store) -> None:
    with graph.engine.connect() as conn:
        result = lineage(conn, "ghost/unstored")
        missing = lineage(conn, "nobody/anywhere")
    assert missing is None
    assert result is not None and result.pk is None and result.ancestors == []
    assert sorted((n.model_id, n.relation) for n in result.descendants) == [("c/kid", "merge"), ("org/ft", "unknown")]
    document = result.to_dict()
    assert document["stored"] is False and {d["id"] for d in document["descendants"]} == {"c/kid", "org/ft"}


# --- the command ---------------------------------------------------------------------------------------------


@contextmanager
def _cli_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.callback()(cli_main.root)
    app.command("lineage")(lineage_command)
    monkeypatch.setattr(cli_main, "app", app)
    with logging_restored():
        yield


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> int:
    with _cli_app(monkeypatch), pytest.raises(SystemExit) as exit_:
        cli_main.main(["--quiet", *argv])
    return int(exit_.value.code or 0)


def test_lineage_command(graph: Store, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                         capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert _run(monkeypatch, ["--db", sqlite_url, "lineage", "org/lora", "--format", "json"]) == 0
    document = json.loads(capfd.readouterr().out)
    assert document["model"] == "org/lora"
    assert [a["id"] for a in document["ancestors"]] == ["org/ft"]
    assert [a["id"] for a in document["ancestors"][0]["children"]] == ["org/base", "ghost/unstored"]
    assert _run(monkeypatch, ["--db", sqlite_url, "lineage", "c/x"]) == 0
    out = capfd.readouterr().out
    assert "c/y" in out and "cycle" in out and "c/x → c/y → c/x" in out
    assert _run(monkeypatch, ["--db", sqlite_url, "lineage", "org/base", "--limit", "1"]) == 0
    assert "and 1 more" in capfd.readouterr().out
    assert _run(monkeypatch, ["--db", sqlite_url, "lineage", "nobody/anywhere"]) == 2
    assert "no model 'nobody/anywhere'" in capfd.readouterr().err
