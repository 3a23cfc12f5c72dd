"""The ``ptmscope`` command as users run it: help, errors and exit codes, and the pipeline end to end.

Quick checks call ``ptmscope.cli.main.main(argv)`` in this process; whatever talks to a server or
must show what a user's terminal shows (tracebacks, stdout bytes) runs the real entry point in a
subprocess against a replay server started here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import typer
from sqlalchemy import MetaData, create_engine, select

import ptmscope
from ptmscope.cli.main import app, main
from ptmscope.replay import HubCorpus, HuggingFaceApp, ReplayServer, Response
from ptmscope.replay.corpus import synthetic_hub
from ptmscope.store import Store, open_store
from ptmscope.store.db import make_engine
from ptmscope.store.export import MODEL_FIELDS
from tests.clirun import logging_restored as _logging_restored
from tests.exports import read_csv, read_parquet

# DESIGN §6: outside checks rely on these names; they may gain company but never change.
CONTRACT_FIELDS = ("id", "author", "sha", "created_at", "last_modified", "downloads", "likes", "library_name",
                   "pipeline_tag", "tags", "license", "datasets", "languages", "base_models", "gated",
                   "github_repos", "deleted", "previous_ids")
TOKEN = "hf_test_secret_value"
# Settings a developer's shell may carry that would point a test at their own data or the real Hub.
USER_ENV = ("PTMSCOPE_DB", "PTMSCOPE_DATA_DIR", "HF_ENDPOINT", "HF_TOKEN", "GITHUB_TOKEN", "COLUMNS")


# --- running the CLI -------------------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str




@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """``cli(*argv)`` runs main() in this process and returns its exit status and output."""
    for name in USER_ENV:
        monkeypatch.delenv(name, raising=False)
    # An 80-column stderr, as in a pipe: long messages must still come out as one line.
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)  # the default store (./ptmscope-data) lands in the test's directory

    def run(*argv: str) -> Result:
        capsys.readouterr()
        with _logging_restored():
            try:
                main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            else:
                pytest.fail("main() returned instead of exiting with a status")
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in USER_ENV}
    env.update(HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", PTMSCOPE_HTTP_BACKOFF="0.001",
               COLUMNS="80", **extra)
    return env


def _argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "ptmscope.cli.main", *args]


def run_cli(*args: str, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[bytes]:
    """The real entry point in its own process (bytes, so stdout is checked exactly as written)."""
    return subprocess.run(_argv(*args), env=_env(**env), cwd=cwd, capture_output=True, timeout=timeout,
                          check=False)


def run_many(commands: Mapping[str, list[str]], *, cwd: Path) -> dict[str, subprocess.CompletedProcess[bytes]]:
    """Several independent CLI runs at once: interpreter start-up dominates each, so overlap them."""
    procs = {name: subprocess.Popen(_argv(*args), env=_env(), cwd=cwd, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE) for name, args in commands.items()}
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        done[name] = subprocess.CompletedProcess(commands[name], proc.returncode, out, err)
    return done


def assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert lines[0].lower().startswith("error"), err
    for needle in needles:
        assert needle in lines[0], err


# --- help and version ------------------------------------------------------------------------------------


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app, hidden ones too, found by walking the click tree."""
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(root, ())
    return paths


COMMAND_PATHS = _command_paths()


