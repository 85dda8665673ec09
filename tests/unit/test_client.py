"""The client core: retries, token placement, site facts, concurrency, construction."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from moodle_ws import (
    ConfigurationError,
    ConnectError,
    HTTPStatusError,
    InvalidTokenError,
    MoodleAPIError,
    MoodleClient,
    RequestTimeoutError,
    RetryPolicy,
)
from moodle_ws.client import is_read_function, normalise_site_url, release_branch
from moodle_ws.testing import PLACEHOLDER_URL
from moodle_ws.transport import FormFields, RawResponse, UploadFiles
from tests.unit.recordings import RELEASES, TOKEN, recording

Outcome = Callable[[], RawResponse]


def _recorded_site_info() -> RawResponse:
    return recording("4.5", "typed").call("site_info").response()


def _proxy_502() -> RawResponse:
    # A reverse proxy's answer, not Moodle's: what a flaky gateway sends.
    return RawResponse(502, "<html><body>502 Bad Gateway</body></html>")


def _refused() -> RawResponse:
    raise ConnectError("cannot reach the site: [Errno 111] Connection refused")


def _dns_failure() -> RawResponse:
    raise ConnectError("cannot reach the site: Name or service not known")


def _timeout() -> RawResponse:
    raise RequestTimeoutError("no answer within 30 s")


class CountingTransport:
    """Plays a script of outcomes and counts the requests (a fake, not a Moodle)."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []

    def post(
        self, url: str, data: FormFields, *, timeout: float, files: UploadFiles | None = None
    ) -> RawResponse:
        self.requests.append((url, list(data)))
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        return outcome()

    def close(self) -> None:
        return None


def _client(transport: CountingTransport, sleeps: list[float]) -> MoodleClient:
    return MoodleClient(
        PLACEHOLDER_URL,
        TOKEN,
        transport=transport,
        sleep=sleeps.append,
        retry=RetryPolicy(attempts=3, backoff=0.5),
    )


