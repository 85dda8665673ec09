"""Area ``users``: ``users/<U>/profile`` from ``core_user_get_users`` and
``users/<U>/courses``, the courses each user is enrolled in: from the enrolled users'
``enrolledcourses`` (step ``enrolments.users``), or ``core_enrol_get_users_courses``
for users enrolled in no observed course.

Which users: those the entity filter accepts; every user is remembered by username.
"""

from __future__ import annotations

from collections.abc import Sequence

from moodle_regress.observation import make_key
from moodle_regress.observe.registry import Answers, Call, Context, Observer, Output, register

GET_USERS = "core_user_get_users"
USERS_COURSES = "core_enrol_get_users_courses"

USER_FIELDS = (
    "firstname",
    "lastname",
    "email",
    "idnumber",
    "auth",
    "suspended",
    "confirmed",
    "lang",
    "theme",
    "timezone",
    "city",
    "country",
    "department",
    "institution",
    "description",
    "mailformat",
)


def list_calls(_ctx: Context) -> Sequence[Call]:
    # email LIKE '%': every user that is not deleted, in one answer.
    return [Call(GET_USERS, {"criteria": [{"key": "email", "value": "%"}]})]


def observe_list(ctx: Context, answers: Answers, _out: Output) -> None:
    everyone = (answers.first(GET_USERS) or {}).get("users", [])
    ctx.normaliser.remember("user", ((int(u["id"]), str(u["username"])) for u in everyone))
    ctx.users = [u for u in everyone if ctx.entity_filter("user", u)]


def course_calls(ctx: Context) -> Sequence[Call]:
    lonely = [u for u in ctx.users if str(u["username"]) not in ctx.user_courses]
    return [Call(USERS_COURSES, {"userid": u["id"]}, about=u) for u in lonely]


def observe_users(ctx: Context, answers: Answers, out: Output) -> None:
    for call, courses in answers:
        if courses is not None:
            ctx.user_courses[str(call.about["username"])] = {str(c["shortname"]) for c in courses}
    for user in ctx.users:
        username = str(user["username"])
        out.add(
            make_key("users", username, "profile"), {k: user[k] for k in USER_FIELDS if k in user}
        )
        out.add(make_key("users", username, "courses"), sorted(ctx.user_courses.get(username, ())))


USER_LIST = register(
    Observer(
        name="users.list",
        area="users",
        needs=("site",),
        functions=(GET_USERS,),
        calls=list_calls,
        observe=observe_list,
    )
)
USERS = register(
    Observer(
        name="users",
        area="users",
        needs=("users.list", "enrolments.users"),
        functions=(USERS_COURSES,),
        calls=course_calls,
        observe=observe_users,
    )
)
