"""The HTTP layer under :class:`moodle_ws.MoodleClient`.

A transport sends one form-encoded POST and returns the raw answer; it knows
nothing of Moodle's JSON.  :class:`RequestsTransport` is the real one (a pooled
``requests.Session``, safe to share between threads because web-service calls use
no cookies); tests may pass any object with the same two methods, for example one
that replays recorded answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Protocol

import requests
from requests.adapters import HTTPAdapter

from moodle_ws.errors import ConnectError, RequestTimeoutError
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
        try:
            response = self._session.post(
                url, data=list(data), files=files, timeout=timeout, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise RequestTimeoutError(f"no answer from {url} within {timeout:g} s") from _clean(exc)
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
            text=response.text,
            headers=dict(response.headers),
        )

    def close(self) -> None:
        self._session.close()


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
