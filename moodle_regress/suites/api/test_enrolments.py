"""Enrolments: manual, self (with and without the key), guest, and who is enrolled.

Holds on any version: manual enrolment adds a user with the role asked for and
unenrolment removes them; self-enrolment refuses a missing or wrong key and accepts
the right one (done by the user, with the user's own token); a guest instance
describes itself; the enrolled users of a seeded course and the courses of a seeded
user are the plan's; a suspended enrolment is left out of the active users and
shuts the user out of the course.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from moodle_regress.pytest_recording import TestObservations
from moodle_regress.seeding import Dataset
from moodle_regress.seeding.generate import Course as SeededCourse
from moodle_regress.suites.api.conftest import (
    ScratchUser,
    course_id,
    courses_of_user,
    enrolments_of_course,
    lacking,
    refused,
    role_ids,
    user_id,
    visible_courses,
    without_scratch,
)
from moodle_ws import MoodleClient, MoodleWarning
from moodle_ws.areas.enrol import ManualEnrolment, ManualUnenrolment


def _roles_in(client: MoodleClient, courseid: int) -> dict[str, list[str]]:
    return {
        str(u.username): sorted(str(r.shortname) for r in u.roles)
        for u in client.enrol.get_enrolled_users(courseid)
    }


def test_manual_enrol_with_roles_and_unenrol(
    moodle_client: MoodleClient,
    seeded_dataset: Dataset,
    scratch_course: Callable[..., int],
    scratch_user: Callable[..., ScratchUser],
    observe: TestObservations,
) -> None:
    roles = role_ids(seeded_dataset)
    courseid = scratch_course("enrol")
    student = scratch_user("student")
    teacher = scratch_user("teacher")
    moodle_client.enrol.manual_enrol(
        [
            ManualEnrolment(userid=student.id, courseid=courseid, roleid=roles["student"]),
            ManualEnrolment(userid=teacher.id, courseid=courseid, roleid=roles["editingteacher"]),
        ]
    )
    enrolled = _roles_in(moodle_client, courseid)
    assert enrolled == {student.username: ["student"], teacher.username: ["editingteacher"]}
    observe(
        "enrolments",
        "scratch-course",
        "roles-after-enrol",
        value=sorted(enrolled.values()),
    )
    their_courses = [c.id for c in moodle_client.enrol.get_users_courses(student.id)]
    assert their_courses == [courseid]

    moodle_client.enrol.manual_unenrol([ManualUnenrolment(userid=student.id, courseid=courseid)])
    after = _roles_in(moodle_client, courseid)
    assert after == {teacher.username: ["editingteacher"]}
    assert moodle_client.enrol.get_users_courses(student.id) == []
    observe("enrolments", "scratch-course", "roles-after-unenrol", value=sorted(after.values()))


def _self_enrol_course(dataset: Dataset) -> tuple[SeededCourse, str]:
    for course in visible_courses(dataset):
        for method in course.methods:
            if method.method == "self" and method.key:
                return course, method.key
    lacking(dataset, "visible course with a self-enrolment key (known to the tool)")


def _attempt(client: MoodleClient, courseid: int, password: str | None) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MoodleWarning)  # the refusals come as warnings
        result = client.enrol.self_enrol(courseid, password=password)
    return {
        "status": result.status,
        "warningcodes": sorted(str(w.warningcode) for w in result.warnings),
    }


def test_self_enrolment_needs_the_key(
    moodle_client: MoodleClient,
    seeded_dataset: Dataset,
    scratch_user: Callable[..., ScratchUser],
    user_client: Callable[..., MoodleClient],
    observe: TestObservations,
) -> None:
    course, key = _self_enrol_course(seeded_dataset)
    courseid = course_id(moodle_client, course.shortname)
    methods = moodle_client.enrol.get_course_enrolment_methods(courseid)
    self_method = next(m for m in methods if m.type == "self")
    info = moodle_client.enrol.get_self_instance_info(self_method.id)
    # The key itself is never shown, only that there is one.
    assert info.enrolpassword and info.enrolpassword != key
    observe(
        "enrolments",
        course.shortname,
        "self-instance",
        value=info.model_dump(include={"type", "name", "status"}),
    )

    user = scratch_user("self")
    as_user = user_client(user.username, user.password)
    outcomes = {
        "no key": _attempt(as_user, courseid, None),
        "wrong key": _attempt(as_user, courseid, key + "-wrong"),
    }
    for outcome in outcomes.values():
        assert outcome["status"] is False
        assert outcome["warningcodes"], "a refused self-enrolment says why"
    assert user.username not in _roles_in(moodle_client, courseid)
    outcomes["right key"] = _attempt(as_user, courseid, key)
    assert outcomes["right key"] == {"status": True, "warningcodes": []}
    assert _roles_in(moodle_client, courseid)[user.username] == ["student"]
    # The user's own course list may lag (Moodle rounds "now" to 100 s in that
    # query), but the course opens to them at once.
    assert as_user.courses.contents(courseid)
    observe("enrolments", "self-enrolment", "outcomes", value=outcomes)


def test_guest_access_instances(
    moodle_client: MoodleClient, seeded_dataset: Dataset, observe: TestObservations
) -> None:
    courses = [
        c for c in visible_courses(seeded_dataset) if any(m.method == "guest" for m in c.methods)
    ]
    if not courses:
        lacking(seeded_dataset, "visible course with guest access")
    for course in courses[:5]:
        courseid = course_id(moodle_client, course.shortname)
        methods = moodle_client.enrol.get_course_enrolment_methods(courseid)
        guest = [m for m in methods if m.type == "guest"]
        assert len(guest) == 1, course.shortname
        info = moodle_client.enrol.get_guest_instance_info(guest[0].id).instanceinfo
        assert info.courseid == courseid
        assert info.status is True
        wants_password = any(m.password for m in course.methods if m.method == "guest")
        assert info.passwordrequired is wants_password
        observe(
            "enrolments",
            course.shortname,
            "guest",
            value=info.model_dump(include={"type", "name", "status", "passwordrequired"}),
        )
        observe(
            "enrolments",
            course.shortname,
            "method-types",
            value=sorted(m.type for m in methods),
        )


def test_enrolled_users_of_seeded_courses(
    moodle_client: MoodleClient, seeded_dataset: Dataset, observe: TestObservations
) -> None:
    courses = seeded_dataset.courses[:8]
    for course in courses:
        courseid = course_id(moodle_client, course.shortname)
        on_site = _roles_in(moodle_client, courseid)
        # Other workers' scratch users may be passing through (self-enrolment).
        on_site = {u: r for u, r in on_site.items() if without_scratch([u])}
        assert on_site == enrolments_of_course(seeded_dataset, course.shortname), course.shortname
        per_role: dict[str, int] = {}
        for names in on_site.values():
            for role in names:
                per_role[role] = per_role.get(role, 0) + 1
        observe("enrolments", course.shortname, "users-per-role", value=per_role)


def test_courses_of_seeded_users(
    moodle_client: MoodleClient, seeded_dataset: Dataset, observe: TestObservations
) -> None:
    users = [u for u in seeded_dataset.users if courses_of_user(seeded_dataset, u.username)][:8]
    assert users
    for user in users:
        userid = user_id(moodle_client, user.username)
        courses = sorted(c.shortname for c in moodle_client.enrol.get_users_courses(userid))
        assert courses == courses_of_user(seeded_dataset, user.username), user.username
        observe("users", user.username, "courses", value=courses)


def test_suspended_enrolment(
    *,
    moodle_client: MoodleClient,
    seeded_dataset: Dataset,
    scratch_course: Callable[..., int],
    scratch_user: Callable[..., ScratchUser],
    user_client: Callable[..., MoodleClient],
    observe: TestObservations,
) -> None:
    courseid = scratch_course("suspended")
    user = scratch_user("suspended")
    moodle_client.enrol.manual_enrol(
        [
            ManualEnrolment(
                userid=user.id,
                courseid=courseid,
                roleid=role_ids(seeded_dataset)["student"],
                suspend=True,
            )
        ]
    )
    everyone = [u.username for u in moodle_client.enrol.get_enrolled_users(courseid)]
    active = [
        u.username
        for u in moodle_client.enrol.get_enrolled_users(courseid, options={"onlyactive": 1})
    ]
    assert everyone == [user.username]
    assert active == []
    as_user = user_client(user.username, user.password)
    shut_out = refused(lambda: as_user.courses.contents(courseid))
    observe(
        "enrolments",
        "suspended",
        "facts",
        value={"listed": bool(everyone), "active": bool(active), "course-contents": shut_out},
    )

    # Reactivated, the same user gets in.
    moodle_client.enrol.manual_enrol(
        [
            ManualEnrolment(
                userid=user.id,
                courseid=courseid,
                roleid=role_ids(seeded_dataset)["student"],
                suspend=False,
            )
        ]
    )
    active = [
        u.username
        for u in moodle_client.enrol.get_enrolled_users(courseid, options={"onlyactive": 1})
    ]
    assert active == [user.username]
    assert as_user.courses.contents(courseid)
