"""A small threaded HTTP/1.1 server that answers from an in-process application.

Tests and the offline demo point real clients (huggingface_hub, our own httpx2 clients) at it instead
of remote services. Faults can be injected deterministically so that retry logic is exercised against
real sockets rather than mocked transports.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import socketserver
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

FAULT_KINDS: tuple[str, ...] = ("429", "500", "503", "slow", "drop")
DEFAULT_HOST = "127.0.0.1"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Response:
    """What an :class:`App` answers; the server adds ``Content-Length``, ``Date`` and ``Server``."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class App(Protocol):
    """The application a :class:`ReplayServer` serves.

    ``path`` is the request path exactly as received (still percent-encoded, because an encoded
    ``/`` inside a path segment, as in a revision ``refs%2Fpr%2F1``, must not be confused with a
    separator). ``query`` maps each parameter to all its values in arrival order; header names are
    lower-cased. ``base_url`` is the server's own ``scheme://host:port`` for building absolute links.
    HEAD requests reach the app as ``"HEAD"``; the server drops the body but keeps its
    ``Content-Length``.
    """

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str],
               base_url: str) -> Response: ...


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail, and how.

    Each request whose target (path and query string) starts with one of ``path_prefixes`` (all
    requests when empty; ``"/api/models?"`` picks the listing alone) draws from
    an RNG seeded with ``seed``, in arrival order: with probability ``rate`` it gets one of ``kinds``.
    For a client that sends one request at a time the faults therefore land on the same requests on
    every run.
    """

    rate: float = 0.2
    kinds: tuple[str, ...] = ("429", "500", "503", "drop")
    retry_after: str = "0"
    slow_seconds: float = 0.5
    seed: int = 0
    path_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within 0..1, got {self.rate}")
        if not self.kinds:
            raise ValueError("a fault plan needs at least one fault kind")
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")


@dataclass(frozen=True)
class LogEntry:
    """One request as the server saw it; ``status`` is ``"drop"`` when no response was sent."""

    method: str
    target: str
    status: int | str
    fault: str | None


class _FaultDice:
    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._lock = threading.Lock()

    def draw(self, path: str) -> str | None:
        if self.plan.path_prefixes and not path.startswith(self.plan.path_prefixes):
            return None
        with self._lock:
            # Both numbers are drawn on every request so that the sequence of kinds does not depend
            # on the rate: raising the rate adds faults without reshuffling the existing ones.
            hit = self._rng.random() < self.plan.rate
            kind = self._rng.choice(self.plan.kinds)
        return kind if hit else None


def _fault_response(kind: str, plan: FaultPlan) -> Response:
    body = b'{"error":"injected fault %s"}' % kind.encode()
    headers = {"Content-Type": JSON_CONTENT_TYPE, "X-Replay-Fault": kind}
    if kind == "429":
        # The Hub's own throttling headers, so clients that read them (ours and huggingface_hub's)
        # take the same path they would in production.
        headers["Retry-After"] = plan.retry_after
        headers["RateLimit"] = f'"api";r=0;t={plan.retry_after}'
        headers["RateLimit-Policy"] = '"fixed window";"api";q=500;w=300'
    return Response(int(kind), headers, body)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, faults: FaultPlan | None) -> None:
        self.app = app
        # No plan is a plan that never fires, which keeps the request path free of special cases.
        self.dice = _FaultDice(faults if faults is not None else FaultPlan(rate=0.0))
        self.entries: list[LogEntry] = []
        self.entries_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)
        host, port = self.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a reverse-DNS lookup that can stall for
        # seconds in sandboxes; the name is only used for CGI environments we never build.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def record(self, entry: LogEntry) -> None:
        with self.entries_lock:
            self.entries.append(entry)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Keep-alive connections park their handler threads in a blocking read; shutting the sockets
        # down wakes them so that stop() leaves no thread behind still holding the port's clients.
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus the client's delayed ACK
    # adds ~40 ms to every response.
    disable_nagle_algorithm = True
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 30
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: a crawl sends hundreds of thousands of requests; ``ReplayServer.log`` has them."""

    def _serve(self, *, head: bool) -> None:
        server = self.server
        self._discard_request_body()
        split = urlsplit(self.path)
        plan = server.dice.plan
        fault = server.dice.draw(self.path)
        if fault == "drop":
            self.close_connection = True
            server.record(LogEntry(self.command, self.path, "drop", fault))
            return
        if fault in ("429", "500", "503"):
            response = _fault_response(fault, plan)
        else:
            if fault == "slow":
                time.sleep(plan.slow_seconds)
            response = self._call_app(split.path, parse_qs(split.query, keep_blank_values=True))
        # Logged before sending: a client holding the response must find its request in the log.
        server.record(LogEntry(self.command, self.path, response.status, fault))
        self._write(response, head=head)

    def _discard_request_body(self) -> None:
        # A GET may carry a body; unread, it would be parsed as the next request on this connection.
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)

    def _call_app(self, path: str, query: dict[str, list[str]]) -> Response:
        try:
            headers = {name.lower(): value for name, value in self.headers.items()}
            return self.server.app.handle(self.command, path, query, headers, self.server.base_url)
        except Exception:
            # A bug in the emulation must show up as a 500 the client can report, not as a
            # dropped connection that looks like an injected fault.
            log.exception("replay app failed on %s %s", self.command, self.path)
            return Response(500, {"Content-Type": JSON_CONTENT_TYPE}, b'{"error":"replay app error"}')

    def _write(self, response: Response, *, head: bool) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head and response.body:
            self.wfile.write(response.body)


class ReplayServer:
    """Serves an :class:`App` on ``host:port`` (port 0: any free port) from a daemon thread.

    The socket is bound on construction, like :class:`http.server.HTTPServer`, so :attr:`url` is
    known before serving starts. Use as a context manager, or call :meth:`start` and :meth:`stop`;
    :meth:`serve_forever` serves from the calling thread instead, for a foreground CLI.
    """

    def __init__(self, app: App, faults: FaultPlan | None = None, host: str = DEFAULT_HOST,
                 port: int = 0) -> None:
        self._httpd = _HTTPServer((host, port), app, faults)
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._serving = False
        self._stopped = False

    @property
    def url(self) -> str:
        return self._httpd.base_url

    @property
    def log(self) -> list[LogEntry]:
        """A snapshot of every request answered (or dropped) so far, in that order."""
        with self._httpd.entries_lock:
            return list(self._httpd.entries)

    def clear_log(self) -> None:
        with self._httpd.entries_lock:
            self._httpd.entries.clear()

    def _mark_serving(self) -> None:
        with self._state_lock:
            if self._stopped:
                raise RuntimeError("this replay server has been stopped")
            if self._serving:
                raise RuntimeError("this replay server is already serving")
            self._serving = True

    def start(self) -> ReplayServer:
        self._mark_serving()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"replay-server {self.url}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve from the calling thread until Ctrl-C or until another thread calls :meth:`stop`."""
        self._mark_serving()
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            log.info("replay server on %s interrupted", self.url)
        finally:
            self.stop()

    def stop(self) -> None:
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
            serving = self._serving
        # shutdown() waits for serve_forever to acknowledge, which never happens if it never ran.
        if serving:
            self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
