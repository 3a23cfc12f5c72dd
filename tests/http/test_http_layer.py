from __future__ import annotations

import logging
import time

import httpx2
import pytest

from ptmscope.config import HttpSettings, Settings
from ptmscope.http import RetryTransport, make_client, parse_retry_after, rate_limit_wait, redact_headers

POLICY = HttpSettings(timeout=5, max_retries=4, backoff_base=0.01, backoff_max=0.05)


class Script(httpx2.BaseTransport):
    """Answers each request with the next scripted outcome (a response, or an exception)."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx2.Request] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, httpx2.Response)
        return outcome


def client_for(script: Script, sleeps: list[float]) -> httpx2.Client:
    return httpx2.Client(transport=RetryTransport(POLICY, inner=script, sleep=sleeps.append))


def test_retry_after_seconds_is_honoured_exactly() -> None:
    sleeps: list[float] = []
    script = Script(httpx2.Response(429, headers={"Retry-After": "7"}), httpx2.Response(200, json={"ok": 1}))
    with client_for(script, sleeps) as client:
        assert client.get("http://h/x").json() == {"ok": 1}
    assert sleeps == [7.0]


def test_hub_ratelimit_header_when_no_retry_after() -> None:
    sleeps: list[float] = []
    script = Script(httpx2.Response(429, headers={"RateLimit": '"api";r=0;t=12'}), httpx2.Response(200))
    with client_for(script, sleeps) as client:
        assert client.get("http://h/x").status_code == 200
    assert sleeps == [12.0]


def test_github_403_rate_limit_waits_until_reset() -> None:
    sleeps: list[float] = []
    reset = int(time.time()) + 30
    limited = httpx2.Response(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    script = Script(limited, httpx2.Response(200))
    with client_for(script, sleeps) as client:
        assert client.get("http://h/x").status_code == 200
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 31


def test_github_secondary_rate_limit_403_honours_retry_after() -> None:
    sleeps: list[float] = []
    script = Script(httpx2.Response(403, headers={"Retry-After": "60"}), httpx2.Response(200))
    with client_for(script, sleeps) as client:
        assert client.get("http://h/x").status_code == 200
    assert sleeps == [60.0]


def test_plain_403_is_not_retried() -> None:
    sleeps: list[float] = []
    script = Script(httpx2.Response(403))
    with client_for(script, sleeps) as client:
        assert client.get("http://h/x").status_code == 403
    assert sleeps == []


def test_server_errors_and_dropped_connections_back_off_then_succeed() -> None:
    sleeps: list[float] = []
    script = Script(httpx2.Response(503), httpx2.RemoteProtocolError("dropped"), httpx2.Response(500),
                    httpx2.Response(200))
    with client_for(script, sleeps) as client:
        assert client.get("http://h/x").status_code == 200
    assert len(sleeps) == 3
    assert all(0 < s <= POLICY.backoff_max for s in sleeps)


def test_gives_up_after_max_retries_with_the_last_response() -> None:
    sleeps: list[float] = []
    script = Script(*[httpx2.Response(503) for _ in range(POLICY.max_retries + 1)])
    with client_for(script, sleeps) as client:
        assert client.get("http://h/x").status_code == 503
    assert len(script.requests) == POLICY.max_retries + 1


def test_post_is_not_replayed() -> None:
    sleeps: list[float] = []
    script = Script(httpx2.Response(503))
    with client_for(script, sleeps) as client:
        assert client.post("http://h/x", content=b"x").status_code == 503
    assert len(script.requests) == 1


def test_too_long_retry_after_returns_instead_of_sleeping() -> None:
    sleeps: list[float] = []
    script = Script(httpx2.Response(429, headers={"Retry-After": "100000"}))
    with client_for(script, sleeps) as client:
        assert client.get("http://h/x").status_code == 429
    assert sleeps == []


def test_spent_quota_on_success_delays_the_next_request() -> None:
    waits: list[float] = []
    script = Script(httpx2.Response(200, headers={"RateLimit": '"api";r=0;t=3'}), httpx2.Response(200))
    with client_for(script, waits) as client:
        client.get("http://h/1")
        client.get("http://h/2")
    assert len(waits) == 1 and 2 < waits[0] <= 3


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), ("0", 0.0), ("junk", None), (None, None)])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_rate_limit_wait_ignores_remaining_quota() -> None:
    assert rate_limit_wait({"RateLimit": '"api";r=10;t=40'}) is None


def test_token_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert redact_headers({"Authorization": "Bearer hf_secret", "Accept": "x"})["Authorization"] == "<redacted>"
    settings = Settings()
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    client = make_client(settings, headers={"authorization": "Bearer hf_secret"})
    client._transport = RetryTransport(POLICY, inner=httpx2.MockTransport(handler))
    with caplog.at_level(logging.DEBUG, logger="ptmscope.http"):
        client.get("http://h/x")
    assert seen and seen[0].headers["authorization"] == "Bearer hf_secret"
    assert "hf_secret" not in caplog.text
    assert "<redacted>" in caplog.text


def test_post_is_retried_only_where_the_caller_says_repeating_is_harmless() -> None:
    throttled = httpx2.Response(429, headers={"Retry-After": "3"})
    sleeps: list[float] = []
    with client_for(Script(throttled), sleeps) as client:
        assert client.post("http://h/x", content=b"{}").status_code == 429
    assert sleeps == []
    script = Script(httpx2.Response(429, headers={"Retry-After": "3"}), httpx2.Response(200))
    transport = RetryTransport(POLICY, inner=script, sleep=sleeps.append,
                               retry_methods=frozenset({"GET", "POST"}))
    with httpx2.Client(transport=transport) as client:
        assert client.post("http://h/x", content=b"{}").status_code == 200
    assert sleeps == [3.0] and len(script.requests) == 2