def test_the_walk_finds_every_documented_command() -> None:
    # Guards the walk itself: were it to find nothing, the help test below would pass vacuously.
    documented = {("db", "upgrade"), ("db", "current"), ("collect", "huggingface"), ("collect", "pytorch-hub"),
                  ("export", "models"), ("stats", "coverage"), ("replay", "serve"), ("demo",)}
    assert documented <= set(COMMAND_PATHS)


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "ptmscope")
def test_help_of_every_command_and_group(cli: Any, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.code == 0, result.err
    assert "Usage" in result.out
    assert result.err == ""


def test_version_from_the_real_entry_point(tmp_path: Path) -> None:
    done = run_cli("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    # The version printed is the one the installed distribution declares.
    assert done.stdout.decode() == f"ptmscope {version('ptmscope')}\n"
    assert ptmscope.__version__ == version("ptmscope")
    assert done.stderr == b""


# --- user mistakes -----------------------------------------------------------------------------------------


USAGE_ERRORS = {
    "unknown option": (["--no-such-option"], ["--no-such-option"]),
    "unknown option of a command": (["export", "models", "--no-such-option"], ["--no-such-option"]),
    "bad --format": (["export", "models", "--format", "xml"], ["--format", "xml"]),
    "bad stats --format": (["stats", "coverage", "--format", "yaml"], ["--format"]),
    "--limit 0": (["collect", "huggingface", "--limit", "0"], ["--limit"]),
    "--db not a URL": (["--db", "not-a-url", "stats", "coverage"], ["not a database URL"]),
    "--db of an unknown database": (["--db", "mysql://u@h/db", "stats", "coverage"], ["mysql"]),
    "replay serve with nothing to serve": (["replay", "serve"], ["nothing to serve"]),
    "replay serve with a fixtures dir without recordings": (["replay", "serve", "--fixtures", "."], ["model_info"]),
    "parquet to stdout": (["export", "models", "--format", "parquet"], ["--out"]),
    "unknown command": (["frobnicate"], ["frobnicate"]),
}


@pytest.mark.parametrize("case", USAGE_ERRORS, ids=str)
def test_user_mistakes_give_one_line_and_exit_2(cli: Any, case: str) -> None:
    argv, needles = USAGE_ERRORS[case]
    result = cli(*argv)
    assert result.code == 2, (result.out, result.err)
    assert_one_line_error(result.err, *needles)
    assert result.out == ""


def test_missing_pytorch_hub_catalogue_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    # Longer than the 80 columns of the captured terminal: the message must not be wrapped.
    missing = tmp_path / ("no-such-catalogue-" + "x" * 80)
    result = cli("collect", "pytorch-hub", "--source", str(missing))
    assert result.code == 2, result.err
    assert_one_line_error(result.err, str(missing))


def test_mistakes_in_a_real_process_show_no_traceback(tmp_path: Path) -> None:
    # One click-level and one ptmscope-level error through the real entry point, since a traceback
    # printed by the interpreter itself only shows up there.
    missing = str(tmp_path / "missing-catalogue")
    done = run_many({"option": ["--no-such-option"],
                     "source": ["--db", f"sqlite:///{tmp_path / 'x.db'}", "collect", "pytorch-hub",
                                "--source", missing]}, cwd=tmp_path)
    assert done["option"].returncode == 2
    assert_one_line_error(done["option"].stderr.decode(), "--no-such-option")
    assert done["source"].returncode == 2
    assert_one_line_error(done["source"].stderr.decode(), missing)


def _closed_port() -> socket.socket:
    # Bound but never listening: connections are refused, and no other process can take the port
    # while the test holds it.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def test_unreachable_hub_exits_3_quickly(tmp_path: Path) -> None:
    with _closed_port() as sock:
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
        started = time.monotonic()
        done = run_cli("--db", f"sqlite:///{tmp_path / 'x.db'}", "collect", "huggingface", "--endpoint", endpoint,
                       cwd=tmp_path, timeout=30)
        elapsed = time.monotonic() - started
    assert done.returncode == 3, done.stderr.decode()
    assert_one_line_error(done.stderr.decode(), endpoint)
    assert elapsed < 10


def test_store_that_cannot_be_opened_exits_4(cli: Any) -> None:
    with _closed_port() as sock:
        url = f"postgresql+psycopg://nobody@127.0.0.1:{sock.getsockname()[1]}/nothing"
        for argv in (["db", "current"], ["stats", "coverage"]):
            result = cli("--db", url, *argv)
            assert result.code == 4, (argv, result.err)
            assert_one_line_error(result.err, "127.0.0.1")


# --- db ------------------------------------------------------------------------------------------------------


def test_db_current_upgrade_current(cli: Any, db_url: str) -> None:
    head = Store(make_engine("sqlite://")).head_revision()  # the newest migration
    assert head
    empty = cli("--db", db_url, "db", "current")
    assert empty.code == 1, empty.err
    assert "none" in empty.out and head in empty.out
    assert empty.err == ""

    upgraded = cli("--db", db_url, "db", "upgrade")
    assert upgraded.code == 0, upgraded.err
    assert head in upgraded.out

    current = cli("--db", db_url, "db", "current")
    assert current.code == 0, current.err
    assert f"current: {head}" in current.out
    assert open_store(db_url, migrate=False).is_current()


def test_db_upgrade_to_an_unknown_revision(cli: Any, sqlite_url: str) -> None:
    result = cli("--db", sqlite_url, "db", "upgrade", "no-such-revision")
    assert result.code == 2
    assert_one_line_error(result.err, "no-such-revision")


# --- end to end against a replay server -------------------------------------------------------------------


@pytest.fixture
def hub() -> Iterator[tuple[HubCorpus, ReplayServer]]:
    # Clean records (no deliberately malformed ones) so the coverage counts below can be worked out
    # from the Hub's JSON with plain rules; small pages so that the crawl pages through the listing.
    corpus = synthetic_hub(90, seed=17, commits=True, malformed_rate=0.0)
    with ReplayServer(HuggingFaceApp(corpus, page_size_max=20)) as server:
        yield corpus, server




def _newest(corpus: HubCorpus, n: int) -> set[str]:
    """The ids a crawl limited to ``n`` must return: newest lastModified first, ties by id."""
    def key(item: tuple[str, dict[str, Any]]) -> tuple[float, str]:
        model_id, record = item
        stamp = record.get("lastModified")
        return (-datetime.fromisoformat(stamp).timestamp() if stamp else float("inf"), model_id)

    return {model_id for model_id, _ in sorted(corpus.models.items(), key=key)[:n]}


def _expected_coverage(records: list[dict[str, Any]], with_card: set[str]) -> dict[str, int]:
    """Table 5 counts worked out from the Hub JSON the server sent, independently of the collector."""
    def strings(value: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [v for v in values if isinstance(v, str) and v.strip()]

    def tagged(record: dict[str, Any], prefix: str) -> bool:
        return any(t.startswith(prefix) for t in record.get("tags") or [])

    counts = dict.fromkeys(("full_name", "content", "language", "datasets", "libraries", "license", "base_model",
                            "card", "pipeline_tag", "parameter_count"), 0)
    for r in records:
        card = r.get("cardData") if isinstance(r.get("cardData"), dict) else {}
        safetensors = r.get("safetensors")
        has = {
            "full_name": True,
            "language": bool(strings(card.get("language"))),
            "datasets": bool(strings(card.get("datasets"))) or tagged(r, "dataset:"),
            "libraries": bool(r.get("library_name")),
            "license": bool(strings(card.get("license"))) or tagged(r, "license:"),
            "base_model": bool(strings(card.get("base_model"))) or tagged(r, "base_model:"),
            "card": r["id"] in with_card,
            "pipeline_tag": bool(r.get("pipeline_tag")),
            "parameter_count": isinstance(safetensors, dict) and bool(safetensors.get("total")
                                                                      or safetensors.get("parameters")),
        }
        has["content"] = (has["card"] or bool(r.get("cardData")) or bool(r.get("model-index"))
                          or bool(card.get("model-index")) or has["datasets"])
        for key, present in has.items():
            counts[key] += present
    return counts


def test_collect_export_and_stats_end_to_end(hub: tuple[HubCorpus, ReplayServer], db_url: str,
                                             tmp_path: Path) -> None:
    corpus, server = hub
    collected = run_cli("--db", db_url, "-q", "collect", "huggingface", "--endpoint", server.url, "--limit", "50",
                        "--history", cwd=tmp_path)
    assert collected.returncode == 0, collected.stderr.decode()
    assert collected.stdout.decode().startswith("huggingface: 50 new, 0 updated, 0 deleted")

    out = {fmt: tmp_path / f"models.{fmt}" for fmt in ("jsonl", "csv", "parquet")}
    base = ["--db", db_url, "-q"]
    done = run_many({
        "jsonl": [*base, "export", "models", "--format", "jsonl"],
        "csv": [*base, "export", "models", "--format", "csv"],
        "jsonl_file": [*base, "export", "models", "--format", "jsonl", "--out", str(out["jsonl"])],
        "csv_file": [*base, "export", "models", "-f", "csv", "-o", str(out["csv"])],
        "parquet_file": [*base, "export", "models", "--format", "parquet", "--out", str(out["parquet"])],
        "stats": [*base, "stats", "coverage", "--format", "json"],
    }, cwd=tmp_path)
    for name, proc in done.items():
        assert proc.returncode == 0, (name, proc.stderr.decode())
    for fmt in ("jsonl", "csv", "parquet"):
        # --out writes the file and says so on stderr, keeping stdout free for data.
        assert done[f"{fmt}_file"].stdout == b""
        assert done[f"{fmt}_file"].stderr.decode().strip() == f"50 models written to {out[fmt]}"
    for fmt in ("jsonl", "csv"):
        assert done[fmt].stderr == b""  # with -q nothing but data: stdout can be piped as is
    # Standard output and --out carry the same bytes.
    assert done["jsonl"].stdout == out["jsonl"].read_bytes()
    assert done["csv"].stdout == out["csv"].read_bytes()

    from_jsonl = [json.loads(line) for line in done["jsonl"].stdout.decode().splitlines()]
    from_csv = read_csv(done["csv"].stdout, MODEL_FIELDS)
    from_parquet = read_parquet(out["parquet"])
    assert len(from_jsonl) == 50
    # The three formats agree row for row, in the same order.
    assert from_csv == from_jsonl
    assert from_parquet == from_jsonl
    for row in from_jsonl:
        assert set(CONTRACT_FIELDS) <= set(row), sorted(set(CONTRACT_FIELDS) - set(row))
        assert list(row)[:len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)  # contract fields first
    assert pq.read_schema(out["parquet"]).names[:len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)

    # --limit 50 took the 50 newest changes, and what was stored is what the server sent.
    ids = [row["id"] for row in from_jsonl]
    assert ids == sorted(ids)
    assert set(ids) == _newest(corpus, 50)
    for row in from_jsonl:
        raw = corpus.models[row["id"]]
        assert (row["sha"], row["downloads"], row["likes"]) == (raw["sha"], raw["downloads"], raw["likes"])
        assert row["tags"] == raw["tags"]
        assert row["deleted"] is False and row["previous_ids"] == []
        # --history stored every commit the server lists for the model.
        assert row["commit_count"] == len(corpus.commits_of(row["id"]))

    stats = json.loads(done["stats"].stdout)
    served = [corpus.models[i] for i in ids]
    with_card = {i for i in ids if corpus.file(i, "README.md") is not None}
    expected = _expected_coverage(served, with_card)
    assert stats["models"] == 50
    assert {r["metadata"]: r["models"] for r in stats["rows"]} == expected
    for r in stats["rows"]:
        assert r["percent"] == pytest.approx(100 * expected[r["metadata"]] / 50)
    # The corpus exercises both sides of most rows; all-or-nothing counts would prove little.
    assert sum(0 < n < 50 for n in expected.values()) >= 6


# --- HF_TOKEN ------------------------------------------------------------------------------------------------


class HeaderRecorder:
    """The Hub emulation, remembering the Authorization header of every request."""

    def __init__(self, inner: HuggingFaceApp) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               base_url: str) -> Response:
        with self._lock:
            self.seen.append((method, path, headers.get("authorization")))
        return self.inner.handle(method, path, query, headers, base_url)


def test_hf_token_is_sent_but_never_printed_or_stored(tmp_path: Path) -> None:
    recorder = HeaderRecorder(HuggingFaceApp(synthetic_hub(25, seed=5, commits=True)))
    db = tmp_path / "store.db"
    with ReplayServer(recorder) as server:
        done = run_cli("--db", f"sqlite:///{db}", "-vv", "collect", "huggingface", "--endpoint", server.url,
                       "--history", "--files", cwd=tmp_path, HF_TOKEN=TOKEN)
    assert done.returncode == 0, done.stderr.decode()[-2000:]

    # Every request carried the token: listing, cards, histories and per-model details alike.
    paths = {path for _, path, _ in recorder.seen}
    assert any("/resolve/" in p for p in paths) and any("/commits/" in p for p in paths)
    assert {auth for _, _, auth in recorder.seen} == {f"Bearer {TOKEN}"}

    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    # -vv logs request headers, so the test would notice a leak: the Authorization header is there,
    # redacted.
    assert "<redacted>" in "".join(stderr.split())
    for text in (stdout, stderr):
        assert TOKEN not in text
        # Rich wraps long log lines; a token broken across lines must not slip through either.
        assert TOKEN not in "".join(text.split())

    engine = create_engine(f"sqlite:///{db}")
    meta = MetaData()
    meta.reflect(engine)
    rows = 0
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                rows += 1
                assert TOKEN not in repr(tuple(row)), table.name
    engine.dispose()
    assert rows > 25  # the dump did see the models, their files and commits
    for path in tmp_path.glob("store.db*"):  # the database file and its WAL, byte for byte
        assert TOKEN.encode() not in path.read_bytes(), path
