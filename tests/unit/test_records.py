"""Records parse what real 4.5, 5.0 and 5.1 sites answered, keeping unknown fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from moodle_ws.areas.categories import Category, CreatedCategory
from moodle_ws.areas.cohorts import Cohort, CohortMembers
from moodle_ws.areas.courses import Course, CourseSearchResult, CreatedCourse, Section
from moodle_ws.areas.enrol import EnrolledUser, UserCourse
from moodle_ws.areas.files import UploadedFile
from moodle_ws.areas.groups import Group, GroupMembers
from moodle_ws.areas.sections import CourseState
from moodle_ws.areas.site import SiteInfo
from moodle_ws.areas.users import CreatedUser, User
from moodle_ws.records import Record
from tests.unit.recordings import RELEASES, recording

# label -> (model, whether the answer is a list, key holding the records or None)
PARSED: dict[str, tuple[type[BaseModel], bool, str | None]] = {
    "site_info": (SiteInfo, False, None),
    "categories_create": (CreatedCategory, True, None),
    "categories_get": (Category, True, None),
    "courses_create": (CreatedCourse, True, None),
    "courses_get": (Course, True, None),
    "courses_get_by_field": (Course, True, "courses"),
    "courses_search": (CourseSearchResult, False, None),
    "courses_contents": (Section, True, None),
    "users_create": (CreatedUser, True, None),
    "users_get_by_field": (User, True, None),
    "enrol_enrolled_users": (EnrolledUser, True, None),
    "enrol_users_courses": (UserCourse, True, None),
    "groups_create": (Group, True, None),
    "groups_get_course_groups": (Group, True, None),
    "groups_get_members": (GroupMembers, True, None),
    "cohorts_create": (Cohort, True, None),
    "cohorts_get": (Cohort, True, None),
    "cohorts_get_members": (CohortMembers, True, None),
    "files_upload": (UploadedFile, True, None),
}


def _payload(release: str, label: str) -> Any:
    (call, *_) = recording(release, "typed").labelled(label)
    return call.payload()


def _parse(model: type[BaseModel], many: bool, data: Any) -> list[BaseModel]:
    if many:
        return list(TypeAdapter(list[model]).validate_python(data))  # type: ignore[valid-type]
    return [model.model_validate(data)]


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("label", sorted(PARSED))
def test_recorded_answer_parses_and_keeps_every_field(release: str, label: str) -> None:
    model, many, key = PARSED[label]
    data = _payload(release, label)
    if key:
        data = data[key]
    records = _parse(model, many, data)
    assert records, f"{label}: nothing recorded"
    raw_items = data if many else [data]
    for record, raw in zip(records, raw_items, strict=True):
        # Every field Moodle sent is either declared or kept as an extra.
        dumped = record.model_dump()
        assert set(raw) <= set(dumped), f"{label}: lost {set(raw) - set(dumped)}"


@pytest.mark.parametrize("release", RELEASES)
def test_undeclared_fields_are_kept_in_model_extra(release: str) -> None:
    (course,) = _parse(Course, True, _payload(release, "courses_get"))
    assert isinstance(course, Record)
    # core_course_get_courses sends categorysortorder; Course does not declare it.
    assert "categorysortorder" in course.extra_fields
    assert course.model_extra is not None and "categorysortorder" in course.model_extra
    info = SiteInfo.model_validate(_payload(release, "site_info"))
    assert "core_course_create_courses" in info.function_names
    assert "sitename" not in info.extra_fields
    assert info.extra_fields  # e.g. firstname, userpictureurl, siteid...


@pytest.mark.parametrize("release", RELEASES)
def test_optional_fields_an_older_moodle_lacks_may_be_missing(release: str) -> None:
    # Take a recorded user and drop what older releases or restricted viewers
    # leave out: only id and fullname are required by Moodle's own description.
    (raw,) = [u for u in _payload(release, "users_get_by_field") if u["username"].endswith("u1")]
    trimmed = {"id": raw["id"], "fullname": raw["fullname"]}
    user = User.model_validate(trimmed)
    assert user.email is None and user.customfields == []
    group = _payload(release, "groups_get_course_groups")[0]
    # visibility/participation arrived in 4.3.
    older = {k: v for k, v in group.items() if k not in ("visibility", "participation")}
    assert Group.model_validate(older).visibility is None


@pytest.mark.parametrize("release", RELEASES)
def test_course_state_parses_the_json_document_inside_the_answer(release: str) -> None:
    (call, *_) = recording(release, "typed").labelled("sections_state")
    state = CourseState.model_validate(json.loads(call.payload()))
    assert [s.section for s in state.section] == [0, 1, 2]
    assert state.course.sectionlist == [s.id for s in state.section]
    assert all(isinstance(s.visible, bool) for s in state.section)


@pytest.mark.parametrize("release", RELEASES)
def test_site_info_release_matches_the_recording(release: str) -> None:
    rec = recording(release, "typed")
    info = SiteInfo.model_validate(rec.call("site_info").payload())
    assert info.release == rec.moodle_release
    assert str(info.version) == rec.moodle_version


def test_a_preference_moodle_returns_as_a_number_reads_as_text() -> None:
    # Moodle 4.5.6 answered core_user_get_users_by_field for the admin, after a browser
    # login, with {"name": "_lastloaded", "value": 1796095650}: an integer, not text.
    raw = {
        "id": 2,
        "username": "admin",
        "fullname": "Admin User",
        "preferences": [
            {"name": "last_time_enrolments_synced", "value": "1796095650"},
            {"name": "_lastloaded", "value": 1796095650},
        ],
    }
    user = User.model_validate(raw)
    assert [p.value for p in user.preferences] == ["1796095650", "1796095650"]
