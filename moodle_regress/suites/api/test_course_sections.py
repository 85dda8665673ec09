"""Course sections: what the plan seeded, editing them, and who sees which.

Holds on any version: a sectioned course has section 0 plus the plan's numbered
sections, in order; names and visibility are what the seeder set; adding, renaming,
hiding and moving sections do what they say; a student never sees a hidden
section's content, while the teacher sees every section.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from moodle_regress.pytest_recording import TestObservations
from moodle_regress.seeding import Dataset
from moodle_regress.suites.api.conftest import (
    course_id,
    courses_with_hidden_sections,
    enrolled_with_role,
    lacking,
    password_of,
    visible_courses,
)
from moodle_ws import MoodleClient
from moodle_ws.areas.courses import Section

SECTIONED = ("topics", "weeks")
# Weeks courses name unnamed sections after their dates, which depend on the day
# the course was made: recorded as this placeholder.
WEEK_DATES = "<week dates>"
_DATE_NAME = re.compile(r"\d")


def section_names(sections: Sequence[Section], course_format: str) -> list[str]:
    names = []
    for section in sections:
        name = section.name
        if course_format == "weeks" and section.section and _DATE_NAME.search(name):
            name = WEEK_DATES
        names.append(name)
    return names


def test_seeded_sections_match_the_plan(
    moodle_client: MoodleClient, seeded_dataset: Dataset, observe: TestObservations
) -> None:
    courses = [c for c in seeded_dataset.courses if c.format in SECTIONED]
    if not courses:
        lacking(seeded_dataset, "topics or weeks course")
    ids = {c.shortname: course_id(moodle_client, c.shortname) for c in courses}
    contents = dict(
        zip(
            ids,
            moodle_client.map_concurrently(moodle_client.courses.contents, list(ids.values())),
            strict=True,
        )
    )
    for course in courses:
        sections = [s for s in contents[course.shortname] if not s.component]
        numbers = [s.section for s in sections]
        # Section 0 plus the numbered sections, in order.
        assert numbers == list(range(course.numsections + 1)), course.shortname
        by_number = {s.section: s for s in sections}
        for spec in course.sections:
            section = by_number[spec.number]
            if spec.name is not None:
                assert section.name == spec.name, (course.shortname, spec.number)
            assert bool(section.visible) == spec.visible, (course.shortname, spec.number)
        observe("courses", course.shortname, "sections", "count", value=len(sections))
        observe(
            "courses",
            course.shortname,
            "sections",
            "names",
            value=section_names(sections, course.format),
            ordered=True,
        )
        observe(
            "courses",
            course.shortname,
            "sections",
            "visible",
            value=[bool(s.visible) for s in sections],
            ordered=True,
        )
        observe(
            "courses",
            course.shortname,
            "sections",
            "summaries",
            value=[s.summary for s in sections],
            ordered=True,
        )


def _shape(client: MoodleClient, courseid: int) -> list[dict[str, Any]]:
    return [
        {"section": s.section, "name": s.name, "visible": bool(s.visible)}
        for s in client.courses.contents(courseid)
    ]


def test_adding_renaming_hiding_and_moving_sections(
    moodle_client: MoodleClient,
    scratch_course: Callable[..., int],
    observe: TestObservations,
) -> None:
    courseid = scratch_course("sections", format="topics", numsections=3)
    sections = moodle_client.sections
    start = _shape(moodle_client, courseid)
    assert [s["section"] for s in start] == [0, 1, 2, 3]
    assert all(s["visible"] for s in start)
    observe("sections", "scratch-topics", "new-course", value=start, ordered=True)

    added = sections.add(courseid)
    after_add = _shape(moodle_client, courseid)
    assert [s["section"] for s in after_add] == [0, 1, 2, 3, 4]
    assert added.section == 4
    observe("sections", "scratch-topics", "added", value=after_add[-1])

    state = {s.section: s.id for s in sections.state(courseid).section}
    for number in (1, 2, 3, 4):
        sections.rename(courseid, state[number], f"Part {number}")
    sections.hide(courseid, [state[2]])
    # Part 4 to the top: just after section 0.
    sections.move(courseid, [state[4]], after=state[0])
    final = _shape(moodle_client, courseid)
    assert [s["name"] for s in final[1:]] == ["Part 4", "Part 1", "Part 2", "Part 3"]
    assert [s["section"] for s in final] == [0, 1, 2, 3, 4]
    assert [s["visible"] for s in final] == [True, True, True, False, True]
    observe("sections", "scratch-topics", "edited", value=final, ordered=True)

    # An empty name gives the section back its default name.
    sections.rename(courseid, state[1], "")
    reset = {s["section"]: s for s in _shape(moodle_client, courseid)}
    assert reset[2]["name"] != "Part 1"
    observe("sections", "scratch-topics", "default-name", value=reset[2]["name"])


def _sections_of(client: MoodleClient, courseid: int) -> list[Section]:
    return [s for s in client.courses.contents(courseid) if not s.component]


@pytest.fixture(scope="module")
def course_with_hidden_sections(seeded_dataset: Dataset) -> tuple[str, str, str]:
    """(course shortname, a student in it, its editing teacher)."""
    for course in courses_with_hidden_sections(seeded_dataset):
        students = enrolled_with_role(seeded_dataset, course.shortname, "student")
        teachers = enrolled_with_role(seeded_dataset, course.shortname, "editingteacher")
        if students and teachers:
            return course.shortname, students[0], teachers[0]
    lacking(seeded_dataset, "visible course with a hidden section, a student and a teacher")


def test_student_sees_less_than_the_teacher(
    moodle_client: MoodleClient,
    seeded_dataset: Dataset,
    user_client: Callable[..., MoodleClient],
    course_with_hidden_sections: tuple[str, str, str],
    observe: TestObservations,
) -> None:
    shortname, student, teacher = course_with_hidden_sections
    courseid = course_id(moodle_client, shortname)
    as_teacher = _sections_of(user_client(teacher, password_of(seeded_dataset, teacher)), courseid)
    as_student = _sections_of(user_client(student, password_of(seeded_dataset, student)), courseid)
    hidden = {s.section for s in as_teacher if not s.visible}
    assert hidden, f"{shortname}: the teacher sees no hidden section"
    assert [s.section for s in as_teacher] == [
        s.section for s in _sections_of(moodle_client, courseid)
    ]
    for section in as_student:
        if section.section in hidden:
            # Listed (collapsed) at most: no content, not available to the student.
            assert section.uservisible is False
            assert section.modules == []
            assert section.summary == ""
        else:
            assert section.uservisible is not False, section.section
    teacher_numbers = [s.section for s in as_teacher]
    student_numbers = [s.section for s in as_student]
    assert set(student_numbers) <= set(teacher_numbers)
    assert set(teacher_numbers) - hidden <= set(student_numbers)

    observe("sections", "student-view", "teacher-sections", value=teacher_numbers, ordered=True)
    observe("sections", "student-view", "student-sections", value=student_numbers, ordered=True)
    observe(
        "sections",
        "student-view",
        "hidden-listed-for-student",
        value=sorted(n for n in student_numbers if n in hidden),
    )


def test_section_summaries_and_visibility_of_visible_courses(
    moodle_client: MoodleClient, seeded_dataset: Dataset, observe: TestObservations
) -> None:
    """Visible courses of every format: at least section 0, visible; summaries are text."""
    courses = visible_courses(seeded_dataset)
    ids = [course_id(moodle_client, c.shortname) for c in courses]
    contents = moodle_client.map_concurrently(moodle_client.courses.contents, ids)
    for course, sections in zip(courses, contents, strict=True):
        assert sections, course.shortname
        assert sections[0].section == 0 and sections[0].visible, course.shortname
        assert all(isinstance(s.summary, str) for s in sections)
        observe(
            "courses",
            course.shortname,
            "sections",
            "section-0",
            value={"name": sections[0].name, "summary": sections[0].summary},
        )
