"""Collecting GitHub repositories into the store: metadata, forks, search results, issues, commits.

Every selector is idempotent and resumable:
- listings (``--org``, ``--forks``, ``--search``) are cheap to repeat and upsert what they return;
- repositories asked for one by one (``--from-links``, and the repositories ``--with-issues`` covers)
  are those never fetched or whose last fetch failed, so a re-run after a kill continues where it
  stopped; ``--refresh`` asks again for all of them with the stored ETag, and GitHub answers an
  unchanged one with a 304 that costs no quota;
- issues and pull requests are read least recently updated first from the newest ``updated_at``
  stored, and a commit history is read again only when the repository's ``pushed_at`` moved.

A repository that cannot be fetched is recorded as a failure of the run (and marked ``failed``, so
the next run retries it); only what no other repository could get past either (bad credentials, a
spent rate limit, an unreachable API) stops the run.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from .. import __version__
from ..errors import UsageError
from ..store import Store
from ..store import repositories as repos
from .api import (
    CommitRecord,
    GitHubAuthError,
    GitHubClient,
    GitHubRateLimitError,
    GitHubUnreachableError,
    IssueRecord,
    RepoRecord,
    RepoResult,
)

log = logging.getLogger(__name__)

STAGE = "collect.github"
ORG = "hf_org"
ORG_FORK = "hf_org_fork"
SEARCH = "github_search"
DOWNSTREAM = "downstream"
BATCH = 100  # rows per transaction: one API page
Progress = Callable[[int], None]
Emit = Callable[[Callable[[], None]], None]
J = TypeVar("J")
_FATAL = (GitHubAuthError, GitHubRateLimitError, GitHubUnreachableError)


@dataclass
class GitHubSummary:
    run_id: int
    source: str
    listed: int = 0
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    renamed: int = 0
    merged: int = 0
    not_found: int = 0
    failed: int = 0
    issues: int = 0
    commits: int = 0
    complete: bool = False

    def counts(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("listed", "fetched", "new", "updated", "unchanged", "renamed",
                                              "merged", "not_found", "failed", "issues", "commits")}

    def line(self) -> str:
        return (f"{self.source}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.renamed} renamed, {self.not_found} not found, {self.failed} failed "
                f"({self.listed} listed, {self.fetched} fetched; {self.issues} issues/PRs, {self.commits} commits)")


class _StoppedError(Exception):
    """The writer stopped (a fatal error elsewhere): this worker's output is no longer wanted."""


@dataclass(frozen=True)
class _Finished:
    error: Exception | None


def _fan_in(pool: ThreadPoolExecutor, jobs: Sequence[J], work: Callable[[J, Emit], None], depth: int = 64) -> None:
    """Run ``work(job, emit)`` for every job on the pool; what workers ``emit`` (writes to the store)
    runs here, on the calling thread, in arrival order. The bounded queue between them keeps memory
    flat on listings of any size and gives the database a single writer. The first error a worker
    lets through stops the rest and is raised here."""
    outbox: queue.Queue[Callable[[], None] | _Finished] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Callable[[], None] | _Finished) -> None:
        while not stop.is_set():
            with suppress(queue.Full):
                outbox.put(item, timeout=0.1)
                return
        raise _StoppedError

    def run(job: J) -> None:
        try:
            work(job, put)
        except _StoppedError:
            return
        except Exception as exc:
            with suppress(_StoppedError):
                put(_Finished(exc))
            return
        with suppress(_StoppedError):
            put(_Finished(None))

    futures = [pool.submit(run, job) for job in jobs]
    remaining = len(futures)
    try:
        while remaining:
            item = outbox.get()
            if isinstance(item, _Finished):
                remaining -= 1
                if item.error is not None:
                    raise item.error
            else:
                item()
    finally:
        stop.set()
        for future in futures:
            future.cancel()


def _batches(items: Iterable[J], size: int = BATCH) -> Iterable[list[J]]:
    batch: list[J] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


