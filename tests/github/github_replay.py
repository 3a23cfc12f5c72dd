"""Helpers shared by the GitHub tests: the emulated API on a replay server, a client for it, a fake clock."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from ptmscope.config import HttpSettings, Settings
from ptmscope.github.api import GitHubClient
from ptmscope.replay import FaultPlan, ReplayServer
from ptmscope.replay.github import GitHubApp, GitHubCorpus
from ptmscope.store import Store, schema
from tests.conftest import shared_path

FAST = HttpSettings(timeout=10, max_retries=3, backoff_base=0.001, backoff_max=0.01)
TOKEN = "ghp_TestOnly0123456789abcdefghijklmnopqrs"


class FakeClock:
    """The emulated API's time and the client's sleep: a wait returns at once but moves the clock, so
    a rate-limit window passes in no time and the wait is still observable."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


def fixture_corpus(**options: Any) -> GitHubCorpus:
    return GitHubCorpus.from_shared_fixtures(shared_path("fixtures", "github_api"), **options)


@contextmanager
def serving(corpus: GitHubCorpus, *, per_page_max: int = 100, faults: FaultPlan | None = None,
            ) -> Iterator[ReplayServer]:
    with ReplayServer(GitHubApp(corpus, per_page_max=per_page_max), faults=faults) as server:
        yield server


def client_for(server: ReplayServer, *, token: str | None = TOKEN, clock: FakeClock | None = None,
               http: HttpSettings = FAST) -> GitHubClient:
    settings = Settings(github_api=server.url, github_token=token, http=http)
    if clock is None:
        return GitHubClient(settings, computing_delay=0)
    return GitHubClient(settings, sleep=clock.sleep, computing_delay=0)


def link_pending(store: Store, names: Iterable[str], perspective: str = "model_card") -> dict[str, int]:
    """Repository rows as the link stage leaves them: a name, ``pending``, the perspective that found it."""
    pks = {}
    with store.engine.begin() as conn:
        for full_name in names:
            owner, name = full_name.split("/", 1)
            pk = conn.execute(insert(schema.repository).values(
                host="github.com", owner=owner, name=name, full_name_lower=full_name.lower(), status="pending",
            ).returning(schema.repository.c.id)).scalar_one()
            conn.execute(insert(schema.repo_source).values(repository=pk, perspective=perspective))
            pks[full_name] = pk
    return pks


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue(template: dict[str, Any], number: int, updated: datetime, *, pull: bool = False,
          merged: bool = False) -> dict[str, Any]:
    """A recorded issue object renumbered and redated; ``pull`` makes it a pull request as the
    issues endpoint lists one."""
    out = {**template, "number": number, "id": 10_000 + number, "title": f"Issue {number}",
           "created_at": stamp(updated - timedelta(days=3)), "updated_at": stamp(updated),
           "state": "closed" if merged else "open", "closed_at": stamp(updated) if merged else None}
    if pull:
        out["pull_request"] = {"url": f"https://api.github.com/repos/x/y/pulls/{number}",
                               "merged_at": stamp(updated) if merged else None}
    else:
        out.pop("pull_request", None)
    return out


def commit(template: dict[str, Any], sha: str, when: datetime, login: str) -> dict[str, Any]:
    person = {**template["commit"]["author"], "date": stamp(when)}
    return {**template, "sha": sha, "commit": {**template["commit"], "author": person, "committer": person},
            "author": {**(template.get("author") or {}), "login": login},
            "committer": {**(template.get("committer") or {}), "login": login}}
