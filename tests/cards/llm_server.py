"""A local OpenAI-compatible chat completions endpoint for the LLM extractor's tests.

It checks each request the way a strict server would (model, messages, ``response_format`` with a JSON
schema) and answers with a ``chat.completion`` whose content is a JSON object for exactly the fields the
schema asks, plus ``usage``. What it answers per field is scripted by the test; statuses to answer
first (429 with Retry-After, 401, ...) can be queued.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"{}"


@dataclass
class FakeLlm:
    model: str = "tiny-test-model"
    # field -> (value, confidence); fields not scripted are answered null with confidence 0.
    answers: dict[str, tuple[Any, float]] = field(default_factory=dict)
    usage: tuple[int, int] | None = (1000, 200)
    queued: list[Scripted] = field(default_factory=list)
    content_override: str | None = None  # answer this content instead (malformed answers)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what a strict server would have refused
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Scripted:
        with self.lock:
            self.headers.append(headers)
            if self.queued:
                return self.queued.pop(0)
        try:
            request = json.loads(body)
        except ValueError:
            return self._refuse(400, "body is not JSON")
        with self.lock:
            self.requests.append(request)
        if not path.endswith("/chat/completions"):
            return self._refuse(404, f"no route {path}")
        if request.get("model") != self.model:
            return self._refuse(404, f"model {request.get('model')!r} not found")
        messages = request.get("messages")
        if not (isinstance(messages, list) and messages and all({"role", "content"} <= set(m) for m in messages)):
            return self._refuse(400, "messages missing or malformed")
        response_format = request.get("response_format") or {}
        schema = (response_format.get("json_schema") or {}).get("schema")
        if response_format.get("type") != "json_schema" or not isinstance(schema, dict):
            return self._refuse(400, "response_format json_schema missing")
        asked = list(schema.get("properties", {}))
        content = self.content_override
        if content is None:
            document = {}
            for name in asked:
                value, confidence = self.answers.get(name, (None, 0.0))
                if value is None and schema["properties"][name]["properties"]["value"].get("type") == "array":
                    value = []
                document[name] = {"value": value, "confidence": confidence,
                                  "evidence": f"quoted for {name}" if value else None}
            content = json.dumps(document)
        reply: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 0, "model": self.model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        }
        if self.usage is not None:
            reply["usage"] = {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1],
                              "total_tokens": sum(self.usage)}
        return Scripted(200, {"Content-Type": "application/json"}, json.dumps(reply).encode())

    def _refuse(self, status: int, message: str) -> Scripted:
        with self.lock:
            self.problems.append(message)
        return Scripted(status, {"Content-Type": "application/json"},
                        json.dumps({"error": {"message": message}}).encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.fake.answer(self.path, headers, body)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeLlm) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def serve(fake: FakeLlm) -> Iterator[FakeLlm]:
    """Serve ``fake`` on 127.0.0.1; its ``url`` is the API base (``.../v1``)."""
    server = _Server(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A URL nothing listens on: a port bound and released again."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
