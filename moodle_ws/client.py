"""The client: one object per site and token, with the API areas hanging off it."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from moodle_ws.areas.categories import CategoriesArea
from moodle_ws.areas.cohorts import CohortsArea
from moodle_ws.areas.courses import CoursesArea
from moodle_ws.areas.enrol import EnrolArea
from moodle_ws.areas.files import FilesArea
from moodle_ws.areas.groups import GroupsArea
from moodle_ws.areas.roles import RolesArea
from moodle_ws.areas.sections import SectionsArea
from moodle_ws.areas.site import SiteArea
from moodle_ws.areas.users import UsersArea
from moodle_ws.encoding import encode_params
from moodle_ws.errors import (
    ConfigurationError,
    ConnectError,
    EmptyResponseError,
    HTTPStatusError,
    MaintenanceModeError,
    MoodleAPIError,
    RedirectedError,
    RequestTimeoutError,
    TransportError,
    TruncatedResponseError,
    UnexpectedResponseError,
    WebServicesDisabledError,
    error_from_payload,
)
from moodle_ws.redaction import MASK, SecretStr, register_secret
from moodle_ws.transport import (
    RawResponse,
    RequestsTransport,
    Transport,
    UploadFiles,
    check_timeout,
)

log = logging.getLogger("moodle_ws")

T = TypeVar("T")

REST_PATH = "webservice/rest/server.php"
TOKEN_PATH = "login/token.php"
UPLOAD_PATH = "webservice/upload.php"

# Function names whose verb only reads: safe to retry after a transport failure.
_READ_VERB = re.compile(r"_(get|search|list|is|can|check|count|fetch)(_|$)")


class MoodleWarning(UserWarning):
    """Moodle answered but attached ``warnings`` to the result."""


@dataclass(frozen=True)
class RetryPolicy:
    """How reads are retried after transport failures and 5xx answers."""

    attempts: int = 3
    backoff: float = 0.25
    max_backoff: float = 4.0
    #: Attempts of a read that Moodle answered with a transient error (TRANSIENT_ERRORS).
    transient_attempts: int = 6

    def delay(self, attempt: int) -> float:
        return float(min(self.max_backoff, self.backoff * (2 ** (attempt - 1))))


#: Moodle errors that mean "the same call may work in a moment": a cache lock another
#: request held (Moodle 4.2's file cache locks give up after about 2.5 s, which parallel
#: reads on a cold course cache under load exceed).
TRANSIENT_ERRORS = frozenset({"ex_unabletolock"})


def is_read_function(function: str) -> bool:
    """Whether ``function`` only reads, judged by Moodle's naming convention."""
    return bool(_READ_VERB.search(function))