class _Collection:
    """One run: workers ask GitHub, this object's ``_write_*`` methods (on the calling thread) store."""

    def __init__(self, store: Store, client: GitHubClient, summary: GitHubSummary, progress: Progress | None) -> None:
        self.store = store
        self.client = client
        self.summary = summary
        self.progress = progress or (lambda _n: None)

    # -- listings -----------------------------------------------------------------------------------

    def _write_listed(self, records: Sequence[RepoRecord], perspective: str) -> None:
        tally: Counter[str] = Counter()
        with self.store.engine.begin() as conn:
            repos.upsert_repositories(conn, records, perspective, tally=tally)
        self.summary.listed += len(records)
        self.summary.new += tally["new"]
        self.summary.updated += tally["updated"]
        self.summary.renamed += tally["renamed"]
        self.summary.merged += tally["merged"]
        self.progress(len(records))

    def listing(self, records: Iterable[RepoRecord], perspective: str) -> list[RepoRecord]:
        """Store a listing as it is read; returns what it listed, without the raw payloads."""
        listed: list[RepoRecord] = []
        for batch in _batches(records):
            self._write_listed(batch, perspective)
            listed.extend(RepoRecord(r.owner, r.name, r.github_id, {}, forks=r.forks) for r in batch)
        return listed

    def forks(self, pool: ThreadPoolExecutor, parents: Sequence[RepoRecord], *, recursive: bool) -> None:
        def work(parent: RepoRecord, emit: Emit) -> None:
            try:
                for batch in _batches(self.client.forks(parent.owner, parent.name, recursive=recursive)):
                    emit(partial(self._write_listed, batch, ORG_FORK))
            except _FATAL:
                raise
            except Exception as exc:
                emit(partial(self._fail, f"{parent.full_name} (forks)", exc))

        _fan_in(pool, [p for p in parents if p.forks], work)

    # -- one repository at a time -------------------------------------------------------------------

    def fetch(self, pool: ThreadPoolExecutor, targets: Sequence[repos.StoredRepo]) -> None:
        def work(stored: repos.StoredRepo, emit: Emit) -> None:
            try:
                result = self.client.repo(stored.owner, stored.name, etag=stored.etag)
            except _FATAL:
                raise
            except Exception as exc:
                emit(partial(self._fail, stored.full_name, exc, pk=stored.pk))
                return
            emit(partial(self._write_fetched, stored, result))

        _fan_in(pool, targets, work)

    def _write_fetched(self, stored: repos.StoredRepo, result: RepoResult) -> None:
        self.summary.fetched += 1
        with self.store.engine.begin() as conn:
            if result.status == "ok":
                tally: Counter[str] = Counter()
                repos.upsert_repositories(conn, [result], None, tally=tally)
                self.summary.renamed += tally["renamed"]
                self.summary.merged += tally["merged"]
                if stored.status in (None, "pending"):
                    self.summary.new += 1
                else:
                    self.summary.updated += 1
            elif result.status == "unchanged":
                if stored.status != "ok":
                    repos.mark_status(conn, stored.pk, "ok")
                self.summary.unchanged += 1
            else:
                log.info("%s: %s", stored.full_name, result.reason)
                repos.mark_status(conn, stored.pk, "not_found")
                self.summary.not_found += 1
        self.progress(1)

    def _fail(self, item: str, exc: Exception, *, pk: int | None = None) -> None:
        log.warning("%s: %s", item, _reason(exc))
        if pk is not None:
            with self.store.engine.begin() as conn:
                repos.mark_status(conn, pk, "failed")
        self.store.record_failure(self.summary.run_id, STAGE, item, _reason(exc))
        self.summary.failed += 1
        self.progress(1)

    # -- issues, pull requests, commits -------------------------------------------------------------

    def activity(self, pool: ThreadPoolExecutor, targets: Sequence[repos.StoredRepo]) -> None:
        with self.store.engine.connect() as conn:
            issues_since = repos.issue_watermarks(conn, [t.pk for t in targets])
            commits_at = repos.commit_watermarks(conn)

        def work(stored: repos.StoredRepo, emit: Emit) -> None:
            pushed = stored.pushed_at.isoformat() if stored.pushed_at else None
            try:
                for issues in _batches(self.client.issues(stored.owner, stored.name, issues_since.get(stored.pk))):
                    emit(partial(self._write_issues, stored.pk, issues))
                if pushed is None or commits_at.get(stored.pk) != pushed:
                    for commits in _batches(self.client.commits(stored.owner, stored.name)):
                        emit(partial(self._write_commits, stored.pk, commits))
                    emit(partial(self.store.save_crawl_state, f"{repos.COMMITS_STATE}{stored.pk}",
                                 watermark=pushed, run_id=self.summary.run_id))
            except _FATAL:
                raise
            except Exception as exc:
                emit(partial(self._fail, f"{stored.full_name} (issues/commits)", exc))

        _fan_in(pool, targets, work)

    def _write_issues(self, pk: int, issues: Sequence[IssueRecord]) -> None:
        with self.store.engine.begin() as conn:
            repos.upsert_issues(conn, pk, issues)
        self.summary.issues += len(issues)

    def _write_commits(self, pk: int, commits: Sequence[CommitRecord]) -> None:
        with self.store.engine.begin() as conn:
            repos.upsert_commits(conn, pk, commits)
        self.summary.commits += len(commits)


