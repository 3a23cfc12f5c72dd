"""The replay server must be indistinguishable from the Hub for the real huggingface_hub client."""

from __future__ import annotations

import os

# huggingface_hub reads HF_HUB_* once, at import.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ptmscope.config import HttpSettings, Settings
from ptmscope.http import make_client
from ptmscope.replay import FaultPlan, HubCorpus, HuggingFaceApp, ReplayServer

SHARED_HF_API = Path(__file__).parents[2].parent / "shared" / "fixtures" / "hf_api"
needs_shared = pytest.mark.skipif(not SHARED_HF_API.is_dir(),
                                  reason=f"recorded Hub responses not present at {SHARED_HF_API}")


def make_record(i: int, **overrides: Any) -> dict[str, Any]:
    org = f"org{i % 5}"
    record: dict[str, Any] = {
        "_id": f"{i:024x}",
        "id": f"{org}/model-{i:05d}",
        "modelId": f"{org}/model-{i:05d}",
        "author": org,
        "sha": f"{i:040x}",
        "lastModified": f"2024-03-{1 + i % 28:02d}T12:00:00.000Z",
        "createdAt": "2023-01-01T00:00:00.000Z",
        "private": False,
        "gated": False,
        "disabled": False,
        # Many ties on purpose: the order must still be total and stable.
        "downloads": (i * 37) % 500,
        "likes": i % 11,
        "tags": ["transformers", "pytorch", "text-classification"],
        "pipeline_tag": "text-classification",
        "library_name": "transformers",
        "siblings": [
            {"rfilename": "README.md", "size": 100, "blobId": f"{i:040x}"},
            {"rfilename": "model.safetensors", "size": 4096, "blobId": f"{i + 1:040x}",
             "lfs": {"sha256": "ab" * 32, "size": 4096, "pointerSize": 134}},
        ],
    }
    record.update(overrides)
    return record


def listing_order(records: list[dict[str, Any]], sort: str) -> list[str]:
    by_id = sorted(records, key=lambda r: r["id"])
    return [r["id"] for r in sorted(by_id, key=lambda r: r[sort], reverse=True)]


def hf_api(server: ReplayServer) -> HfApi:
    return HfApi(endpoint=server.url, token=False)


@pytest.fixture(scope="module")
def generated() -> Iterator[tuple[ReplayServer, HubCorpus]]:
    corpus = HubCorpus(make_record(i) for i in range(2500))
    with ReplayServer(HuggingFaceApp(corpus)) as server:
        yield server, corpus


@pytest.fixture(scope="module")
def recorded() -> Iterator[ReplayServer]:
    if not SHARED_HF_API.is_dir():
        pytest.skip(f"recorded Hub responses not present at {SHARED_HF_API}")
    with ReplayServer(HuggingFaceApp(HubCorpus.from_shared_fixtures(SHARED_HF_API))) as server:
        yield server


def test_list_models_follows_link_pages(generated: tuple[ReplayServer, HubCorpus]) -> None:
    server, corpus = generated
    server.clear_log()
    models = list(hf_api(server).list_models(sort="downloads"))

    ids = [m.id for m in models]
    assert len(ids) == len(set(ids)) == 2500
    assert ids == listing_order(list(corpus.models.values()), "downloads")
    pages = [e for e in server.log if e.target.startswith("/api/models?")]
    assert len(pages) == 3
    assert all(e.status == 200 and e.fault is None for e in pages)
    assert models[0].siblings is None  # plain listings do not carry files


def test_listing_response_headers() -> None:
    corpus = HubCorpus(make_record(i) for i in range(30))
    with ReplayServer(HuggingFaceApp(corpus, page_size_max=4)) as server, httpx2.Client() as client:
        first = client.get(f"{server.url}/api/models", params={"sort": "likes", "limit": 50, "author": "org1"})
        assert first.status_code == 200
        assert first.headers["X-Replay-Assembled"] == "true"
        assert first.headers["Content-Type"] == "application/json; charset=utf-8"
        assert first.headers["ETag"].startswith('W/"')
        assert len(first.json()) == 4  # limit is capped at page_size_max; org1 has 6 of 30
        next_url = first.links["next"]["url"]
        assert next_url.startswith(f"{server.url}/api/models?")
        assert "author=org1" in next_url and "sort=likes" in next_url

        second = client.get(next_url)
        assert len(second.json()) == 2 and "next" not in second.links
        assert {m["id"] for m in first.json()}.isdisjoint(m["id"] for m in second.json())

        assert client.get(f"{server.url}/api/models", params={"sort": "stars"}).status_code == 400
        assert client.get(f"{server.url}/api/models", params={"cursor": "garbage"}).status_code == 400


