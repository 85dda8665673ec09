"""Courses: ``core_course_*`` for courses and their contents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from moodle_ws.areas import Area, params_list
from moodle_ws.errors import MoodleAPIError
from moodle_ws.records import Input, MoodleWarningRecord, Record

CourseField = Literal["id", "ids", "shortname", "idnumber", "category", "sectionid"]
SearchCriterion = Literal["search", "modulelist", "blocklist", "tagid"]


class NameValue(Input):
    """A ``{name, value}`` pair (course format options, ``get_contents`` options)."""

    name: str
    value: str | int | bool


class CustomFieldValue(Input):
    """A course custom field to set: ``{shortname, value}``."""

    shortname: str
    value: str


class _CourseFields(Input):
    fullname: str | None = None
    shortname: str | None = None
    categoryid: int | None = None
    idnumber: str | None = None
    summary: str | None = None
    summaryformat: int | None = None
    format: str | None = None
    showgrades: bool | None = None
    newsitems: int | None = None
    startdate: int | None = None
    enddate: int | None = None
    #: Only formats that keep ``numsections`` use it; see ``client.sections``.
    numsections: int | None = None
    maxbytes: int | None = None
    showreports: bool | None = None
    visible: bool | None = None
    hiddensections: int | None = None
    groupmode: int | None = None
    groupmodeforce: bool | None = None
    defaultgroupingid: int | None = None
    enablecompletion: bool | None = None
    completionnotify: bool | None = None
    lang: str | None = None
    forcetheme: str | None = None
    courseformatoptions: list[NameValue] | None = None
    customfields: list[CustomFieldValue] | None = None


class CourseCreate(_CourseFields):
    """A course for ``core_course_create_courses``."""

    fullname: str
    shortname: str
    categoryid: int


class CourseUpdate(_CourseFields):
    """Changes for ``core_course_update_courses``: ``id`` plus the fields to change."""

    id: int


class CreatedCourse(Record):
    id: int
    shortname: str


class NameValueRecord(Record):
    name: str
    value: Any = None


class CourseCustomField(Record):
    name: str | None = None
    shortname: str
    type: str | None = None
    valueraw: Any = None
    value: Any = None


class Course(Record):
    """A course as ``core_course_get_courses`` (and ``..._by_field``) describes one."""

    id: int
    fullname: str
    shortname: str
    categoryid: int | None = None
    displayname: str | None = None
    idnumber: str | None = None
    summary: str | None = None
    summaryformat: int | None = None
    format: str | None = None
    startdate: int | None = None
    enddate: int | None = None
    visible: bool | None = None
    numsections: int | None = None
    groupmode: int | None = None
    groupmodeforce: bool | None = None
    enablecompletion: bool | None = None
    lang: str | None = None
    timecreated: int | None = None
    timemodified: int | None = None
    courseformatoptions: list[NameValueRecord] = []
    customfields: list[CourseCustomField] = []


class CourseSearchResult(Record):
    total: int
    courses: list[Course] = []
    warnings: list[MoodleWarningRecord] = []


class ModuleContent(Record):
    type: str
    filename: str | None = None
    fileurl: str | None = None
    filesize: int | None = None


class Module(Record):
    """An activity or resource in a section (``core_course_get_contents``)."""

    id: int
    name: str
    modname: str
    instance: int | None = None
    contextid: int | None = None
    url: str | None = None
    visible: bool | None = None
    uservisible: bool | None = None
    visibleoncoursepage: bool | None = None
    indent: int | None = None
    description: str | None = None
    completion: int | None = None
    contents: list[ModuleContent] = []


class Section(Record):
    """A course section with its modules (``core_course_get_contents``)."""

    id: int
    name: str
    section: int | None = None
    visible: bool | None = None
    summary: str = ""
    summaryformat: int | None = None
    uservisible: bool | None = None
    hiddenbynumsections: bool | None = None
    #: Sections delegated to a plugin (subsections, 4.5+) name it here.
    component: str | None = None
    itemid: int | None = None
    modules: list[Module] = []


#: Tries of the listing of every course (see :meth:`CoursesArea.get`).
LISTING_TRIES = 5
#: What Moodle 4.5-5.1 answer that listing with when a course goes while it answers.
COURSE_GONE = frozenset({"errorcoursecontextnotvalid", "invalidrecord"})


class CoursesArea(Area):
    def create(self, courses: Sequence[CourseCreate]) -> list[CreatedCourse]:
        function = "core_course_create_courses"
        data = self._call(function, courses=params_list(courses))
        return self._many(CreatedCourse, data, function=function)

    def update(self, courses: Sequence[CourseUpdate]) -> list[MoodleWarningRecord]:
        """Update courses; returns Moodle's warnings (also raised as MoodleWarning)."""
        function = "core_course_update_courses"
        data = self._call(function, courses=params_list(courses))
        return self._warnings(data, function=function)

    def delete(self, courseids: Sequence[int]) -> list[MoodleWarningRecord]:
        """Delete courses; a course that cannot be deleted comes back as a warning."""
        function = "core_course_delete_courses"
        data = self._call(function, courseids=list(courseids))
        return self._warnings(data, function=function)

    def get(self, courseids: Sequence[int] | None = None) -> list[Course]:
        """Courses by id; every course (site course included) when ``courseids`` is None."""
        function = "core_course_get_courses"
        if courseids is not None:
            data = self._call(function, options={"ids": list(courseids)})
            return self._many(Course, data, function=function)
        for attempt in range(1, LISTING_TRIES + 1):
            try:
                data = self._call(function, options=None)
                break
            except MoodleAPIError as exc:
                # Moodle refuses the whole listing when a course is deleted while it
                # answers (its record or context is gone): another client's, so ask again.
                if exc.errorcode not in COURSE_GONE or attempt == LISTING_TRIES:
                    raise
        return self._many(Course, data, function=function)

    def get_by_field(self, field: CourseField | None = None, value: str | int = "") -> list[Course]:
        """``core_course_get_courses_by_field``: every course when ``field`` is None."""
        function = "core_course_get_courses_by_field"
        data = self._call(function, field=field or "", value=str(value))
        return self._many(Course, (data or {}).get("courses"), function=function)

    def search(
        self,
        value: str,
        *,
        criterion: SearchCriterion = "search",
        page: int = 0,
        perpage: int = 0,
        limit_to_enrolled: bool | None = None,
    ) -> CourseSearchResult:
        function = "core_course_search_courses"
        data = self._call(
            function,
            criterianame=criterion,
            criteriavalue=value,
            page=page,
            perpage=perpage,
            limittoenrolled=limit_to_enrolled,
        )
        return self._one(CourseSearchResult, data, function=function)

    def contents(
        self, courseid: int, *, options: Sequence[NameValue] | None = None
    ) -> list[Section]:
        """The course's sections, each with its modules."""
        function = "core_course_get_contents"
        data = self._call(
            function,
            courseid=courseid,
            options=params_list(options) if options is not None else None,
        )
        return self._many(Section, data, function=function)