class MoodleClient:
    """A client for one Moodle site's REST web services.

    >>> client = MoodleClient("https://moodle.example.org", token)   # doctest: +SKIP
    >>> client.call("core_webservice_get_site_info")["release"]      # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        verify: bool | str = True,
        retry: RetryPolicy | None = None,
        max_workers: int = 8,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = normalise_site_url(url)
        if not token:
            raise ConfigurationError(
                "no web-service token given", hint="Pass token=, or use MoodleClient.login()."
            )
        register_secret(token)
        self._token = SecretStr(token)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.max_workers = max_workers
        self._transport: Transport = transport or RequestsTransport(
            verify=verify, pool_size=max(16, max_workers * 2)
        )
        self._sleep = sleep
        self._info_lock = threading.Lock()
        self._site_info: dict[str, Any] | None = None

        # The API areas, grouped as Moodle groups its functions.
        self.site = SiteArea(self)
        self.users = UsersArea(self)
        self.courses = CoursesArea(self)
        self.categories = CategoriesArea(self)
        self.sections = SectionsArea(self)
        self.enrol = EnrolArea(self)
        self.groups = GroupsArea(self)
        self.cohorts = CohortsArea(self)
        self.roles = RolesArea(self)
        self.files = FilesArea(self)

    # --- construction ------------------------------------------------------------

    @classmethod
    def login(
        cls,
        url: str,
        username: str,
        password: str,
        *,
        service: str = "moodle_mobile_app",
        timeout: float = 30.0,
        verify: bool | str = True,
        transport: Transport | None = None,
        **kwargs: Any,
    ) -> MoodleClient:
        """Get a token from ``login/token.php`` and return a client using it."""
        token = request_token(
            url,
            username,
            password,
            service=service,
            timeout=timeout,
            verify=verify,
            transport=transport,
        )
        return cls(url, token, timeout=timeout, verify=verify, transport=transport, **kwargs)

    def __repr__(self) -> str:
        return f"MoodleClient(url={self.url!r}, token={MASK!r})"

    @property
    def timeout(self) -> float:
        """Seconds a call may take in all, answer included; a positive number."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        check_timeout(seconds)
        self._timeout = seconds

    def __enter__(self) -> MoodleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # --- calls ------------------------------------------------------------------

    def call(self, function: str, /, *, read: bool | None = None, **params: Any) -> Any:
        """Call any web-service function by name and return its decoded result.

        ``read`` says whether the call only reads (and so may be retried after a
        transport failure); by default it is judged from the function's name.
        """
        return self.call_params(function, params, read=read)

    def call_params(
        self, function: str, params: Mapping[str, Any], *, read: bool | None = None
    ) -> Any:
        """Like :meth:`call`, with the parameters as one mapping."""
        fields = [
            ("wstoken", self._token),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
            *encode_params(params),
        ]
        retryable = is_read_function(function) if read is None else read
        started = time.perf_counter()
        result = self._answer(function, fields, retryable=retryable)
        log.debug("%s answered in %.0f ms", function, (time.perf_counter() - started) * 1000)
        _surface_warnings(function, result)
        return result

    def call_many(
        self,
        calls: Iterable[tuple[str, Mapping[str, Any]]],
        *,
        max_workers: int | None = None,
    ) -> list[Any]:
        """Run independent calls concurrently; results come back in call order.

        The first failure is raised once all calls have finished, so no call is left
        running behind the caller's back.
        """
        pending = list(calls)
        return self.map_concurrently(
            lambda call: self.call_params(call[0], call[1]), pending, max_workers=max_workers
        )

    def map_concurrently(
        self,
        fn: Callable[[Any], T],
        items: Sequence[Any],
        *,
        max_workers: int | None = None,
    ) -> list[T]:
        """Apply ``fn`` to each item on the client's thread pool, keeping order."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        workers = min(max_workers or self.max_workers, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="moodle-ws") as pool:
            futures = [pool.submit(fn, item) for item in items]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
        return [f.result() for f in futures]

    def upload(
        self, files: UploadFiles, *, filearea: str = "draft", itemid: int = 0, filepath: str = "/"
    ) -> Any:
        """Upload files through ``webservice/upload.php`` (see ``client.files``)."""
        fields = [
            ("token", self._token),
            ("filearea", filearea),
            ("itemid", str(itemid)),
            ("filepath", filepath),
        ]
        raw = self._post_with_retry(
            f"{self.url}/{UPLOAD_PATH}", fields, retryable=False, files=files
        )
        return decode_response(raw, function="webservice/upload.php")

    def download(self, fileurl: str) -> RawResponse:
        """A file the site serves to web-service clients (a ``fileurl`` of
        ``webservice/pluginfile.php``, as ``core_course_get_contents`` gives them),
        with the token sent in the request body."""
        if not fileurl.startswith(self.url + "/"):
            raise ConfigurationError(
                f"{fileurl} is not a file of {self.url}",
                hint="Pass a fileurl the same site gave.",
            )
        return self._post_with_retry(fileurl, [("token", self._token)], retryable=True)

    # --- site facts --------------------------------------------------------------

    def site_info(self, *, refresh: bool = False) -> dict[str, Any]:
        """``core_webservice_get_site_info``, fetched once and cached."""
        with self._info_lock:
            if self._site_info is None or refresh:
                self._site_info = self.call("core_webservice_get_site_info")
            return self._site_info

    @property
    def release(self) -> str:
        return str(self.site_info().get("release", ""))

    @property
    def version(self) -> float:
        return float(self.site_info().get("version", 0) or 0)

    @property
    def branch(self) -> int:
        """Moodle's branch number: 405 for 4.5, 500 for 5.0, 501 for 5.1."""
        return release_branch(self.release)

    def supports(self, function: str) -> bool:
        """Whether the token's service offers ``function`` on this site."""
        functions = self.site_info().get("functions") or []
        return any(f.get("name") == function for f in functions)

    # --- internals ---------------------------------------------------------------

    def _answer(self, function: str, fields: list[tuple[str, str]], *, retryable: bool) -> Any:
        """The decoded answer to a call; a read Moodle answers with a transient error
        is sent again."""
        attempt = 0
        while True:
            attempt += 1
            raw = self._post_with_retry(f"{self.url}/{REST_PATH}", fields, retryable=retryable)
            try:
                return decode_response(raw, function=function)
            except MoodleAPIError as exc:
                again = retryable and exc.errorcode in TRANSIENT_ERRORS
                if not again or attempt >= self.retry.transient_attempts:
                    raise
                delay = self.retry.delay(attempt)
                log.info("retrying %s after %s (attempt %d, in %.2f s)",
                         function, exc.errorcode, attempt + 1, delay)  # fmt: skip
                self._sleep(delay)

    def _post_with_retry(
        self,
        url: str,
        fields: list[tuple[str, str]],
        *,
        retryable: bool,
        files: UploadFiles | None = None,
    ) -> RawResponse:
        attempt = 0
        while True:
            attempt += 1
            try:
                raw = self._transport.post(url, fields, timeout=self.timeout, files=files)
                if raw.status_code >= 500 and retryable and attempt < self.retry.attempts:
                    raise _RetryableStatus(raw)
                return raw
            except (
                ConnectError,
                RequestTimeoutError,
                TruncatedResponseError,
                _RetryableStatus,
            ) as exc:
                # A write whose request may have reached the server is never resent;
                # a refused connection never reached it, so it is safe either way.
                safe = retryable or (
                    isinstance(exc, ConnectError) and "refused" in exc.message.lower()
                )
                if not safe or attempt >= self.retry.attempts:
                    if isinstance(exc, _RetryableStatus):
                        return exc.raw
                    raise
                delay = self.retry.delay(attempt)
                log.info("retrying after %s (attempt %d, in %.2f s)", exc, attempt + 1, delay)
                self._sleep(delay)


