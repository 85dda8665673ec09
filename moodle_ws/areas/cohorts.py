"""Cohorts: ``core_cohort_*``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from moodle_ws.areas import Area, params_list
from moodle_ws.records import Input, MoodleWarningRecord, Record


class TypedRef(Input):
    """``{type, value}``: how Moodle names a category, cohort or user by id or key."""

    type: str
    value: str


class CohortCreate(Input):
    name: str
    idnumber: str
    #: Where the cohort lives: ``TypedRef(type="system", value="")`` for the site,
    #: or a category by ``id`` / ``idnumber``.
    categorytype: TypedRef = TypedRef(type="system", value="")
    description: str | None = None
    descriptionformat: int | None = None
    visible: bool | None = None
    theme: str | None = None


class CohortMember(Input):
    """A user to add to a cohort, each named by id/idnumber (or username/email for users)."""

    cohorttype: TypedRef
    usertype: TypedRef

    @classmethod
    def by_ids(cls, cohortid: int, userid: int) -> CohortMember:
        return cls(
            cohorttype=TypedRef(type="id", value=str(cohortid)),
            usertype=TypedRef(type="id", value=str(userid)),
        )


class Cohort(Record):
    id: int
    name: str
    idnumber: str | None = None
    description: str | None = None
    descriptionformat: int | None = None
    visible: bool | None = None
    theme: str | None = None


class CohortSearchResult(Record):
    cohorts: list[Cohort] = []


class CohortMembers(Record):
    cohortid: int
    userids: list[int] = []


class CohortsArea(Area):
    def create(self, cohorts: Sequence[CohortCreate]) -> list[Cohort]:
        function = "core_cohort_create_cohorts"
        data = self._call(function, cohorts=params_list(cohorts))
        return self._many(Cohort, data, function=function)

    def get(self, cohortids: Sequence[int]) -> list[Cohort]:
        function = "core_cohort_get_cohorts"
        data = self._call(function, cohortids=list(cohortids))
        return self._many(Cohort, data, function=function)

    def search(
        self,
        query: str,
        *,
        contextid: int | None = None,
        includes: Literal["parents", "self", "all"] = "all",
        limitfrom: int = 0,
        limitnum: int = 25,
    ) -> list[Cohort]:
        """Cohorts whose name or idnumber contains ``query`` (system context by default)."""
        function = "core_cohort_search_cohorts"
        context: dict[str, str | int] = (
            {"contextid": contextid} if contextid else {"contextlevel": "system", "instanceid": 0}
        )
        data = self._call(
            function,
            query=query,
            context=context,
            includes=includes,
            limitfrom=limitfrom,
            limitnum=limitnum,
        )
        return self._one(CohortSearchResult, data, function=function).cohorts

    def add_members(self, members: Sequence[CohortMember]) -> list[MoodleWarningRecord]:
        function = "core_cohort_add_cohort_members"
        data = self._call(function, members=params_list(members))
        return self._warnings(data, function=function)

    def get_members(self, cohortids: Sequence[int]) -> list[CohortMembers]:
        function = "core_cohort_get_cohort_members"
        data = self._call(function, cohortids=list(cohortids))
        return self._many(CohortMembers, data, function=function)

    def delete_members(self, members: Sequence[tuple[int, int]]) -> None:
        """Remove ``(cohortid, userid)`` pairs."""
        self._call(
            "core_cohort_delete_cohort_members",
            members=[{"cohortid": c, "userid": u} for c, u in members],
        )

    def delete(self, cohortids: Sequence[int]) -> None:
        self._call("core_cohort_delete_cohorts", cohortids=list(cohortids))
