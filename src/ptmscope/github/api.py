"""A small typed client for the parts of the GitHub REST API ptmscope collects.

It sits on :func:`ptmscope.http.make_client`, so retries, ``Retry-After`` and GitHub's primary and
secondary rate limits are handled below it, the same way as for every other source; what is left
here is GitHub's own protocol: ``Link`` pagination, conditional requests with ``ETag``, renamed
repositories answering 301, statistics answering 202 while GitHub computes them, and the search
API's 1,000-result cap, which :meth:`GitHubClient.search_repos` gets past by slicing on creation date.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any, Literal
from urllib.parse import quote

import httpx2

from ..config import Settings
from ..errors import GitHubError
from ..http import HttpStats, make_client
from ..timestamps import parse_timestamp

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
PER_PAGE = 100
SEARCH_CAP = 1000  # GitHub serves at most this many results of any one search
# Before the oldest public repository (mojombo/grit, 2007-10-29): the first slice covers them all.
SEARCH_EPOCH = datetime(2007, 10, 1, tzinfo=UTC)
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


class GitHubAuthError(GitHubError):
    """GitHub refused the credentials: a configuration problem, not a passing one."""

    exit_code = 2


class GitHubRateLimitError(GitHubError):
    """The quota is spent and its reset is further away than ptmscope is willing to wait."""

    def __init__(self, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class GitHubNotFoundError(GitHubError):
    """The repository (or organisation) a listing was asked for does not exist (any more)."""


class GitHubUnreachableError(GitHubError):
    """No answer at all from the API base URL (after the transport's retries)."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    # GitHub answers "" and null interchangeably for an unset description or homepage.
    return value if isinstance(value, str) and value else None


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _login(value: Any) -> str | None:
    return value.get("login") if isinstance(value, Mapping) and isinstance(value.get("login"), str) else None


def _license(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    spdx = value.get("spdx_id")
    if isinstance(spdx, str) and spdx and spdx != "NOASSERTION":
        return spdx
    key = value.get("key")  # "other" when GitHub recognised a license file but not the license
    return key if isinstance(key, str) else None


def _topics(value: Any) -> tuple[str, ...] | None:
    return tuple(t for t in value if isinstance(t, str)) if isinstance(value, list) else None


def _parent(value: Any) -> str | None:
    return value.get("full_name") if isinstance(value, Mapping) else None


# column -> (keys GitHub has used for it, newest first; converter). A column whose keys are all
# absent from a payload is not known from it: old recordings predate topics and license, and
# listings (forks, search, organisation repositories) leave out subscribers_count and parent.
_COLUMNS: dict[str, tuple[tuple[str, ...], Callable[[Any], Any]]] = {
    "url": (("html_url",), _text),
    "description": (("description",), _text),
    "homepage": (("homepage",), _text),
    "language": (("language",), _text),
    # Before stargazers_count (2012), "watchers" was the star count.
    "stars": (("stargazers_count", "watchers_count", "watchers"), _int),
    "forks": (("forks_count", "forks"), _int),
    # watchers_count is the legacy name of the star count; people watching are subscribers_count.
    "watchers": (("watchers_count", "watchers"), _int),
    "subscribers": (("subscribers_count",), _int),
    "open_issues": (("open_issues_count", "open_issues"), _int),
    "size_kb": (("size",), _int),
    "topics": (("topics",), _topics),
    "license_raw": (("license",), _license),
    "created_at": (("created_at",), parse_timestamp),
    "updated_at": (("updated_at",), parse_timestamp),
    "pushed_at": (("pushed_at",), parse_timestamp),
    "default_branch": (("default_branch", "master_branch"), _text),
    "fork_parent": (("parent",), _parent),
    "is_fork": (("fork",), lambda v: v if isinstance(v, bool) else None),
    "archived": (("archived",), lambda v: v if isinstance(v, bool) else None),
}


@dataclass(frozen=True, slots=True)
class RepoRecord:
    """One repository as GitHub describes it (seed Table 2), plus the payload it was built from.

    ``present`` names the columns the payload actually carried; the store leaves the others as they
    were, so a fork listing does not erase the subscriber count a full fetch stored earlier.
    """

    owner: str
    name: str
    github_id: int | None
    raw: dict[str, Any]
    present: frozenset[str] = frozenset()
    url: str | None = None
    description: str | None = None
    homepage: str | None = None
    language: str | None = None
    stars: int | None = None
    forks: int | None = None
    watchers: int | None = None
    subscribers: int | None = None
    open_issues: int | None = None
    size_kb: int | None = None
    topics: tuple[str, ...] | None = None
    license_raw: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    pushed_at: datetime | None = None
    default_branch: str | None = None
    fork_parent: str | None = None
    is_fork: bool | None = None
    archived: bool | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def full_name_lower(self) -> str:
        return self.full_name.lower()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RepoRecord:
        full_name = data.get("full_name")
        owner = _login(data.get("owner"))
        name = data.get("name")
        if isinstance(full_name, str) and "/" in full_name:
            owner_part, name_part = full_name.split("/", 1)
            owner, name = owner or owner_part, name if isinstance(name, str) and name else name_part
        if not owner or not isinstance(name, str) or not name:
            raise ValueError("a repository object needs full_name, or owner.login and name")
        values: dict[str, Any] = {}
        for column, (keys, convert) in _COLUMNS.items():
            key = next((k for k in keys if k in data), None)
            if key is not None:
                values[column] = convert(data[key])
        if values.get("is_fork") is False:
            values["fork_parent"] = None  # not a fork: known to have no parent, listed or not
        return cls(owner=owner, name=name, github_id=_int(data.get("id")), raw=dict(data),
                   present=frozenset(values), **values)

    def with_parent(self, parent: str) -> RepoRecord:
        """As listed among ``parent``'s forks: listings leave out the ``parent`` object itself."""
        return replace(self, fork_parent=parent, is_fork=True, present=self.present | {"fork_parent", "is_fork"})

    def columns(self) -> dict[str, Any]:
        """The repository columns this record knows (see ``present``)."""
        out = {column: getattr(self, column) for column in self.present}
        if "topics" in out and out["topics"] is not None:
            out["topics"] = list(out["topics"])
        return out


@dataclass(frozen=True, slots=True)
class RepoResult:
    """The answer to ``GET /repos/{owner}/{name}``.

    ``unchanged``: the stored ETag still matches (304, free of quota). ``moved_from``: GitHub
    answered 301 (renamed or transferred) and ``record`` is the repository under its new name.
    """

    requested: str
    status: Literal["ok", "unchanged", "not_found"]
    record: RepoRecord | None = None
    etag: str | None = None
    moved_from: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class IssueRecord:
    """An issue or pull request from the issues endpoint (pull requests carry ``pull_request``)."""

    number: int
    kind: Literal["issue", "pull"]
    title: str | None
    state: str | None
    author: str | None
    created_at: datetime | None
    updated_at: datetime | None
    closed_at: datetime | None
    merged_at: datetime | None
    comments: int | None
    labels: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> IssueRecord:
        number = _int(data.get("number"))
        if number is None:
            raise ValueError("an issue object needs a number")
        pull = data.get("pull_request")
        labels = data.get("labels")
        return cls(
            number=number,
            kind="pull" if pull is not None else "issue",
            title=_text(data.get("title")),
            state=_text(data.get("state")),
            author=_login(data.get("user")),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
            closed_at=parse_timestamp(data.get("closed_at")),
            merged_at=parse_timestamp(pull.get("merged_at")) if isinstance(pull, Mapping) else None,
            comments=_int(data.get("comments")),
            labels=tuple(str(_obj(label).get("name", label)) for label in labels) if isinstance(labels, list) else (),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class CommitRecord:
    sha: str
    author: str | None
    authored_at: datetime | None
    committer: str | None
    committed_at: datetime | None
    message: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CommitRecord:
        sha = data.get("sha")
        if not isinstance(sha, str) or not sha:
            raise ValueError("a commit object needs a sha")
        commit = _obj(data.get("commit"))
        git_author, git_committer = _obj(commit.get("author")), _obj(commit.get("committer"))
        # The GitHub account when the e-mail maps to one, else the name git recorded.
        return cls(
            sha=sha,
            author=_login(data.get("author")) or _text(git_author.get("name")),
            authored_at=parse_timestamp(git_author.get("date")),
            committer=_login(data.get("committer")) or _text(git_committer.get("name")),
            committed_at=parse_timestamp(git_committer.get("date")),
            message=commit.get("message") if isinstance(commit.get("message"), str) else None,
        )


def _message(response: httpx2.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase
    return str(data.get("message")) if isinstance(data, Mapping) and data.get("message") else response.reason_phrase


def _valid_name(part: str) -> bool:
    # ".." would climb out of /repos/ once the URL is normalised.
    return bool(_NAME.fullmatch(part)) and part not in (".", "..")


def _search_stamp(moment: datetime) -> str:
    # The search syntax takes a UTC offset, not "Z".
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class GitHubClient:
    """The GitHub REST API at ``settings.github_api``, authenticated with ``settings.github_token``
    when one is set (sent as a header only, never logged: see :func:`ptmscope.http.redact_headers`)."""

    def __init__(self, settings: Settings, stats: HttpStats | None = None, *,
                 sleep: Callable[[float], None] = time.sleep,
                 computing_attempts: int = 5, computing_delay: float = 3.0) -> None:
        self.api = settings.github_api.rstrip("/")
        self.stats = stats or HttpStats()
        self.authenticated = bool(settings.github_token)
        self._sleep = sleep
        self._computing_attempts = computing_attempts
        self._computing_delay = computing_delay
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if settings.github_token:
            headers["Authorization"] = f"Bearer {settings.github_token}"
        self._origin = httpx2.URL(self.api)
        self._http = make_client(settings, base_url=self.api, headers=headers, stats=self.stats, sleep=sleep)

    # -- plumbing -----------------------------------------------------------------------------------

    def _get(self, url: str, params: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None) -> httpx2.Response:
        try:
            response = self._http.get(url, params=params, headers=headers)
        except httpx2.TransportError as exc:
            raise GitHubUnreachableError(f"cannot reach the GitHub API at {self.api}: {exc}") from exc
        if response.status_code == 401:
            if self.authenticated:
                raise GitHubAuthError(f"GitHub rejected the token in GITHUB_TOKEN ({_message(response)}); "
                                      "set a valid token or unset it")
            raise GitHubAuthError(f"GitHub asks for credentials ({_message(response)}); set GITHUB_TOKEN")
        if response.status_code in (403, 429):
            self._raise_if_throttled(response)
        return response

    @staticmethod
    def _raise_if_throttled(response: httpx2.Response) -> None:
        """The transport already waited and retried where the wait was acceptable; what reaches here
        is a limit that outlasts it."""
        headers = response.headers
        message = _message(response)
        primary = headers.get("x-ratelimit-remaining") == "0"
        if not (response.status_code == 429 or primary or "retry-after" in headers
                or "rate limit" in message.lower() or "abuse" in message.lower()):
            return
        reset = headers.get("x-ratelimit-reset")
        reset_at = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
        when = f" until {reset_at:%Y-%m-%d %H:%M:%S} UTC" if reset_at else ""
        raise GitHubRateLimitError(f"GitHub rate limit reached{when} ({message}); run again later to continue",
                                   reset_at)

    def _check(self, response: httpx2.Response, what: str) -> Any:
        if response.status_code in (404, 451):
            raise GitHubNotFoundError(f"{what}: {response.status_code} {_message(response)}")
        if response.status_code != 200:
            raise GitHubError(f"{what}: {response.status_code} {_message(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise GitHubError(f"{what}: the answer is not JSON") from exc

    def _next(self, response: httpx2.Response) -> str | None:
        url = response.links.get("next", {}).get("url")
        if url is None:
            return None
        target = httpx2.URL(url)
        # The token travels with every request: never to a host other than the configured API.
        if (target.scheme, target.host, target.port) != (self._origin.scheme, self._origin.host, self._origin.port):
            raise GitHubError(f"GitHub pagination points outside {self.api}: {url}")
        return url

    def _pages(self, path: str, params: Mapping[str, Any], what: str,
               empty_on: frozenset[int] = frozenset()) -> Iterator[list[Any]]:
        """Each page of a list endpoint, fetched as the caller reads, following ``rel="next"``;
        a status in ``empty_on`` means there is nothing to list."""
        url: str | None = path
        query: Mapping[str, Any] | None = {"per_page": PER_PAGE, **params}
        while url is not None:
            response = self._get(url, query)
            if response.status_code in empty_on:
                log.info("%s: %d %s", what, response.status_code, _message(response))
                return
            page = self._check(response, what)
            if not isinstance(page, list):
                raise GitHubError(f"{what}: expected a JSON list")
            yield page
            url, query = self._next(response), None

    @staticmethod
    def _repo_path(owner: str, name: str) -> str:
        if not (_valid_name(owner) and _valid_name(name)):
            raise GitHubNotFoundError(f"{owner}/{name} is not a valid GitHub repository name")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    # -- repositories -------------------------------------------------------------------------------

    def repo(self, owner: str, name: str, etag: str | None = None) -> RepoResult:
        """Fetch one repository; with the ``etag`` stored from an earlier fetch, an unchanged one
        answers 304 and costs no quota."""
        requested = f"{owner}/{name}"
        try:
            path = self._repo_path(owner, name)
        except GitHubNotFoundError as exc:
            return RepoResult(requested, "not_found", reason=str(exc))
        response = self._get(path, headers={"If-None-Match": etag} if etag else None)
        if response.status_code == 304:
            return RepoResult(requested, "unchanged", etag=etag)
        if response.status_code in (404, 451):
            # 451: blocked for legal reasons (DMCA) or terms of service; as gone as a 404 for us.
            return RepoResult(requested, "not_found", reason=f"{response.status_code} {_message(response)}")
        data = self._check(response, f"repository {requested}")
        if not isinstance(data, Mapping):
            raise GitHubError(f"repository {requested}: expected a JSON object")
        record = RepoRecord.from_api(data)
        # The client followed a 301 to /repositories/{id}: the repository was renamed or transferred.
        moved = requested if response.history and record.full_name_lower != requested.lower() else None
        if moved:
            log.info("%s moved to %s", requested, record.full_name)
        return RepoResult(requested, "ok", record=record, etag=response.headers.get("etag"), moved_from=moved)

    def org_repos(self, org: str) -> Iterator[RepoRecord]:
        """Every repository of an organisation (or, when ``org`` is a user account, of that user)."""
        pages = self._pages(f"/orgs/{quote(org, safe='')}/repos", {"type": "all"}, f"organisation {org}")
        try:
            first = next(pages)
        except GitHubNotFoundError:
            pages = self._pages(f"/users/{quote(org, safe='')}/repos", {"type": "owner"}, f"account {org}")
            first = next(pages)
        for page in chain([first], pages):
            for item in page:
                yield RepoRecord.from_api(item)

    def forks(self, owner: str, name: str, recursive: bool = False) -> Iterator[RepoRecord]:
        """The forks of a repository, oldest first; ``recursive`` walks forks of forks breadth-first.

        Forks whose ``forks_count`` is 0 are not asked for theirs, and each repository is yielded
        once even if GitHub lists it again while the walk goes on.
        """
        root = f"{owner}/{name}"
        queue: deque[str] = deque([root])
        seen: set[int | str] = {root.lower()}
        while queue:
            parent = queue.popleft()
            parent_owner, parent_name = parent.split("/", 1)
            pages = self._pages(f"{self._repo_path(parent_owner, parent_name)}/forks", {"sort": "oldest"},
                                f"forks of {parent}")
            try:
                for page in pages:
                    for item in page:
                        record = RepoRecord.from_api(item).with_parent(parent)
                        key: int | str = record.github_id if record.github_id is not None else record.full_name_lower
                        if key in seen:
                            continue
                        seen.add(key)
                        yield record
                        if recursive and (record.forks or 0) > 0:
                            queue.append(record.full_name)
            except GitHubNotFoundError:
                if parent == root:
                    raise
                log.info("fork %s disappeared during the walk", parent)

    # -- search -------------------------------------------------------------------------------------

    def _search(self, query: str) -> httpx2.Response:
        response = self._get("/search/repositories", {"q": query, "per_page": PER_PAGE})
        data = self._check(response, f"search {query!r}")
        if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
            raise GitHubError(f"search {query!r}: expected total_count and items")
        if data.get("incomplete_results"):
            log.warning("GitHub timed out on part of search %r; its results may be incomplete", query)
        return response

    def _search_items(self, first: httpx2.Response, query: str) -> Iterator[Mapping[str, Any]]:
        response: httpx2.Response | None = first
        served = 0
        while response is not None:
            items = response.json()["items"]
            yield from items
            served += len(items)
            url = self._next(response)
            if url is None or served >= SEARCH_CAP:
                return
            response = self._get(url)
            self._check(response, f"search {query!r}")

    def _slices(self, query: str, first: httpx2.Response) -> Iterator[httpx2.Response]:
        """First pages of searches that each fit under the cap and together cover ``query``:
        ``created:`` ranges, halved (down to one second) while one still holds more than the cap."""
        total = first.json()["total_count"]
        if total <= SEARCH_CAP or "created:" in query:
            if total > SEARCH_CAP:
                log.warning("search %r has its own created: range and %d results; only the first %d can be read",
                            query, total, SEARCH_CAP)
            yield first
            return
        now = datetime.now(UTC).replace(microsecond=0)
        stack = [(SEARCH_EPOCH, now + timedelta(days=1))]
        while stack:
            low, high = stack.pop()
            response = self._search(f"{query} created:{_search_stamp(low)}..{_search_stamp(high)}")
            total = response.json()["total_count"]
            if total > SEARCH_CAP and high > low:
                middle = low + (high - low) // 2
                middle -= timedelta(microseconds=middle.microsecond)
                # Pushed in reverse so that slices are read oldest first.
                stack.append((middle + timedelta(seconds=1), high))
                stack.append((low, middle))
                continue
            if total > SEARCH_CAP:
                log.warning("%d repositories matching %r were created within one second; only %d can be read",
                            total, query, SEARCH_CAP)
            yield response

    def search_repos(self, query: str) -> Iterator[RepoRecord]:
        """Every repository matching a search query, past the 1,000-result cap, each once."""
        seen: set[int | str] = set()
        for first in self._slices(query, self._search(query)):
            for item in self._search_items(first, query):
                record = RepoRecord.from_api(item)
                key: int | str = record.github_id if record.github_id is not None else record.full_name_lower
                if key not in seen:
                    seen.add(key)
                    yield record

    # -- activity -----------------------------------------------------------------------------------

    def issues(self, owner: str, name: str, since: datetime | None = None) -> Iterator[IssueRecord]:
        """Issues and pull requests, least recently updated first, so that a crawl cut short can
        resume from the newest ``updated_at`` it stored."""
        params: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc"}
        if since is not None:
            params["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # 410: the repository has issues switched off.
        for page in self._pages(f"{self._repo_path(owner, name)}/issues", params, f"issues of {owner}/{name}",
                                empty_on=frozenset({410})):
            for item in page:
                yield IssueRecord.from_api(item)

    def commits(self, owner: str, name: str, since: datetime | None = None) -> Iterator[CommitRecord]:
        """Commits of the default branch, newest first."""
        params: dict[str, Any] = {}
        if since is not None:
            params["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # 409: the repository is empty.
        for page in self._pages(f"{self._repo_path(owner, name)}/commits", params, f"commits of {owner}/{name}",
                                empty_on=frozenset({409})):
            for item in page:
                yield CommitRecord.from_api(item)

    def contributors_stats(self, owner: str, name: str) -> list[dict[str, Any]] | None:
        """Per-contributor weekly statistics; None while GitHub is still computing them after a few
        tries (it answers 202 and computes in the background)."""
        path = f"{self._repo_path(owner, name)}/stats/contributors"
        for attempt in range(self._computing_attempts):
            response = self._get(path)
            if response.status_code != 202:
                data = self._check(response, f"contributor statistics of {owner}/{name}")
                if not isinstance(data, list):
                    raise GitHubError(f"contributor statistics of {owner}/{name}: expected a JSON list")
                return data
            if attempt + 1 < self._computing_attempts:
                self._sleep(self._computing_delay)
        log.info("GitHub is still computing statistics for %s/%s", owner, name)
        return None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
