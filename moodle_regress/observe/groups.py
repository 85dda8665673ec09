"""Area ``groups``: ``groups/<C>/<group>`` (id number, description, visibility,
participation and members by username) from ``core_group_get_course_groups`` and
``core_group_get_group_members`` (200 groups a call)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from moodle_regress.observation import make_key
from moodle_regress.observe.registry import Answers, Call, Context, Observer, Output, register

COURSE_GROUPS = "core_group_get_course_groups"
MEMBERS = "core_group_get_group_members"
GROUP_FIELDS = ("idnumber", "description", "visibility", "participation")
#: Groups per members call.
CHUNK = 200


def list_calls(ctx: Context) -> Sequence[Call]:
    return [Call(COURSE_GROUPS, {"courseid": c["id"]}, about=c) for c in ctx.courses]


def observe_lists(ctx: Context, answers: Answers, _out: Output) -> None:
    for call, groups in answers:
        ctx.groups.extend((call.about, g) for g in groups or [])
    ctx.normaliser.remember(
        "group", ((int(g["id"]), f"{c['shortname']}/{g['name']}") for c, g in ctx.groups)
    )


def member_calls(ctx: Context) -> Sequence[Call]:
    ids = [int(g["id"]) for _, g in ctx.groups]
    return [Call(MEMBERS, {"groupids": ids[i : i + CHUNK]}) for i in range(0, len(ids), CHUNK)]


def observe_groups(ctx: Context, answers: Answers, out: Output) -> None:
    members: dict[int, list[str]] = {}
    for _call, result in answers:
        for entry in result or []:
            members[int(entry["groupid"])] = sorted(
                ctx.normaliser.natural_key("user", int(uid)) for uid in entry.get("userids", [])
            )
    for course, group in ctx.groups:
        observe_group(out, str(course["shortname"]), group, members)


def observe_group(
    out: Output, course: str, group: Mapping[str, Any], members: Mapping[int, list[str]]
) -> None:
    value = {k: group[k] for k in GROUP_FIELDS if k in group}
    value["members"] = members.get(int(group["id"]), [])
    out.add(make_key("groups", course, str(group["name"])), value)


GROUP_LISTS = register(
    Observer(
        name="groups.lists",
        area="groups",
        needs=("courses",),
        functions=(COURSE_GROUPS,),
        calls=list_calls,
        observe=observe_lists,
    )
)
GROUPS = register(
    Observer(
        name="groups",
        area="groups",
        needs=("groups.lists", "users.list"),
        functions=(MEMBERS,),
        calls=member_calls,
        observe=observe_groups,
    )
)
