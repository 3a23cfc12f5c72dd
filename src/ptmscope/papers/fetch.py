"""GET requests of the paper sources through :func:`ptmscope.http.make_client`, failures as one error type."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx2
import orjson

from ..config import Settings
from ..errors import SourceUnavailableError
from ..http import make_client

_SNIPPET = 200


def get(client: httpx2.Client, path: str, params: Mapping[str, str | int], *, source: str) -> httpx2.Response:
    """The 200 response to ``GET path``; anything else, after the transport's retries, is an error."""
    try:
        response = client.get(path, params=dict(params))
    except httpx2.HTTPError as exc:
        raise SourceUnavailableError(f"{source}: GET {client.base_url}{path} failed: {type(exc).__name__}: {exc}"
                                     ) from exc
    if response.status_code != httpx2.codes.OK:
        body = response.text[:_SNIPPET].strip()
        raise SourceUnavailableError(f"{source}: GET {response.url} answered HTTP {response.status_code}"
                                     + (f": {body}" if body else ""))
    return response


def get_json(client: httpx2.Client, path: str, params: Mapping[str, str | int], *, source: str) -> Any:
    response = get(client, path, params, source=source)
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise SourceUnavailableError(f"{source}: GET {response.url} did not answer JSON: {exc}") from exc


class ApiSource:
    """What the paper sources that talk to an API share: a client on the HTTP layer, a page size,
    and the entries they could read but not turn into papers."""

    name: str

    def __init__(self, settings: Settings, api: str, *, page_size: int,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.api = api
        self.page_size = page_size
        self.skipped: list[tuple[str, str]] = []
        self._client = make_client(settings, base_url=api, sleep=sleep)

    def close(self) -> None:
        self._client.close()
