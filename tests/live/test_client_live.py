"""moodle_ws against real Moodle 4.5, 5.0 and 5.1 sandboxes.

CRUD through the typed layer on the shared ``live-<release>`` sandboxes (each test
removes what it creates), and every failure a user meets, each as its own exception
class whose text, repr and traceback hold no token.  Switching web services off
changes the site, so that test brings up a sandbox of its own.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from moodle_regress.config import load_settings
from moodle_regress.sandbox import live
from moodle_regress.site import SiteDescriptor
from moodle_ws import (
    AccessDeniedError,
    ConnectError,
    InvalidTokenError,
    MoodleClient,
    MoodleError,
    UnexpectedResponseError,
    WebServicesDisabledError,
)
from moodle_ws.areas.categories import CategoryCreate, CategoryUpdate
from moodle_ws.areas.courses import CourseCreate, CourseUpdate
from moodle_ws.areas.enrol import ManualEnrolment, ManualUnenrolment
from moodle_ws.areas.groups import GroupCreate, GroupMember
from moodle_ws.areas.users import UserCreate, UserUpdate

pytestmark = pytest.mark.live

#: Listings of every course made while courses come and go.
LISTINGS = 150
#: Courses made, then deleted at once, a round.
CHURNED = 10


@pytest.fixture
def client(live_site: SiteDescriptor) -> Iterator[MoodleClient]:
    with live_site.client() as c:
        yield c


def _tag() -> str:
    return f"mwslive{uuid.uuid4().hex[:8]}"


def _no_secret(error: BaseException, *secrets: str) -> None:
    rendered = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for secret in secrets:
        for text in rendered:
            assert secret not in text


def test_site_info_names_the_release(client: MoodleClient, live_site: SiteDescriptor) -> None:
    info = client.site.info()
    assert live_site.release and info.release == live_site.release
    assert client.branch in (405, 500, 501)
    assert client.supports("core_course_create_courses")


def test_category_crud(client: MoodleClient) -> None:
    tag = _tag()
    (created,) = client.categories.create([CategoryCreate(name=tag, idnumber=tag)])
    try:
        (read,) = client.categories.get({"id": created.id})
        assert (read.name, read.idnumber, read.parent) == (tag, tag, 0)
        client.categories.update([CategoryUpdate(id=created.id, name=f"{tag}-renamed")])
        assert client.categories.get({"id": created.id})[0].name == f"{tag}-renamed"
    finally:
        client.categories.delete([created.id], recursive=True)
    assert client.categories.get({"id": created.id}) == []


def test_course_and_section_crud(client: MoodleClient) -> None:
    tag = _tag()
    (cat,) = client.categories.create([CategoryCreate(name=tag)])
    try:
        (course,) = client.courses.create(
            [CourseCreate(fullname=tag, shortname=tag, categoryid=cat.id, numsections=2)]
        )
        (read,) = client.courses.get([course.id])
        assert (read.shortname, read.categoryid) == (tag, cat.id)
        assert client.courses.update([CourseUpdate(id=course.id, fullname=f"{tag} 2")]) == []
        assert client.courses.get_by_field("shortname", tag)[0].fullname == f"{tag} 2"
        assert client.courses.search(tag).total == 1

        added = client.sections.add(course.id)
        client.sections.rename(course.id, added.id, f"{tag} section")
        client.sections.hide(course.id, [added.id])
        state = client.sections.state(course.id)
        hidden = state.by_id(added.id)
        assert hidden is not None and hidden.visible is False
        assert hidden.title == f"{tag} section"
        client.sections.move(course.id, [added.id], after=state.section[0].id)
        assert [s.id for s in client.sections.list(course.id)][1] == added.id
        client.sections.delete(course.id, [added.id])
        assert added.id not in [s.id for s in client.sections.list(course.id)]

        assert client.courses.delete([course.id]) == []
        assert client.courses.get_by_field("id", course.id) == []
    finally:
        client.categories.delete([cat.id], recursive=True)


def test_every_course_is_listed_while_another_client_deletes_courses(
    client: MoodleClient, live_site: SiteDescriptor
) -> None:
    # Moodle refuses the whole listing (errorcoursecontextnotvalid) when a course goes
    # while it answers; the API suites' scratch courses do that in CI.
    tag = _tag()
    (cat,) = client.categories.create([CategoryCreate(name=tag)])
    stop = threading.Event()

    def churn() -> int:
        made = 0
        with live_site.client() as other:
            while not stop.is_set():
                names = [f"{tag}-{made}-{i}" for i in range(CHURNED)]
                courses = other.courses.create(
                    [CourseCreate(fullname=n, shortname=n, categoryid=cat.id) for n in names]
                )
                other.courses.delete([c.id for c in courses])
                made += len(courses)
        return made

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            churned = pool.submit(churn)
            try:
                listings = [client.courses.get() for _ in range(LISTINGS)]
            finally:
                stop.set()
            assert churned.result() > 0
        assert all(any(c.format == "site" for c in listing) for listing in listings)
    finally:
        client.categories.delete([cat.id], recursive=True)


def test_user_enrolment_and_group_crud(client: MoodleClient) -> None:
    tag = _tag()
    (cat,) = client.categories.create([CategoryCreate(name=tag)])
    users = client.users.create(
        [
            UserCreate(
                username=f"{tag}-{i}",
                password="Live-Passw0rd!",
                firstname=f"Live{i}",
                lastname="User",
                email=f"{tag}-{i}@example.invalid",
            )
            for i in (1, 2)
        ]
    )
    ids = [u.id for u in users]
    try:
        found = client.users.get_by_field("username", [u.username for u in users])
        assert sorted(u.id for u in found) == sorted(ids)
        assert client.users.update([UserUpdate(id=ids[0], city="Lisbon")]) == []
        updated = client.users.get(ids[0])
        assert updated is not None and updated.city == "Lisbon"

        (course,) = client.courses.create(
            [CourseCreate(fullname=tag, shortname=tag, categoryid=cat.id)]
        )
        client.enrol.manual_enrol([ManualEnrolment(userid=i, courseid=course.id) for i in ids])
        enrolled = client.enrol.get_enrolled_users(course.id)
        assert sorted(u.id for u in enrolled) == sorted(ids)
        assert [c.id for c in client.enrol.get_users_courses(ids[0])] == [course.id]

        (group,) = client.groups.create([GroupCreate(courseid=course.id, name=tag)])
        client.groups.add_members([GroupMember(groupid=group.id, userid=i) for i in ids])
        assert sorted(client.groups.get_members([group.id])[0].userids) == sorted(ids)
        client.groups.delete_members([GroupMember(groupid=group.id, userid=ids[1])])
        assert client.groups.get_members([group.id])[0].userids == [ids[0]]
        client.groups.delete([group.id])
        assert client.groups.get_course_groups(course.id) == []

        client.enrol.manual_unenrol([ManualUnenrolment(userid=ids[1], courseid=course.id)])
        assert [u.id for u in client.enrol.get_enrolled_users(course.id)] == [ids[0]]
    finally:
        client.users.delete(ids)
        client.categories.delete([cat.id], recursive=True)
    # Moodle keeps deleted users' rows (deleted=1) and renames them, so looking
    # them up by id still finds them: their usernames are what disappears.
    assert client.users.get_by_field("username", [u.username for u in users]) == []


# --- failures -------------------------------------------------------------------


def test_invalid_token(live_site: SiteDescriptor) -> None:
    wrong = "0123456789abcdef" * 2
    with MoodleClient(live_site.url, wrong) as bad, pytest.raises(InvalidTokenError) as caught:
        bad.site_info()
    assert "Manage tokens" in str(caught.value)
    _no_secret(caught.value, wrong, live_site.token.get_secret_value())


def test_function_missing_from_the_service(live_site: SiteDescriptor) -> None:
    assert live_site.admin_password is not None
    password = live_site.admin_password.get_secret_value()
    # The mobile app's service lacks user administration functions.
    with MoodleClient.login(live_site.url, live_site.admin_username or "admin", password) as mobile:
        with pytest.raises(AccessDeniedError) as caught:
            mobile.call("core_user_delete_users", userids=[999999])
        assert "missing from the token's external service" in str(caught.value)
        _no_secret(caught.value, mobile._token, password)


def test_url_serving_html(live_site: SiteDescriptor) -> None:
    token = live_site.token.get_secret_value()
    wrong = MoodleClient(f"{live_site.url}/login/index.php", token)
    with wrong, pytest.raises(UnexpectedResponseError) as caught:
        wrong.site_info()
    assert "HTML" in str(caught.value) and "site's root" in str(caught.value)
    _no_secret(caught.value, token)


def test_unreachable_port(live_site: SiteDescriptor) -> None:
    token = live_site.token.get_secret_value()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens
    gone = MoodleClient(f"http://127.0.0.1:{port}", token, sleep=lambda _s: None)
    with gone, pytest.raises(ConnectError) as caught:
        gone.site_info()
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "reachable" in str(caught.value)
    _no_secret(caught.value, token)


@pytest.mark.slow
def test_web_services_switched_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    """On a sandbox of its own: the shared ones must keep web services on."""
    from moodle_regress.sandbox.codetree import inspect_tree
    from moodle_regress.sandbox.manager import SandboxManager
    from moodle_regress.sandbox.moodle import run_cli

    release = next((r for r in live.RELEASES if live.moodle_code_tree(r)), None)
    if release is None:
        pytest.skip(live.skip_reason("4.5"))
    code = live.moodle_code_tree(release)
    assert code is not None
    # A state directory of its own, so the sandbox is nobody else's.
    settings = dataclasses.replace(
        load_settings(), home=tmp_path_factory.mktemp("client-errors-home")
    )
    manager = SandboxManager(settings, quiet=True)
    box = manager.sandbox("client-errors")
    try:
        site = manager.up("client-errors", code)
        token = site.token.get_secret_value()
        tree = inspect_tree(box.code_dir)
        run_cli(
            tree,
            "cfg.php",
            ["--name=enablewebservices", "--set=0"],
            log=Path(box.logs / "test.log"),
            what="switching web services off",
        )
        client = MoodleClient(site.url, token)
        with client, pytest.raises(WebServicesDisabledError) as caught:
            client.site_info()
        assert "Enable web services" in str(caught.value)
        _no_secret(caught.value, token)
        assert site.admin_password is not None
        password = site.admin_password.get_secret_value()
        with pytest.raises(WebServicesDisabledError) as by_login:
            MoodleClient.login(site.url, "admin", password)
        _no_secret(by_login.value, password)
        assert isinstance(by_login.value, MoodleError)
    finally:
        if box.exists():
            box.destroy()
