"""Users: create, update, suspend, delete, and log in for a token.

All on scratch users the tests make and remove.  Holds on any version: a created
user reads back as given; an update changes only what it names; a user logs in
through ``login/token.php`` for the mobile service and the token is theirs; a
suspended user cannot log in, and can again once unsuspended; a deleted user is
gone and cannot log in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moodle_regress.pytest_recording import TestObservations
from moodle_regress.pytest_suites import MOBILE_SERVICE
from moodle_regress.site import SiteDescriptor
from moodle_regress.suites.api.conftest import ScratchUser
from moodle_ws import MoodleClient, TokenRequestError
from moodle_ws.areas.users import User, UserUpdate

PROFILE = {
    "firstname": "Ada",
    "lastname": "Scratch",
    "city": "Lyon",
    "country": "FR",
    "institution": "Moodle Regress",
    "department": "QA",
    "description": "Made by the API suites.",
    "lang": "en",
    "timezone": "Europe/Paris",
}


def profile(user: User) -> dict[str, Any]:
    return {k: getattr(user, k) for k in (*PROFILE, "auth", "suspended", "confirmed")}


def login(site: SiteDescriptor, user: ScratchUser) -> MoodleClient:
    return MoodleClient.login(site.url, user.username, user.password, service=MOBILE_SERVICE)


def login_refused(site: SiteDescriptor, user: ScratchUser) -> str:
    try:
        login(site, user).close()
    except TokenRequestError as exc:
        return exc.errorcode or type(exc).__name__
    raise AssertionError(f"{user.username} got a token; the login should have been refused")


def test_create_and_update_a_user(
    moodle_client: MoodleClient,
    scratch_user: Callable[..., ScratchUser],
    observe: TestObservations,
) -> None:
    made = scratch_user("profile", **PROFILE)
    user = moodle_client.users.get(made.id)
    assert user is not None and user.username == made.username
    created = profile(user)
    # Department is recorded, not asserted: a customised user_create_user (seen on
    # real sites) drops it on creation, and that shows as a difference instead.
    kept = {k: v for k, v in PROFILE.items() if k != "department"}
    assert {k: created[k] for k in kept} == kept
    assert created["auth"] == "manual"
    assert created["suspended"] is False
    observe("users", "scratch", "created", value=created)

    moodle_client.users.update([UserUpdate(id=made.id, city="Nantes", department="Support")])
    updated = moodle_client.users.get(made.id)
    assert updated is not None
    after = profile(updated)
    assert after == {**created, "city": "Nantes", "department": "Support"}
    observe(
        "users",
        "scratch",
        "updated-fields",
        value=sorted(k for k in after if after[k] != created[k]),
    )


def test_login_for_a_token_suspend_and_delete(
    moodle_client: MoodleClient,
    moodle_site: SiteDescriptor,
    scratch_user: Callable[..., ScratchUser],
    observe: TestObservations,
) -> None:
    made = scratch_user("login")
    with login(moodle_site, made) as own:
        info = own.site_info()
        assert info["username"] == made.username
        assert int(info["userid"]) == made.id
        assert not info.get("userissiteadmin")
    outcomes: dict[str, str] = {"active": "token"}

    moodle_client.users.update([UserUpdate(id=made.id, suspended=True)])
    suspended = moodle_client.users.get(made.id)
    assert suspended is not None and suspended.suspended is True
    outcomes["suspended"] = login_refused(moodle_site, made)

    moodle_client.users.update([UserUpdate(id=made.id, suspended=False)])
    with login(moodle_site, made) as again:
        assert again.site_info()["username"] == made.username
    outcomes["unsuspended"] = "token"

    moodle_client.users.delete([made.id])
    # Moodle keeps a deleted user's row, renamed: the username is free again.
    assert moodle_client.users.get_by_field("username", [made.username]) == []
    gone = moodle_client.users.get(made.id)
    assert gone is None or gone.username != made.username
    outcomes["deleted"] = login_refused(moodle_site, made)
    observe("users", "scratch", "login", value=outcomes)


def test_wrong_password_is_refused(
    moodle_site: SiteDescriptor,
    scratch_user: Callable[..., ScratchUser],
    observe: TestObservations,
) -> None:
    made = scratch_user("password")
    wrong = ScratchUser(made.id, made.username, made.password + "-wrong")
    observe("users", "scratch", "wrong-password", value=login_refused(moodle_site, wrong))