def test_list_models_author_search_filter_and_expand(generated: tuple[ReplayServer, HubCorpus]) -> None:
    server, corpus = generated
    api = hf_api(server)

    by_author = list(api.list_models(author="org3", sort="likes"))
    assert len(by_author) == 500
    assert {m.author for m in by_author} == {None}  # author is not a default listing field
    assert all(m.id.startswith("org3/") for m in by_author)

    expanded = list(api.list_models(author="org3", search="MODEL-0001", expand=["sha", "downloads"]))
    # No record has a trendingScore (the default sort), so ties leave them in id order.
    assert [m.id for m in expanded] == sorted(m for m in corpus.models if m.startswith("org3/model-0001"))
    assert all(m.sha is not None and m.downloads is not None for m in expanded)
    assert all(m.tags is None and m.likes is None for m in expanded)

    full = list(api.list_models(filter="pytorch", limit=3, full=True))
    assert len(full) == 3 and all(m.sha is not None and m.last_modified is not None for m in full)
    assert list(api.list_models(filter=["pytorch", "jax"])) == []


def test_model_info_blobs_and_revision(generated: tuple[ReplayServer, HubCorpus]) -> None:
    server, _ = generated
    api = hf_api(server)

    info = api.model_info("org2/model-00002")
    assert info.sha == f"{2:040x}"
    assert info.siblings is not None
    assert [(s.rfilename, s.size, s.blob_id) for s in info.siblings] == [
        ("README.md", None, None), ("model.safetensors", None, None)]

    detailed = api.model_info("org2/model-00002", files_metadata=True)
    assert detailed.siblings is not None
    weights = detailed.siblings[1]
    assert (weights.size, weights.blob_id) == (4096, f"{3:040x}")
    assert weights.lfs is not None and weights.lfs.sha256 == "ab" * 32

    assert api.model_info("org2/model-00002", revision="main").id == "org2/model-00002"
    with pytest.raises(RevisionNotFoundError):
        api.model_info("org2/model-00002", revision="v9")


@needs_shared
@pytest.mark.shared
def test_model_info_serves_recorded_records(recorded: ReplayServer) -> None:
    recorded_gpt2 = orjson.loads((SHARED_HF_API / "model_info" / "openai-community__gpt2.json").read_bytes())
    with httpx2.Client() as client:
        raw = client.get(f"{recorded.url}/api/models/openai-community/gpt2")
    assert raw.json() == recorded_gpt2
    assert raw.headers["Content-Type"] == "application/json; charset=utf-8"

    api = hf_api(recorded)
    info = api.model_info("openai-community/gpt2")
    assert (info.sha, info.downloads, info.pipeline_tag) == (
        recorded_gpt2["sha"], recorded_gpt2["downloads"], recorded_gpt2["pipeline_tag"])
    assert api.model_info("gpt2").id == "gpt2"  # the legacy id has its own recorded record

    expanded = api.model_info("google/flan-t5-large", expand=["downloads"])
    assert (expanded.downloads, expanded.tags, expanded.sha) == (1710518, None, None)


@needs_shared
@pytest.mark.shared
def test_renamed_repo_answers_recorded_307(recorded: ReplayServer) -> None:
    index = orjson.loads((SHARED_HF_API / "_index.json").read_bytes())
    recorded_307 = next(i for i in index if i["status"] == 307 and "expand" in i["url"])
    path = recorded_307["url"].removeprefix("https://huggingface.co")
    with httpx2.Client() as client:
        raw = client.get(recorded.url + path)
    assert raw.status_code == 307
    assert raw.headers["Location"] == recorded_307["headers"]["Location"]
    assert raw.text == recorded_307["body_text"]
    assert raw.headers["Content-Type"] == recorded_307["headers"]["Content-Type"]

    info = hf_api(recorded).model_info("bert-base-uncased")
    assert info.id == "google-bert/bert-base-uncased"


