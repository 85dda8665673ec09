"""A site's own courses and users as the suites' dataset, where no plan seeded any.

A copy of a real site is rehearsed with its own data: the API suites then check real
courses (a few of each format, and one of each theme a course forces) and real
teachers and students in them, in place of a plan's.  The sample is chosen once, on
site A, and saved: site B is checked against the very same courses and people, so a
course or an enrolment the upgrade lost fails a check there.

The suites sign in as the sampled teachers and students, whose passwords nobody
knows on a copy: each gets a known password (and manual authentication, as the
copy's external logins are off).  That is a write, refused on a site not marked as a
test site like every other.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from moodle_regress.errors import MoodleRegressError
from moodle_regress.files import write_json_atomic
from moodle_regress.guard import ensure_writable, made_by_the_suites
from moodle_regress.seeding.generate import Course, Dataset, Enrolment, Section, User
from moodle_ws import MoodleClient
from moodle_ws.areas.enrol import EnrolledUser
from moodle_ws.areas.users import UserUpdate
from moodle_ws.redaction import register_secret

#: What a sample file says it is (read back only if it says so).
SAMPLE_FORMAT = "moodle-regress site sample 1"
#: The known password of every sampled user (Moodle's default policy: digits, both
#: cases and a symbol).
SAMPLE_PASSWORD = "Mr-s-Pass-2024!"
PER_FORMAT = 2
TEACHERS_PER_COURSE = 1
STUDENTS_PER_COURSE = 2
#: The role of an enrolment in a course outside the sample: its role is not read.
OUTSIDE_SAMPLE = "enrolled"
ROLES = {"editingteacher": TEACHERS_PER_COURSE, "student": STUDENTS_PER_COURSE}

register_secret(SAMPLE_PASSWORD)


class SampleError(MoodleRegressError):
    """A site sample could not be made or read."""


def sample_site(client: MoodleClient, seed: int = 0, *, per_format: int = PER_FORMAT) -> Dataset:
    """Choose courses of each format and forced theme, and teachers and students in
    them (deterministic for a site and ``seed``); read nothing but what they need."""
    rng = random.Random(seed)
    raw = client.call("core_course_get_courses") or []
    own = [
        c for c in raw if c.get("format") != "site" and not made_by_the_suites(str(c["shortname"]))
    ]
    chosen = choose_courses(own, rng, per_format=per_format)
    if not chosen:
        raise SampleError(
            f"{client.url} has no course of its own to sample",
            fix="give a plan (--plan) to seed courses for the suites",
        )
    ids = [int(c["id"]) for c in chosen]
    contents = client.map_concurrently(lambda cid: client.call(
        "core_course_get_contents", courseid=cid, options=[{"name": "excludemodules", "value": 1}]
    ), ids)  # fmt: skip
    enrolled = client.map_concurrently(client.enrol.get_enrolled_users, ids)
    me = int(client.site_info().get("userid") or 0)
    courses = [sampled_course(c, s) for c, s in zip(chosen, contents, strict=True)]
    enrolments: list[Enrolment] = []
    people: dict[int, tuple[EnrolledUser, str]] = {}
    for course, users in zip(courses, enrolled, strict=True):
        named = sorted((u for u in users if u.username), key=lambda u: str(u.username))
        enrolments += [
            Enrolment(str(u.username), course.shortname, str(r.shortname))
            for u in named
            for r in sorted(u.roles, key=lambda r: str(r.shortname))
        ]
        # Not the tool's own account: its password is what the tool signs in with.
        others = [u for u in named if u.id != me]
        for role, amount in ROLES.items():
            for user in pick_people(others, role, amount, rng):
                people.setdefault(user.id, (user, role))
    users_of = [sampled_user(user, role) for user, role in people.values()]
    enrolments += outside_enrolments(client, people, {c.shortname for c in courses})
    return Dataset(
        tag="site",
        seed=seed,
        roles=role_ids(enrolled),
        courses=courses,
        users=sorted(users_of, key=lambda u: u.username),
        enrolments=enrolments,
        sampled_from=client.url,
    )


def pick_people(
    users: Sequence[EnrolledUser], role: str, amount: int, rng: random.Random
) -> list[EnrolledUser]:
    """Up to ``amount`` active users holding ``role``, in id order."""
    holding = sorted(
        (u for u in users if not u.suspended and not made_by_the_suites(str(u.username))
         and role in {str(r.shortname) for r in u.roles}),
        key=lambda u: u.id,
    )  # fmt: skip
    return sorted(rng.sample(holding, min(amount, len(holding))), key=lambda u: u.id)


def choose_courses(
    courses: Sequence[Mapping[str, Any]], rng: random.Random, *, per_format: int
) -> list[Mapping[str, Any]]:
    """``per_format`` courses of each format, and one of each theme a course forces,
    in shortname order."""
    by_name = sorted(courses, key=lambda c: str(c["shortname"]))
    picked: dict[str, Mapping[str, Any]] = {}
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for course in by_name:
        groups.setdefault(("format", str(course.get("format"))), []).append(course)
        if course.get("forcetheme"):
            groups.setdefault(("theme", str(course["forcetheme"])), []).append(course)
    for (kind, _), members in sorted(groups.items()):
        already = [c for c in members if str(c["shortname"]) in picked]
        wanted = (per_format if kind == "format" else 1) - len(already)
        rest = [c for c in members if str(c["shortname"]) not in picked]
        for course in rng.sample(rest, max(0, min(wanted, len(rest)))):
            picked[str(course["shortname"])] = course
    return [picked[name] for name in sorted(picked)]


def sampled_course(course: Mapping[str, Any], sections: Iterable[Mapping[str, Any]]) -> Course:
    """A site's course as the suites' dataset holds one.  Section names and format
    options are left out: the snapshot compares those; the suites check what people
    can see and do."""
    numbered = [s for s in sections if not s.get("component")]
    return Course(
        shortname=str(course["shortname"]),
        fullname=str(course.get("fullname") or ""),
        category_key=None,
        category_ref=str(course.get("categoryid") or ""),
        format=str(course.get("format") or ""),
        numsections=max(0, len(numbered) - 1),
        sections=tuple(
            Section(number=int(s["section"]), name=None, visible=bool(s.get("visible", 1)))
            for s in numbered
        ),
        format_options=(),
        theme=str(course.get("forcetheme") or "") or None,
        visible=bool(course.get("visible", 1)),
        summary="",
        methods=(),
    )


def sampled_user(user: EnrolledUser, role: str) -> User:
    return User(
        username=str(user.username),
        firstname=str(user.firstname or ""),
        lastname=str(user.lastname or ""),
        email=str(user.email or ""),
        password=SAMPLE_PASSWORD,
        auth="manual",
        city="",
        country="",
        role_hint=role,
    )


def outside_enrolments(
    client: MoodleClient, people: Mapping[int, tuple[EnrolledUser, str]], sampled: set[str]
) -> list[Enrolment]:
    """The sampled users' courses outside the sample (their role not read)."""
    ids = sorted(people)
    answers = client.map_concurrently(client.enrol.get_users_courses, ids)
    return [
        Enrolment(str(people[uid][0].username), course.shortname, OUTSIDE_SAMPLE)
        for uid, courses in zip(ids, answers, strict=True)
        for course in courses
        if course.shortname not in sampled
    ]


