"""A web server on 127.0.0.1 that misbehaves on purpose, for the fault catalogue.

It plays what a broken network, web server or proxy sends: nothing, an empty body,
a redirect, an HTML page, bytes that trickle, an answer cut short, a hang.  Moodle's
own answers (a refused token, web services off, a function missing from the
service) are never made up here: :func:`recorded` serves what a real Moodle said,
from ``fixtures/recordings``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from moodle_ws.testing import PLACEHOLDER_URL, RecordedCall
from tests.unit.recordings import recording

Behaviour = Callable[["_Handler"], None]


@dataclass
class SeenRequest:
    path: str
    form: dict[str, str]


@dataclass
class _Routes:
    default: Behaviour
    by_function: dict[str, Behaviour] = field(default_factory=dict)
    by_path: dict[str, Behaviour] = field(default_factory=dict)


class FakeSite:
    """A threaded HTTP server; each request gets the behaviour its route names."""

    def __init__(self, default: Behaviour) -> None:
        self.routes = _Routes(default)
        self.requests: list[SeenRequest] = []
        self.stopping = threading.Event()
        site = self

        class Handler(_Handler):
            owner = site

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def on_function(self, function: str, behaviour: Behaviour) -> None:
        self.routes.by_function[function] = behaviour

    def on_path(self, path: str, behaviour: Behaviour) -> None:
        self.routes.by_path[path] = behaviour

    def functions_called(self) -> list[str]:
        return [r.form.get("wsfunction", r.path) for r in self.requests]

    def close(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _behaviour_for(self, request: SeenRequest) -> Behaviour:
        function = request.form.get("wsfunction", "")
        if function in self.routes.by_function:
            return self.routes.by_function[function]
        for path, behaviour in self.routes.by_path.items():
            if request.path.endswith(path):
                return behaviour
        return self.routes.default


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSite
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        form = (
            dict(parse_qsl(body))
            if "form-urlencoded" in self.headers.get("Content-Type", "")
            else {}
        )
        request = SeenRequest(urlsplit(self.path).path, form)
        self.owner.requests.append(request)
        self.owner._behaviour_for(request)(self)

    do_GET = do_POST  # noqa: N815 - the name http.server looks for

    def log_message(self, format: str, *args: object) -> None:
        return None  # keep the test output clean

    def send_all(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


# --- behaviours ------------------------------------------------------------------


def reply(status: int = 200, body: str | bytes = b"", **headers: str) -> Behaviour:
    """One complete answer; header names use '_' for '-' (Content_Type=...)."""
    data = body.encode() if isinstance(body, str) else body
    named = {name.replace("_", "-"): value for name, value in headers.items()}

    def behave(handler: _Handler) -> None:
        handler.send_all(status, data, named)

    return behave


def echo(status: int = 500) -> Behaviour:
    """An HTML error page quoting the request, as a debugging proxy or PHP page may."""

    def behave(handler: _Handler) -> None:
        request = handler.owner.requests[-1]
        quoted = "&".join(f"{k}={v}" for k, v in request.form.items())
        page = f"<html><body><h1>Error</h1><pre>POST {request.path}?{quoted}</pre></body></html>"
        handler.send_all(status, page.encode(), {"Content-Type": "text/html"})

    return behave


def recorded_call(release: str, name: str, label: str) -> RecordedCall:
    return recording(release, name).labelled(label)[0]


def recorded(release: str, name: str, label: str) -> Behaviour:
    """What a real Moodle answered (recorded), with the fake site's own address."""
    call = recorded_call(release, name, label)
    answer = call.response()

    def behave(handler: _Handler) -> None:
        text = answer.text.replace(PLACEHOLDER_URL, handler.owner.url)
        handler.send_all(answer.status_code, text.encode(), dict(answer.headers))

    return behave


def trickle(body: bytes, *, every: float) -> Behaviour:
    """Headers at once, then the body one byte at a time (each read succeeds)."""

    def behave(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        for byte in body:
            if handler.owner.stopping.wait(every):
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return  # the client gave up: what the test wants
        handler.close_connection = True

    return behave


def trickle_headers(*, every: float) -> Behaviour:
    """The status line and headers, one byte at a time, never ending."""

    def behave(handler: _Handler) -> None:
        raw = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000
        for byte in raw:
            if handler.owner.stopping.wait(every):
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return
        handler.close_connection = True

    return behave


def hang() -> Behaviour:
    """Read the request, then never answer (until the server stops)."""

    def behave(handler: _Handler) -> None:
        handler.owner.stopping.wait()
        handler.close_connection = True

    return behave


def slow(seconds: float, then: Behaviour) -> Behaviour:
    def behave(handler: _Handler) -> None:
        if not handler.owner.stopping.wait(seconds):
            then(handler)

    return behave


def truncated(body: bytes, *, declared: int) -> Behaviour:
    """Announce ``declared`` bytes, send fewer, close: an answer cut short."""

    def behave(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
        handler.close_connection = True

    return behave


def drop() -> Behaviour:
    """Close the connection without a word."""

    def behave(handler: _Handler) -> None:
        handler.connection.shutdown(socket.SHUT_RDWR)
        handler.close_connection = True

    return behave


def sequence(*behaviours: Behaviour) -> Behaviour:
    """Each request gets the next behaviour; the last one repeats."""
    queue = list(behaviours)
    lock = threading.Lock()

    def behave(handler: _Handler) -> None:
        with lock:
            current = queue.pop(0) if len(queue) > 1 else queue[0]
        current(handler)

    return behave


@contextmanager
def fake_site(default: Behaviour) -> Iterator[FakeSite]:
    site = FakeSite(default)
    try:
        yield site
    finally:
        site.close()


def refused_url() -> str:
    """The URL of a port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
