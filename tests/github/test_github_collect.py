"""``collect github`` into the store (SQLite and PostgreSQL) against the emulated API serving the real
recorded bodies: fields, perspectives, renames, refreshes, issues and commits, failures, rate limits."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import typer
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from ptmscope.cli.github import github
from ptmscope.config import HttpSettings
from ptmscope.errors import UsageError
from ptmscope.github.api import GitHubRateLimitError, RepoRecord, RepoResult
from ptmscope.github.collect import collect_github
from ptmscope.replay import FaultPlan
from ptmscope.replay.github import GitHubCorpus, synthetic_repo
from ptmscope.store import Store, open_store, schema
from ptmscope.store.repositories import upsert_repositories
from tests.conftest import shared_path
from tests.github.github_replay import (
    FAST,
    TOKEN,
    FakeClock,
    client_for,
    commit,
    fixture_corpus,
    issue,
    link_pending,
    serving,
)

pytestmark = pytest.mark.shared
R = schema.repository


def rows(store: Store) -> dict[str, dict[str, Any]]:
    with store.engine.connect() as conn:
        return {row["full_name_lower"]: dict(row) for row in conn.execute(select(R)).mappings()}


def perspectives(store: Store) -> Counter[str]:
    with store.engine.connect() as conn:
        found = conn.execute(select(schema.repo_source.c.perspective, func.count())
                             .group_by(schema.repo_source.c.perspective)).all()
    return Counter(dict(found))  # type: ignore[arg-type]


def aliases(store: Store) -> dict[str, tuple[str, str]]:
    a = schema.repo_alias
    with store.engine.connect() as conn:
        return {old: (name, evidence) for old, name, evidence in conn.execute(
            select(a.c.old_name_lower, R.c.full_name_lower, a.c.evidence).join(R, R.c.id == a.c.repository))}


def failures(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [(r.item, r.reason) for r in conn.execute(select(schema.failure))]


# --- fields round-trip ------------------------------------------------------------------------------------


def test_recorded_repositories_round_trip_into_the_store(db_url: str) -> None:
    corpus = fixture_corpus()
    store = open_store(db_url)
    # Link found twbs/bootstrap and its former name; of padima2/protoncoin, only the former name.
    linked = [name for name in corpus.repos if name != "padima2/protoncoin"]
    pks = link_pending(store, [*linked, "twitter/bootstrap", "protoncoin/protoncoin", "jacquev6/Xxx"])
    with serving(corpus) as server, client_for(server) as client:
        summary = collect_github(store, client, from_links=True)
    assert summary.complete and summary.failed == 0 and summary.not_found == 1
    assert summary.fetched == len(linked) + 3 and summary.renamed == 1 and summary.merged == 1

    stored = rows(store)
    for full_name, raw in corpus.repos.items():
        row = stored[full_name.lower()]
        assert (row["owner"], row["name"], row["github_id"], row["status"]) == (*full_name.split("/"), raw["id"], "ok")
        assert row["raw"] == raw and row["etag"].startswith('W/"') and row["fetched_at"] is not None
        record = RepoRecord.from_api(raw)
        for column in ("url", "description", "homepage", "language", "stars", "forks", "watchers", "subscribers",
                       "open_issues", "size_kb", "license_raw", "default_branch", "fork_parent", "is_fork",
                       "archived", "created_at", "updated_at", "pushed_at"):
            assert row[column] == getattr(record, column), (full_name, column)
        assert row["topics"] == (list(raw["topics"]) if "topics" in raw else None)
    pygithub = stored["pygithub/pygithub"]
    assert pygithub["stars"] == 7701 and pygithub["subscribers"] == 110 and pygithub["license_raw"] == "LGPL-3.0"
    assert pygithub["created_at"] == datetime(2012, 2, 25, 12, 53, 47, tzinfo=UTC)
    assert stored["enricomi/pygithub"]["fork_parent"] == "PyGithub/PyGithub"

    # twitter/bootstrap answered 301 to twbs/bootstrap, which link had found too: one row, both names.
    assert "twitter/bootstrap" not in stored
    assert aliases(store) == {"twitter/bootstrap": ("twbs/bootstrap", "http_301"),
                              "protoncoin/protoncoin": ("padima2/protoncoin", "http_301")}
    # The pending row of the old name was renamed in place: its key, and so its links, survive.
    assert stored["padima2/protoncoin"]["id"] == pks["protoncoin/protoncoin"]
    assert stored["jacquev6/xxx"]["status"] == "not_found"
    # From links, the perspectives the link stage recorded are kept, and no others added.
    assert perspectives(store) == Counter({"model_card": len(stored)})


# --- refreshes ----------------------------------------------------------------------------------------------


def test_refresh_with_etags_costs_no_quota_and_changes_nothing(sqlite_url: str) -> None:
    corpus = fixture_corpus()
    store = open_store(sqlite_url)
    link_pending(store, corpus.repos)
    with serving(corpus) as server, client_for(server) as client:
        collect_github(store, client, from_links=True)
        before, quota = rows(store), corpus.quota("core")
        again = collect_github(store, client, from_links=True)
        assert again.fetched == 0  # without --refresh only what is still pending is asked for
        refreshed = collect_github(store, client, from_links=True, refresh=True)
        assert refreshed.unchanged == len(before) and refreshed.updated == 0
        assert corpus.quota("core") == quota and rows(store) == before

        corpus.update_repo("lra/mackup", {"stargazers_count": 99_999, "archived": True})
        corpus.remove_repo("nvie/gitflow")
        changed = collect_github(store, client, from_links=True, refresh=True)
    assert (changed.updated, changed.not_found, changed.unchanged) == (1, 1, len(before) - 2)
    assert corpus.quota("core") == quota - 2
    after = rows(store)
    assert after["lra/mackup"]["stars"] == 99_999 and after["lra/mackup"]["archived"] is True
    assert after["lra/mackup"]["etag"] != before["lra/mackup"]["etag"]
    # A deleted repository keeps its row and what was known of it, flagged.
    assert after["nvie/gitflow"]["status"] == "not_found" and after["nvie/gitflow"]["stars"] is not None
    touched = ("lra/mackup", "nvie/gitflow")
    assert {k: v for k, v in after.items() if k not in touched} == {k: v for k, v in before.items()
                                                                   if k not in touched}


def test_rename_keeps_the_row_and_its_links(db_url: str) -> None:
    corpus = GitHubCorpus([synthetic_repo("acme/tiny-bert", 7, datetime(2021, 5, 1, tzinfo=UTC), organization=True,
                                          stargazers_count=5)])
    store = open_store(db_url)
    pk = link_pending(store, ["acme/tiny-bert"])["acme/tiny-bert"]
    with store.engine.begin() as conn:
        conn.execute(insert(schema.link).values(repository=pk, kind="code", evidence="README line 3"))
    with serving(corpus) as server, client_for(server) as client:
        collect_github(store, client, from_links=True)
        corpus.rename_repo("acme/tiny-bert", "acme-labs/tiny-bert")
        summary = collect_github(store, client, from_links=True, refresh=True)
        assert summary.renamed == 1
        stored = rows(store)
        assert list(stored) == ["acme-labs/tiny-bert"] and stored["acme-labs/tiny-bert"]["id"] == pk
        assert aliases(store) == {"acme/tiny-bert": ("acme-labs/tiny-bert", "http_301")}
        # A listing under the newest name finds the row by its GitHub id.
        corpus.rename_repo("acme-labs/tiny-bert", "acme-labs/tiny-bert-v2")
        collect_github(store, client, org="acme-labs")
    stored = rows(store)
    assert list(stored) == ["acme-labs/tiny-bert-v2"] and stored["acme-labs/tiny-bert-v2"]["id"] == pk
    assert aliases(store)["acme-labs/tiny-bert"] == ("acme-labs/tiny-bert-v2", "github_id")
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.link.c.repository)).scalars().all() == [pk]
    assert perspectives(store) == Counter({"model_card": 1, "hf_org": 1})


def test_merging_two_rows_of_one_repository_moves_links_and_perspectives(db_url: str) -> None:
    store = open_store(db_url)
    old = link_pending(store, ["old-owner/thing"], perspective="paper")["old-owner/thing"]
    new = link_pending(store, ["new-owner/thing"], perspective="model_card")["new-owner/thing"]
    with store.engine.begin() as conn:
        conn.execute(insert(schema.link).values(repository=old, kind="code", evidence="paper abstract"))
        conn.execute(insert(schema.repo_source).values(repository=old, perspective="model_card"))
        record = RepoRecord.from_api(synthetic_repo("new-owner/thing", 42, datetime(2020, 1, 1, tzinfo=UTC)))
        tally: Counter[str] = Counter()
        pks = upsert_repositories(conn, [RepoResult("old-owner/thing", "ok", record, etag='W/"x"',
                                                    moved_from="old-owner/thing")], None, tally=tally)
    assert pks == {"new-owner/thing": new} and tally == Counter({"merged": 1, "updated": 1})
    stored = rows(store)
    assert list(stored) == ["new-owner/thing"] and stored["new-owner/thing"]["etag"] == 'W/"x"'
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.link.c.repository)).scalars().all() == [new]
    assert perspectives(store) == Counter({"paper": 1, "model_card": 1})
    assert aliases(store) == {"old-owner/thing": ("new-owner/thing", "http_301")}


# --- organisation, forks, search ----------------------------------------------------------------------------------


def test_org_forks_and_search_record_their_perspectives(sqlite_url: str) -> None:
    corpus = fixture_corpus()
    store = open_store(sqlite_url)
    link_pending(store, ["EnricoMi/PyGithub"])
    with serving(corpus, per_page_max=10) as server, client_for(server) as client:
        collect_github(store, client, from_links=True)
        summary = collect_github(store, client, org="PyGithub", forks=True)
        searched = collect_github(store, client, search="github language:Python")
    pygithub = corpus.repo("PyGithub/PyGithub")
    assert pygithub is not None
    forks = corpus.forks_of(pygithub["id"])
    assert summary.listed == 1 + len(forks) and summary.new == len(forks)  # EnricoMi/PyGithub was there
    stored = rows(store)
    for fork in forks:
        row = stored[fork["full_name"].lower()]
        assert row["fork_parent"] == "PyGithub/PyGithub" and row["is_fork"] is True and row["status"] == "ok"
    # The fork listing did not erase what the single fetch had stored beyond it.
    enrico = stored["enricomi/pygithub"]
    assert enrico["subscribers"] is not None and enrico["etag"] is not None
    found = perspectives(store)
    assert found["hf_org"] == 1 and found["hf_org_fork"] == len(forks) and found["model_card"] == 1
    assert found["github_search"] == searched.listed > 30


def test_issues_prs_and_commits_of_downstream_repositories(db_url: str) -> None:
    template = orjson.loads(shared_path("fixtures", "github_api", "search_issues.json").read_bytes())["items"][0]
    commit_template = orjson.loads(
        shared_path("fixtures", "github_api", "repo_commits__PyGithub__PyGithub.json").read_bytes())[0]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    corpus = GitHubCorpus([synthetic_repo(f"dev{i}/app", 100 + i, base, pushed_at="2024-02-01T00:00:00Z")
                           for i in range(3)])
    corpus.add_issues("dev0/app", [issue(template, n, base + timedelta(days=n), pull=n % 2 == 0, merged=n == 4)
                                   for n in range(1, 6)])
    corpus.set_commits("dev0/app", [commit(commit_template, f"{n:040x}", base + timedelta(days=10 - n), "alice")
                                    for n in range(4)])
    store = open_store(db_url)
    link_pending(store, ["dev0/app", "dev1/app"], perspective="downstream")
    link_pending(store, ["dev2/app"], perspective="model_card")
    with serving(corpus, per_page_max=2) as server, client_for(server) as client:
        first = collect_github(store, client, with_issues=True)
        assert first.fetched == 2 and first.issues == 5 and first.commits == 4 + 1  # dev1: one synthetic commit
        ri, rc = schema.repo_issue, schema.repo_commit
        with store.engine.connect() as conn:
            kinds = dict(conn.execute(select(ri.c.number, ri.c.kind)).all())
            merged = conn.execute(select(ri.c.merged_at).where(ri.c.number == 4)).scalar()
            authors = set(conn.execute(select(rc.c.author)).scalars())
        assert kinds == {1: "issue", 2: "pull", 3: "issue", 4: "pull", 5: "issue"}
        assert merged == base + timedelta(days=4) and "alice" in authors
        assert "dev2/app" not in {k for k, v in rows(store).items() if v["status"] == "ok"}  # not downstream

        corpus.add_issues("dev0/app", [issue(template, 3, base + timedelta(days=30)),
                                       issue(template, 6, base + timedelta(days=31))])
        server.clear_log()
        second = collect_github(store, client, with_issues=True)
        asked = [e.target for e in server.log]
    assert second.issues == 3 and second.commits == 0  # from the newest stored update on; no new push
    assert any("/repos/dev0/app/issues" in t and "since=2024-01-06T00%3A00%3A00Z" in t for t in asked)
    assert not any("/commits" in t for t in asked)
    with store.engine.connect() as conn:
        updated = conn.execute(select(ri.c.updated_at).where(ri.c.number == 3)).scalar()
        assert updated == base + timedelta(days=30)
        assert conn.execute(select(func.count()).select_from(ri)).scalar() == 6


# --- failures, rate limits, credentials ----------------------------------------------------------------------------


def test_a_failing_repository_is_recorded_and_retried_by_the_next_run(sqlite_url: str) -> None:
    corpus = fixture_corpus()
    store = open_store(sqlite_url)
    link_pending(store, ["lra/mackup", "nvie/gitflow", "PyGithub/PyGithub"])
    broken = FaultPlan(rate=1.0, kinds=("500",), path_prefixes=("/repos/lra/mackup",))
    with serving(corpus, faults=broken) as server, client_for(server) as client:
        summary = collect_github(store, client, from_links=True, workers=2)
    assert summary.complete and summary.failed == 1 and summary.new == 2
    assert [item for item, _ in failures(store)] == ["lra/mackup"]
    assert "500" in failures(store)[0][1]
    assert rows(store)["lra/mackup"]["status"] == "failed"
    with serving(corpus) as server, client_for(server) as client:
        retry = collect_github(store, client, from_links=True)
    assert retry.fetched == 1 and retry.new == 0 and retry.updated == 1
    assert rows(store)["lra/mackup"]["status"] == "ok"


def test_a_spent_rate_limit_stops_the_run_and_the_next_run_continues(sqlite_url: str) -> None:
    clock = FakeClock()
    corpus = fixture_corpus(clock=clock.now)
    corpus.set_quota("core", 0, reset_in=3000)
    store = open_store(sqlite_url)
    link_pending(store, list(corpus.repos)[:25])
    patience = HttpSettings(timeout=10, max_retries=3, backoff_base=0.001, backoff_max=0.01, max_retry_after=60)
    with serving(corpus) as server, client_for(server, clock=clock, http=patience) as client:
        with pytest.raises(GitHubRateLimitError, match="run again later"):
            collect_github(store, client, from_links=True, workers=4)
        with store.engine.connect() as conn:
            run = conn.execute(select(schema.run)).mappings().one()
        # Not 25 failures: one run-level error, and every repository still pending for the next run.
        assert run["status"] == "failed" and "rate limit" in run["error"] and failures(store) == []
        assert {row["status"] for row in rows(store).values()} == {"pending"}
        clock.offset += 3000  # the reset passes
        summary = collect_github(store, client, from_links=True, workers=4)
    assert summary.fetched == 25 and summary.new == 25 and summary.complete


def test_token_never_reaches_the_store_or_the_logs(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    corpus = fixture_corpus(tokens=[TOKEN])
    store = open_store(sqlite_url)
    link_pending(store, ["PyGithub/PyGithub", "jacquev6/Xxx"])
    with serving(corpus) as server, client_for(server) as client:
        collect_github(store, client, from_links=True, org="BeaverSoftware")
    assert corpus.requests_by_auth["token"] > 0 and corpus.requests_by_auth["anonymous"] == 0
    assert TOKEN not in caplog.text
    with store.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                assert TOKEN not in repr(tuple(row)), table.name


def test_cli_command(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()
    app.command()(github)
    corpus = fixture_corpus(tokens=[TOKEN])
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(db)
    link_pending(store, ["PyGithub/PyGithub", "twitter/bootstrap"])
    monkeypatch.setenv("PTMSCOPE_DB", db)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("PTMSCOPE_HTTP_BACKOFF", str(FAST.backoff_base))
    with serving(corpus) as server:
        monkeypatch.setenv("PTMSCOPE_GITHUB_API", server.url)
        result = CliRunner().invoke(app, ["--from-links", "--org", "BeaverSoftware", "--forks"])
        assert result.exit_code == 0, result.output
        assert "github:links,org=BeaverSoftware+forks: 5 new" in result.output and "1 renamed" in result.output
        assert TOKEN not in result.output
        nothing = CliRunner().invoke(app, [])
        assert isinstance(nothing.exception, UsageError) and "--from-links" in str(nothing.exception)
        stray = CliRunner().invoke(app, ["--forks", "--search", "x"])
        assert isinstance(stray.exception, UsageError)
    assert perspectives(open_store(db)) == Counter({"model_card": 2, "hf_org": 3})
