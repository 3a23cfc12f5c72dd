"""The GitHub client against the emulated REST API serving the real recorded bodies of
``shared/fixtures/github_api`` (and generated ones where a recording cannot show the behaviour)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from ptmscope.config import HttpSettings
from ptmscope.errors import GitHubError
from ptmscope.github.api import (
    SEARCH_CAP,
    CommitRecord,
    GitHubAuthError,
    GitHubRateLimitError,
    IssueRecord,
    RepoRecord,
)
from ptmscope.replay import ReplayServer, Response
from ptmscope.replay.github import GitHubApp, GitHubCorpus, synthetic_repo, synthetic_repos
from tests.conftest import shared_path
from tests.github.github_replay import TOKEN, FakeClock, client_for, fixture_corpus, issue, serving

pytestmark = pytest.mark.shared


def recorded(name: str) -> Any:
    return orjson.loads(shared_path("fixtures", "github_api", name).read_bytes())


def targets(server: ReplayServer) -> list[str]:
    return [entry.target for entry in server.log]


# --- records ---------------------------------------------------------------------------------------------


def test_every_recorded_repository_parses_and_missing_fields_stay_unknown() -> None:
    directory = shared_path("fixtures", "github_api")
    for path in sorted(directory.glob("repo__*.json")):
        raw = orjson.loads(path.read_bytes())
        record = RepoRecord.from_api(raw)
        assert record.full_name == raw["full_name"] and record.github_id == raw["id"]
        stars = raw.get("stargazers_count", raw.get("watchers_count", raw["watchers"]))
        assert record.stars == stars and record.size_kb == raw["size"]
        assert record.forks == raw.get("forks_count", raw.get("forks"))
        assert record.subscribers == raw.get("subscribers_count")
        assert record.is_fork is raw["fork"]
        assert record.fork_parent == (raw["parent"]["full_name"] if raw["fork"] else None)
        assert record.created_at == datetime.fromisoformat(raw["created_at"])
        # Old recordings predate topics and license: unknown, not empty.
        assert ("topics" in record.present) == ("topics" in raw)
        assert ("license_raw" in record.present) == ("license" in raw)
        assert record.raw == raw
    pygithub = RepoRecord.from_api(recorded("repo__PyGithub__PyGithub.json"))
    assert pygithub.license_raw == "LGPL-3.0" and pygithub.topics == ("github", "github-api", "pygithub", "python")
    assert pygithub.homepage == "https://pygithub.readthedocs.io/" and pygithub.default_branch == "main"
    assert pygithub.watchers == 7701 and pygithub.subscribers == 110 and pygithub.archived is False
    listed = RepoRecord.from_api(recorded("search_repositories__page1.json")["items"][0])
    assert "subscribers" not in listed.present and "fork_parent" in listed.present  # not a fork: no parent
    # Before default_branch there was master_branch.
    assert RepoRecord.from_api({"full_name": "a/b", "master_branch": "master"}).default_branch == "master"


def test_issue_and_commit_records_from_recorded_bodies() -> None:
    raw_issue = recorded("search_issues.json")["items"][0]
    found = IssueRecord.from_api(raw_issue)
    assert (found.number, found.kind, found.author, found.labels) == (1347, "issue", "octocat", ("bug",))
    pull = IssueRecord.from_api({**raw_issue, "pull_request": {"merged_at": "2024-01-02T03:04:05Z"}})
    assert pull.kind == "pull" and pull.merged_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = CommitRecord.from_api(recorded("repo_commits__PyGithub__PyGithub.json")[0])
    assert first.author == "EnricoMi" and first.message == "Fixing lint errors in release branch"
    assert first.committed_at == datetime(2023, 8, 28, 18, 27, 45, tzinfo=UTC)


def test_fixture_corpus_turns_older_names_of_one_id_into_renames() -> None:
    corpus = fixture_corpus()
    ids = {name: record["id"] for name, record in corpus.repos.items()}
    # Newest recording wins: twitter/bootstrap (2013) is twbs/bootstrap (2025); the recorded 301 too.
    assert corpus.renames == {"twitter/bootstrap": ids["twbs/bootstrap"], "jacquev6/pygithub": ids["EnricoMi/PyGithub"],
                              "protoncoin/protoncoin": ids["padima2/protoncoin"]}
    assert len(corpus) == len(ids) == len(set(ids.values()))


# --- single repositories ------------------------------------------------------------------------------------


def test_etag_makes_a_refresh_free_and_a_change_visible() -> None:
    corpus = fixture_corpus()
    with serving(corpus) as server, client_for(server) as client:
        first = client.repo("PyGithub", "PyGithub")
        assert first.status == "ok" and first.etag and first.record is not None
        before = corpus.quota("core")
        again = client.repo("PyGithub", "PyGithub", etag=first.etag)
        assert again.status == "unchanged" and again.record is None
        assert corpus.quota("core") == before  # a 304 to an authenticated request is free
        corpus.update_repo("PyGithub/PyGithub", {"stargazers_count": 7702})
        changed = client.repo("PyGithub", "PyGithub", etag=first.etag)
        assert changed.status == "ok" and changed.record is not None and changed.record.stars == 7702
        assert changed.etag != first.etag and corpus.quota("core") == before - 1
        sent = [e for e in server.log if e.status == 304]
        assert len(sent) == 1


def test_renamed_repository_follows_301_and_reports_the_old_name() -> None:
    corpus = fixture_corpus()
    with serving(corpus) as server, client_for(server) as client:
        # The recorded 301 (protoncoin/protoncoin -> /repositories/112116543) and the recorded
        # twitter/bootstrap, which is twbs/bootstrap (same id) in a newer recording.
        moved = client.repo("protoncoin", "protoncoin")
        assert moved.status == "ok" and moved.moved_from == "protoncoin/protoncoin"
        assert moved.record is not None and moved.record.full_name == "padima2/protoncoin"
        assert moved.record.raw == recorded("repo_by_id_after_redirect.json")
        bootstrap = client.repo("twitter", "bootstrap")
        assert bootstrap.record is not None and bootstrap.record.full_name == "twbs/bootstrap"
        assert bootstrap.moved_from == "twitter/bootstrap"
        # Names differing only in case are the same repository, not a move.
        same = client.repo("pygithub", "pygithub")
        assert same.status == "ok" and same.moved_from is None
    statuses = [(e.target, e.status) for e in server.log]
    assert ("/repos/protoncoin/protoncoin", 301) in statuses and ("/repositories/112116543", 200) in statuses


def test_missing_blocked_and_malformed_names_are_not_found() -> None:
    corpus = fixture_corpus()
    corpus.block("lra/mackup")
    with serving(corpus) as server, client_for(server) as client:
        gone = client.repo("jacquev6", "Xxx")
        assert gone.status == "not_found" and gone.reason == "404 Not Found"  # the recorded 404 body
        blocked = client.repo("lra", "mackup")
        assert blocked.status == "not_found" and blocked.reason is not None and blocked.reason.startswith("451")
        assert client.repo("..", "etc").status == "not_found"
        assert client.repo("owner", "a/b").status == "not_found"
    assert len(server.log) == 2  # malformed names never reach the API


def test_bad_token_is_a_clear_error_that_never_shows_the_token() -> None:
    corpus = fixture_corpus(tokens=[TOKEN])
    with serving(corpus) as server:
        with client_for(server, token="ghp_wrong_value_12345") as client, pytest.raises(GitHubAuthError) as caught:
            client.repo("PyGithub", "PyGithub")
        message = str(caught.value)
        assert "GITHUB_TOKEN" in message and "Bad credentials" in message and "ghp_wrong" not in message
        assert caught.value.exit_code == 2
        with client_for(server) as client:
            assert client.repo("PyGithub", "PyGithub").status == "ok"
        with client_for(server, token=None) as client:  # anonymous requests are allowed, as on GitHub
            assert client.repo("PyGithub", "PyGithub").status == "ok"
    assert corpus.requests_by_auth == {"token": 1, "anonymous": 1}


def test_token_and_api_version_go_in_headers_and_never_into_logs(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[Mapping[str, str]] = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
                   base_url: str) -> Response:
            seen.append(dict(headers))
            return self.inner.handle(method, path, query, headers, base_url)

    caplog.set_level(logging.DEBUG)
    with ReplayServer(Spy(GitHubApp(fixture_corpus()))) as server, client_for(server) as client:
        assert client.repo("PyGithub", "PyGithub").status == "ok"
        assert len(list(client.forks("PyGithub", "PyGithub"))) > 1
    assert seen and all(h["authorization"] == f"Bearer {TOKEN}" for h in seen)
    assert all(h["x-github-api-version"] == "2022-11-28" and h["accept"] == "application/vnd.github+json"
               for h in seen)
    assert "/repos/PyGithub/PyGithub" in caplog.text and TOKEN not in caplog.text


# --- listings ----------------------------------------------------------------------------------------------


def test_fork_listing_follows_link_pages_and_fills_the_parent() -> None:
    corpus = fixture_corpus()
    pygithub = corpus.repo("PyGithub/PyGithub")
    assert pygithub is not None
    expected = {r["full_name"] for r in corpus.forks_of(pygithub["id"])}
    assert len(expected) > 20  # the recorded forks of PyGithub/PyGithub, and the one recorded fork listing
    with serving(corpus, per_page_max=10) as server, client_for(server) as client:
        forks = list(client.forks("PyGithub", "PyGithub"))
    assert {f.full_name for f in forks} == expected and len(forks) == len(expected)
    assert all(f.fork_parent == "PyGithub/PyGithub" and f.is_fork for f in forks)
    # Listings leave out what only GET /repos/{owner}/{repo} carries.
    assert all("subscribers" not in f.present and "parent" not in f.raw for f in forks)
    pages = [t for t in targets(server) if "/forks" in t]
    assert len(pages) == -(-len(expected) // 10) and "page=3" in pages[2]
    created = [f.created_at for f in forks]
    assert created == sorted(created, key=lambda c: c or datetime.min.replace(tzinfo=UTC))


def test_recursive_forks_walk_breadth_first_each_once() -> None:
    base = datetime(2020, 1, 1, tzinfo=UTC)
    root = synthetic_repo("acme/model", 1, base, organization=True, forks_count=3)
    level1 = [synthetic_repo(f"u{i}/model", 10 + i, base + timedelta(days=i + 1), parent=root,
                             forks_count=2 if i == 0 else 0) for i in range(3)]
    level2 = [synthetic_repo(f"v{i}/model", 20 + i, base + timedelta(days=10 + i), parent=level1[0],
                             forks_count=1 if i == 1 else 0) for i in range(2)]
    level3 = [synthetic_repo("w0/model", 30, base + timedelta(days=20), parent=level2[1])]
    corpus = GitHubCorpus([root, *level1, *level2, *level3])
    with serving(corpus, per_page_max=2) as server, client_for(server) as client:
        direct = [f.full_name for f in client.forks("acme", "model")]
        walked = list(client.forks("acme", "model", recursive=True))
    assert direct == ["u0/model", "u1/model", "u2/model"]
    assert [f.full_name for f in walked] == ["u0/model", "u1/model", "u2/model", "v0/model", "v1/model", "w0/model"]
    assert [f.fork_parent for f in walked] == ["acme/model"] * 3 + ["u0/model"] * 2 + ["v1/model"]
    # Forks without forks of their own are not asked for any.
    asked = {t.split("/forks")[0] for t in targets(server) if "/forks" in t}
    assert asked == {"/repos/acme/model", "/repos/u0/model", "/repos/v1/model"}


def test_organisation_repositories_and_user_fallback() -> None:
    corpus = fixture_corpus()
    with serving(corpus) as server, client_for(server) as client:
        beaver = sorted(r.full_name for r in client.org_repos("BeaverSoftware"))
        assert beaver == ["BeaverSoftware/FatherBeaver", "BeaverSoftware/TestPyGithub", "BeaverSoftware/test1"]
        # Not an organisation: its repositories are listed as a user's.
        assert [r.full_name for r in client.org_repos("lra")] == ["lra/mackup"]
    assert "/users/lra/repos?per_page=100&type=owner" in targets(server)


# --- search ------------------------------------------------------------------------------------------------


def test_search_follows_link_pages_of_recorded_results() -> None:
    corpus = fixture_corpus()
    # GitHub's language: matches any language of a repository; the emulation only the main one.
    page1 = {item["full_name"] for item in recorded("search_repositories__page1.json")["items"]
             if item["language"] == "Python"}
    with serving(corpus, per_page_max=30) as server, client_for(server) as client:
        found = list(client.search_repos("github language:Python"))
    names = {r.full_name for r in found}
    assert len(names) == len(found) > 30
    assert page1 - {"jacquev6/PyGithub"} <= names  # jacquev6/PyGithub is PyGithub/PyGithub now
    assert "PyGithub/PyGithub" in names and all(r.language == "Python" for r in found)
    searches = [t for t in targets(server) if t.startswith("/search/")]
    assert len(searches) == -(-len(found) // 30) and "page=2" in searches[1]
    assert all("created%3A" not in t for t in searches)  # under the cap: no slicing


def test_search_slices_by_creation_date_past_the_1000_cap() -> None:
    clock = FakeClock()
    # 2,500 repositories: 1,400 spread over nine years and a burst of 1,100 created within one day.
    spread = synthetic_repos(1400, seed=1)
    burst = synthetic_repos(1100, seed=2, start=datetime(2023, 3, 1, tzinfo=UTC), end=datetime(2023, 3, 2, tzinfo=UTC),
                            first_id=600_000_000)
    burst = [{**r, "full_name": r["full_name"].replace("project", "burst"),
              "name": r["name"].replace("project", "burst")} for r in burst]
    noise = [synthetic_repo(f"other/repo-{i}", 700_000_000 + i, datetime(2020, 1, 1, tzinfo=UTC)) for i in range(50)]
    corpus = GitHubCorpus([*spread, *burst, *noise], clock=clock.now)
    with serving(corpus) as server, client_for(server, clock=clock) as client:
        found = list(client.search_repos("huggingface"))
    ids = [r.github_id for r in found]
    assert len(ids) == len(set(ids)) == 2500
    assert set(ids) == {r["id"] for r in [*spread, *burst]}
    searches = [parse_qs(urlsplit(t).query) for t in targets(server) if t.startswith("/search/")]
    assert all(e.status == 200 for e in server.log)  # never a 422 for reading past the cap
    ranges = [q["q"][0].split("created:")[1].split("..") for q in searches if "created:" in q["q"][0]]
    spans = [datetime.fromisoformat(high) - datetime.fromisoformat(low) for low, high in ranges]
    assert min(spans) < timedelta(days=7)  # the burst forced narrow slices
    # The search quota (30 a minute) ran out on the way: the client waited for its reset.
    assert len(searches) > 30 and clock.sleeps
    assert len(searches) < 120


def test_search_under_the_cap_with_its_own_created_range_is_not_sliced() -> None:
    corpus = GitHubCorpus(synthetic_repos(40, seed=5))
    with serving(corpus) as server, client_for(server) as client:
        found = list(client.search_repos("huggingface created:2016-01-01..2019-12-31"))
    expected = [r for r in corpus.repos.values() if r["created_at"] < "2020"]
    assert {r.github_id for r in found} == {r["id"] for r in expected}
    assert len([t for t in targets(server) if t.startswith("/search/")]) == 1
    assert SEARCH_CAP == 1000


# --- rate limits and computing statistics ---------------------------------------------------------------------


def test_primary_rate_limit_403_waits_for_the_reset_then_continues() -> None:
    clock = FakeClock()
    corpus = fixture_corpus(clock=clock.now)
    corpus.set_quota("core", 0, reset_in=120)
    with serving(corpus) as server, client_for(server, clock=clock) as client:
        result = client.repo("PyGithub", "PyGithub")
    assert result.status == "ok"
    limited = [e for e in server.log if e.status == 403]
    assert len(limited) == 1 and len(clock.sleeps) == 1 and 115 <= clock.sleeps[0] <= 125
    assert corpus.quota("core") == 4999  # the window refilled at the reset


def test_rate_limit_beyond_the_allowed_wait_is_a_clear_error() -> None:
    corpus = fixture_corpus()
    corpus.set_quota("core", 0, reset_in=3000)
    patience = HttpSettings(timeout=10, max_retries=3, backoff_base=0.001, backoff_max=0.01, max_retry_after=60)
    with serving(corpus) as server, client_for(server, http=patience) as client, \
            pytest.raises(GitHubRateLimitError) as caught:
        client.repo("PyGithub", "PyGithub")
    assert "rate limit" in str(caught.value) and "run again later" in str(caught.value)
    assert caught.value.reset_at is not None and caught.value.reset_at > datetime.now(UTC) + timedelta(minutes=45)
    assert "api rate limit exceeded for" in str(caught.value).lower()  # the recorded message


def test_secondary_rate_limit_honours_retry_after() -> None:
    clock = FakeClock()
    corpus = fixture_corpus(clock=clock.now)
    corpus.throttle(2, retry_after="7")
    with serving(corpus) as server, client_for(server, clock=clock) as client:
        assert client.repo("PyGithub", "PyGithub").status == "ok"
    assert clock.sleeps == [7.0, 7.0]
    assert "abuse detection" in corpus.errors["secondary"]["message"]  # the recorded secondary-limit body
    assert [e.status for e in server.log] == [403, 403, 200]


def test_contributor_statistics_202_while_computing_then_200() -> None:
    corpus = fixture_corpus()
    with serving(corpus) as server, client_for(server) as client:
        stats = client.contributors_stats("PyGithub", "PyGithub")
        assert stats == recorded("repo_stats_contributors__PyGithub__PyGithub.json")
        assert [e.status for e in server.log] == [202, 200]
        corpus.set_contributor_stats("PyGithub/PyGithub", stats, pending=10)
        assert client.contributors_stats("PyGithub", "PyGithub") is None  # still computing after 5 tries
    assert [e.status for e in server.log][2:] == [202] * 5


# --- activity ---------------------------------------------------------------------------------------------------


def test_issues_mark_pull_requests_and_resume_from_since() -> None:
    template = recorded("search_issues.json")["items"][0]
    base = datetime(2024, 5, 1, tzinfo=UTC)
    corpus = fixture_corpus()
    corpus.add_issues("PyGithub/PyGithub", [issue(template, n, base + timedelta(hours=n), pull=n % 3 == 0,
                                                  merged=n % 6 == 0) for n in range(1, 8)])
    with serving(corpus, per_page_max=3) as server, client_for(server) as client:
        every = list(client.issues("PyGithub", "PyGithub"))
        later = list(client.issues("PyGithub", "PyGithub", since=base + timedelta(hours=5)))
        commits = list(client.commits("PyGithub", "PyGithub"))
        recent = list(client.commits("PyGithub", "PyGithub", since=commits[0].committed_at))
    assert [i.number for i in every] == list(range(1, 8))  # least recently updated first, closed ones too
    assert [i.kind for i in every].count("pull") == 2 and every[5].merged_at == base + timedelta(hours=6)
    assert [i.number for i in later] == [5, 6, 7]
    assert [c.sha for c in commits] == [c["sha"] for c in recorded("repo_commits__PyGithub__PyGithub.json")]
    assert [c.sha for c in recent] == [commits[0].sha]
    assert any("since=2024-05-01T05%3A00%3A00Z" in t for t in targets(server))


def test_pagination_never_sends_the_token_to_another_host() -> None:
    class Elsewhere:
        def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
                   base_url: str) -> Response:
            link = '<https://attacker.example/repos/a/b/forks?page=2>; rel="next"'
            return Response(200, {"Content-Type": "application/json", "Link": link}, b"[]")

    with ReplayServer(Elsewhere()) as server, client_for(server) as client, \
            pytest.raises(GitHubError, match="outside"):
        list(client.forks("a", "b"))
    assert len(server.log) == 1