def role_ids(enrolled: Iterable[Iterable[EnrolledUser]]) -> dict[str, int]:
    """The site's role ids by shortname, as its enrolments show them."""
    return {
        str(role.shortname): int(role.roleid)
        for users in enrolled
        for user in users
        for role in user.roles
        if role.shortname
    }


def open_sampled_accounts(client: MoodleClient, dataset: Dataset, *, allow_writes: bool) -> int:
    """Give each sampled user the sample's password and manual authentication, so the
    suites can sign in as them; returns how many."""
    if not dataset.users:
        return 0
    ensure_writable(client, allow_writes)
    found = client.users.get_by_field("username", [u.username for u in dataset.users])
    client.users.update(
        [UserUpdate(id=u.id, password=SAMPLE_PASSWORD, auth="manual") for u in found]
    )
    return len(found)


def save_sample(dataset: Dataset, path: Path) -> None:
    if dataset.sampled_from is None:
        raise SampleError("a plan's dataset is not a site sample", fix="save a sampled dataset")
    body = asdict(dataset)
    body.pop("plan", None)
    write_json_atomic(path, {"format": SAMPLE_FORMAT, "dataset": body})


def load_sample(path: Path) -> Dataset:
    """A sample saved by :func:`save_sample`."""
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SampleError(
            f"cannot read the site sample {path}: {exc}",
            fix="give a file written by an earlier run, or a new path to sample the site",
        ) from None
    if not isinstance(body, dict) or body.get("format") != SAMPLE_FORMAT:
        raise SampleError(
            f"{path} is not a moodle-regress site sample",
            fix="give a file written by an earlier run, or a new path to sample the site",
        )
    data = body["dataset"]
    return Dataset(
        tag=data["tag"],
        seed=int(data["seed"]),
        roles={str(k): int(v) for k, v in data["roles"].items()},
        courses=[_course(c) for c in data["courses"]],
        users=[User(**u) for u in data["users"]],
        enrolments=[Enrolment(**e) for e in data["enrolments"]],
        sampled_from=data["sampled_from"],
    )


def _course(data: Mapping[str, Any]) -> Course:
    fields = dict(data)
    fields["sections"] = tuple(Section(**s) for s in data["sections"])
    fields["format_options"] = tuple(tuple(o) for o in data["format_options"])
    fields["methods"] = ()
    return Course(**fields)
