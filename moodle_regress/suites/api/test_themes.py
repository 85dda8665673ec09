"""Themes: the site's theme, the themes available, and course themes.

No web-service function lists installed themes.  Candidates (the core themes, the
site's, those courses force, and for a sandbox those in its code tree) are checked
with ``core_get_string``: an installed theme has a ``pluginname`` string, a missing
one answers ``[[pluginname]]`` (:mod:`moodle_regress.plugins`, as the observer does).
Holds on any version: the site theme is an installed theme; boost is installed; where
course themes are allowed, a course's theme can be switched and read back, and an unknown
theme is refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from moodle_regress.plugins import CORE_THEMES, display_name, local_plugins, probe_call
from moodle_regress.pytest_recording import TestObservations
from moodle_regress.site import SiteDescriptor
from moodle_ws import MoodleClient, MoodleWarning
from moodle_ws.areas.courses import CourseUpdate


def theme_name(client: MoodleClient, theme: str) -> str | None:
    """The theme's display name, or None when it is not installed."""
    function, params = probe_call("theme", theme)
    return display_name(client.call(function, **params))


def candidate_themes(client: MoodleClient, site: SiteDescriptor) -> set[str]:
    names = set(CORE_THEMES)
    names.add(str(client.site_info().get("theme") or "boost"))
    for course in client.courses.get():
        if forced := course.extra_fields.get("forcetheme"):
            names.add(str(forced))
    names |= set(local_plugins(site).get("theme", ()))
    return names


def forced_theme(client: MoodleClient, courseid: int) -> str:
    return str(client.call("core_course_get_courses", options={"ids": [courseid]})[0]["forcetheme"])


def test_site_theme(moodle_client: MoodleClient, observe: TestObservations) -> None:
    theme = str(moodle_client.site_info(refresh=True).get("theme") or "")
    assert theme, "site info names no theme"
    name = theme_name(moodle_client, theme)
    assert name, f"the site theme {theme} is not an installed theme"
    observe("themes", "@site", "site-theme", value=theme)


def test_themes_available(
    moodle_client: MoodleClient, moodle_site: SiteDescriptor, observe: TestObservations
) -> None:
    candidates = sorted(candidate_themes(moodle_client, moodle_site))
    names = moodle_client.map_concurrently(lambda t: theme_name(moodle_client, t), candidates)
    available = {t: n for t, n in zip(candidates, names, strict=True) if n}
    assert "boost" in available
    assert theme_name(moodle_client, "mrnosuchtheme") is None
    observe("themes", "@site", "available", value=sorted(available))
    for theme, name in available.items():
        observe("themes", theme, "name", value=name)


def test_switching_a_course_theme(
    moodle_client: MoodleClient, scratch_course: Callable[..., int], observe: TestObservations
) -> None:
    courseid = scratch_course("theme")
    assert forced_theme(moodle_client, courseid) == ""
    target = "classic" if theme_name(moodle_client, "classic") else "boost"
    moodle_client.courses.update([CourseUpdate(id=courseid, forcetheme=target)])
    now = forced_theme(moodle_client, courseid)
    # Without allowcoursethemes Moodle ignores the field: nothing else to check then.
    allowed = now == target
    observe("themes", "course-themes", "allowed", value=allowed)
    if not allowed:
        assert now == ""
        pytest.skip("course themes are not allowed on this site (allowcoursethemes)")
    info = moodle_client.call("core_course_get_courses_by_field", field="id", value=courseid)
    assert info["courses"][0].get("theme", target) == target

    # An unknown theme: the course is left alone, with a warning saying why.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MoodleWarning)
        refusal = moodle_client.courses.update([CourseUpdate(id=courseid, forcetheme="mrnosuch")])
    assert refusal, "an unknown course theme was accepted without a warning"
    assert forced_theme(moodle_client, courseid) == target
    moodle_client.courses.update([CourseUpdate(id=courseid, forcetheme="boost")])
    assert forced_theme(moodle_client, courseid) == "boost"
    observe(
        "themes",
        "course-themes",
        "unknown-theme",
        value=sorted(str(w.warningcode) for w in refusal),
    )
