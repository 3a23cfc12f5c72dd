"""Collecting the Hub into the store with the real huggingface_hub client against the replay server."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from ptmscope.config import HttpSettings, Settings
from ptmscope.hubs.collect import HfOptions, collect_huggingface
from ptmscope.hubs.huggingface import LIST_EXPAND, HuggingFaceHub
from ptmscope.replay import FaultPlan, HubCorpus, HuggingFaceApp, ReplayServer
from ptmscope.replay.corpus import synthetic_hub
from ptmscope.store import Store, open_store, schema
from ptmscope.store.export import iter_models, write_jsonl
from tests.conftest import shared_path

FAST = HttpSettings(timeout=10, max_retries=8, backoff_base=0.001, backoff_max=0.01)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ReplayServer] = []

    def start(corpus: HubCorpus, *, page_size: int = 1000, faults: FaultPlan | None = None) -> ReplayServer:
        server = ReplayServer(HuggingFaceApp(corpus, page_size_max=page_size), faults=faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def crawl(store: Store, server: ReplayServer, **options: Any) -> Any:
    hub = HuggingFaceHub(Settings(hf_endpoint=server.url, http=FAST))
    try:
        return collect_huggingface(store, hub, HfOptions(**options))
    finally:
        hub.close()


def exported(store: Store) -> list[dict[str, Any]]:
    return list(iter_models(store))


def listing_requests(server: ReplayServer) -> list[str]:
    return [e.target for e in server.log if e.target.startswith("/api/models?") and e.fault is None]


# --- fields round-trip -----------------------------------------------------------------------------------


def test_recorded_hub_records_round_trip_into_store_and_export(serve: Any, db_url: str) -> None:
    corpus = HubCorpus.from_shared_fixtures(shared_path("fixtures", "hf_api"))
    corpus.set_card("google-bert/bert-base-uncased", "---\nlicense: apache-2.0\n---\n# BERT base\n")
    server = serve(corpus, page_size=10)
    store = open_store(db_url)
    summary = crawl(store, server, cards=True, files=True)
    raws = corpus.models
    assert summary.new == len(raws) and summary.failed == 0
    # The listing is assembled from recorded bodies, and the server says so.
    assert listing_requests(server)

    rows = {row["id"]: row for row in exported(store)}
    assert set(rows) == set(raws)
    for model_id, raw in raws.items():
        row = rows[model_id]
        card = raw.get("cardData") or {}
        assert row["sha"] == raw["sha"]
        assert row["author"] == raw.get("author", model_id.split("/")[0] if "/" in model_id else None)
        assert row["downloads"] == raw["downloads"] and row["likes"] == raw["likes"]
        assert row["library_name"] == raw.get("library_name")
        assert row["pipeline_tag"] == raw.get("pipeline_tag")
        assert row["tags"] == raw["tags"]
        assert row["created_at"] == datetime.fromisoformat(raw["createdAt"]).isoformat()
        assert row["last_modified"] == datetime.fromisoformat(raw["lastModified"]).isoformat()
        expected_gated = str(raw["gated"]).lower() if raw.get("gated") is not None else None
        assert row["gated"] == expected_gated
        if isinstance(card.get("license"), str):
            assert row["license"] == card["license"] or row["license"].startswith("other")
        for dataset in card.get("datasets") or []:
            assert dataset in row["datasets"]
        assert row["file_count"] == len(raw["siblings"])
        assert row["deleted"] is False

    with store.engine.connect() as conn:
        bert = conn.execute(select(schema.model).where(schema.model.c.model_id == "google-bert/bert-base-uncased")
                            ).mappings().one()
        assert bert["card_text"].startswith("---\nlicense: apache-2.0")
        assert bert["parameter_count"] == 110106428
        assert bert["used_storage"] == raws["google-bert/bert-base-uncased"]["usedStorage"]
        assert "mteb/leaderboard" in bert["spaces"]
        listed = {k: v for k, v in raws["google-bert/bert-base-uncased"].items()
                  if k in {*LIST_EXPAND, "_id", "id"}}
        assert bert["raw"] == listed
        assert bert["domain"] == "NLP"
        # Models without a README in their files get no card request and no card.
        files = conn.execute(select(func.count()).select_from(schema.model_file)).scalar()
        assert files == sum(len(r["siblings"]) for r in raws.values())


def test_generated_corpus_with_every_option(serve: Any, db_url: str) -> None:
    corpus = synthetic_hub(300, seed=3, commits=True)
    server = serve(corpus, page_size=50)
    store = open_store(db_url)
    summary = crawl(store, server, cards=True, history=True, files=True)
    assert summary.new == 300 and summary.failed == 0 and summary.complete
    with store.engine.connect() as conn:
        m = schema.model
        with_readme = [mid for mid, r in corpus.models.items()
                       if any(isinstance(s, dict) and s.get("rfilename") == "README.md"
                              for s in r.get("siblings") or [])]
        cards = conn.execute(select(func.count()).where(m.c.card_text.is_not(None))).scalar()
        assert cards == len(with_readme)
        commits = conn.execute(select(func.count()).select_from(schema.model_commit)).scalar()
        assert commits == sum(len(corpus.commits_of(mid)) for mid in corpus.models)
        lfs = conn.execute(select(func.count()).where(schema.model_file.c.lfs_sha256.is_not(None))).scalar()
        expected_lfs = sum(1 for r in corpus.models.values() for s in r.get("siblings") or []
                           if isinstance(s, dict) and isinstance(s.get("lfs"), dict) and "sha256" in s["lfs"])
        assert lfs == expected_lfs > 0
        errors = conn.execute(select(func.count()).where(m.c.card_data_error.is_not(None))).scalar()
        malformed = sum(1 for r in corpus.models.values() if "cardData" in r and not isinstance(r["cardData"], dict))
        assert errors == malformed


# --- pagination and faults -------------------------------------------------------------------------------


def test_many_pages_nothing_lost_or_duplicated(serve: Any, sqlite_url: str) -> None:
    corpus = synthetic_hub(2500, seed=5, cards=False)
    server = serve(corpus, page_size=100)
    store = open_store(sqlite_url)
    summary = crawl(store, server, cards=False)
    assert summary.seen == 2500 and summary.new == 2500
    assert len(listing_requests(server)) == 25
    assert sorted(r["id"] for r in exported(store)) == sorted(corpus.models)


def test_faults_on_one_request_in_five_lose_and_duplicate_nothing(serve: Any, db_url: str, tmp_path: Path) -> None:
    corpus = synthetic_hub(600, seed=9)
    clean = open_store(f"sqlite:///{tmp_path / 'clean.db'}")
    crawl(clean, serve(corpus, page_size=60), cards=True, history=True)

    faults = FaultPlan(rate=0.2, kinds=("429", "500", "503", "drop", "slow"), retry_after="0",
                       slow_seconds=0.01, seed=11)
    server = serve(corpus, page_size=60, faults=faults)
    store = open_store(db_url)
    summary = crawl(store, server, cards=True, history=True)
    injected = [e for e in server.log if e.fault]
    kinds = {e.fault for e in injected}
    assert len(injected) > 0.1 * len(server.log)
    assert {"429", "500", "503", "drop"} <= kinds
    assert summary.failed == 0
    assert exported(store) == exported(clean)
    with store.engine.connect() as conn, clean.engine.connect() as conn2:
        def details(c: Any) -> list[Any]:
            return sorted(c.execute(select(schema.model.c.model_id, schema.model.c.card_text)).all())
        assert details(conn) == details(conn2)


def test_a_model_failing_for_good_is_recorded_and_the_run_goes_on(serve: Any, sqlite_url: str) -> None:
    corpus = synthetic_hub(40, seed=2)
    victim = next(mid for mid, r in corpus.models.items()
                  if any(isinstance(s, dict) and s.get("rfilename") == "README.md" for s in r["siblings"] or []))
    server = serve(corpus, faults=FaultPlan(rate=1.0, kinds=("500",), path_prefixes=(f"/{victim}/resolve",)))
    store = open_store(sqlite_url)
    summary = crawl(store, server, cards=True)
    assert summary.new == 40 and summary.failed == 1
    with store.engine.connect() as conn:
        failures = conn.execute(select(schema.failure.c.item, schema.failure.c.stage)).all()
    assert failures == [(victim, "collect.card")]
    # The next (incremental) run retries what failed, the victim's card, and nothing else.
    server2 = serve(corpus)
    summary2 = crawl(store, server2, cards=True)
    assert summary2.failed == 0 and summary2.backfilled == 1
    sha = corpus.models[victim]["sha"]
    assert [e.target for e in server2.log if "/resolve/" in e.target] == [f"/{victim}/resolve/{sha}/README.md"]
    with store.engine.connect() as conn:
        card = conn.execute(select(schema.model.c.card_text).where(schema.model.c.model_id == victim)).scalar()
    assert card == corpus.file(victim, "README.md").decode()  # type: ignore[union-attr]


# --- incremental -------------------------------------------------------------------------------------------


def _bump(corpus: HubCorpus, model_id: str, when: datetime, **changes: Any) -> None:
    corpus.update_model(model_id, {"lastModified": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                   "sha": f"{abs(hash((model_id, when))):040x}"[:40], **changes})


def test_incremental_rerun_fetches_only_what_changed(serve: Any, db_url: str) -> None:
    corpus = synthetic_hub(1200, seed=4, malformed_rate=0.0)
    server = serve(corpus, page_size=100)
    store = open_store(db_url)
    first = crawl(store, server, cards=True)
    assert first.new == 1200 and first.complete

    newest = max(datetime.fromisoformat(r["lastModified"]) for r in corpus.models.values() if r.get("lastModified"))
    changed = sorted(corpus.models)[:3]
    for i, model_id in enumerate(changed):
        _bump(corpus, model_id, newest + timedelta(days=i + 1), likes=123456)
    new_record = dict(corpus.models[sorted(corpus.models)[5]])
    new_record.update(id="fresh-org/brand-new", modelId="fresh-org/brand-new", author="fresh-org",
                      _id="f" * 24, lastModified=(newest + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    corpus.put_model(new_record)
    server.clear_log()

    second = crawl(store, server, cards=True)
    assert (second.new, second.updated, second.deleted) == (1, 3, 0)
    # One listing page covers everything newer than the checkpoint; older models are not fetched again.
    assert len(listing_requests(server)) == 1
    cards = [e.target for e in server.log if "/resolve/" in e.target]
    assert len(cards) <= 4
    rows = {r["id"]: r for r in exported(store)}
    assert all(rows[m]["likes"] == 123456 for m in changed)

    server.clear_log()
    third = crawl(store, server, cards=True)
    assert (third.new, third.updated) == (0, 0)
    assert not [e for e in server.log if "/resolve/" in e.target]


def test_limit_does_not_move_the_checkpoint_past_what_it_saw(serve: Any, sqlite_url: str) -> None:
    corpus = synthetic_hub(300, seed=6, cards=False)
    server = serve(corpus, page_size=100)
    store = open_store(sqlite_url)
    part = crawl(store, server, cards=False, limit=50)
    assert part.seen == 50 and not part.complete
    rest = crawl(store, server, cards=False)
    assert rest.new == 250 and rest.complete
    assert len(exported(store)) == 300


def test_author_scope(serve: Any, sqlite_url: str) -> None:
    corpus = synthetic_hub(400, seed=8, cards=False)
    authors: dict[str, int] = {}
    for record in corpus.models.values():
        if isinstance(record.get("author"), str):
            authors[record["author"]] = authors.get(record["author"], 0) + 1
    author = max(authors, key=lambda a: authors[a])
    store = open_store(sqlite_url)
    summary = crawl(store, serve(corpus), cards=False, author=author)
    assert summary.new == authors[author]
    assert {r["author"] for r in exported(store)} == {author}


# --- deletions and renames ---------------------------------------------------------------------------------


def test_full_rerun_flags_deleted_models_and_keeps_them(serve: Any, db_url: str) -> None:
    corpus = synthetic_hub(200, seed=12, cards=False)
    server = serve(corpus, page_size=50)
    store = open_store(db_url)
    crawl(store, server, cards=False)
    gone = sorted(corpus.models)[:4]
    for model_id in gone:
        corpus.remove_model(model_id)
    incremental = crawl(store, server, cards=False)
    assert incremental.deleted == 0  # an incremental run cannot see deletions
    full = crawl(store, server, cards=False, full=True)
    assert full.deleted == 4
    rows = {r["id"]: r for r in exported(store)}
    assert len(rows) == 200
    assert {m for m, r in rows.items() if r["deleted"]} == set(gone)
    # A deleted model that comes back is live again.
    corpus.put_model({"id": gone[0], "_id": "b" * 24, "lastModified": "2030-01-01T00:00:00.000Z"})
    crawl(store, server, cards=False)
    assert {r["id"]: r for r in exported(store)}[gone[0]]["deleted"] is False


def test_renamed_model_with_same_object_id_moves_to_new_id(serve: Any, db_url: str) -> None:
    corpus = synthetic_hub(120, seed=13, cards=False)
    server = serve(corpus)
    store = open_store(db_url)
    crawl(store, server, cards=False)
    old = sorted(corpus.models)[7]
    corpus.rename_model(old, "renamed-org/renamed-model")
    crawl(store, server, cards=False, full=True)
    rows = {r["id"]: r for r in exported(store)}
    assert old not in rows
    assert rows["renamed-org/renamed-model"]["previous_ids"] == [old]
    assert len(rows) == 120


def test_http_307_rename_recorded_from_the_recorded_redirects(serve: Any, db_url: str) -> None:
    corpus = HubCorpus.from_shared_fixtures(shared_path("fixtures", "hf_api"))
    assert corpus.resolve_rename("t5-small") == "google-t5/t5-small"
    # Our store knew the model under its legacy id (as crawls before the Hub's 2024 renames did).
    legacy = dict(corpus.models["google-t5/t5-small"])
    legacy.update(id="t5-small", modelId="t5-small", _id="0" * 24)
    seed_corpus = HubCorpus([legacy])
    store = open_store(db_url)
    crawl(store, serve(seed_corpus), cards=False)

    server = serve(corpus)
    summary = crawl(store, server, cards=False, full=True)
    assert summary.renamed == 1 and summary.deleted == 0
    assert any(e.status == 307 and e.target.startswith("/api/models/t5-small") for e in server.log)
    rows = {r["id"]: r for r in exported(store)}
    assert "t5-small" not in rows
    assert rows["google-t5/t5-small"]["previous_ids"] == ["t5-small"]


# --- kill and resume ---------------------------------------------------------------------------------------


def _cli(db: str, endpoint: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_ENDPOINT": endpoint, "PTMSCOPE_HTTP_BACKOFF": "0.001", "HF_HUB_DISABLE_TELEMETRY": "1"}
    return subprocess.Popen([sys.executable, "-m", "ptmscope.cli.main", "--db", db, "-q", "collect", "huggingface",
                             "--batch-size", "100", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize(("backend", "kill_after_requests"), [
    ("sqlite", 3), ("sqlite", 40), ("sqlite", 400),
    pytest.param("postgresql", 40, marks=pytest.mark.postgres),
    pytest.param("postgresql", 400, marks=pytest.mark.postgres),
])
def test_kill_9_mid_crawl_then_resume_equals_uninterrupted(serve: Any, tmp_path: Path, request: pytest.FixtureRequest,
                                                          backend: str, kill_after_requests: int) -> None:
    corpus = synthetic_hub(900, seed=21)
    # Slow pages keep the crawler mid-listing long enough to be killed there.
    faults = FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=0.15, path_prefixes=("/api/models?",))
    server = serve(corpus, page_size=100, faults=faults)
    if backend == "sqlite":
        killed_db = f"sqlite:///{tmp_path / 'killed.db'}"
    else:
        killed_db = request.getfixturevalue("postgres_server").create_database()
    proc = _cli(killed_db, server.url, "--history")
    deadline = time.monotonic() + 60
    while len(server.log) < kill_after_requests and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, "the crawl ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    resumed = _cli(killed_db, server.url, "--history")
    _out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()

    clean_db = f"sqlite:///{tmp_path / 'clean.db'}"
    clean = _cli(clean_db, server.url, "--history")
    clean.communicate(timeout=120)
    assert clean.returncode == 0

    def dump(url: str) -> tuple[bytes, list[Any]]:
        store = open_store(url)
        buf = io.BytesIO()
        write_jsonl(iter_models(store), buf)
        with store.engine.connect() as conn:
            detail = sorted(conn.execute(select(schema.model.c.model_id, schema.model.c.card_text,
                                                schema.model.c.raw_hash)).all())
            commits = conn.execute(select(func.count()).select_from(schema.model_commit)).scalar()
        return buf.getvalue(), [detail, commits]

    assert dump(killed_db) == dump(clean_db)
    killed_rows = [orjson.loads(line) for line in dump(killed_db)[0].splitlines()]
    assert len(killed_rows) == 900
    with open_store(killed_db).engine.connect() as conn:
        statuses = [r.status for r in conn.execute(select(schema.run.c.status).order_by(schema.run.c.id))]
    assert statuses == ["interrupted", "completed"]


def test_checkpoint_is_recorded_per_scope(serve: Any, sqlite_url: str) -> None:
    corpus = synthetic_hub(50, seed=30, cards=False)
    store = open_store(sqlite_url)
    summary = crawl(store, serve(corpus), cards=False)
    state = store.crawl_state("huggingface")
    assert state is not None and state["watermark"] == summary.checkpoint
    newest = max(datetime.fromisoformat(r["lastModified"]) for r in corpus.models.values() if r.get("lastModified"))
    assert datetime.fromisoformat(state["watermark"]) == newest.astimezone(UTC)
    assert json.dumps(summary.counts())


# --- malformed input is recorded, not fatal ---------------------------------------------------------------


def test_malformed_records_and_cards_flow_through_to_the_export(serve: Any, db_url: str) -> None:
    records = [
        {"_id": "a" * 24, "id": "odd/list-card", "lastModified": "2025-01-05T00:00:00.000Z", "sha": "1" * 40,
         "cardData": ["license: mit", "datasets: [x]"], "siblings": [{"rfilename": "README.md"}]},
        {"_id": "b" * 24, "id": "odd/gated-manual", "lastModified": "2025-01-04T00:00:00.000Z", "sha": "2" * 40,
         "gated": "manual", "cardData": {"license": "llama3", "language": {"en": True}, "base_model": [{"x": 1}]},
         "siblings": [{"rfilename": "README.md"}, {"size": 10}, "junk"]},
        {"_id": "c" * 24, "id": "odd/no-dates-no-author", "sha": "3" * 40},
        {"_id": "d" * 24, "id": "odd/bad-yaml", "lastModified": "2025-01-03T00:00:00.000Z", "sha": "4" * 40,
         "siblings": [{"rfilename": "README.md"}], "safetensors": {"parameters": {"F16": 7}},
         "model-index": "not a list"},
        {"_id": "e" * 24, "lastModified": "2025-01-02T00:00:00.000Z"},  # no id at all: one recorded failure
    ]
    bad_yaml = "---\nlicense: [apache-2.0\ndatasets: {unclosed\n---\r\n# Card\r\nText with \x00 NUL\r\n"
    corpus = HubCorpus([r for r in records if "id" in r],
                       cards={"odd/bad-yaml": bad_yaml, "odd/list-card": "no front matter at all",
                              "odd/gated-manual": "\ufeff---\nlicense: llama3\n---\nBOM card"})
    # The listing also carries the id-less record, as a Hub bug might.
    app = HuggingFaceApp(corpus)

    class WithBrokenRecord:
        def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Any, base_url: str) -> Any:
            response = app.handle(method, path, query, headers, base_url)
            if path == "/api/models" and response.status == 200:
                body = [*orjson.loads(response.body), records[-1]]
                return type(response)(response.status, response.headers, orjson.dumps(body))
            return response

    server = ReplayServer(WithBrokenRecord()).start()  # type: ignore[arg-type]
    try:
        store = open_store(db_url)
        summary = crawl(store, server, cards=True, files=True)
    finally:
        server.stop()
    assert summary.new == 4 and summary.failed == 1
    rows = {r["id"]: r for r in exported(store)}
    assert rows["odd/gated-manual"]["gated"] == "manual"
    assert rows["odd/gated-manual"]["languages"] == [] and rows["odd/gated-manual"]["base_models"] == []
    assert rows["odd/no-dates-no-author"]["author"] == "odd"
    assert rows["odd/no-dates-no-author"]["last_modified"] is None
    with store.engine.connect() as conn:
        m = schema.model
        found = {r.model_id: r for r in conn.execute(select(m.c.model_id, m.c.card_text, m.c.card_data_error,
                                                                m.c.parameter_count, m.c.model_index))}
        failures = conn.execute(select(schema.failure.c.stage, schema.failure.c.reason)).all()
    assert found["odd/list-card"].card_data_error.startswith("cardData is a list")
    # Card text is kept as served (an invalid YAML header is the cards stage's problem), minus NUL.
    assert found["odd/bad-yaml"].card_text == bad_yaml.replace("\x00", "")
    assert found["odd/bad-yaml"].parameter_count == 7
    assert found["odd/bad-yaml"].model_index == "not a list"
    assert found["odd/gated-manual"].card_text.startswith("\ufeff---")
    assert failures == [("collect.parse", "model record without an id")]
