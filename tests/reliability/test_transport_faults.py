"""The client against broken networks, web servers and proxies on 127.0.0.1.

Each case is one fault: the exact error class, the hint that says the fix, and no
secret in anything the error carries.
"""

from __future__ import annotations

import json
import math

import pytest

from moodle_ws import (
    AccessDeniedError,
    ConfigurationError,
    ConnectError,
    EmptyResponseError,
    HTTPStatusError,
    InvalidLoginError,
    InvalidTokenError,
    MaintenanceModeError,
    MoodleClient,
    RedirectedError,
    RequestTimeoutError,
    RetryPolicy,
    TruncatedResponseError,
    UnexpectedResponseError,
    WebServicesDisabledError,
    request_token,
)
from tests.reliability.conftest import PASSWORD, TOKEN, assert_typed
from tests.reliability.fakesite import (
    Behaviour,
    FakeSite,
    drop,
    echo,
    hang,
    recorded,
    refused_url,
    reply,
    sequence,
    slow,
    trickle,
    trickle_headers,
    truncated,
)

SITE_INFO = "core_webservice_get_site_info"


def _client(url: str, *, timeout: float = 5.0, attempts: int = 1) -> MoodleClient:
    return MoodleClient(
        url, TOKEN, timeout=timeout, retry=RetryPolicy(attempts=attempts, backoff=0.01)
    )


def _error_of(
    site_url: str, function: str = SITE_INFO, *, timeout: float = 5.0, attempts: int = 1
) -> BaseException:
    with (
        _client(site_url, timeout=timeout, attempts=attempts) as client,
        pytest.raises(Exception) as caught,
    ):
        client.call(function)
    return caught.value


# --- answers that are not Moodle's ----------------------------------------------------


def test_an_empty_answer_is_an_error_not_none(make_site: type[FakeSite]) -> None:
    error = _error_of(make_site(reply(200, b"", Content_Type="application/json")).url)
    assert_typed(error, EmptyResponseError, "PHP may have died")
    assert "empty body" in str(error)


def test_a_redirect_without_body_names_where_it_leads(make_site: type[FakeSite]) -> None:
    error = _error_of(make_site(reply(303, b"", Location="https://moodle.example.org/")).url)
    assert_typed(error, RedirectedError, "https://moodle.example.org/")
    assert "HTTP 303" in str(error)


def test_a_redirect_with_a_page_is_a_redirect(make_site: type[FakeSite]) -> None:
    page = "<html><body>Moved <a href='https://elsewhere.example.org/m'>here</a></body></html>"
    site = make_site(reply(301, page, Location="https://elsewhere.example.org/m/"))
    error = _error_of(site.url)
    assert_typed(error, RedirectedError, "https://elsewhere.example.org/m/")


def test_an_html_page_is_not_json(make_site: type[FakeSite]) -> None:
    error = _error_of(make_site(reply(200, "<!DOCTYPE html><html><p>Hi</p></html>")).url)
    assert_typed(error, UnexpectedResponseError, "site's root")
    assert "an HTML page" in str(error)


def test_a_login_page_is_named_as_such(make_site: type[FakeSite]) -> None:
    page = "<html><form action='/login/index.php'><input name=username></form></html>"
    error = _error_of(make_site(reply(200, page)).url)
    assert_typed(error, UnexpectedResponseError, "login page")


def test_a_page_quoting_the_request_does_not_print_the_token(make_site: type[FakeSite]) -> None:
    site = make_site(echo(status=200))
    error = _error_of(site.url)
    assert_typed(error, UnexpectedResponseError, "site's root")
    assert "wsfunction=core_webservice_get_site_info" in str(error)


def test_an_error_page_quoting_the_request_does_not_print_the_token(
    make_site: type[FakeSite],
) -> None:
    error = _error_of(make_site(echo(status=500)).url)
    assert_typed(error, HTTPStatusError, "error log")


def test_json_cut_short_within_its_length_is_not_json(make_site: type[FakeSite]) -> None:
    error = _error_of(
        make_site(reply(200, '{"sitename": "Mood', Content_Type="application/json")).url
    )
    assert_typed(error, UnexpectedResponseError, "site's root")


def test_an_answer_cut_short_of_its_length_is_truncated(make_site: type[FakeSite]) -> None:
    error = _error_of(make_site(truncated(b'{"sitename": "Mo', declared=4000)).url)
    assert_typed(error, TruncatedResponseError, "error log")


def test_a_dropped_connection_is_a_connect_error(make_site: type[FakeSite]) -> None:
    error = _error_of(make_site(drop()).url)
    assert_typed(error, ConnectError, "web server is running")


