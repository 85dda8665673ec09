"""Course formats: each installed format's section shape and options.

Parametrized by the formats installed on the site under test (the core four, plus
any third-party format found: in a sandbox's code tree, else probed by name), each
checked on the seeded courses of that format.  Holds on any version: the format is
installed (it has a name), its courses report it, topics and weeks courses have
section 0 plus their numbered sections, a social course has one section, a single
activity course starts with section 0, every other format at least section 0.
"""

from __future__ import annotations

from typing import Any

import pytest

from moodle_regress.plugins import (
    CORE_FORMATS,
    installed_formats,
    local_formats,
    probe_call,
    site_code_dir,
)
from moodle_regress.pytest_plugin import seeded_formats
from moodle_regress.pytest_recording import TestObservations
from moodle_regress.seeding import Dataset
from moodle_regress.site import SiteError, resolve_site
from moodle_regress.suites.api.conftest import course_id, lacking
from moodle_ws import MoodleClient, MoodleError

FORMATS_KEY = pytest.StashKey[list[str]]()
#: Courses checked per format (the plan makes many of the core ones).
PER_FORMAT = 3


def site_formats(config: pytest.Config) -> list[str]:
    """Formats to parametrize by, found once per process from ``--moodle-site``."""
    if FORMATS_KEY in config.stash:
        return config.stash[FORMATS_KEY]
    found = list(CORE_FORMATS)
    value = config.getoption("--moodle-site", None)
    if value:
        try:
            descriptor = resolve_site(str(value))
            code_dir = site_code_dir(descriptor)
            if code_dir is not None:
                # The code tree says without a call (and the same in every worker).
                found = local_formats(code_dir)
            else:
                with descriptor.client() as client:
                    found = installed_formats(client)
        except (SiteError, MoodleError, OSError):
            pass  # the moodle_site fixture reports a bad site; keep the core formats
    config.stash[FORMATS_KEY] = found
    return found


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "course_format" in metafunc.fixturenames:
        metafunc.parametrize("course_format", site_formats(metafunc.config))


def _plugin_name(client: MoodleClient, course_format: str) -> str:
    function, params = probe_call("format", course_format)
    return str(client.call(function, **params))


def test_format_section_shape_and_options(
    course_format: str,
    moodle_client: MoodleClient,
    seeded_dataset: Dataset,
    observe: TestObservations,
    request: pytest.FixtureRequest,
) -> None:
    name = _plugin_name(moodle_client, course_format)
    assert name and not name.startswith("[["), f"format_{course_format} is not installed"
    observe("formats", course_format, "name", value=name)

    courses = [c for c in seeded_dataset.courses if c.format == course_format][:PER_FORMAT]
    formats_then = seeded_formats(request.config)
    if not courses and formats_then is not None and course_format not in formats_then:
        # Installed since the plan was seeded (an upgrade's new format): no course has it.
        pytest.skip(f"format_{course_format} came after the plan was seeded: no course of it")
    if not courses:
        lacking(seeded_dataset, f"{course_format} course (a plan's formats: all covers each)")
    option_names: set[str] = set()
    shapes: dict[str, Any] = {}
    for course in courses:
        courseid = course_id(moodle_client, course.shortname)
        record = moodle_client.courses.get([courseid])[0]
        assert record.format == course_format
        options = {o.name: o.value for o in record.courseformatoptions}
        option_names |= set(options)
        for option, value in course.format_options:
            assert str(options.get(option)) == str(value), (course.shortname, option)
        sections = moodle_client.courses.contents(courseid)
        numbers = [s.section for s in sections if not s.component]
        assert numbers and numbers[0] == 0, course.shortname
        if course_format in ("topics", "weeks"):
            assert numbers == list(range(course.numsections + 1)), course.shortname
        elif course_format == "social":
            assert numbers == [0], course.shortname
        shapes[course.shortname] = {
            "sections": len(numbers),
            "hidden": [s.section for s in sections if not s.component and not s.visible],
            "modules": sorted({m.modname for s in sections for m in s.modules}),
        }
        observe("courses", course.shortname, "format-options", value=options)
    observe("formats", course_format, "option-names", value=sorted(option_names))
    observe("formats", course_format, "section-shapes", value=shapes)


def test_installed_formats(
    moodle_client: MoodleClient, request: pytest.FixtureRequest, observe: TestObservations
) -> None:
    formats = site_formats(request.config)
    assert set(CORE_FORMATS) <= set(formats)
    for course_format in formats:
        assert not _plugin_name(moodle_client, course_format).startswith("[[")
    observe("formats", "@site", "installed", value=sorted(formats))
