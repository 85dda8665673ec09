"""Course sections: list, add, rename, hide/show, move, delete.

Section editing moved between Moodle releases.  ``core_courseformat_update_course``
(Moodle 4.0+, the course editor's own function) carries every action here; the
older ``core_course_edit_section`` (hide/show/delete only) is deprecated in 5.0
and goes in 6.0.  Each method picks what the site offers, preferring the newer.
Moving uses ``section_move_after``: ``section_move`` is deprecated since 4.4 and
fails on 5.0+.  Names change through ``core_update_inplace_editable``, as the
course page does.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

from moodle_ws.areas import Area
from moodle_ws.areas.courses import Section
from moodle_ws.errors import FunctionNotFoundError, UnexpectedResponseError
from moodle_ws.records import Record

UPDATE_COURSE = "core_courseformat_update_course"
GET_STATE = "core_courseformat_get_state"
EDIT_SECTION = "core_course_edit_section"
INPLACE_EDITABLE = "core_update_inplace_editable"


class SectionState(Record):
    """A section as the course editor sees it (``core_courseformat_get_state``)."""

    id: int
    section: int
    number: int | None = None
    title: str = ""
    rawtitle: str | None = None
    visible: bool = True
    cmlist: list[int] = []
    hassummary: bool | None = None
    current: bool | None = None
    hasrestrictions: bool | None = None
    #: Delegated sections (subsections, 4.5+) name their plugin and parent.
    component: str | None = None
    itemid: int | None = None
    parentsectionid: int | None = None


class CourseStateCourse(Record):
    id: int
    numsections: int | None = None
    sectionlist: list[int] = []
    maxsections: int | None = None
    highlighted: str | None = None


class CourseState(Record):
    """The course editor's state: course, sections and modules (``cm``)."""

    course: CourseStateCourse
    section: list[SectionState] = []
    cm: list[dict[str, Any]] = []

    def by_id(self, sectionid: int) -> SectionState | None:
        return next((s for s in self.section if s.id == sectionid), None)


class SectionsArea(Area):
    def list(self, courseid: int) -> builtins.list[Section]:
        """The course's sections with their modules (``core_course_get_contents``)."""
        return self._client.courses.contents(courseid)

    def state(self, courseid: int) -> CourseState:
        """Sections' names, numbers and visibility as the course editor sees them."""
        data = self._call(GET_STATE, courseid=courseid)
        return self._one(CourseState, _json(data, GET_STATE), function=GET_STATE)

    def add(self, courseid: int, *, after: int | None = None) -> SectionState:
        """Add a section at the end (or after section id ``after``); returns it."""
        self._require(UPDATE_COURSE, "add a section")
        before = {s.id for s in self.state(courseid).section}
        self._update(courseid, "section_add", [], targetsectionid=after)
        state = self.state(courseid)
        added = [s for s in state.section if s.id not in before]
        if len(added) != 1:
            raise UnexpectedResponseError(
                f"{UPDATE_COURSE}: section_add changed {len(added)} sections, expected 1",
                excerpt=str([s.id for s in added]),
            )
        return added[0]

    def rename(self, courseid: int, sectionid: int, name: str) -> None:
        """Set a section's name (``""`` restores the format's default name)."""
        self._require(INPLACE_EDITABLE, "rename a section")
        course_format = self._client.courses.get([courseid])[0].format or "topics"
        self._call(
            INPLACE_EDITABLE,
            component=f"format_{course_format}",
            itemtype="sectionname",
            itemid=sectionid,
            value=name,
        )

    def hide(self, courseid: int, sectionids: Sequence[int]) -> None:
        self._visibility(courseid, sectionids, visible=False)

    def show(self, courseid: int, sectionids: Sequence[int]) -> None:
        self._visibility(courseid, sectionids, visible=True)

    def move(self, courseid: int, sectionids: Sequence[int], *, after: int) -> None:
        """Move sections to just after section id ``after`` (section 0's id: to the top)."""
        self._require(UPDATE_COURSE, "move sections")
        self._update(courseid, "section_move_after", sectionids, targetsectionid=after)

    def delete(self, courseid: int, sectionids: Sequence[int]) -> None:
        """Delete sections and everything in them."""
        if self._client.supports(UPDATE_COURSE):
            self._update(courseid, "section_delete", sectionids)
            return
        self._require(EDIT_SECTION, "delete sections")
        for sectionid in sectionids:
            self._call(EDIT_SECTION, action="delete", id=sectionid)

    # --- internals ---------------------------------------------------------------

    def _visibility(self, courseid: int, sectionids: Sequence[int], *, visible: bool) -> None:
        if self._client.supports(UPDATE_COURSE):
            action = "section_show" if visible else "section_hide"
            self._update(courseid, action, sectionids)
            return
        self._require(EDIT_SECTION, "change section visibility")
        for sectionid in sectionids:
            self._call(EDIT_SECTION, action="show" if visible else "hide", id=sectionid)

    def _update(
        self,
        courseid: int,
        action: str,
        ids: Sequence[int],
        *,
        targetsectionid: int | None = None,
    ) -> Any:
        data = self._client.call_params(
            UPDATE_COURSE,
            {
                "action": action,
                "courseid": courseid,
                "ids": list(ids),
                "targetsectionid": targetsectionid,
            },
        )
        return _json(data, UPDATE_COURSE)

    def _require(self, function: str, purpose: str) -> None:
        if not self._client.supports(function):
            fallback = f" or {EDIT_SECTION}" if function == UPDATE_COURSE else ""
            raise FunctionNotFoundError(
                f"cannot {purpose}: the token's service lacks {function}{fallback}",
                function=function,
                hint=f"Add {function} to the external service (Moodle 4.0+ has it).",
            )


def _json(data: Any, function: str) -> Any:
    # The course editor functions answer a JSON document inside a JSON string.
    if not isinstance(data, str):
        return data
    try:
        return json.loads(data)
    except ValueError:
        raise UnexpectedResponseError(
            f"{function}: the answer is not the JSON document expected", excerpt=data[:200]
        ) from None