def test_a_refused_port_is_a_connect_error() -> None:
    error = _error_of(refused_url())
    assert_typed(error, ConnectError, "web server is running")
    assert "refused" in str(error).lower()


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (404, "site's root URL"),
        (405, "root URL"),
        (413, "smaller batches"),
        (500, "error log"),
        (501, "does not implement"),
        (502, "php-fpm"),
        (504, "gave up waiting"),
    ],
)
def test_http_error_statuses_carry_a_hint(
    make_site: type[FakeSite], status: int, hint: str
) -> None:
    error = _error_of(make_site(reply(status, "<html><body>Error</body></html>")).url)
    assert_typed(error, HTTPStatusError, hint)
    assert f"HTTP {status}" in str(error)


# --- slow and silent servers ----------------------------------------------------------


def test_a_server_that_never_answers_times_out(make_site: type[FakeSite]) -> None:
    error = _error_of(make_site(hang()).url, timeout=0.5)
    assert_typed(error, RequestTimeoutError, "raise the client's timeout")


def test_a_trickling_body_cannot_hold_a_call_past_its_deadline(
    make_site: type[FakeSite],
) -> None:
    # One byte every 50 ms for about 20 s: each read succeeds, the whole call must not.
    body = json.dumps({"sitename": "x" * 400}).encode()
    error = _error_of(make_site(trickle(body, every=0.05)).url, timeout=1.0)
    assert_typed(error, RequestTimeoutError, "raise the client's timeout")
    assert "did not complete within 1 s" in str(error)


def test_trickling_headers_cannot_hold_a_call_past_its_deadline(
    make_site: type[FakeSite],
) -> None:
    error = _error_of(make_site(trickle_headers(every=0.05)).url, timeout=1.0)
    assert_typed(error, RequestTimeoutError, "raise the client's timeout")


def test_a_slow_but_steady_answer_within_the_deadline_arrives(make_site: type[FakeSite]) -> None:
    site = make_site(recorded("4.5", "typed", "site_info"))
    site.on_function(SITE_INFO, slow(0.3, recorded("4.5", "typed", "site_info")))
    with _client(site.url, timeout=5.0) as client:
        assert client.call(SITE_INFO)["username"] == "admin"


def test_a_read_is_retried_after_a_timeout(make_site: type[FakeSite]) -> None:
    answer = recorded("4.5", "typed", "site_info")
    site = make_site(sequence(hang(), answer))
    with _client(site.url, timeout=0.5, attempts=2) as client:
        assert client.call(SITE_INFO)["username"] == "admin"
    assert site.functions_called() == [SITE_INFO, SITE_INFO]


def test_a_write_is_never_resent_after_a_timeout(make_site: type[FakeSite]) -> None:
    site = make_site(sequence(hang(), reply(200, "[]")))
    error = _error_of(site.url, "core_course_create_categories", timeout=0.5, attempts=3)
    assert_typed(error, RequestTimeoutError, "raise the client's timeout")
    assert site.functions_called() == ["core_course_create_categories"]


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, "30"])
def test_a_timeout_that_is_no_positive_number_is_refused(timeout: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        MoodleClient("http://127.0.0.1:9", TOKEN, timeout=timeout)  # type: ignore[arg-type]
    assert_typed(caught.value, ConfigurationError, "positive number")


def test_request_token_refuses_a_zero_timeout() -> None:
    with pytest.raises(ConfigurationError) as caught:
        request_token("http://127.0.0.1:9", "admin", PASSWORD, timeout=0)
    assert_typed(caught.value, ConfigurationError, "positive number")


def test_a_timeout_set_later_is_checked_too() -> None:
    client = MoodleClient("http://127.0.0.1:9", TOKEN)
    with pytest.raises(ConfigurationError):
        client.timeout = 0
    assert client.timeout == 30.0


# --- Moodle's refusals, as a real Moodle 4.5 answered them (recorded) ----------------------


@pytest.mark.parametrize(
    ("label", "cls", "hint"),
    [
        ("error_invalid_token", InvalidTokenError, "create a new one"),
        ("error_webservices_disabled", WebServicesDisabledError, "Enable web services"),
        ("error_rest_disabled", WebServicesDisabledError, "REST protocol"),
        ("error_function_not_in_service", AccessDeniedError, "add it to the service"),
        ("error_maintenance", MaintenanceModeError, "maintenance mode"),
        ("error_cli_maintenance", MaintenanceModeError, "maintenance.php --disable"),
    ],
)
def test_moodles_refusals_over_http(
    make_site: type[FakeSite], label: str, cls: type[Exception], hint: str
) -> None:
    behaviour: Behaviour = recorded("4.5", "errors", label)
    error = _error_of(make_site(behaviour).url)
    assert_typed(error, cls, hint)


def test_a_wrong_password_does_not_print_it(make_site: type[FakeSite]) -> None:
    site = make_site(recorded("4.5", "errors", "token_invalid_login"))
    with pytest.raises(InvalidLoginError) as caught:
        request_token(site.url, "admin", PASSWORD, timeout=5)
    assert_typed(caught.value, InvalidLoginError, "username or password is wrong")
