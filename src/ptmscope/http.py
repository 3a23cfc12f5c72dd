"""The only code that talks HTTP.

Every client ptmscope uses (its own, and the one huggingface_hub shares between its calls) is an
``httpx2.Client`` whose transport is :class:`RetryTransport`: timeouts, retries with exponential
backoff and jitter, ``Retry-After`` (seconds or HTTP date), the Hub's IETF ``RateLimit`` header and
GitHub's ``X-RateLimit-*`` headers are handled in this one place, below every library.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2

from . import __version__
from .config import HttpSettings, Settings

log = logging.getLogger(__name__)

USER_AGENT = f"ptmscope/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
SECRET_HEADERS = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})

_HF_RATELIMIT = re.compile(r"\"?(?P<kind>\w+)\"?\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+)")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: credentials are replaced, never printed."""
    return {k: ("<redacted>" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def rate_limit_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds until the quota resets when the server says none is left, else None.

    Understands the Hub's ``RateLimit: "api";r=0;t=55`` and GitHub's ``X-RateLimit-Remaining: 0``
    with ``X-RateLimit-Reset`` (epoch seconds).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    hub = lower.get("ratelimit")
    if hub:
        match = _HF_RATELIMIT.search(hub)
        if match and int(match.group("r")) == 0:
            return float(match.group("t"))
    remaining = lower.get("x-ratelimit-remaining")
    reset = lower.get("x-ratelimit-reset")
    if remaining is not None and reset is not None:
        try:
            if int(remaining) == 0:
                current = time.time() if now is None else now
                return max(0.0, float(reset) - current)
        except ValueError:
            return None
    return None


@dataclass
class HttpStats:
    """Counters a run can print: how hard the remote side pushed back."""

    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, requests: int = 0, retries: int = 0, waited: float = 0.0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.waited_seconds += waited


class RetryTransport(httpx2.BaseTransport):
    """Retries transient failures below any client, so every library on top gets the same policy."""

    def __init__(
        self,
        policy: HttpSettings,
        inner: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stats: HttpStats | None = None,
        rng: random.Random | None = None,
        retry_methods: frozenset[str] = IDEMPOTENT_METHODS,
    ) -> None:
        self.policy = policy
        self.retry_methods = retry_methods
        self.inner = inner or httpx2.HTTPTransport()
        self.sleep = sleep
        self.stats = stats or HttpStats()
        self.rng = rng or random.Random()
        self._throttle_until = 0.0
        self._lock = threading.Lock()

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * (2**attempt))
        # Full jitter keeps many workers from retrying in lock-step after a shared outage.
        return self.rng.uniform(ceiling / 2, ceiling)

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.stats.add(waited=seconds)
        self.sleep(seconds)

    def _respect_throttle(self) -> None:
        with self._lock:
            delay = self._throttle_until - time.monotonic()
        if delay > self.policy.max_retry_after:
            # Too long to wait here: send the request anyway; the server's refusal, if it comes,
            # goes back to the caller as a rate-limit answer instead of an hour of silence.
            return
        if delay > 0:
            log.info("rate limit exhausted; waiting %.1fs before the next request", delay)
            self._wait(delay)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        retryable_method = request.method.upper() in self.retry_methods
        attempt = 0
        while True:
            self._respect_throttle()
            self.stats.add(requests=1)
            try:
                response = self.inner.handle_request(request)
            except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
                # A refused connection or an unknown host is usually a wrong URL or a server that
                # is down: retry briefly, and let the caller report it instead of waiting minutes.
                limit = min(2, self.policy.max_retries) if isinstance(exc, httpx2.ConnectError) else \
                    self.policy.max_retries
                if not retryable_method or attempt >= limit:
                    raise
                wait = self._backoff(attempt)
                log.debug("%s %s failed (%s); retry %d in %.2fs", request.method, request.url,
                          type(exc).__name__, attempt + 1, wait)
                attempt += 1
                self.stats.add(retries=1)
                self._wait(wait)
                continue

            quota_wait = rate_limit_wait(response.headers)
            if quota_wait is not None and response.status_code < 400:
                # The request succeeded but spent the last of the quota: hold the next one back.
                with self._lock:
                    self._throttle_until = max(self._throttle_until, time.monotonic() + quota_wait)

            # 403 is a refusal unless it is GitHub's primary limit (no quota left) or its
            # secondary limit, which says how long to back off in Retry-After.
            throttled = response.status_code == 403 and (
                quota_wait is not None or "retry-after" in response.headers)
            if not (response.status_code in RETRY_STATUSES or throttled):
                return response
            if not retryable_method or attempt >= self.policy.max_retries:
                return response

            announced = parse_retry_after(response.headers.get("retry-after"))
            if announced is None:
                announced = quota_wait
            wait = self._backoff(attempt) if announced is None else announced
            if wait > self.policy.max_retry_after:
                log.warning("%s %s asks to wait %.0fs, more than the %.0fs allowed; giving up",
                            request.method, request.url, wait, self.policy.max_retry_after)
                return response
            response.read()
            response.close()
            log.debug("%s %s -> %d; retry %d in %.2fs", request.method, request.url,
                      response.status_code, attempt + 1, wait)
            attempt += 1
            self.stats.add(retries=1)
            self._wait(wait)

    def close(self) -> None:
        self.inner.close()


def _log_request(request: httpx2.Request) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s headers=%s", request.method, request.url, redact_headers(dict(request.headers)))


def make_client(
    settings: Settings,
    *,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    stats: HttpStats | None = None,
    sleep: Callable[[float], None] = time.sleep,
    follow_redirects: bool = True,
    event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    retry_post: bool = False,
) -> httpx2.Client:
    """An httpx client over the retrying transport. ``retry_post`` retries POSTs too: only for APIs
    where repeating a request is harmless (a chat completion is answered again, nothing is created)."""
    hooks: dict[str, list[Callable[..., Any]]] = {"request": [_log_request]}
    for name, fns in (event_hooks or {}).items():
        hooks.setdefault(name, []).extend(fns)
    merged = {"user-agent": USER_AGENT}
    merged.update(headers or {})
    return httpx2.Client(
        base_url=base_url,
        headers=merged,
        timeout=settings.http.timeout,
        follow_redirects=follow_redirects,
        transport=RetryTransport(settings.http, stats=stats, sleep=sleep,
                                 retry_methods=IDEMPOTENT_METHODS | {"POST"} if retry_post else IDEMPOTENT_METHODS),
        event_hooks=hooks,
    )


def configure_huggingface_hub(settings: Settings, stats: HttpStats | None = None,
                              sleep: Callable[[float], None] = time.sleep) -> None:
    """Make huggingface_hub's shared client use our transport, timeouts and logging."""
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils import _http as hf_http

    def factory() -> httpx2.Client:
        return make_client(settings, stats=stats, sleep=sleep,
                           event_hooks={"request": [hf_http.hf_request_event_hook]})

    set_client_factory(factory)
