"""The HTTP layer under :class:`moodle_ws.MoodleClient`.

A transport sends one form-encoded POST and returns the raw answer; it knows
nothing of Moodle's JSON.  :class:`RequestsTransport` is the real one (a pooled
``requests.Session``, safe to share between threads because web-service calls use
no cookies); tests may pass any object with the same two methods, for example one
that replays recorded answers.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

from moodle_ws.errors import (
    ConfigurationError,
    ConnectError,
    RequestTimeoutError,
    TransportError,
    TruncatedResponseError,
)
from moodle_ws.redaction import redact

FormFields = Sequence[tuple[str, str]]
UploadFiles = Mapping[str, tuple[str, IO[bytes]]]


@dataclass(frozen=True)
class RawResponse:
    """What the web server sent back, undecoded."""

    status_code: int
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)


class Transport(Protocol):
    """Sends one POST; raises :class:`ConnectError` or :class:`RequestTimeoutError`."""

    def post(
        self,
        url: str,
        data: FormFields,
        *,
        timeout: float,
        files: UploadFiles | None = None,
    ) -> RawResponse: ...

    def close(self) -> None: ...


class RequestsTransport:
    """A pooled ``requests`` session with TLS verification on by default."""

    def __init__(
        self,
        *,
        verify: bool | str = True,
        pool_size: int = 16,
        user_agent: str = "moodle-regress",
    ) -> None:
        self._session = requests.Session()
        self._session.verify = verify
        self._session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        # Pools whose connections let a call's deadline cut them (see _CallDeadline).
        adapter.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def post(
        self,
        url: str,
        data: FormFields,
        *,
        timeout: float,
        files: UploadFiles | None = None,
    ) -> RawResponse:
        check_timeout(timeout)
        with _CallDeadline(timeout) as deadline:
            try:
                raw = self._send(url, data, timeout=timeout, files=files)
            except TransportError as exc:
                if not deadline.expired:
                    raise
                # The deadline cut the connection: that, not the broken read, is the cause.
                raise _too_slow(url, timeout) from exc.__cause__
            if deadline.expired:
                # Cut while reading the headers, http.client may take what came as a
                # whole (empty) answer.
                raise _too_slow(url, timeout)
            return raw

    def _send(
        self, url: str, data: FormFields, *, timeout: float, files: UploadFiles | None
    ) -> RawResponse:
        try:
            # stream=True: the body is read below, under the call's deadline.
            response = self._session.post(
                url,
                data=list(data),
                files=files,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            try:
                text = response.text
            finally:
                response.close()
        except requests.Timeout as exc:
            raise RequestTimeoutError(f"no answer from {url} within {timeout:g} s") from _clean(exc)
        except requests.exceptions.ChunkedEncodingError as exc:
            raise TruncatedResponseError(
                f"the answer from {url} was cut off: {_reason(exc)}"
            ) from _clean(exc)
        except requests.exceptions.SSLError as exc:
            raise ConnectError(
                f"TLS verification failed for {url}: {redact(str(exc))}",
                hint="Fix the site's certificate, or pass verify= with your CA bundle.",
            ) from _clean(exc)
        except requests.ConnectionError as exc:
            raise ConnectError(f"cannot reach {url}: {_reason(exc)}") from _clean(exc)
        except requests.RequestException as exc:
            raise ConnectError(f"request to {url} failed: {_reason(exc)}") from _clean(exc)
        return RawResponse(
            status_code=response.status_code,
            text=text,
            headers=dict(response.headers),
        )

    def close(self) -> None:
        self._session.close()


def _too_slow(url: str, timeout: float) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"the answer from {url} did not complete within {timeout:g} s (the site sent it too slowly)"
    )


def check_timeout(timeout: float) -> None:
    """Refuse a timeout that is not a positive, finite number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ConfigurationError(
            f"timeout {timeout!r} is not a number of seconds",
            hint="Give the timeout in seconds as a positive number, for example 30.",
        )
    if not math.isfinite(timeout) or timeout <= 0:
        raise ConfigurationError(
            f"timeout {timeout!r} is not a positive number of seconds",
            hint="Give the timeout in seconds as a positive number, for example 30.",
        )


# --- the call's deadline --------------------------------------------------------------
#
# ``requests`` applies its timeout to each socket operation, so a server that sends a
# byte now and then holds a call forever.  A timer per call shuts the call's socket
# down when its whole time is up; the blocked read then fails and the transport turns
# that into RequestTimeoutError.  The connection classes below hand their socket to the
# deadline of the call running in their thread just before reading the answer.

_current = threading.local()


class _CallDeadline:
    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _CallDeadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        _current.deadline = None

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            _shut(self._sock)


def _shut(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):  # already closed: nothing left to cut
        sock.shutdown(socket.SHUT_RDWR)


def _attach_to_current_call(sock: socket.socket | None) -> None:
    deadline: _CallDeadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        _attach_to_current_call(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        _attach_to_current_call(self.sock)
        return super().getresponse()


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _reason(exc: Exception) -> str:
    text = str(exc)
    # urllib3 nests the useful part deep in its message; keep the tail.
    for marker in ("Failed to establish a new connection: ", "NameResolutionError"):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    return redact(text.rstrip("')\"")[:300])


def _clean(exc: Exception) -> Exception:
    # The chained exception would print the request (and so the form body) in a
    # traceback; keep only its redacted text.  Some exception types need more than
    # one argument: a failure to rebuild one must not hide the real error.
    text = redact(str(exc))
    try:
        return type(exc)(text)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {text}")
