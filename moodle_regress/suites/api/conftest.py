"""Shared helpers of the API suites.

Run them with ``pytest --pyargs moodle_regress.suites.api --moodle-site
<descriptor|sandbox|URL>`` (or by path, ``pytest moodle_regress/suites/api``); add
``--moodle-record run.json`` to keep what they observed, ``--moodle-baseline
before.json`` (and ``--moodle-expected changes.yaml``) to compare with an earlier run,
``-n 2`` for two xdist workers and ``--alluredir DIR`` for allure results.

Tests that change the site work on scratch entities (``scratch_course``,
``scratch_user``): named after the test and the xdist worker, removed when the test
ends (and before it starts, should an interrupted run have left them behind).
Scratch names never appear in observations: they differ between workers, and a
serial run must record exactly what a parallel one does.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

from moodle_regress.seeding import Dataset
from moodle_regress.seeding.apply import STANDARD_ROLE_IDS
from moodle_regress.seeding.generate import DEFAULT_PASSWORD, SECTIONLESS_FORMATS
from moodle_regress.seeding.generate import Course as SeededCourse
from moodle_regress.seeding.generate import User as SeededUser
from moodle_ws import MoodleAPIError, MoodleClient, MoodleError
from moodle_ws.areas.courses import CourseCreate
from moodle_ws.areas.users import UserCreate

#: Every scratch entity's name starts with this (see ``scratch`` in the plugin).
SCRATCH_PREFIX = "mr-t-"


def role_ids(dataset: Dataset) -> dict[str, int]:
    """Role shortname -> id as the seeder used them (the plan may override ids)."""
    return {**STANDARD_ROLE_IDS, **dataset.roles}


def without_scratch(usernames: Iterable[str]) -> list[str]:
    """Usernames minus those of scratch users other tests (other workers) made."""
    return sorted(u for u in usernames if not u.startswith(SCRATCH_PREFIX))


def lacking(dataset: Dataset, what: str) -> NoReturn:
    """A test's data is missing: the plan's fault (fail), or, on a site's own sampled
    courses and users, the site's nature (skip: a site need not have everything)."""
    if dataset.sampled_from is not None:
        pytest.skip(f"the site's sampled courses have no {what}")
    pytest.fail(f"the plan has no {what}")


def course_id(client: MoodleClient, shortname: str) -> int:
    found = client.courses.get_by_field("shortname", shortname)
    if not found:
        pytest.fail(f"course {shortname} is not on the site: was the plan seeded?")
    return found[0].id


def user_id(client: MoodleClient, username: str) -> int:
    found = client.users.get_by_field("username", [username])
    if not found:
        pytest.fail(f"user {username} is not on the site: was the plan seeded?")
    return found[0].id


def enrolments_of_course(dataset: Dataset, shortname: str) -> dict[str, list[str]]:
    """The plan's enrolments in one course: username -> role shortnames."""
    out: dict[str, list[str]] = {}
    for enrolment in dataset.enrolments:
        if enrolment.shortname == shortname:
            out.setdefault(enrolment.username, []).append(enrolment.role)
    return {u: sorted(set(r)) for u, r in out.items()}


def courses_of_user(dataset: Dataset, username: str) -> list[str]:
    return sorted({e.shortname for e in dataset.enrolments if e.username == username})


def visible_courses(dataset: Dataset, formats: Iterable[str] | None = None) -> list[SeededCourse]:
    wanted = set(formats) if formats is not None else None
    return [c for c in dataset.courses if c.visible and (wanted is None or c.format in wanted)]


def courses_with_hidden_sections(dataset: Dataset) -> list[SeededCourse]:
    """Visible, sectioned courses in which the plan hides at least one section."""
    return [
        c
        for c in visible_courses(dataset)
        if c.format not in SECTIONLESS_FORMATS and any(not s.visible for s in c.sections)
    ]


def seeded_user(dataset: Dataset, username: str) -> SeededUser:
    for user in dataset.users:
        if user.username == username:
            return user
    raise LookupError(username)


def password_of(dataset: Dataset, username: str) -> str:
    return seeded_user(dataset, username).password or DEFAULT_PASSWORD


def enrolled_with_role(dataset: Dataset, shortname: str, role: str) -> list[str]:
    """Who holds ``role`` in the course and can sign in: on a sampled site, only the
    sampled people have a password the suites know."""
    holders = (u for u, roles in enrolments_of_course(dataset, shortname).items() if role in roles)
    if dataset.sampled_from is not None:
        known = {u.username for u in dataset.users}
        holders = (u for u in holders if u in known)
    return sorted(holders)


def default_category(client: MoodleClient) -> int:
    """A category for scratch courses: the site's first top-level one."""
    categories = client.call("core_course_get_categories", criteria=[], addsubcategories=0)
    top = sorted(
        (int(c["id"]) for c in categories if int(c.get("parent") or 0) == 0),
    )
    if not top:
        pytest.fail("the site has no course category to create scratch courses in")
    return top[0]


@dataclass(frozen=True)
class ScratchUser:
    id: int
    username: str
    password: str


@pytest.fixture
def scratch_course(
    moodle_client: MoodleClient, scratch: str
) -> Generator[Callable[..., int], None, None]:
    """``scratch_course("a", format="topics", numsections=3)`` -> a new course's id.

    Courses are deleted when the test ends.
    """
    made: list[int] = []
    category = default_category(moodle_client)

    def make(label: str = "c", **fields: Any) -> int:
        shortname = f"{scratch}-{label}"
        _delete_courses(moodle_client, [shortname])
        created = moodle_client.courses.create(
            [
                CourseCreate(
                    fullname=f"Scratch course {label}",
                    shortname=shortname,
                    categoryid=category,
                    **fields,
                )
            ]
        )
        made.append(created[0].id)
        return created[0].id

    yield make
    if made:
        moodle_client.courses.delete(made)


@pytest.fixture
def scratch_user(
    moodle_client: MoodleClient, scratch: str
) -> Generator[Callable[..., ScratchUser], None, None]:
    """``scratch_user("a", city="Lyon")`` -> a new user (manual auth, known password).

    Users are deleted when the test ends.
    """
    made: list[str] = []

    def make(label: str = "u", **fields: Any) -> ScratchUser:
        username = f"{scratch}-{label}"
        stale = moodle_client.users.get_by_field("username", [username])
        if stale:
            moodle_client.users.delete([u.id for u in stale])
        fields.setdefault("firstname", "Scratch")
        fields.setdefault("lastname", f"User {label}")
        fields.setdefault("email", f"{username}@example.com")
        created = moodle_client.users.create(
            [UserCreate(username=username, password=DEFAULT_PASSWORD, auth="manual", **fields)]
        )
        made.append(username)
        return ScratchUser(created[0].id, username, DEFAULT_PASSWORD)

    yield make
    if made:
        # By username: a deleted user keeps its id but not its name.
        still_there = moodle_client.users.get_by_field("username", made)
        if still_there:
            moodle_client.users.delete([u.id for u in still_there])


def _delete_courses(client: MoodleClient, shortnames: Iterable[str]) -> None:
    ids = [c.id for s in shortnames for c in client.courses.get_by_field("shortname", s)]
    if ids:
        client.courses.delete(ids)


def refused(call: Callable[[], Any]) -> str:
    """Run a call that should be refused; returns Moodle's error code (else the
    error's class name), or fails the test."""
    try:
        call()
    except MoodleAPIError as exc:
        return exc.errorcode or type(exc).__name__
    except MoodleError as exc:
        return type(exc).__name__
    pytest.fail("the call succeeded; it should have been refused")
