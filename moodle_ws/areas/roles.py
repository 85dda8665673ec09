"""Role assignments: ``core_role_assign_roles`` / ``core_role_unassign_roles``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import model_validator

from moodle_ws.areas import Area, params_list
from moodle_ws.records import Input

ContextLevel = Literal["system", "user", "coursecat", "course", "module", "block"]


class RoleAssignment(Input):
    """A role for a user in a context, named by ``contextid`` or by level + instance."""

    roleid: int
    userid: int
    contextid: int | None = None
    contextlevel: ContextLevel | None = None
    instanceid: int | None = None

    @model_validator(mode="after")
    def _one_context(self) -> RoleAssignment:
        if self.contextid is None and (self.contextlevel is None or self.instanceid is None):
            raise ValueError("give contextid, or contextlevel and instanceid")
        return self


class RolesArea(Area):
    def assign(self, assignments: Sequence[RoleAssignment]) -> None:
        self._call("core_role_assign_roles", assignments=params_list(assignments))

    def unassign(self, assignments: Sequence[RoleAssignment]) -> None:
        self._call("core_role_unassign_roles", unassignments=params_list(assignments))