class _RetryableStatus(TransportError):
    def __init__(self, raw: RawResponse) -> None:
        self.raw = raw
        super().__init__(f"HTTP {raw.status_code}")


def normalise_site_url(url: str) -> str:
    """The site's root URL without a trailing slash; refuses anything but http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{url!r} is not a site URL",
            hint="Give the Moodle site's root, for example https://moodle.example.org.",
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{url!r} has a query or fragment; give the site's root")
    return url.strip().rstrip("/")


def release_branch(release: str) -> int:
    """``"4.5.6 (Build: 20250811)"`` -> 405; ``"5.1.3"`` -> 501."""
    match = re.match(r"\s*(\d+)\.(\d+)", release)
    if not match:
        return 0
    return int(match.group(1)) * 100 + int(match.group(2))


def decode_response(raw: RawResponse, *, function: str) -> Any:
    """Decode a Moodle answer or raise the precise error it stands for."""
    _refuse_non_answers(raw, function)
    try:
        payload = json.loads(raw.text)
    except ValueError:
        if raw.status_code >= 400:
            raise HTTPStatusError(
                f"{function}: HTTP {raw.status_code} from the web server",
                status_code=raw.status_code,
            ) from None
        raise UnexpectedResponseError(
            f"{function}: the answer is not JSON ({_kind_of_body(raw)})",
            excerpt=_excerpt(raw.text),
        ) from None
    if isinstance(payload, dict) and ("exception" in payload or "errorcode" in payload):
        raise error_from_payload(payload, function=function)
    if isinstance(payload, dict) and "error" in payload and function == TOKEN_PATH:
        raise error_from_payload(payload, function=function)
    if raw.status_code >= 400:
        raise HTTPStatusError(
            f"{function}: HTTP {raw.status_code} from the web server",
            status_code=raw.status_code,
        )
    return payload


def _refuse_non_answers(raw: RawResponse, function: str) -> None:
    """Raise for what the web server sent instead of Moodle's JSON, by its status."""
    text = raw.text
    if raw.status_code == 403 and not text.strip():
        # webservice/rest/server.php answers a bare 403 when the protocol is off.
        raise WebServicesDisabledError(
            f"{function}: the site refused the REST request (HTTP 403, empty body)",
            status_code=403,
        )
    if raw.status_code == 503 and "maintenance" in text[:5000].lower():
        # admin/cli/maintenance.php --enable: every script answers 503 and the
        # climaintenance.html page, before any web-service code runs.
        raise MaintenanceModeError(
            f"{function}: the site is in CLI maintenance mode (HTTP 503)",
            errorcode="climaintenance",
            function=None,
            hint="Wait for the maintenance to end, or run admin/cli/maintenance.php --disable.",
        )
    if 300 <= raw.status_code < 400:
        raise RedirectedError(
            f"{function}: the web server answered with a redirect (HTTP {raw.status_code}), "
            "not Moodle's answer",
            location=_header(raw, "Location"),
            excerpt=_excerpt(text),
        )
    if not text.strip():
        if raw.status_code >= 400:
            raise HTTPStatusError(
                f"{function}: HTTP {raw.status_code} from the web server, with an empty body",
                status_code=raw.status_code,
            )
        raise EmptyResponseError(
            f"{function}: the site answered HTTP {raw.status_code} with an empty body"
        )


