"""``ptmscope snapshot`` against test model repositories served by the replay Hub, through the real
huggingface_hub client: verdicts per file, skipped records, sha256s, incremental runs, the Hub's own
scan stored beside ours, custom code and the trust_remote_code call sites that run it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from sqlalchemy import insert, select
from typer.testing import CliRunner

from ptmscope.cli import snapshot as snapshot_cli
from ptmscope.cli.context import AppState
from ptmscope.config import HttpSettings, Settings
from ptmscope.errors import UsageError
from ptmscope.hubs.customcode import remote_code_exposure
from ptmscope.hubs.snapshot import SnapshotSummary, content_path, snapshot_models
from ptmscope.replay import HubCorpus, HuggingFaceApp, ReplayServer, Response
from ptmscope.store import Store, open_store, schema
from ptmscope.store.db import utcnow
from ptmscope.store.models import model_row
from ptmscope.store.snapshots import verdict_counts
from tests.snapshot.modelbytes import CAP, ModelRepo, model_repos

FAST = HttpSettings(timeout=10, max_retries=2, backoff_base=0.001, backoff_max=0.01)
SHA1 = "1" * 40
SHA2 = "2" * 40


def corpus_of(repos: list[ModelRepo], sha: str = SHA1) -> HubCorpus:
    corpus = HubCorpus()
    for repo in repos:
        corpus.put_repo(repo.record(sha), repo.files, repo.security)
    return corpus


def store_models(store: Store, corpus: HubCorpus) -> None:
    """The models as ``collect huggingface`` stores them (parsed from the same records)."""
    from ptmscope.hubs.huggingface import parse_model

    now = utcnow()
    with store.engine.begin() as conn:
        for record in corpus.models.values():
            row = model_row(parse_model(dict(record)), now=now, run_id=0)
            existing = conn.execute(select(schema.model.c.id).where(
                schema.model.c.model_id == row["model_id"])).scalar()
            if existing is None:
                conn.execute(insert(schema.model).values(**row))
            else:
                conn.execute(schema.model.update().where(schema.model.c.id == existing).values(**row))


class Tamper:
    """Wraps the Hub app and changes one byte of one file as it is downloaded (sizes still agree)."""

    def __init__(self, app: HuggingFaceApp, path_suffix: str) -> None:
        self.app, self.suffix = app, path_suffix

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               base_url: str) -> Response:
        response = self.app.handle(method, path, query, headers, base_url)
        if method == "GET" and "/resolve/" in path and path.endswith(self.suffix) and response.body:
            return Response(response.status, response.headers, bytes([response.body[0] ^ 1]) + response.body[1:])
        return response


@pytest.fixture
def hub() -> Iterator[Any]:
    servers: list[ReplayServer] = []

    def start(corpus: HubCorpus, tamper: str | None = None) -> ReplayServer:
        app: Any = HuggingFaceApp(corpus, tree_expand_page_size=4)
        server = ReplayServer(Tamper(app, tamper) if tamper else app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def settings_for(server: ReplayServer, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", hf_endpoint=server.url, http=FAST)


def run(store: Store, settings: Settings, **options: Any) -> SnapshotSummary:
    options.setdefault("max_file_size", CAP)
    options.setdefault("code_scanners", ("bandit",))
    return snapshot_models(store, settings, **options)


def snapshot_rows(store: Store) -> dict[tuple[str, str], Any]:
    ms, m = schema.model_snapshot, schema.model
    with store.engine.connect() as conn:
        return {(r.model_id, r.path): r for r in conn.execute(select(m.c.model_id, ms).join(m, m.c.id == ms.c.model))}


def verdicts(store: Store) -> dict[tuple[str, str], Any]:
    v = schema.model_file_verdict
    with store.engine.connect() as conn:
        return {(r.sha256, r.scanner): r for r in conn.execute(select(v))}


def downloads(server: ReplayServer) -> list[str]:
    return [e.target for e in server.log if e.method == "GET" and "/resolve/" in e.target]


# --- one snapshot -------------------------------------------------------------------------------------------


def test_snapshot_records_each_file_with_its_verdict(hub: Any, sqlite_url: str, tmp_path: Path) -> None:
    repos = model_repos()
    server = hub(corpus_of(repos))
    store = open_store(sqlite_url)
    store_models(store, corpus_of(repos))
    settings = settings_for(server, tmp_path)
    summary = run(store, settings)

    assert summary.models == 5 and summary.snapshotted == 5 and summary.failed_models == 0  # acme/unpopular: 10
    snaps, found = snapshot_rows(store), verdicts(store)
    assert {model for model, _ in snaps} == {r.model_id for r in repos if r.downloads >= 50}
    for repo in repos:
        if repo.downloads < 50:
            continue
        for path, data in repo.files.items():
            row = snaps[(repo.model_id, path)]
            assert row.commit == SHA1
            want = repo.expected[path]
            if want is None:  # not taken: a record with the reason, no download
                assert row.status == "skipped" and row.reason
                assert not any(t.endswith(f"/{path}") for t in downloads(server))
                continue
            digest = hashlib.sha256(data).hexdigest()
            assert row.status == "downloaded" and row.sha256 == digest and row.size == len(data)
            assert content_path(settings, digest).read_bytes() == data
            verdict = found[(digest, "modelfiles")]
            assert verdict.outcome == want, (repo.model_id, path, verdict.details)
            assert row.format == verdict.format
            assert verdict.scanner_version.startswith("1.0+")

    pickles = snaps[("acme/pickles", "benign.pkl")]
    assert pickles.format == "pickle"
    big = snaps[("acme/pickles", "big.safetensors")]
    assert big.reason == f"{CAP + 1} bytes, over the {CAP}-byte cap"
    assert big.sha256 == hashlib.sha256(repos[0].files["big.safetensors"]).hexdigest()  # the Hub's LFS sha256
    assert not content_path(settings, big.sha256).exists()
    assert snaps[("acme/pickles", "notes.txt")].reason == "matches no allow pattern"
    # An LFS file without any extension is taken, and recognised by its bytes.
    assert snaps[("acme/pickles", "weights")].format == "pickle"
    assert snaps[("acme/torch", "legacy_evil.pth")].format == "torch_legacy"
    assert snaps[("acme/arrays", "model.h5")].format == "hdf5"
    assert snaps[("acme/arrays", "model.gguf")].format == "gguf"

    # picklescan's verdict is its own row, beside ours, on pickle-bearing contents only.
    evil = hashlib.sha256(repos[1].files["evil_model.pt"]).hexdigest()
    assert found[(evil, "picklescan")].outcome == "dangerous"
    assert "posix.system" in found[(evil, "picklescan")].details["globals"]
    for repo in repos[:3]:  # picklescan reads each pickle-bearing file under its own name, zips and arrays too
        for path, data in repo.files.items():
            digest = hashlib.sha256(data).hexdigest()
            if snaps[(repo.model_id, path)].format in ("pickle", "torch_zip", "torch_legacy", "npy"):
                want = "clean" if path == "truncated.pkl" else repo.expected[path]  # where the engines disagree
                assert found[(digest, "picklescan")].outcome == want, (path, found[(digest, "picklescan")].details)
    gguf = hashlib.sha256(repos[2].files["evil.gguf"]).hexdigest()
    assert (gguf, "picklescan") not in found

    # The Hub's own scan, per file and per repository, beside ours.
    malicious = snaps[("acme/pickles", "malicious.bin")].hub_security
    assert malicious["file"]["status"] == "unsafe"
    assert malicious["file"]["pickleImportScan"]["pickleImports"][0] == {"module": "os", "name": "system",
                                                                         "safety": "dangerous"}
    assert malicious["repo"] == {"scansDone": False, "level": "unsafe"}
    assert snaps[("acme/pickles", "benign.pkl")].hub_security["repo"]["level"] is None
    assert snaps[("acme/torch", "legacy.bin")].hub_security["file"]["status"] == "unscanned"

    # The counts the summary reports are the per-file outcomes.
    assert summary.verdicts == {"clean": 9, "suspicious": 1, "dangerous": 6, "inconclusive": 1, "skipped": 6}
    assert verdict_counts(store) == summary.verdicts
    assert summary.skipped == 2 and summary.failed == 0 and summary.custom_code_models == 2
    # Three models hold the same safetensors file: it is downloaded once.
    assert summary.downloaded == 19 and summary.reused == 2


def test_second_run_downloads_nothing_and_a_new_commit_reuses_contents(hub: Any, sqlite_url: str,
                                                                        tmp_path: Path) -> None:
    repos = model_repos()
    corpus = corpus_of(repos)
    server = hub(corpus)
    store = open_store(sqlite_url)
    store_models(store, corpus)
    settings = settings_for(server, tmp_path)
    first = run(store, settings)
    before = verdicts(store)
    server.clear_log()

    second = run(store, settings)
    assert (second.up_to_date, second.snapshotted, second.downloaded, second.contents_scanned) == (5, 0, 0, 0)
    assert server.log == []  # not even listed again
    assert verdicts(store) == before

    # A larger cap takes the file skipped before, and nothing else is fetched again.
    third = run(store, settings, max_file_size=CAP * 2)
    assert third.snapshotted == 1 and third.up_to_date == 4
    assert [t.rsplit("/", 1)[1] for t in downloads(server)] == ["big.safetensors"]
    server.clear_log()

    # A new commit of one model: listed again, its LFS contents are already in the store.
    changed = repos[1]
    corpus.put_repo(changed.record(SHA2), changed.files)
    store_models(store, corpus)
    fourth = run(store, settings, max_file_size=CAP * 2)
    assert fourth.snapshotted == 1 and fourth.up_to_date == 4
    assert fourth.reused == len(changed.files) and fourth.downloaded == 0 and downloads(server) == []
    assert {r.commit for (m, _), r in snapshot_rows(store).items() if m == changed.model_id} == {SHA2}
    assert first.run_id < fourth.run_id


def test_hash_mismatch_fails_the_file_and_is_retried(hub: Any, sqlite_url: str, tmp_path: Path) -> None:
    repos = [r for r in model_repos() if r.model_id == "acme/torch"]
    corpus = corpus_of(repos)
    server = hub(corpus, tamper="/legacy.bin")
    store = open_store(sqlite_url)
    store_models(store, corpus)
    settings = settings_for(server, tmp_path)
    summary = run(store, settings)
    row = snapshot_rows(store)[("acme/torch", "legacy.bin")]
    assert row.status == "failed" and "is not the LFS sha256" in row.reason
    assert summary.failed == 1
    assert not content_path(settings, hashlib.sha256(repos[0].files["legacy.bin"]).hexdigest()).exists()
    with store.engine.connect() as conn:
        failures = conn.execute(select(schema.failure.c.item).where(schema.failure.c.run_id == summary.run_id))
        assert [item for (item,) in failures] == ["acme/torch/legacy.bin"]

    # The next run (from an honest server) takes the model up again; only the failed file is downloaded.
    honest = hub(corpus)
    again = run(store, settings_for(honest, tmp_path))
    assert again.snapshotted == 1 and again.downloaded == 1 and again.reused == 3
    assert snapshot_rows(store)[("acme/torch", "legacy.bin")].status == "downloaded"


# --- custom code and the call sites that run it ------------------------------------------------------------------


def add_call_sites(store: Store, calls: list[tuple[str, str, int, bool, str | None]]) -> None:
    """usage rows as the usage stage writes them: (model id, path, line, pinned, revision)."""
    with store.engine.begin() as conn:
        repo = conn.execute(insert(schema.repository).values(
            host="github.com", owner="someone", name="app", full_name_lower="someone/app", status="ok",
        ).returning(schema.repository.c.id)).scalar_one()
        for model_id, path, line, pinned, revision in calls:
            pk = conn.execute(select(schema.model.c.id).where(schema.model.c.model_id == model_id)).scalar_one()
            conn.execute(insert(schema.usage).values(
                repository=repo, path=path, line=line, library="transformers", call="AutoModel.from_pretrained",
                model_name=model_id, model=pk, resolved=True, revision=revision, pinned=pinned,
                trust_remote_code=True))
        conn.execute(insert(schema.usage).values(  # without trust_remote_code: not an exposure
            repository=repo, path="other.py", line=1, library="transformers", call="AutoModel.from_pretrained",
            model_name="acme/custom", resolved=True, trust_remote_code=False))


def test_custom_code_is_scanned_and_linked_to_call_sites(hub: Any, sqlite_url: str, tmp_path: Path) -> None:
    repos = [r for r in model_repos() if r.model_id in ("acme/custom", "acme/helpers", "acme/arrays")]
    corpus = corpus_of(repos)
    server = hub(corpus)
    store = open_store(sqlite_url)
    store_models(store, corpus)
    add_call_sites(store, [("acme/custom", "train.py", 12, False, None),
                           ("acme/custom", "serve.py", 3, True, SHA1),
                           ("acme/helpers", "util.py", 7, False, "main"),
                           ("acme/arrays", "load.py", 2, False, None)])
    settings = settings_for(server, tmp_path)
    run(store, settings)

    files = {r.model_id: r.files for r in repos}
    code = hashlib.sha256(files["acme/custom"]["modeling_tiny.py"]).hexdigest()
    verdict = verdicts(store)[(code, "code:bandit")]
    # Bandit's B602 (subprocess with shell=True) at high severity and confidence is critical on our scale.
    assert verdict.outcome == "dangerous" and verdict.details["max_severity"] == "critical"
    assert {f["rule_id"] for f in verdict.details["findings"]} >= {"B602"}  # subprocess with shell=True
    plain = hashlib.sha256(files["acme/helpers"]["helpers.py"]).hexdigest()
    assert verdicts(store)[(plain, "code:bandit")].outcome == "clean"

    exposure = {(e.path, e.model): e for e in remote_code_exposure(store)}
    assert set(exposure) == {("train.py", "acme/custom"), ("serve.py", "acme/custom"), ("util.py", "acme/helpers"),
                             ("load.py", "acme/arrays")}
    train = exposure[("train.py", "acme/custom")]
    assert train.repository == "someone/app" and train.line == 12
    assert train.flagged and not train.pinned and train.code_commit == SHA1
    assert [f.path for f in train.custom_code_files] == ["modeling_tiny.py"]
    assert train.max_severity == "critical" and train.outcome == "dangerous" and train.scanned
    serve = exposure[("serve.py", "acme/custom")]
    assert serve.pinned and not serve.flagged and serve.max_severity == "critical"
    helpers = exposure[("util.py", "acme/helpers")]
    assert helpers.outcome == "clean" and helpers.max_severity is None and helpers.flagged
    arrays = exposure[("load.py", "acme/arrays")]  # no custom code to run: linked to nothing
    assert arrays.custom_code_files == () and not arrays.scanned


def test_revision_pinned_takes_only_models_loaded_with_a_pin(hub: Any, sqlite_url: str, tmp_path: Path) -> None:
    repos = [r for r in model_repos() if r.model_id in ("acme/custom", "acme/helpers", "acme/unpopular")]
    corpus = corpus_of(repos)
    server = hub(corpus)
    store = open_store(sqlite_url)
    store_models(store, corpus)
    add_call_sites(store, [("acme/custom", "a.py", 1, True, SHA1), ("acme/helpers", "b.py", 1, False, None),
                           ("acme/unpopular", "c.py", 1, True, SHA1)])
    summary = run(store, settings_for(server, tmp_path), revision_pinned=True, min_downloads=0)
    assert summary.models == 2
    assert {m for m, _ in snapshot_rows(store)} == {"acme/custom", "acme/unpopular"}


def test_snapshot_on_postgresql_matches(hub: Any, db_url: str, tmp_path: Path) -> None:
    repos = [r for r in model_repos() if r.model_id in ("acme/pickles", "acme/custom")]
    corpus = corpus_of(repos)
    server = hub(corpus)
    store = open_store(db_url)
    store_models(store, corpus)
    settings = settings_for(server, tmp_path)
    summary = run(store, settings)
    assert summary.verdicts == {"clean": 2, "suspicious": 1, "dangerous": 2, "inconclusive": 1, "skipped": 5}
    assert verdict_counts(store) == summary.verdicts
    assert run(store, settings).up_to_date == 2


# --- the command ----------------------------------------------------------------------------------------------


def cli_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """A group, so that ``snapshot`` is a subcommand as under ``ptmscope``."""

    app.command("snapshot")(snapshot_cli.snapshot)
    return app


def test_cli_reports_verdict_counts(hub: Any, sqlite_url: str, tmp_path: Path) -> None:
    repos = [r for r in model_repos() if r.model_id in ("acme/arrays", "acme/unpopular")]
    corpus = corpus_of(repos)
    server = hub(corpus)
    store = open_store(sqlite_url)
    store_models(store, corpus)
    settings = Settings(data_dir=tmp_path / "data", db_url=sqlite_url, hf_endpoint=server.url, http=FAST)
    runner = CliRunner()
    state = AppState(settings=settings, quiet=True)
    result = runner.invoke(cli_app(), ["snapshot", "--max-file-size", "4KiB", "--code-scanners", "bandit",
                                       "--format", "json"], obj=state)
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    assert document["verdicts"] == {"clean": 4, "dangerous": 2}
    assert document["snapshotted"] == 1 and document["models"] == 1

    table = runner.invoke(cli_app(), ["snapshot", "--min-downloads", "0", "--deny", "*.pkl",
                                      "--code-scanners", "bandit", "--scan-workers", "1"], obj=state)
    assert table.exit_code == 0, table.output
    assert "1 up to date" in table.stdout and "dangerous" in table.stdout
    assert snapshot_rows(store)[("acme/unpopular", "model.pkl")].reason == "denied by pattern '*.pkl'"

    bad = runner.invoke(cli_app(), ["snapshot", "--max-file-size", "lots"], obj=state)
    # A usage error, which ptmscope's entry point prints as one line with exit status 2.
    assert isinstance(bad.exception, UsageError) and bad.exception.exit_code == 2
    assert "--max-file-size: not a size: 'lots'" in str(bad.exception)


def test_missing_verdicts_are_rescanned_from_the_store_without_the_network(hub: Any, sqlite_url: str,
                                                                            tmp_path: Path) -> None:
    repos = [r for r in model_repos() if r.model_id in ("acme/torch", "acme/custom")]
    corpus = corpus_of(repos)
    server = hub(corpus)
    store = open_store(sqlite_url)
    store_models(store, corpus)
    settings = settings_for(server, tmp_path)
    run(store, settings)
    before = {key: (row.outcome, row.scanner_version) for key, row in verdicts(store).items()}
    with store.engine.begin() as conn:  # as after a scanner upgrade: no verdict at the current version
        conn.execute(schema.model_file_verdict.delete())
    server.clear_log()
    again = run(store, settings)
    assert again.up_to_date == 2 and again.contents_scanned == len(before) and server.log == []
    assert {key: (row.outcome, row.scanner_version) for key, row in verdicts(store).items()} == before


def test_a_model_that_cannot_be_listed_is_recorded_and_retried(hub: Any, sqlite_url: str, tmp_path: Path) -> None:
    repos = [r for r in model_repos() if r.model_id in ("acme/torch", "acme/helpers")]
    corpus = corpus_of(repos)
    server = hub(corpus)
    store = open_store(sqlite_url)
    store_models(store, corpus)
    with store.engine.begin() as conn:  # a commit the Hub does not know (force-pushed away)
        conn.execute(schema.model.update().where(schema.model.c.model_id == "acme/helpers").values(sha=SHA2))
    settings = settings_for(server, tmp_path)
    summary = run(store, settings)
    assert (summary.snapshotted, summary.failed_models) == (1, 1)
    assert summary.problems[0][0] == "acme/helpers" and "RevisionNotFound" in summary.problems[0][1]
    assert {m for m, _ in snapshot_rows(store)} == {"acme/torch"}

    store_models(store, corpus)  # the next collect records the commit the Hub has
    again = run(store, settings)
    assert (again.snapshotted, again.up_to_date, again.failed_models) == (1, 1, 0)