def _source_key(*, from_links: bool, org: str | None, forks: bool, search: str | None, with_issues: bool,
                issues_of: str) -> str:
    parts = ["links"] if from_links else []
    if org:
        parts.append(f"org={org}" + ("+forks" if forks else ""))
    if search:
        parts.append(f"search={search}")
    if with_issues:
        parts.append(f"issues={issues_of}")
    return ("github:" + ",".join(parts))[:255]



def collect_github(store: Store, client: GitHubClient, *, from_links: bool = False, org: str | None = None,
                   forks: bool = False, recursive_forks: bool = False, search: str | None = None,
                   with_issues: bool = False, issues_of: str = DOWNSTREAM, refresh: bool = False,
                   workers: int = 8, progress: Progress | None = None) -> GitHubSummary:
    """Collect what the selectors ask for (see the module docstring); returns the run's counts.

    Perspectives: ``from_links`` keeps those the link stage recorded; ``org`` adds ``hf_org`` and
    its forks ``hf_org_fork`` (``recursive_forks``: forks of forks too); ``search`` adds
    ``github_search``. ``with_issues`` collects issues, pull requests and commits of the
    repositories of perspective ``issues_of`` (``"all"``: every repository in the store), fetching
    their metadata first where it is missing.
    """
    if not (from_links or org or search or with_issues):
        raise UsageError("nothing to collect: choose --from-links, --org ORG, --search QUERY or --with-issues")
    if (forks or recursive_forks) and not org:
        raise UsageError("--forks needs --org")
    forks = forks or recursive_forks
    source = _source_key(from_links=from_links, org=org, forks=forks, search=search, with_issues=with_issues,
                         issues_of=issues_of)
    store.interrupt_stale_runs(source)
    params = {"from_links": from_links, "org": org, "forks": forks, "recursive_forks": recursive_forks,
              "search": search, "with_issues": with_issues, "issues_of": issues_of, "refresh": refresh,
              "api": client.api, "authenticated": client.authenticated}
    run_id = store.start_run("collect", source, params=params, versions={"ptmscope": __version__})
    summary = GitHubSummary(run_id=run_id, source=source)
    job = _Collection(store, client, summary, progress)
    everything = issues_of == "all"
    issue_scope = () if everything else (issues_of,)
    with store.recording(run_id, summary.counts):
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="github") as pool:
            if org:
                listed = job.listing(client.org_repos(org), ORG)
                if forks:
                    job.forks(pool, listed, recursive=recursive_forks)
            if search:
                job.listing(client.search_repos(search), SEARCH)
            with store.engine.connect() as conn:
                targets = {s.pk: s for s in repos.pending_repositories(
                    conn, linked=True, perspectives=repos.LINK_PERSPECTIVES, refresh=refresh)} if from_links else {}
                if with_issues:
                    targets.update((s.pk, s) for s in repos.pending_repositories(
                        conn, perspectives=issue_scope, everything=everything, refresh=refresh))
            job.fetch(pool, sorted(targets.values(), key=lambda s: s.pk))
            if with_issues:
                with store.engine.connect() as conn:
                    fetched = repos.fetched_repositories(conn, perspectives=issue_scope, everything=everything)
                job.activity(pool, fetched)
        summary.complete = True
    return summary
