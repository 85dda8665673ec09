"""The suites' sample of a site's own courses and people, replaying what a real
Moodle 4.5 site answered (``fixtures/recordings/4.5/site-sample.json``: the small plan
and a course of the site's own, recorded by ``tests.record_fixtures --sample-site``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.guard import made_by_the_suites
from moodle_regress.seeding.sample import (
    OUTSIDE_SAMPLE,
    PER_FORMAT,
    SAMPLE_PASSWORD,
    SampleError,
    load_sample,
    open_sampled_accounts,
    sample_site,
    save_sample,
)
from moodle_ws import MoodleClient
from moodle_ws.redaction import redact
from moodle_ws.testing import PLACEHOLDER_URL, Recording, ReplayTransport

RECORDING = Path(__file__).parents[2] / "fixtures" / "recordings" / "4.5" / "site-sample.json"


def replayed() -> tuple[MoodleClient, ReplayTransport]:
    transport = ReplayTransport(RECORDING, ordered=False)
    return MoodleClient(PLACEHOLDER_URL, "replayed-token", transport=transport), transport


def answer(function: str, **params: str) -> Any:
    """The recorded answer of ``function`` (with these parameters, where several)."""
    for call in Recording.load(RECORDING).calls:
        if call.function == function and all((k, v) in call.params for k, v in params.items()):
            return call.payload()
    raise LookupError(function)


def site_courses() -> list[dict[str, Any]]:
    return [c for c in answer("core_course_get_courses") if c["format"] != "site"]


def test_each_format_of_the_site_is_sampled() -> None:
    client, _ = replayed()
    data = sample_site(client, 0)
    on_site = Counter(c["format"] for c in site_courses())
    sampled = Counter(c.format for c in data.courses)
    assert sampled == {f: min(PER_FORMAT, n) for f, n in on_site.items()}
    assert data.sampled_from == PLACEHOLDER_URL
    assert not any(made_by_the_suites(c.shortname) for c in data.courses)


def test_sections_and_enrolments_are_the_sites_own() -> None:
    client, _ = replayed()
    data = sample_site(client, 0)
    by_name = {c["shortname"]: c for c in site_courses()}
    for course in data.courses:
        courseid = str(by_name[course.shortname]["id"])
        recorded = answer("core_course_get_contents", courseid=courseid)
        numbered = [s for s in recorded if not s.get("component")]
        assert [s.number for s in course.sections] == [s["section"] for s in numbered]
        assert [s.visible for s in course.sections] == [bool(s["visible"]) for s in numbered]
        enrolled = answer("core_enrol_get_enrolled_users", courseid=courseid)
        expected = sorted((u["username"], r["shortname"]) for u in enrolled for r in u["roles"])
        assert (
            sorted((e.username, e.role) for e in data.enrolments if e.shortname == course.shortname)
            == expected
        )


def test_teachers_and_students_are_sampled_with_a_known_password_not_the_admin() -> None:
    client, _ = replayed()
    data = sample_site(client, 0)
    admin = answer("core_webservice_get_site_info")["username"]
    assert data.users and admin not in {u.username for u in data.users}
    assert {u.role_hint for u in data.users} == {"editingteacher", "student"}
    for user in data.users:
        assert user.password == SAMPLE_PASSWORD
        held = {(e.shortname, e.role) for e in data.enrolments if e.username == user.username}
        assert any(role == user.role_hint for _, role in held), user.username
    # Their courses outside the sample are known too (a check of "my courses").
    sampled = {c.shortname for c in data.courses}
    outside = [e for e in data.enrolments if e.shortname not in sampled]
    assert all(e.role == OUTSIDE_SAMPLE for e in outside)


def test_the_sample_is_the_same_each_time_and_survives_a_round_trip(tmp_path: Path) -> None:
    first = sample_site(replayed()[0], 0)
    again = sample_site(replayed()[0], 0)
    assert first == again
    save_sample(first, tmp_path / "sample.json")
    assert load_sample(tmp_path / "sample.json") == first


def test_opening_the_accounts_sets_the_password_and_manual_login() -> None:
    client, transport = replayed()
    data = sample_site(client, 0)
    assert open_sampled_accounts(client, data, allow_writes=False) == len(data.users)
    (update,) = [p for f, p in transport.requests if f == "core_user_update_users"]
    assert sum(k.endswith("[auth]") and v == "manual" for k, v in update) == len(data.users)
    assert sum(k.endswith("[password]") for k, _ in update) == len(data.users)
    # The known password is a secret like any other: never in a log or a report.
    assert SAMPLE_PASSWORD not in redact(f"password {SAMPLE_PASSWORD}")


@pytest.mark.parametrize(
    ("text", "cause"),
    [("{not json", "cannot read"), ('{"format": "other"}', "not a moodle-regress site sample")],
)
def test_a_bad_sample_file_is_a_clear_error(tmp_path: Path, text: str, cause: str) -> None:
    path = tmp_path / "sample.json"
    path.write_text(text)
    with pytest.raises(SampleError, match=cause) as caught:
        load_sample(path)
    assert caught.value.fix


def test_the_browser_suite_checks_each_sampled_course(tmp_path: Path) -> None:
    import subprocess
    import sys

    from moodle_regress.resources import suite_dir

    data = sample_site(replayed()[0], 0)
    save_sample(data, tmp_path / "sample.json")
    module = suite_dir("browser") / "test_site_courses.py"

    def collected(*options: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
             str(module), *options],
            cwd=tmp_path, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return [line for line in done.stdout.splitlines() if "::" in line]

    ids = collected(f"--moodle-sample={tmp_path / 'sample.json'}")
    for course in data.courses:
        for seen_as in ("student", "teacher"):
            wanted = f"test_a_sampled_course_page[{course.shortname}-chromium-{seen_as}]"
            assert any(i.endswith(wanted) for i in ids), (wanted, ids)
    # Without a sample there is no site course to check.
    assert not any(c.shortname in i for i in collected() for c in data.courses)