def test_unknown_repo_raises_repository_not_found(generated: tuple[ReplayServer, HubCorpus]) -> None:
    server, _ = generated
    with pytest.raises(RepositoryNotFoundError):
        hf_api(server).model_info("nobody/nothing")
    with httpx2.Client() as client:
        raw = client.get(f"{server.url}/api/models/nobody/nothing")
    assert (raw.status_code, raw.headers["X-Error-Code"], raw.json()) == (
        404, "RepoNotFound", {"error": "Repository not found"})


def test_list_repo_commits_paginates() -> None:
    commits: list[dict[str, Any]] = [{"id": f"{n:040x}", "title": f"commit {n}", "message": f"message {n}\n",
                "authors": [{"user": "alice"}], "date": f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}.000Z"}
               for n in range(120, 0, -1)]
    corpus = HubCorpus([make_record(1, sha=commits[0]["id"])], commits={"org1/model-00001": commits})
    with ReplayServer(HuggingFaceApp(corpus)) as server:
        api = hf_api(server)
        listed = api.list_repo_commits("org1/model-00001")
        assert [c.commit_id for c in listed] == [c["id"] for c in commits]
        assert listed[0].authors == ["alice"] and listed[0].title == "commit 120"
        assert len([e for e in server.log if "/commits/" in e.target]) == 3  # 50 per page

        from_commit = api.list_repo_commits("org1/model-00001", revision=commits[100]["id"], formatted=True)
        assert [c.commit_id for c in from_commit] == [c["id"] for c in commits[100:]]
        assert from_commit[0].formatted_title == commits[100]["title"]

    # Without recorded history a repo still has its current commit.
    single = HubCorpus([make_record(2)])
    with ReplayServer(HuggingFaceApp(single)) as server:
        assert [c.commit_id for c in hf_api(server).list_repo_commits("org2/model-00002")] == [f"{2:040x}"]


def test_hf_hub_download_readme(tmp_path: Path) -> None:
    card = "---\nlicense: mit\n---\n# Model 7\n\nA test card: ünïcode included.\n"
    corpus = HubCorpus([make_record(7)], cards={"org2/model-00007": card})
    with ReplayServer(HuggingFaceApp(corpus)) as server:
        api = hf_api(server)
        path = api.hf_hub_download("org2/model-00007", "README.md", cache_dir=tmp_path)
        assert Path(path).read_text(encoding="utf-8") == card
        assert f"{7:040x}" in path  # cached under the X-Repo-Commit snapshot

        with pytest.raises(RemoteEntryNotFoundError):
            api.hf_hub_download("org2/model-00007", "missing.txt", cache_dir=tmp_path)
        with pytest.raises(RepositoryNotFoundError):
            api.hf_hub_download("org2/nothing", "README.md", cache_dir=tmp_path)

        corpus.rename_model("org2/model-00007", "neworg/model-7")
        moved = api.hf_hub_download("org2/model-00007", "README.md", cache_dir=tmp_path / "moved")
        assert Path(moved).read_text(encoding="utf-8") == card

        with httpx2.Client() as client:
            head = client.head(f"{server.url}/neworg/model-7/resolve/main/README.md")
            get = client.get(f"{server.url}/neworg/model-7/resolve/main/README.md")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == get.headers["Content-Length"] == str(len(card.encode()))
        assert head.headers["ETag"] == get.headers["ETag"] and head.headers["X-Repo-Commit"] == f"{7:040x}"


def test_corpus_mutations_are_served() -> None:
    corpus = HubCorpus(make_record(i) for i in range(5))
    with ReplayServer(HuggingFaceApp(corpus)) as server:
        api = hf_api(server)
        assert api.model_info("org1/model-00001").likes == 1
        corpus.update_model("org1/model-00001", {"likes": 99})
        assert api.model_info("org1/model-00001").likes == 99  # cached encodings were dropped

        original_id = api.model_info("org1/model-00001").id
        corpus.rename_model("org1/model-00001", "org9/renamed")
        moved = api.model_info(original_id)
        assert (moved.id, moved.author) == ("org9/renamed", "org9")

        corpus.remove_model("org9/renamed")
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("org9/renamed")
        assert sorted(m.id for m in api.list_models()) == [f"org{i}/model-{i:05d}" for i in (0, 2, 3, 4)]


