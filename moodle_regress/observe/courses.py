"""Area ``courses``: the observed courses and their sections.

- ``courses/<C>/<field>`` from ``core_course_get_courses`` (format, format options,
  visibility, group mode...), ``courses/<C>/category`` the category's path of names
  from ``core_course_get_categories``;
- ``courses/<C>/sections/...``: each section and its modules from
  ``core_course_get_contents``.

Which courses: those the entity filter accepts (by default, ``idnumber`` starting
``mr-``: what the seeder made).  Every course and category is remembered by its
natural key (short name, path), so ids in other values read the same on every site.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from moodle_regress.observation import make_key
from moodle_regress.observe.registry import Answers, Call, Context, Observer, Output, register

GET_COURSES = "core_course_get_courses"
GET_CATEGORIES = "core_course_get_categories"
GET_CONTENTS = "core_course_get_contents"

COURSE_FIELDS = (
    "fullname",
    "idnumber",
    "summary",
    "visible",
    "format",
    "groupmode",
    "groupmodeforce",
    "lang",
    "enablecompletion",
    "showgrades",
    "newsitems",
    "maxbytes",
    "showreports",
    "showactivitydates",
    "showcompletionconditions",
)
MODULE_FIELDS = ("name", "modname", "visible", "visibleoncoursepage", "indent", "completion")
SECTION_FIELDS = ("name", "visible", "summary", "component")
#: ``ctx.facts[CONTENTS]``: course shortname -> its ``core_course_get_contents`` answer.
CONTENTS = "courses.contents"


def list_calls(_ctx: Context) -> Sequence[Call]:
    return [Call(GET_COURSES), Call(GET_CATEGORIES)]


def observe_list(ctx: Context, answers: Answers, out: Output) -> None:
    raw = answers.first(GET_COURSES) or []
    ctx.all_courses = {int(c["id"]): c for c in raw}
    ctx.normaliser.remember(
        "course", ((cid, str(c["shortname"])) for cid, c in ctx.all_courses.items())
    )
    ctx.categories = category_paths(answers.first(GET_CATEGORIES) or [])
    ctx.normaliser.remember("category", ctx.categories.items())
    ctx.courses = [c for c in raw if ctx.entity_filter("course", c)]
    for course in ctx.courses:
        observe_course(out, course, ctx.categories)


def observe_course(out: Output, course: Mapping[str, Any], categories: Mapping[int, str]) -> None:
    shortname = str(course["shortname"])
    for name in COURSE_FIELDS:
        if name in course:
            out.add(make_key("courses", shortname, name), course[name])
    out.add(
        make_key("courses", shortname, "category"),
        categories.get(int(course.get("categoryid") or 0), "<category ?>"),
    )
    options = {str(o["name"]): o.get("value") for o in course.get("courseformatoptions") or []}
    out.add(make_key("courses", shortname, "format-options"), options)


def section_calls(ctx: Context) -> Sequence[Call]:
    return [Call(GET_CONTENTS, {"courseid": c["id"]}, about=c) for c in ctx.courses]


def observe_sections(ctx: Context, answers: Answers, out: Output) -> None:
    contents: dict[str, list[Any]] = ctx.facts.setdefault(CONTENTS, {})
    for call, sections in answers:
        if sections is not None:
            contents[str(call.about["shortname"])] = sections
            observe_course_sections(out, str(call.about["shortname"]), sections)


def observe_course_sections(out: Output, course: str, sections: Sequence[Any]) -> None:
    out.add(make_key("courses", course, "sections", "count"), len(sections))
    out.add(
        make_key("courses", course, "sections", "order"),
        [s.get("section") for s in sections],
        ordered=True,
    )
    for section in sections:
        number = section.get("section")
        for name in SECTION_FIELDS:
            if name in section:
                out.add(make_key("courses", course, "sections", number, name), section[name])
        modules = [{k: m[k] for k in MODULE_FIELDS if k in m} for m in section.get("modules") or []]
        out.add(make_key("courses", course, "sections", number, "modules"), modules, ordered=True)


def category_paths(categories: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Category id -> path of names ("Seeded courses/Staff development")."""
    by_id = {int(c["id"]): c for c in categories}
    paths: dict[int, str] = {}
    for cid in by_id:
        names: list[str] = []
        current: int | None = cid
        guard = 0
        while current and current in by_id and guard < 50:
            names.append(str(by_id[current].get("name", "")))
            current = int(by_id[current].get("parent") or 0)
            guard += 1
        paths[cid] = "/".join(reversed(names))
    return paths


COURSES = register(
    Observer(
        name="courses",
        area="courses",
        needs=("site",),
        functions=(GET_COURSES, GET_CATEGORIES),
        calls=list_calls,
        observe=observe_list,
    )
)
SECTIONS = register(
    Observer(
        name="courses.sections",
        area="courses",
        needs=("courses",),
        functions=(GET_CONTENTS,),
        calls=section_calls,
        observe=observe_sections,
    )
)
