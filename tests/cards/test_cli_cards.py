"""``ptmscope cards extract|eval|review`` as users run them: the JSON contract (DESIGN §6), exit codes, and the
store, LLM and review paths end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import typer
from sqlalchemy import insert, select

from ptmscope.cards.schema import FIELDS
from ptmscope.cli import cards as cards_cli
from ptmscope.cli import main as cli_main
from ptmscope.store import Store, open_store, schema
from ptmscope.store import cards as store_cards
from tests.cards.llm_server import FakeLlm, closed_port_url, serve
from tests.clirun import logging_restored

CARD_A = """---
license: apache-2.0
language:
- en
datasets:
- imdb
base_model: google-bert/bert-base-uncased
---

# imdb-bert

This model is a fine-tuned version of [google-bert/bert-base-uncased](https://huggingface.co/google-bert/bert-base-uncased)
on the imdb dataset.
"""
CARD_B = "\ufeff---\r\nlicense: [mit\r\n---\r\n# broken front matter\r\n\r\nNothing else.\r\n"
LLM_ENV = ("PTMSCOPE_LLM_URL", "PTMSCOPE_LLM_MODEL", "PTMSCOPE_LLM_API_KEY", "OPENAI_API_KEY",
           "PTMSCOPE_LLM_PRICE_IN", "PTMSCOPE_LLM_PRICE_OUT", "PTMSCOPE_DB", "PTMSCOPE_DATA_DIR")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LLM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "250")


@contextmanager
def _app(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The lead registers ``cards`` in cli/main.py; until then (and independently of it) the tests use an app
    # with the real root callback and error handling.
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.callback()(cli_main.root)
    app.add_typer(cards_cli.app, name="cards")
    monkeypatch.setattr(cli_main, "app", app)
    with logging_restored():
        yield


def run(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> int:
    with _app(monkeypatch), pytest.raises(SystemExit) as exit_:
        cli_main.main(["--quiet", *argv])
    return int(exit_.value.code or 0)


@pytest.fixture
def cards(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text(CARD_A, encoding="utf-8")
    b.write_bytes(CARD_B.encode("utf-8"))
    return a, b


def test_extract_files_json_contract(cards: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                     capfd: pytest.CaptureFixture[str]) -> None:
    a, b = cards
    assert run(monkeypatch, ["cards", "extract", str(a), str(b), "--format", "json"]) == 0
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert [line["source"] for line in lines] == [str(a), str(b)]
    for line in lines:
        assert set(line) == {"source", "metadata", "errors"}
        assert list(line["metadata"]) == list(FIELDS)  # every field, absent ones null / [] / {}
    first = lines[0]["metadata"]
    assert first["license"] == "apache-2.0" and first["languages"] == ["en"] and first["datasets"] == ["imdb"]
    assert first["base_models"] == ["google-bert/bert-base-uncased"]
    assert first["hardware"] is None and first["hyper_parameters"] == {} and first["papers"] == []
    assert lines[1]["errors"], "the broken front matter is reported, not fatal"


def test_extract_usage_errors(cards: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capfd: pytest.CaptureFixture[str]) -> None:
    a, _ = cards
    db = f"sqlite:///{tmp_path / 'x.db'}"
    cases = [
        ["cards", "extract"],
        ["--db", db, "cards", "extract", str(a), "--all"],
        ["cards", "extract", str(tmp_path / "missing.md")],
        ["cards", "extract", str(a), "--llm-url", "http://127.0.0.1:9/v1"],
        ["cards", "extract", str(a), "--llm"],  # no endpoint anywhere
        ["cards", "extract", str(a), "--llm", "--llm-url", "http://127.0.0.1:9/v1"],  # no model
        ["cards", "extract", str(a), "--force"],
        ["cards", "extract", str(a), "--llm-threshold", "2"],
    ]
    for argv in cases:
        assert run(monkeypatch, argv) == 2, argv
        err = capfd.readouterr().err
        assert "error:" in err and "Traceback" not in err, argv


def _store(url: str) -> Store:
    store = open_store(url)
    with store.engine.begin() as conn:
        for model_id, card in (("acme/imdb-bert", CARD_A), ("acme/broken", CARD_B),
                               ("google-bert/bert-base-uncased", "# BERT\n\nlicense: apache-2.0\n")):
            conn.execute(insert(schema.model).values(hub="huggingface", model_id=model_id, card_text=card,
                                                     card_sha="abc", tags=[], deleted=False))
    return store


def test_extract_all_over_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capfd: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = _store(url)
    assert run(monkeypatch, ["--db", url, "cards", "extract", "--all", "--format", "json", "--workers", "1"]) == 0
    document = json.loads(capfd.readouterr().out)
    assert (document["models"], document["extracted"], document["failed"]) == (3, 3, 0)
    assert document["edges"] == 1
    with store.engine.connect() as conn:
        parent = conn.execute(select(schema.model_edge.c.parent_id)).scalar_one()
    assert parent == "google-bert/bert-base-uncased"
    assert run(monkeypatch, ["--db", url, "cards", "extract", "--all", "--format", "table"]) == 0
    assert "0 extracted, 3 up to date" in capfd.readouterr().out


def test_extract_all_with_unreachable_llm_says_so_once_and_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _store(url)
    monkeypatch.setenv("PTMSCOPE_LLM_MODEL", "m")
    code = run(monkeypatch, ["--db", url, "cards", "extract", "--all", "--format", "table", "--llm",
                             "--llm-url", closed_port_url()])
    captured = capfd.readouterr()
    assert code == 0
    assert "3 extracted" in captured.out and "3 cards without it" in captured.out
    assert " ".join(captured.err.split()).count("continuing with the deterministic extractor only") == 1


def test_extract_files_with_llm(cards: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                capfd: pytest.CaptureFixture[str]) -> None:
    a, _ = cards
    fake = FakeLlm(answers={"hardware": ("TPU v3-8", 0.9), "carbon_emitted": ("12 kg", 0.3)})
    monkeypatch.setenv("PTMSCOPE_LLM_API_KEY", "sk-from-env")
    with serve(fake):
        code = run(monkeypatch, ["cards", "extract", str(a), "--llm", "--llm-url", fake.url, "--llm-model", fake.model])
    assert code == 0 and fake.problems == []
    captured = capfd.readouterr()
    metadata = json.loads(captured.out)["metadata"]
    assert metadata["hardware"] == "TPU v3-8"
    assert metadata["carbon_emitted"] is None  # below the threshold: not a value
    assert metadata["license"] == "apache-2.0"
    assert fake.headers[0]["authorization"] == "Bearer sk-from-env"
    assert "sk-from-env" not in captured.out + captured.err
    assert "1 of 1 cards" in captured.err


def test_review_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = _store(url)
    fake = FakeLlm(answers={"hardware": ("A100", 0.5), "carbon_emitted": ("12 kg", 0.4)})
    with serve(fake):
        assert run(monkeypatch, ["--db", url, "cards", "extract", "--all", "--llm", "--llm-url", fake.url,
                                 "--llm-model", fake.model, "--llm-threshold", "0.6"]) == 0
    capfd.readouterr()
    assert run(monkeypatch, ["--db", url, "cards", "review", "--format", "json"]) == 0
    listing = json.loads(capfd.readouterr().out)
    assert listing["counts"] == {"pending": 6}
    items = {(i["model"], i["field"]): i for i in listing["items"]}
    hardware = items[("acme/imdb-bert", "hardware")]
    carbon = items[("acme/imdb-bert", "carbon_emitted")]
    other = items[("acme/broken", "hardware")]
    assert (hardware["value"], hardware["confidence"], hardware["extractor"]) == ("A100", 0.5, "llm:tiny-test-model")

    assert run(monkeypatch, ["--db", url, "cards", "review", "--accept", str(hardware["id"])]) == 0
    assert "accepted" in capfd.readouterr().out
    assert run(monkeypatch, ["--db", url, "cards", "review", "--set", str(carbon["id"]), "11.5 kg"]) == 0
    assert run(monkeypatch, ["--db", url, "cards", "review", "--reject", str(other["id"])]) == 0
    capfd.readouterr()
    with store.engine.connect() as conn:
        pk = conn.execute(select(schema.model.c.id).where(schema.model.c.model_id == "acme/imdb-bert")).scalar_one()
        best = store_cards.best_values(store_cards.metadata_for(conn, pk))
        counts = dict(store_cards.review_counts(conn))
    assert (best["hardware"].value, best["hardware"].extractor) == ("A100", "review")
    assert best["carbon_emitted"].value == "11.5 kg"
    assert counts == {"pending": 3, "accepted": 2, "rejected": 1}
    assert run(monkeypatch, ["--db", url, "cards", "review", "--list"]) == 0
    assert "3 pending" in capfd.readouterr().out
    assert run(monkeypatch, ["--db", url, "cards", "review", "--accept", "999"]) == 2
    assert "no review item 999" in capfd.readouterr().err
    assert run(monkeypatch, ["--db", url, "cards", "review", "--accept", "1", "--reject", "2"]) == 2


def test_eval_reports_per_field_scores(cards: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capfd: pytest.CaptureFixture[str]) -> None:
    a, _ = cards
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"a.md": {"model_id": "acme/imdb-bert", "category": "test", "labels": {
        "license": "apache-2.0", "datasets": ["imdb"], "languages": ["en"], "hardware": "8 x A100"}}}))
    assert run(monkeypatch, ["cards", "eval", "--labels", str(labels), "--cards", str(a.parent), "--format",
                             "json"]) == 0
    document = json.loads(capfd.readouterr().out)
    text = json.dumps(document)
    assert "license" in text and "hardware" in text
    assert run(monkeypatch, ["cards", "eval", "--labels", str(labels), "--cards", str(a.parent)]) == 0
    assert "license" in capfd.readouterr().out
    assert run(monkeypatch, ["cards", "eval", "--labels", str(tmp_path / "none.json"), "--cards", str(a.parent)]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert run(monkeypatch, ["cards", "eval", "--labels", str(bad), "--cards", str(a.parent)]) == 2
    fake = FakeLlm(answers={"hardware": ("8 x A100", 0.95)}, usage=(900, 100))
    with serve(fake):
        assert run(monkeypatch, ["cards", "eval", "--labels", str(labels), "--cards", str(a.parent), "--format",
                                 "json", "--llm", "--llm-url", fake.url, "--llm-model", fake.model]) == 0
    captured = capfd.readouterr()
    assert len(fake.requests) == 1 and "1,000 tokens" not in captured.err and "900 tokens in" in captured.err
    assert json.loads(captured.out) != document  # the LLM's hardware answer changes the scores