@pytest.mark.parametrize("failure", [_dns_failure, _timeout, _proxy_502])
def test_reads_are_retried_with_backoff(failure: Outcome) -> None:
    transport = CountingTransport(failure, failure, _recorded_site_info)
    sleeps: list[float] = []
    info = _client(transport, sleeps).call("core_webservice_get_site_info")
    assert info["username"] == "admin"
    assert len(transport.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_reads_give_up_after_the_last_attempt() -> None:
    transport = CountingTransport(_timeout)
    sleeps: list[float] = []
    with pytest.raises(RequestTimeoutError):
        _client(transport, sleeps).call("core_course_get_courses")
    assert len(transport.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_on_a_read_raises_http_status_error() -> None:
    transport = CountingTransport(_proxy_502)
    with pytest.raises(HTTPStatusError) as caught:
        _client(transport, []).call("core_course_get_courses")
    assert caught.value.status_code == 502
    assert len(transport.requests) == 3


@pytest.mark.parametrize("failure", [_dns_failure, _timeout, _proxy_502])
def test_writes_are_not_retried(failure: Outcome) -> None:
    transport = CountingTransport(failure, _recorded_site_info)
    sleeps: list[float] = []
    with pytest.raises((ConnectError, RequestTimeoutError, HTTPStatusError)):
        _client(transport, sleeps).call("core_course_create_courses", courses=[])
    assert len(transport.requests) == 1
    assert sleeps == []


def test_a_refused_connection_is_retried_even_for_writes() -> None:
    # Refused means the request never reached the server: resending is safe.
    transport = CountingTransport(_refused, _recorded_site_info)
    _client(transport, []).call("core_course_create_courses", courses=[])
    assert len(transport.requests) == 2


def test_read_flag_overrides_the_name_rule() -> None:
    transport = CountingTransport(_timeout)
    with pytest.raises(RequestTimeoutError):
        _client(transport, []).call("core_course_get_courses", read=False)
    assert len(transport.requests) == 1


def test_moodle_errors_are_not_retried() -> None:
    invalid = recording("5.0", "errors").call("error_invalid_token").response
    transport = CountingTransport(invalid)
    with pytest.raises(InvalidTokenError):
        _client(transport, []).call("core_webservice_get_site_info")
    assert len(transport.requests) == 1


def _unable_to_lock() -> RawResponse:
    # Moodle 4.2.1's REST answer (its error JSON) when core_course_get_course_module
    # lost the race for course 1's modinfo cache lock during a default-plan rehearsal;
    # message, debug info and error code as the site's log recorded them.
    return RawResponse(
        200,
        '{"exception":"moodle_exception","errorcode":"ex_unabletolock",'
        '"message":"Unable to acquire a lock for caching.",'
        '"debuginfo":"Unable to lock modinfo cache for course 1"}',
    )


def test_a_read_that_lost_a_cache_lock_is_sent_again() -> None:
    transport = CountingTransport(_unable_to_lock, _unable_to_lock, _recorded_site_info)
    sleeps: list[float] = []
    info = _client(transport, sleeps).call("core_webservice_get_site_info")
    assert info["username"] == "admin"
    assert len(transport.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_a_cache_lock_that_stays_taken_ends_in_moodles_error() -> None:
    transport = CountingTransport(_unable_to_lock)
    with pytest.raises(MoodleAPIError) as caught:
        _client(transport, []).call("core_course_get_course_module", cmid=3)
    assert caught.value.errorcode == "ex_unabletolock"
    assert len(transport.requests) == RetryPolicy().transient_attempts


def test_a_write_that_lost_a_cache_lock_is_not_sent_again() -> None:
    transport = CountingTransport(_unable_to_lock, _recorded_site_info)
    with pytest.raises(MoodleAPIError):
        _client(transport, []).call("core_course_create_courses", courses=[])
    assert len(transport.requests) == 1


@pytest.mark.parametrize(
    ("function", "read"),
    [
        ("core_webservice_get_site_info", True),
        ("core_course_search_courses", True),
        ("core_enrol_get_enrolled_users", True),
        ("core_course_create_courses", False),
        ("core_user_delete_users", False),
        ("enrol_manual_enrol_users", False),
        ("core_courseformat_update_course", False),
    ],
)
def test_read_functions_are_judged_by_name(function: str, read: bool) -> None:
    assert is_read_function(function) is read


def test_token_travels_in_the_post_body_never_in_the_url() -> None:
    transport = CountingTransport(_recorded_site_info)
    _client(transport, []).call("core_webservice_get_site_info")
    url, data = transport.requests[0]
    assert url == f"{PLACEHOLDER_URL}/webservice/rest/server.php"
    assert TOKEN not in url
    assert ("wstoken", TOKEN) in data
    assert ("moodlewsrestformat", "json") in data


@pytest.mark.parametrize("release", RELEASES)
def test_branch_and_supports_come_from_recorded_site_info(release: str) -> None:
    answer = recording(release, "typed").call("site_info").response
    client = _client(CountingTransport(answer), [])
    assert client.branch == release_branch(release)
    assert client.supports("core_courseformat_update_course")
    assert not client.supports("local_nothing_here")
    client.supports("core_course_get_courses")
    assert len(client._transport.requests) == 1  # type: ignore[attr-defined]  # cached


def test_call_many_keeps_order_and_raises_the_first_failure() -> None:
    ok = _recorded_site_info
    transport = CountingTransport(ok)
    client = _client(transport, [])
    results = client.call_many([("core_webservice_get_site_info", {})] * 4)
    assert len(results) == 4 and all(r["username"] == "admin" for r in results)

    invalid = recording("4.5", "errors").call("error_invalid_token").response
    failing = _client(CountingTransport(invalid), [])
    with pytest.raises(InvalidTokenError):
        failing.call_many([("core_webservice_get_site_info", {})] * 3)


@pytest.mark.parametrize(
    ("release", "branch"), [("4.5.6 (Build: 20250811)", 405), ("5.0.6+", 500), ("5.1.3", 501)]
)
def test_release_branch(release: str, branch: int) -> None:
    assert release_branch(release) == branch


@pytest.mark.parametrize(
    "url", ["moodle.example.org", "ftp://moodle.example.org", "https://x.org/?a=1", ""]
)
def test_bad_site_urls_are_refused_with_a_hint(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        normalise_site_url(url)
    assert "site" in str(caught.value)


def test_empty_token_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="token"):
        MoodleClient(PLACEHOLDER_URL, "")


def test_login_gets_a_token_from_token_php() -> None:
    token_answer = recording("5.1", "errors").call("token_mobile_service").response
    transport = CountingTransport(token_answer)
    client = MoodleClient.login(PLACEHOLDER_URL, "admin", "pw-abc-123", transport=transport)
    url, data = transport.requests[0]
    assert url == f"{PLACEHOLDER_URL}/login/token.php"
    assert ("service", "moodle_mobile_app") in data
    assert "pw-abc-123" not in repr(client)
