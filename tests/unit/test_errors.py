"""Errors recorded from real 4.5, 5.0 and 5.1 sites map to precise classes."""

from __future__ import annotations

import traceback
import warnings

import pytest

from moodle_ws import (
    AccessDeniedError,
    FunctionNotFoundError,
    InvalidLoginError,
    InvalidParameterError,
    InvalidTokenError,
    MaintenanceModeError,
    MissingRecordError,
    MoodleError,
    MoodleWarning,
    ServiceUnavailableError,
    UnexpectedResponseError,
    UpgradePendingError,
    WebServicesDisabledError,
    request_token,
)
from moodle_ws.testing import PLACEHOLDER_URL, replay_call
from tests.unit.recordings import RELEASES, TOKEN, answering, recording

# label -> (class, words the message or hint must hold)
REST_ERRORS: dict[str, tuple[type[MoodleError], tuple[str, ...]]] = {
    "error_invalid_token": (InvalidTokenError, ("invalidtoken", "create a new one")),
    "error_function_unknown": (FunctionNotFoundError, ("does not have that function",)),
    "error_invalid_parameter": (InvalidParameterError, ("invalidparameter", "parameters")),
    "error_missing_record": (MissingRecordError, ("does not exist",)),
    "error_function_not_in_service": (
        AccessDeniedError,
        ("accessexception", "missing from the token's external service"),
    ),
    "error_html_page": (UnexpectedResponseError, ("not JSON", "HTML", "site's root")),
    "error_maintenance": (MaintenanceModeError, ("sitemaintenance", "maintenance mode")),
    "error_cli_maintenance": (MaintenanceModeError, ("maintenance", "--disable")),
    "error_upgrade_running": (UpgradePendingError, ("upgraderunning", "upgrade")),
    "error_rest_disabled": (WebServicesDisabledError, ("403", "Enable web services")),
    "error_webservices_disabled": (WebServicesDisabledError, ("403", "Enable web services")),
}
TOKEN_ERRORS: dict[str, tuple[type[MoodleError], tuple[str, ...]]] = {
    "token_invalid_login": (InvalidLoginError, ("invalidlogin", "password is wrong")),
    "token_unknown_service": (ServiceUnavailableError, ("servicenotavailable", "short name")),
    "token_maintenance": (MaintenanceModeError, ("sitemaintenance",)),
    "token_webservices_disabled": (WebServicesDisabledError, ("enablewsdescription",)),
}


def _cases(table: dict[str, tuple[type[MoodleError], tuple[str, ...]]]) -> list[object]:
    return [
        pytest.param(release, label, cls, words, id=f"{release}-{label}")
        for release in RELEASES
        for label, (cls, words) in table.items()
    ]


@pytest.mark.parametrize(("release", "label", "cls", "words"), _cases(REST_ERRORS))
def test_recorded_rest_error_maps_to_its_class(
    release: str, label: str, cls: type[MoodleError], words: tuple[str, ...]
) -> None:
    call = recording(release, "errors").labelled(label)[0]
    client = answering(release, "errors", label)
    with pytest.raises(MoodleError) as caught:
        client.call(call.function)
    error = caught.value
    assert type(error) is cls, f"{label}: {type(error).__name__}: {error}"
    text = str(error)
    for word in words:
        assert word.lower() in text.lower(), f"{word!r} not in {text!r}"
    assert "Hint:" in text
    assert TOKEN not in text
    assert TOKEN not in repr(error)
    assert TOKEN not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize(("release", "label", "cls", "words"), _cases(TOKEN_ERRORS))
def test_recorded_token_error_maps_to_its_class(
    release: str, label: str, cls: type[MoodleError], words: tuple[str, ...]
) -> None:
    call = recording(release, "errors").call(label)
    password = "Not-the-Password-9"
    with pytest.raises(MoodleError) as caught:
        request_token(PLACEHOLDER_URL, "admin", password, transport=replay_call(call))
    error = caught.value
    assert type(error) is cls, f"{label}: {type(error).__name__}: {error}"
    text = str(error)
    for word in words:
        assert word.lower() in text.lower(), f"{word!r} not in {text!r}"
    assert password not in text
    assert password not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize("release", RELEASES)
def test_recorded_token_answer_gives_a_token(release: str) -> None:
    call = recording(release, "errors").call("token_mobile_service")
    # The recorded token was masked before saving; the shape is what is tested.
    assert request_token(PLACEHOLDER_URL, "admin", "pw-xyz-1", transport=replay_call(call))


@pytest.mark.parametrize("release", RELEASES)
def test_recorded_warnings_are_surfaced(release: str, caplog: pytest.LogCaptureFixture) -> None:
    client = answering(release, "errors", "warning_unknown_user")
    with pytest.warns(MoodleWarning, match="invaliduserid"):
        result = client.call("core_user_update_users", users=[{"id": 999999}])
    assert result["warnings"][0]["itemid"] == 999999
    assert "core_user_update_users warned" in caplog.text


@pytest.mark.parametrize("release", RELEASES)
def test_typed_update_returns_warnings_too(release: str) -> None:
    from moodle_ws.areas.users import UserUpdate

    client = answering(release, "errors", "warning_unknown_user")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = client.users.update([UserUpdate(id=999999, city="Nowhere")])
    assert [w.warningcode for w in found] == ["invaliduserid"]
    assert any(issubclass(w.category, MoodleWarning) for w in caught)


def test_recordings_name_their_release() -> None:
    for release in RELEASES:
        for name in ("typed", "errors"):
            rec = recording(release, name)
            assert rec.release == release
            assert rec.moodle_release.startswith(release)
            assert rec.moodle_version.isdigit() or "." in rec.moodle_version
            assert "127.0.0.1" not in rec.model_dump_json()