def request_token(
    url: str,
    username: str,
    password: str,
    *,
    service: str = "moodle_mobile_app",
    timeout: float = 30.0,
    verify: bool | str = True,
    transport: Transport | None = None,
) -> str:
    """Ask ``login/token.php`` for a token of ``service`` for a user."""
    register_secret(password)
    site = normalise_site_url(url)
    check_timeout(timeout)
    own = transport is None
    sender = transport or RequestsTransport(verify=verify)
    try:
        raw = sender.post(
            f"{site}/{TOKEN_PATH}",
            [("username", username), ("password", password), ("service", service)],
            timeout=timeout,
        )
    finally:
        if own:
            sender.close()
    payload = decode_response(raw, function=TOKEN_PATH)
    if not isinstance(payload, dict) or not payload.get("token"):
        raise UnexpectedResponseError(
            f"{TOKEN_PATH}: no token in the answer", excerpt=_excerpt(raw.text)
        )
    token = str(payload["token"])
    register_secret(token)
    if payload.get("privatetoken"):
        register_secret(str(payload["privatetoken"]))
    return token


def _surface_warnings(function: str, result: Any) -> None:
    found = result.get("warnings") if isinstance(result, dict) else None
    if found:
        for item in found:
            text = item.get("message", item) if isinstance(item, dict) else item
            log.warning("%s warned: %s", function, text)
        warnings.warn(
            f"{function} returned {len(found)} warning(s): {found}", MoodleWarning, stacklevel=4
        )


def _kind_of_body(raw: RawResponse) -> str:
    lowered = raw.text.lstrip()[:2000].lower()
    if "login" in lowered and "<form" in lowered:
        return "an HTML login page"
    if lowered.startswith(("<!doctype html", "<html")) or "<html" in lowered:
        return "an HTML page"
    return f"HTTP {raw.status_code}, {raw.headers.get('Content-Type', 'no content type')}"


def _header(raw: RawResponse, name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in raw.headers.items() if k.lower() == wanted), "")


def _excerpt(text: str, size: int = 200) -> str:
    return " ".join(text.split())[:size]
