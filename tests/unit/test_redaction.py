"""Tokens and passwords stay out of reprs, logs, exception text and tracebacks."""

from __future__ import annotations

import logging
import traceback

import pytest
import requests

from moodle_ws import ConnectError, MoodleClient
from moodle_ws.areas.users import UserCreate
from moodle_ws.errors import MoodleAPIError, UnexpectedResponseError
from moodle_ws.redaction import (
    MASK,
    RedactingFilter,
    install_log_redaction,
    redact,
    register_secret,
)
from moodle_ws.transport import RequestsTransport

TOKEN = "0123456789abcdef0123456789abcdef"
PASSWORD = "Correct-Horse-42"


def test_registered_secrets_and_token_shapes_are_masked() -> None:
    register_secret(PASSWORD)
    text = f"login with {PASSWORD} and token {'f' * 32}"
    assert redact(text) == f"login with {MASK} and token {MASK}"


@pytest.mark.parametrize(
    "text",
    [
        "wstoken=abc123def&wsfunction=x",
        "password=hunter2hunter",
        '{"token": "abc123def", "privatetoken": "zzz999yyy"}',
        "{'password': 'hunter2hunter'}",
        "token: abc123def",
    ],
)
def test_name_value_pairs_are_masked_in_form_json_and_repr_shapes(text: str) -> None:
    cleaned = redact(text)
    for secret in ("abc123def", "hunter2hunter", "zzz999yyy"):
        assert secret not in cleaned
    assert MASK in cleaned


def test_short_secrets_are_not_registered_so_words_survive() -> None:
    register_secret("a")
    assert redact("a cat") == "a cat"


def test_client_repr_hides_the_token() -> None:
    client = MoodleClient("https://moodle.example.org", TOKEN)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert MASK in repr(client)


def test_user_input_repr_hides_the_password() -> None:
    user = UserCreate(
        username="ann", firstname="A", lastname="L", email="a@example.org", password=PASSWORD
    )
    assert PASSWORD not in repr(user)
    # The password still goes to Moodle.
    assert user.to_params()["password"] == PASSWORD


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("moodle_ws.test_redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("calling with %s and wstoken=%s", TOKEN, "abcdefgh12")
    assert TOKEN not in caplog.text
    assert "abcdefgh12" not in caplog.text
    assert MASK in caplog.text


def test_install_log_redaction_covers_handlers(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("moodle_ws.test_redaction_install")
    install_log_redaction(logger)
    install_log_redaction(logger)  # idempotent
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("token is %s", TOKEN)
    assert TOKEN not in caplog.text


def test_exception_text_is_masked() -> None:
    register_secret(PASSWORD)
    error = MoodleAPIError(
        f"bad {TOKEN}", errorcode="x", debuginfo=f"password={PASSWORD}", function="f"
    )
    assert TOKEN not in str(error)
    assert PASSWORD not in str(error)
    shaped = UnexpectedResponseError("odd body", excerpt=f"<p>{TOKEN}</p>")
    assert TOKEN not in str(shaped)
    assert TOKEN not in shaped.excerpt


def test_transport_failure_traceback_has_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chained requests exception is rebuilt from redacted text only."""

    def explode(*_args: object, **_kwargs: object) -> None:
        raise requests.ConnectionError(f"Connection refused while sending wstoken={TOKEN}")

    transport = RequestsTransport()
    monkeypatch.setattr(transport._session, "post", explode)
    client = MoodleClient("http://127.0.0.1:9", TOKEN, transport=transport, sleep=lambda _s: None)
    with pytest.raises(ConnectError) as caught:
        client.call("core_course_create_courses", courses=[])
    rendered = "".join(traceback.format_exception(caught.value))
    assert "cannot reach" in rendered
    assert TOKEN not in rendered


class _TwoArgError(requests.RequestException):
    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} {second}")


def test_exception_needing_two_arguments_does_not_hide_the_real_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rebuilding the chained exception used to call type(exc)(text), which raised
    # TypeError for such types and replaced the ConnectError with it.
    def explode(*_args: object, **_kwargs: object) -> None:
        raise _TwoArgError("odd", f"failure {TOKEN}")

    transport = RequestsTransport()
    monkeypatch.setattr(transport._session, "post", explode)
    client = MoodleClient("http://127.0.0.1:9", TOKEN, transport=transport, sleep=lambda _s: None)
    with pytest.raises(ConnectError) as caught:
        client.call("core_course_get_courses")
    rendered = "".join(traceback.format_exception(caught.value))
    assert TOKEN not in rendered
    assert "_TwoArgError" in rendered


def test_json_literals_after_secret_names_stay_valid_json() -> None:
    # token.php answers "privatetoken": null; masking the null corrupted recordings.
    import json

    text = '{"token":"abcd1234efgh","privatetoken":null,"password":true}'
    cleaned = redact(text)
    assert json.loads(cleaned) == {"token": MASK, "privatetoken": None, "password": True}


def test_the_token_in_form_fields_shows_masked_in_printed_locals() -> None:
    # What pytest --showlocals or a rich traceback prints for the client's locals.
    from moodle_ws import MoodleClient

    token = "0123456789abcdef0123456789abcdef"
    client = MoodleClient("https://moodle.example.org", token)
    fields = [("wstoken", client._token), ("wsfunction", "core_webservice_get_site_info")]
    assert token not in repr(fields)
    assert client._token == token  # still the real value on the wire
