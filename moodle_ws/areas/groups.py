"""Groups: ``core_group_*``."""

from __future__ import annotations

from collections.abc import Sequence

from moodle_ws.areas import Area, params_list
from moodle_ws.records import Input, Record


class GroupCreate(Input):
    courseid: int
    name: str
    description: str = ""
    descriptionformat: int | None = None
    enrolmentkey: str | None = None
    idnumber: str | None = None
    #: 4.3+: 0 all, 1 members, 2 own membership, 3 none.
    visibility: int | None = None
    #: 4.3+: whether the group is used in group-mode activities.
    participation: bool | None = None


class GroupMember(Input):
    groupid: int
    userid: int


class Group(Record):
    id: int
    courseid: int
    name: str
    description: str | None = None
    descriptionformat: int | None = None
    enrolmentkey: str | None = None
    idnumber: str | None = None
    visibility: int | None = None
    participation: bool | None = None


class GroupMembers(Record):
    groupid: int
    userids: list[int] = []


class GroupsArea(Area):
    def create(self, groups: Sequence[GroupCreate]) -> list[Group]:
        function = "core_group_create_groups"
        data = self._call(function, groups=params_list(groups))
        return self._many(Group, data, function=function)

    def get_course_groups(self, courseid: int) -> list[Group]:
        function = "core_group_get_course_groups"
        return self._many(Group, self._call(function, courseid=courseid), function=function)

    def get(self, groupids: Sequence[int]) -> list[Group]:
        function = "core_group_get_groups"
        return self._many(Group, self._call(function, groupids=list(groupids)), function=function)

    def add_members(self, members: Sequence[GroupMember]) -> None:
        self._call("core_group_add_group_members", members=params_list(members))

    def delete_members(self, members: Sequence[GroupMember]) -> None:
        self._call("core_group_delete_group_members", members=params_list(members))

    def get_members(self, groupids: Sequence[int]) -> list[GroupMembers]:
        function = "core_group_get_group_members"
        data = self._call(function, groupids=list(groupids))
        return self._many(GroupMembers, data, function=function)

    def delete(self, groupids: Sequence[int]) -> None:
        self._call("core_group_delete_groups", groupids=list(groupids))