def test_keyset_pagination_survives_mutation_mid_listing() -> None:
    records = [make_record(i) for i in range(300)]
    corpus = HubCorpus(records)
    with ReplayServer(HuggingFaceApp(corpus)) as server, httpx2.Client() as client:
        first = client.get(f"{server.url}/api/models", params={"sort": "downloads", "limit": 100})
        seen = [m["id"] for m in first.json()]

        # Between pages: one already-listed model is deleted and one moves up past the cursor, a new
        # model appears ahead of the cursor, and one not yet listed changes a non-sort field. With
        # offset pagination the deletion would skip a model and the additions would repeat one.
        corpus.remove_model(seen[0])
        corpus.update_model(seen[50], {"downloads": 10_000})
        corpus.put_model(make_record(1000, downloads=20_000))
        unlisted = listing_order(records, "downloads")[150]
        corpus.update_model(unlisted, {"likes": 1234})

        url: str | None = first.links["next"]["url"]
        rest: list[dict[str, Any]] = []
        while url:
            page = client.get(url)
            rest.extend(page.json())
            url = page.links.get("next", {}).get("url")

    all_ids = seen + [m["id"] for m in rest]
    assert len(all_ids) == len(set(all_ids))
    assert set(all_ids) >= {r["id"] for r in records}
    assert next(m for m in rest if m["id"] == unlisted)["likes"] == 1234


def test_fault_plan_injects_every_kind_and_retries_recover() -> None:
    corpus = HubCorpus(make_record(i) for i in range(200))
    plan = FaultPlan(rate=0.2, kinds=("429", "500", "503", "drop", "slow"), slow_seconds=0.01, seed=7,
                     path_prefixes=("/api/",))
    settings = Settings(http=HttpSettings(timeout=5, max_retries=10, backoff_base=0.001, backoff_max=0.01))

    def crawl() -> tuple[list[str], list[tuple[str, int | str, str | None]]]:
        with ReplayServer(HuggingFaceApp(corpus), faults=plan) as server, make_client(settings) as client:
            ids: list[str] = []
            url: str | None = f"{server.url}/api/models?sort=likes&limit=5"
            while url:
                response = client.get(url)
                response.raise_for_status()
                ids.extend(m["id"] for m in response.json())
                url = response.links.get("next", {}).get("url")
            for model_id in ids[:20]:
                assert client.get(f"{server.url}/api/models/{model_id}").json()["id"] == model_id
            return ids, [(e.target, e.status, e.fault) for e in server.log]

    ids, log = crawl()
    assert len(ids) == len(set(ids)) == 200
    faults = [fault for _, _, fault in log if fault is not None]
    assert {"429", "500", "503", "drop", "slow"} <= set(faults)
    assert 0.1 < len(faults) / len(log) < 0.3
    assert all(status == "drop" for _, status, fault in log if fault == "drop")
    assert all(status == 200 for _, status, fault in log if fault in (None, "slow"))
    assert crawl()[1] == log  # same seed, same sequential client: the same faults on the same requests


def test_429_carries_hub_rate_limit_headers() -> None:
    plan = FaultPlan(rate=1.0, kinds=("429",), retry_after="3")
    with ReplayServer(HuggingFaceApp(HubCorpus()), faults=plan) as server, httpx2.Client() as client:
        response = client.get(f"{server.url}/api/models")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["RateLimit"] == '"api";r=0;t=3'
    assert response.headers["RateLimit-Policy"] == '"fixed window";"api";q=500;w=300'


def test_server_lifecycle_and_keep_alive() -> None:
    server = ReplayServer(HuggingFaceApp(HubCorpus([make_record(1)])))
    assert server.url.startswith("http://127.0.0.1:")
    server.start()
    with httpx2.Client() as client:
        for _ in range(3):
            response = client.get(f"{server.url}/api/models/org1/model-00001")
            assert response.http_version == "HTTP/1.1"
            assert response.headers.get("Connection") != "close"
        # The client still holds an idle keep-alive connection: stop() must not hang on it.
        server.stop()
        server.stop()
    with pytest.raises(httpx2.ConnectError), httpx2.Client() as client:
        client.get(f"{server.url}/api/models")
    with pytest.raises(RuntimeError):
        server.start()
    with pytest.raises(ValueError):
        FaultPlan(kinds=("418",))
