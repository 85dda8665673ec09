"""Area ``enrolments``, per observed course:

- ``enrolments/<C>/methods/<type>#<n>`` and ``.../methods/types`` from
  ``core_enrol_get_course_enrolment_methods`` (enabled instances whose plugin offers
  users enrolment info: self and guest, not manual);
- ``enrolments/<C>/count`` and ``enrolments/<C>/users/<U>`` (the user's roles) from
  ``core_enrol_get_enrolled_users``, whose ``enrolledcourses`` also tell the ``users``
  area each user's courses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moodle_regress.observation import make_key
from moodle_regress.observe.registry import Answers, Call, Context, Observer, Output, register

METHODS = "core_enrol_get_course_enrolment_methods"
ENROLLED = "core_enrol_get_enrolled_users"
ENROLLED_USER_FIELDS = "id,username,roles,enrolledcourses"
#: ``ctx.facts[STUDENTS]``: course shortname -> ids of the users enrolled as students.
STUDENTS = "enrolments.students"


def method_calls(ctx: Context) -> Sequence[Call]:
    return [Call(METHODS, {"courseid": c["id"]}, about=c) for c in ctx.courses]


def observe_methods(_ctx: Context, answers: Answers, out: Output) -> None:
    for call, methods in answers:
        if methods is None:
            continue
        course = str(call.about["shortname"])
        seen: dict[str, int] = {}
        for method in sorted(methods, key=lambda m: int(m.get("id", 0))):
            kind = str(method.get("type"))
            seen[kind] = seen.get(kind, 0) + 1
            value = {k: method[k] for k in ("name", "status", "wsfunction") if k in method}
            out.add(make_key("enrolments", course, "methods", f"{kind}#{seen[kind]}"), value)
        out.add(
            make_key("enrolments", course, "methods", "types"),
            sorted(str(m.get("type")) for m in methods),
        )


def enrolled_calls(ctx: Context) -> Sequence[Call]:
    options = [{"name": "userfields", "value": ENROLLED_USER_FIELDS}]
    return [Call(ENROLLED, {"courseid": c["id"], "options": options}, about=c) for c in ctx.courses]


def observe_enrolled(ctx: Context, answers: Answers, out: Output) -> None:
    for call, users in answers:
        if users is not None:
            observe_course_users(ctx, out, str(call.about["shortname"]), users)


def observe_course_users(ctx: Context, out: Output, course: str, users: Sequence[Any]) -> None:
    students: dict[str, list[int]] = ctx.facts.setdefault(STUDENTS, {})
    students[course] = [
        int(u["id"])
        for u in users
        if any(r.get("shortname") == "student" for r in u.get("roles") or [])
    ]
    out.add(make_key("enrolments", course, "count"), len(users))
    for user in users:
        username = str(user["username"])
        roles = sorted(str(r.get("shortname")) for r in user.get("roles") or [])
        out.add(make_key("enrolments", course, "users", username), roles)
        ctx.user_courses.setdefault(username, set()).update(
            str(c["shortname"]) for c in user.get("enrolledcourses") or []
        )


ENROLMENT_METHODS = register(
    Observer(
        name="enrolments.methods",
        area="enrolments",
        needs=("courses",),
        functions=(METHODS,),
        calls=method_calls,
        observe=observe_methods,
    )
)
ENROLLED_USERS = register(
    Observer(
        name="enrolments.users",
        area="enrolments",
        needs=("courses",),
        functions=(ENROLLED,),
        calls=enrolled_calls,
        observe=observe_enrolled,
    )
)
