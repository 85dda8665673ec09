"""Record real Moodle answers and replay them offline.

:class:`RecordingTransport` wraps a real transport and keeps every request (the
function and its parameters, secrets masked) with Moodle's raw answer.
:meth:`Recording.save` writes them as one JSON file whose metadata names the
Moodle release and version they came from; the site's host is replaced by
:data:`PLACEHOLDER_HOST` and tokens and passwords are masked, so the file can be
committed.  :class:`ReplayTransport` serves a recording back, so offline tests
exercise the client against what a real Moodle said, never an invented answer.

>>> recorder = RecordingTransport(RequestsTransport(), site_url=url)   # doctest: +SKIP
>>> client = MoodleClient(url, token, transport=recorder)             # doctest: +SKIP
>>> with recorder.label("site_info"):                                 # doctest: +SKIP
...     client.site_info()
>>> recorder.recording.save(Path("fixtures/recordings/4.5/site.json"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from moodle_ws.redaction import MASK, redact
from moodle_ws.transport import FormFields, RawResponse, Transport, UploadFiles

#: Stands in for the recorded site's host in every saved URL and body.
PLACEHOLDER_HOST = "moodle.invalid"
#: The site URL a replaying client uses.
PLACEHOLDER_URL = f"http://{PLACEHOLDER_HOST}"
FORMAT_VERSION = 1

# Request fields that carry secrets; masked whatever their value.
_SECRET_FIELDS = frozenset({"wstoken", "token", "password", "privatetoken"})
# Response headers worth keeping (the rest vary per request or leak the server).
_KEPT_HEADERS = ("Content-Type",)


class ReplayError(AssertionError):
    """A replayed client asked for something the recording does not hold."""


class RecordedCall(BaseModel):
    """One request and the answer Moodle gave to it."""

    model_config = ConfigDict(extra="forbid")

    label: str
    #: ``wsfunction`` for REST calls, else the script path (``login/token.php``).
    function: str
    endpoint: str
    params: list[tuple[str, str]]
    files: list[str] = []
    status_code: int
    headers: dict[str, str] = {}
    text: str

    def response(self) -> RawResponse:
        return RawResponse(status_code=self.status_code, text=self.text, headers=self.headers)

    def payload(self) -> Any:
        """The recorded body decoded (for tests that check records directly)."""
        return json.loads(self.text)


class Recording(BaseModel):
    """Calls recorded from one site, with the release they came from."""

    model_config = ConfigDict(extra="forbid")

    format: int = FORMAT_VERSION
    #: Moodle's short release ("4.5"), as in the fixture directory's name.
    release: str
    #: ``$CFG->release`` and ``$CFG->version`` of the recorded site.
    moodle_release: str = ""
    moodle_version: str = ""
    recorded_at: str = Field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )
    recorded_with: str = "moodle_ws.testing.RecordingTransport"
    note: str = ""
    calls: list[RecordedCall] = []

    def call(self, label: str) -> RecordedCall:
        """The one call recorded under ``label``."""
        found = [c for c in self.calls if c.label == label]
        if len(found) != 1:
            raise ReplayError(
                f"recording for {self.release} has {len(found)} calls labelled {label!r}; "
                f"labels: {sorted({c.label for c in self.calls})}"
            )
        return found[0]

    def labelled(self, label: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.label == label]

    @classmethod
    def load(cls, path: Path) -> Recording:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, path: Path) -> None:
        """Write the recording atomically, refusing anything that still looks secret."""
        # Checked field by field: in the saved file the bodies are JSON-escaped,
        # which hides "name": "value" pairs from the redaction patterns.
        for call in self.calls:
            for piece in (call.text, *(v for _, v in call.params)):
                if redact(piece) != piece:
                    raise ValueError(
                        f"refusing to save {path}: call {call.label!r} still holds a token "
                        "or password"
                    )
        text = self.model_dump_json(indent=1) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


class RecordingTransport:
    """A transport that passes calls to ``inner`` and records each one.

    ``site_url`` is the real site's root; its host becomes :data:`PLACEHOLDER_HOST`
    in what is saved.  ``scrub`` lists further strings to replace (for example the
    site's directories, which Moodle names in debug information) as pairs of
    (text, replacement).
    """

    def __init__(
        self,
        inner: Transport,
        *,
        site_url: str,
        release: str,
        moodle_release: str = "",
        moodle_version: str = "",
        scrub: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._inner = inner
        self._host = urlsplit(site_url).netloc
        # Moodle also names the host in a page's body class: "127-0-0-1--8080".
        dashed = self._host.replace(".", "-").replace(":", "--")
        self._scrub = [
            (self._host, PLACEHOLDER_HOST),
            (dashed, PLACEHOLDER_HOST.replace(".", "-")),
            *scrub,
        ]
        self._lock = threading.Lock()
        self._label = threading.local()
        self.recording = Recording(
            release=release, moodle_release=moodle_release, moodle_version=moodle_version
        )

    @contextlib.contextmanager
    def label(self, label: str) -> Iterator[None]:
        """Record the calls made inside the ``with`` block under ``label``."""
        previous = getattr(self._label, "value", None)
        self._label.value = label
        try:
            yield
        finally:
            self._label.value = previous

    def post(
        self,
        url: str,
        data: FormFields,
        *,
        timeout: float,
        files: UploadFiles | None = None,
    ) -> RawResponse:
        raw = self._inner.post(url, data, timeout=timeout, files=files)
        endpoint = self.clean(urlsplit(url).path.lstrip("/"))
        params = [(k, MASK if _is_secret_field(k) else self.clean(v)) for k, v in data]
        function = next((v for k, v in data if k == "wsfunction"), endpoint)
        call = RecordedCall(
            label=getattr(self._label, "value", None) or function,
            function=function,
            endpoint=_endpoint(endpoint),
            params=params,
            files=sorted(name for name, _ in (files or {}).values()),
            status_code=raw.status_code,
            headers=_kept_headers(raw.headers),
            text=self.clean(raw.text),
        )
        with self._lock:
            self.recording.calls.append(call)
        return raw

    def clean(self, text: str) -> str:
        """Mask secrets and replace the host and scrubbed strings."""
        for old, new in self._scrub:
            if old:
                text = text.replace(old, new)
                text = text.replace(old.replace("/", "\\/"), new.replace("/", "\\/"))
        return redact(text)

    def close(self) -> None:
        self._inner.close()


class ReplayTransport:
    """Serves a :class:`Recording` back to a client.

    In order (the default), each request must be the next recorded one: same
    function and parameters (secrets aside).  With ``ordered=False`` a request is
    answered by the first unused call with the same function and parameters.
    """

    def __init__(self, recording: Recording | Path, *, ordered: bool = True) -> None:
        self.recording = (
            recording if isinstance(recording, Recording) else Recording.load(recording)
        )
        self._ordered = ordered
        self._used: set[int] = set()
        self._next = 0
        self._lock = threading.Lock()
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []

    def post(
        self,
        url: str,
        data: FormFields,
        *,
        timeout: float,
        files: UploadFiles | None = None,
    ) -> RawResponse:
        endpoint = _endpoint(urlsplit(url).path.lstrip("/"))
        params = [(k, MASK if _is_secret_field(k) else v) for k, v in data]
        function = next((v for k, v in data if k == "wsfunction"), endpoint)
        with self._lock:
            self.requests.append((function, params))
            index = self._find(function, endpoint, params)
            self._used.add(index)
            self._next = index + 1
            return self.recording.calls[index].response()

    def _find(self, function: str, endpoint: str, params: list[tuple[str, str]]) -> int:
        calls = self.recording.calls
        if self._ordered:
            if self._next >= len(calls):
                raise ReplayError(
                    f"{function}: the recording has no more calls ({len(calls)} replayed)"
                )
            call = calls[self._next]
            if call.function != function or call.endpoint != endpoint or call.params != params:
                raise ReplayError(
                    f"request {self._next} was {function} {params}; the recording has "
                    f"{call.function} {call.params}"
                )
            return self._next
        for index, call in enumerate(calls):
            if index in self._used:
                continue
            if call.function == function and call.endpoint == endpoint and call.params == params:
                return index
        raise ReplayError(f"no unused recorded call for {function} with {params}")

    def close(self) -> None:
        return None


def replay_call(call: RecordedCall) -> ReplayTransport:
    """A transport that answers whatever is asked with one recorded call."""
    return _SingleAnswer(call)


class _SingleAnswer(ReplayTransport):
    def __init__(self, call: RecordedCall) -> None:
        super().__init__(Recording(release="-", calls=[call]))
        self.count = 0

    def post(
        self,
        url: str,
        data: FormFields,
        *,
        timeout: float,
        files: UploadFiles | None = None,
    ) -> RawResponse:
        self.count += 1
        return self.recording.calls[0].response()


def _kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # Header names' case varies by server (php -S sends "Content-type").
    lowered = {k.lower(): v for k, v in headers.items()}
    return {k: lowered[k.lower()] for k in _KEPT_HEADERS if k.lower() in lowered}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _is_secret_field(name: str) -> bool:
    # "wstoken", or a nested "users[0][password]".
    return name.rsplit("[", 1)[-1].rstrip("]") in _SECRET_FIELDS


def _endpoint(path: str) -> str:
    # Keep only Moodle's script path (a site may live under a sub-path).
    for known in ("webservice/rest/server.php", "login/token.php", "webservice/upload.php"):
        if path.endswith(known):
            return known
    return path
