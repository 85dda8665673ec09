"""Typed records: what goes into and comes out of the typed API areas.

Records are pydantic models that keep fields they do not declare (a newer Moodle
adds fields; they are kept in ``model_extra``, never dropped, never a crash) and
declare as optional whatever an older Moodle may leave out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """Base of every record read from Moodle."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @property
    def extra_fields(self) -> dict[str, Any]:
        """Fields Moodle sent that this record does not declare."""
        return dict(self.model_extra or {})


class Input(BaseModel):
    """Base of every record sent to Moodle: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_params(self) -> dict[str, Any]:
        """The record as Moodle parameters, leaving out what was not set."""
        return self.model_dump(exclude_none=True, by_alias=True)


class MoodleWarningRecord(Record):
    """One entry of a ``warnings`` list."""

    item: str | None = None
    itemid: int | None = None
    warningcode: str | None = None
    message: str = ""
