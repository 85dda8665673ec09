"""Users: ``core_user_*``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator

from moodle_ws.areas import Area, params_list
from moodle_ws.records import Input, MoodleWarningRecord, Record
from moodle_ws.redaction import register_secret

UserField = Literal["id", "idnumber", "username", "email"]


class TypeValue(Input):
    """A ``{type, value}`` pair: a custom profile field or a preference to set."""

    type: str
    value: str


class UserCreate(Input):
    """A user for ``core_user_create_users`` (give ``password`` or ``createpassword``)."""

    username: str
    firstname: str
    lastname: str
    email: str
    password: str | None = Field(default=None, repr=False)
    createpassword: bool | None = None
    auth: str | None = None
    idnumber: str | None = None
    lang: str | None = None
    calendartype: str | None = None
    theme: str | None = None
    timezone: str | None = None
    mailformat: int | None = None
    maildisplay: int | None = None
    description: str | None = None
    city: str | None = None
    country: str | None = None
    firstnamephonetic: str | None = None
    lastnamephonetic: str | None = None
    middlename: str | None = None
    alternatename: str | None = None
    interests: str | None = None
    institution: str | None = None
    department: str | None = None
    #: phone1/phone2 are accepted from Moodle 5.0 on; 4.5 refuses them.
    phone1: str | None = None
    phone2: str | None = None
    address: str | None = None
    customfields: list[TypeValue] | None = None
    preferences: list[TypeValue] | None = None

    def model_post_init(self, _context: object) -> None:
        # Masked in logs and exception text from now on.
        register_secret(self.password)


class UserUpdate(Input):
    """Changes for ``core_user_update_users``: ``id`` plus the fields to change."""

    id: int
    username: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    password: str | None = Field(default=None, repr=False)
    auth: str | None = None
    suspended: bool | None = None
    idnumber: str | None = None
    lang: str | None = None
    calendartype: str | None = None
    theme: str | None = None
    timezone: str | None = None
    mailformat: int | None = None
    maildisplay: int | None = None
    description: str | None = None
    city: str | None = None
    country: str | None = None
    firstnamephonetic: str | None = None
    lastnamephonetic: str | None = None
    middlename: str | None = None
    alternatename: str | None = None
    interests: str | None = None
    institution: str | None = None
    department: str | None = None
    phone1: str | None = None
    phone2: str | None = None
    address: str | None = None
    userpicture: int | None = None
    customfields: list[TypeValue] | None = None
    preferences: list[TypeValue] | None = None

    def model_post_init(self, _context: object) -> None:
        register_secret(self.password)


class CreatedUser(Record):
    id: int
    username: str


class UserCustomField(Record):
    type: str | None = None
    value: str | None = None
    displayvalue: str | None = None
    name: str | None = None
    shortname: str | None = None


class UserPreference(Record):
    """One of a user's preferences.  Moodle returns values as stored, except those it keeps
    in memory as numbers (4.5's ``_lastloaded`` comes back as an integer): read as text."""

    name: str
    value: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


class User(Record):
    """A user as ``core_user_get_users_by_field`` describes one."""

    id: int
    fullname: str
    username: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    idnumber: str | None = None
    auth: str | None = None
    suspended: bool | None = None
    confirmed: bool | None = None
    lang: str | None = None
    theme: str | None = None
    timezone: str | None = None
    firstaccess: int | None = None
    lastaccess: int | None = None
    department: str | None = None
    institution: str | None = None
    city: str | None = None
    country: str | None = None
    description: str | None = None
    profileimageurl: str | None = None
    profileimageurlsmall: str | None = None
    customfields: list[UserCustomField] = []
    preferences: list[UserPreference] = []


class UsersArea(Area):
    def create(self, users: Sequence[UserCreate]) -> list[CreatedUser]:
        """Create users in one call; returns their ids in the order given."""
        function = "core_user_create_users"
        data = self._call(function, users=params_list(users))
        return self._many(CreatedUser, data, function=function)

    def update(self, users: Sequence[UserUpdate]) -> list[MoodleWarningRecord]:
        """Update users; returns Moodle's warnings (also raised as MoodleWarning)."""
        function = "core_user_update_users"
        data = self._call(function, users=params_list(users))
        return self._warnings(data, function=function)

    def delete(self, userids: Sequence[int]) -> None:
        self._call("core_user_delete_users", userids=list(userids))

    def get_by_field(self, field: UserField, values: Sequence[str | int]) -> list[User]:
        """Users whose ``field`` is one of ``values`` (unknown values are left out)."""
        function = "core_user_get_users_by_field"
        data = self._call(function, field=field, values=[str(v) for v in values])
        return self._many(User, data, function=function)

    def get(self, userid: int) -> User | None:
        found = self.get_by_field("id", [userid])
        return found[0] if found else None
