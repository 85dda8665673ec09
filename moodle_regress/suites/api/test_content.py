"""Course content as students and teachers meet it through web services.

Holds on any version: a student enrolled in a course sees each of its visible
activities (``core_course_get_contents`` as the student) and can open it (the module's
``mod_<name>_view_<name>``, what the Moodle app calls when it opens one); a teacher
sees the gradebook with a grade item for each graded activity and the students'
grades.  The student is a scratch user enrolled for the test and removed after it, so
the seeded students' completion and logs stay as the plan left them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_regress.pytest_recording import TestObservations
from moodle_regress.seeding import Dataset
from moodle_regress.seeding.content_remote import VIEW_FUNCTIONS, view_activity
from moodle_regress.suites.api.conftest import (
    ScratchUser,
    course_id,
    enrolled_with_role,
    password_of,
    role_ids,
)
from moodle_ws import MoodleAPIError, MoodleClient
from moodle_ws.areas.enrol import ManualEnrolment


def content_courses(client: MoodleClient, dataset: Dataset) -> dict[str, list[dict[str, Any]]]:
    """Visible seeded courses with activities beside the automatic forum: shortname ->
    their sections (as the admin sees them), in the plan's course order."""
    courses: dict[str, list[dict[str, Any]]] = {}
    for course in dataset.courses:
        if not course.visible:
            continue
        sections = client.call(
            "core_course_get_contents", courseid=course_id(client, course.shortname)
        )
        if any(
            m.get("modname") != "forum" or m.get("name") not in ("Announcements", "Social forum")
            for m in modules_of(sections)
        ):
            courses[course.shortname] = sections
    if not courses:
        pytest.skip("the plan seeded no course content (see the plan's generate: content:)")
    return courses


def modules_of(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for s in sections for m in s.get("modules") or []]


def modules_students_see(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Visible modules of visible sections: plans hide sections that hold activities,
    and a module keeps its own visible flag in a hidden section.  A subsection's
    section (5.0+) is as visible as the subsection module that holds it."""
    shown_subsections = {
        int(m["instance"])
        for s in sections
        if s.get("visible", 1)
        for m in s.get("modules") or []
        if m.get("modname") == "subsection" and m.get("visible")
    }
    shown = [
        s
        for s in sections
        if s.get("visible", 1)
        and (s.get("component") != "mod_subsection" or s.get("itemid") in shown_subsections)
    ]
    return [m for m in modules_of(shown) if m.get("visible")]


def one_of_each_type(
    courses: dict[str, list[dict[str, Any]]],
) -> dict[str, tuple[str, dict[str, Any]]]:
    """modname -> (course, module): the first activity of each type a student sees."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for shortname, sections in courses.items():
        for module in modules_students_see(sections):
            if module.get("modname") not in found:
                found[str(module["modname"])] = (shortname, module)
    return found


@pytest.fixture
def enrolled_student(
    moodle_client: MoodleClient,
    seeded_dataset: Dataset,
    scratch_user: Callable[..., ScratchUser],
) -> Callable[[str], ScratchUser]:
    """``enrolled_student(shortname)``: a scratch student enrolled in that course."""

    def make(shortname: str) -> ScratchUser:
        user = scratch_user(f"s-{shortname.lower()}")
        moodle_client.enrol.manual_enrol(
            [
                ManualEnrolment(
                    userid=user.id,
                    courseid=course_id(moodle_client, shortname),
                    roleid=role_ids(seeded_dataset)["student"],
                )
            ]
        )
        return user

    return make


def test_student_opens_each_activity_type(
    moodle_client: MoodleClient,
    seeded_dataset: Dataset,
    user_client: Callable[..., MoodleClient],
    enrolled_student: Callable[[str], ScratchUser],
    observe: TestObservations,
) -> None:
    samples = one_of_each_type(content_courses(moodle_client, seeded_dataset))
    students: dict[str, MoodleClient] = {}
    for modname, (shortname, module) in sorted(samples.items()):
        if shortname not in students:
            user = enrolled_student(shortname)
            students[shortname] = user_client(user.username, user.password)
        student = students[shortname]
        sections = student.call(
            "core_course_get_contents", courseid=course_id(moodle_client, shortname)
        )
        seen = {m["id"]: m for s in sections for m in s.get("modules") or []}
        mine = seen.get(module["id"])
        assert mine is not None, f"a student of {shortname} does not see {modname} {module['name']}"
        assert mine.get("uservisible"), (shortname, modname, mine.get("availabilityinfo"))
        observe(
            "content",
            modname,
            "student-sees",
            value={
                "name": mine.get("name"),
                "uservisible": bool(mine.get("uservisible")),
                "files": sorted(str(c.get("filename")) for c in mine.get("contents") or []),
            },
        )
        observe("content", modname, "student-opens", value=open_activity(student, modname, mine))


def open_activity(student: MoodleClient, modname: str, module: dict[str, Any]) -> str:
    """What opening the activity answers: ``ok``, or Moodle's error code."""
    if modname not in VIEW_FUNCTIONS:
        return "no view function known"
    function, _ = VIEW_FUNCTIONS[modname]
    if not student.supports(function):
        return f"{function} not offered"
    try:
        answer = view_activity(student, modname, int(module["instance"]))
    except MoodleAPIError as exc:
        return exc.errorcode or type(exc).__name__
    return "ok" if not isinstance(answer, dict) or answer.get("status", True) else "refused"


def graded_users_per_item(report: dict[str, Any]) -> dict[str, int]:
    """Grade item (type:module:name) -> how many users have a grade in it."""
    items: dict[str, int] = {}
    for user in report.get("usergrades") or []:
        for item in user.get("gradeitems") or []:
            kind = f"{item.get('itemtype')}:{item.get('itemmodule') or ''}"
            name = f"{kind}:{item.get('itemname') or ''}"
            items[name] = items.get(name, 0) + (item.get("graderaw") is not None)
    return items


def test_teacher_sees_the_gradebook(
    moodle_client: MoodleClient,
    seeded_dataset: Dataset,
    user_client: Callable[..., MoodleClient],
    observe: TestObservations,
) -> None:
    courses = content_courses(moodle_client, seeded_dataset)
    checked = 0
    for shortname, sections in courses.items():
        modules = modules_of(sections)
        teachers = enrolled_with_role(seeded_dataset, shortname, "editingteacher")
        graded = {m["id"] for m in modules if m.get("modname") in ("assign", "quiz")}
        if not teachers or not graded:
            continue
        teacher = user_client(teachers[0], password_of(seeded_dataset, teachers[0]))
        report = teacher.call(
            "gradereport_user_get_grade_items", courseid=course_id(moodle_client, shortname)
        )
        items = graded_users_per_item(report)
        cmids = {
            i.get("cmid") for u in report.get("usergrades") or [] for i in u.get("gradeitems") or []
        }
        assert graded <= cmids, (
            f"{shortname}: the gradebook lacks graded activities {graded - cmids}"
        )
        assert any(items.values()), f"{shortname}: the teacher sees no grade at all"
        observe("content", shortname, "teacher-gradebook", value=items)
        checked += 1
        if checked == 3:
            break
    if not checked:
        pytest.skip("no seeded course has a teacher and graded activities")
