"""Area ``themes`` (themes and course formats):

- ``themes/@site/site-theme`` from the site info, ``themes/<C>/course-theme`` from the
  courses' ``forcetheme``;
- ``themes/<name>/name``, ``themes/@site/available`` and the same under ``formats/``:
  no web-service function lists plugins, so candidate names (the core ones, those in
  use, and those the caller knows, such as a sandbox's code tree) are probed
  (:mod:`moodle_regress.plugins`): a plugin that is not installed has no name.
"""

from __future__ import annotations

from collections.abc import Sequence

from moodle_regress.observation import SITE_ENTITY, make_key
from moodle_regress.observe.registry import Answers, Call, Context, Observer, Output, register
from moodle_regress.plugins import (
    CORE_FORMATS,
    CORE_THEMES,
    PROBE_FUNCTION,
    display_name,
    probe_call,
)

#: Plugin type -> the area its observations go to.
AREAS = {"theme": "themes", "format": "formats"}


def candidates(ctx: Context) -> dict[str, list[str]]:
    """Theme and format names worth probing."""
    themes = set(CORE_THEMES) | ctx.known_plugins.get("theme", set())
    formats = set(CORE_FORMATS) | ctx.known_plugins.get("format", set())
    if ctx.info.get("theme"):
        themes.add(str(ctx.info["theme"]))
    for course in ctx.all_courses.values():
        if course.get("forcetheme"):
            themes.add(str(course["forcetheme"]))
        if course.get("format") and course["format"] != "site":
            formats.add(str(course["format"]))
    return {"theme": sorted(themes), "format": sorted(formats)}


def calls(ctx: Context) -> Sequence[Call]:
    found: list[Call] = []
    for plugin_type, names in candidates(ctx).items():
        for name in names:
            function, params = probe_call(plugin_type, name)
            found.append(Call(function, params, about=(plugin_type, name), shape=False))
    return found


def observe(ctx: Context, answers: Answers, out: Output) -> None:
    out.add(make_key("themes", SITE_ENTITY, "site-theme"), ctx.info.get("theme"))
    for course in ctx.courses:
        if "forcetheme" in course:
            out.add(
                make_key("themes", str(course["shortname"]), "course-theme"), course["forcetheme"]
            )
    installed: dict[str, dict[str, str]] = {kind: {} for kind in AREAS}
    for call, answer in answers:
        plugin_type, name = call.about
        if (shown := display_name(answer)) is not None:
            installed[plugin_type][name] = shown
    for plugin_type, area in AREAS.items():
        for name, shown in installed[plugin_type].items():
            out.add(make_key(area, name, "name"), shown)
        out.add(make_key(area, SITE_ENTITY, "available"), sorted(installed[plugin_type]))


THEMES = register(
    Observer(
        name="themes",
        area="themes",
        needs=("site", "courses"),
        functions=(PROBE_FUNCTION,),
        calls=calls,
        observe=observe,
    )
)
