"""Enrolments: ``core_enrol_*``, ``enrol_manual_*``, ``enrol_self_*``, ``enrol_guest_*``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from moodle_ws.areas import Area, params_list
from moodle_ws.records import Input, MoodleWarningRecord, Record

#: Role ids of a fresh Moodle install; a site may have changed them.
STUDENT_ROLE_ID = 5
EDITING_TEACHER_ROLE_ID = 3
TEACHER_ROLE_ID = 4


class ManualEnrolment(Input):
    """One ``enrol_manual_enrol_users`` enrolment."""

    userid: int
    courseid: int
    roleid: int = STUDENT_ROLE_ID
    timestart: int | None = None
    timeend: int | None = None
    suspend: bool | None = None


class ManualUnenrolment(Input):
    userid: int
    courseid: int
    roleid: int | None = None


class EnrolledRole(Record):
    roleid: int
    name: str | None = None
    shortname: str | None = None
    sortorder: int | None = None


class EnrolledGroup(Record):
    id: int
    name: str
    description: str | None = None


class EnrolledUser(Record):
    """A user of ``core_enrol_get_enrolled_users``."""

    id: int
    fullname: str
    username: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    idnumber: str | None = None
    firstaccess: int | None = None
    lastaccess: int | None = None
    lastcourseaccess: int | None = None
    suspended: bool | None = None
    roles: list[EnrolledRole] = []
    groups: list[EnrolledGroup] = []


class UserCourse(Record):
    """A course of ``core_enrol_get_users_courses``."""

    id: int
    shortname: str
    fullname: str
    displayname: str | None = None
    idnumber: str | None = None
    visible: bool | None = None
    enrolledusercount: int | None = None
    format: str | None = None
    category: int | None = None
    startdate: int | None = None
    enddate: int | None = None
    lastaccess: int | None = None
    progress: float | None = None
    completed: bool | None = None
    hidden: bool | None = None


class EnrolmentMethod(Record):
    """An enrolment instance of a course (``core_enrol_get_course_enrolment_methods``)."""

    id: int
    courseid: int
    type: str
    name: str
    status: bool | str | None = None
    wsfunction: str | None = None


class SelfEnrolInfo(Record):
    id: int
    courseid: int
    type: str
    name: str
    status: bool | str | None = None
    enrolpassword: str | None = None


class SelfEnrolResult(Record):
    status: bool
    warnings: list[MoodleWarningRecord] = []


class GuestInstanceInfo(Record):
    id: int
    courseid: int
    type: str
    name: str
    status: bool | None = None
    passwordrequired: bool | None = None


class GuestInfo(Record):
    instanceinfo: GuestInstanceInfo
    warnings: list[MoodleWarningRecord] = []


class EnrolArea(Area):
    def manual_enrol(self, enrolments: Sequence[ManualEnrolment]) -> None:
        """Enrol users through the courses' manual enrolment instances."""
        self._call("enrol_manual_enrol_users", enrolments=params_list(enrolments))

    def manual_unenrol(self, unenrolments: Sequence[ManualUnenrolment]) -> None:
        self._call("enrol_manual_unenrol_users", enrolments=params_list(unenrolments))

    def get_enrolled_users(
        self, courseid: int, *, options: Mapping[str, str | int | bool] | None = None
    ) -> list[EnrolledUser]:
        """Users enrolled in a course; ``options`` as Moodle's (``onlyactive``, ``groupid``...)."""
        function = "core_enrol_get_enrolled_users"
        data = self._call(
            function,
            courseid=courseid,
            options=[{"name": k, "value": v} for k, v in (options or {}).items()],
        )
        return self._many(EnrolledUser, data, function=function)

    def get_users_courses(self, userid: int) -> list[UserCourse]:
        function = "core_enrol_get_users_courses"
        data = self._call(function, userid=userid)
        return self._many(UserCourse, data, function=function)

    def get_course_enrolment_methods(self, courseid: int) -> list[EnrolmentMethod]:
        function = "core_enrol_get_course_enrolment_methods"
        data = self._call(function, courseid=courseid)
        return self._many(EnrolmentMethod, data, function=function)

    def self_enrol(
        self, courseid: int, *, instanceid: int | None = None, password: str | None = None
    ) -> SelfEnrolResult:
        """Enrol the token's own user through a self enrolment instance."""
        function = "enrol_self_enrol_user"
        data = self._call(function, courseid=courseid, instanceid=instanceid, password=password)
        return self._one(SelfEnrolResult, data, function=function)

    def get_self_instance_info(self, instanceid: int) -> SelfEnrolInfo:
        function = "enrol_self_get_instance_info"
        data = self._call(function, instanceid=instanceid)
        return self._one(SelfEnrolInfo, data, function=function)

    def get_guest_instance_info(self, instanceid: int) -> GuestInfo:
        function = "enrol_guest_get_instance_info"
        data = self._call(function, instanceid=instanceid)
        return self._one(GuestInfo, data, function=function)
