"""The API suites' scratch courses and users honour the write guard.

The site is a fake one on 127.0.0.1 that answers as a real Moodle 4.5 did (recorded):
no test-site marker category.  A suite test asking for a scratch course or user must
fail before anything is written, saying why.
"""

from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import TOKEN, assert_no_secret
from tests.reliability.fakesite import FakeSite, recorded, reply

pytest_plugins = ["pytester"]

SUITE = """
from moodle_regress.suites.api.conftest import scratch_course, scratch_user

def test_makes_a_course(scratch_course):
    scratch_course("guarded")

def test_makes_a_user(scratch_user):
    scratch_user("guarded")
"""

WRITES = {"core_course_create_courses", "core_user_create_users", "core_course_delete_courses"}


def _site(make_site: type[FakeSite]) -> FakeSite:
    site = make_site(recorded("4.5", "typed", "site_info"))
    site.on_function("core_course_get_categories", recorded("4.5", "seeding-guard", "unmarked"))
    for function in WRITES:
        # Never reached while the guard holds; a plain refusal otherwise.
        site.on_function(function, reply(500, "<html>not for writing</html>"))
    return site


def test_scratch_entities_are_refused_on_a_site_not_marked_as_a_test_site(
    pytester: pytest.Pytester, make_site: type[FakeSite]
) -> None:
    site = _site(make_site)
    descriptor = pytester.path / "site.json"
    descriptor.write_text(json.dumps({"name": "prod", "url": site.url, "token": TOKEN}))
    pytester.makepyfile(test_guarded=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--moodle-site={descriptor}")
    result.assert_outcomes(failed=0, errors=2)
    output = result.stdout.str()
    assert "ERROR test_guarded.py::test_makes_a_course - Failed: refusing to write" in output
    assert "ERROR test_guarded.py::test_makes_a_user - Failed: refusing to write" in output
    assert "--allow-writes" in output
    assert not WRITES & set(site.functions_called())
    assert_no_secret(output)
