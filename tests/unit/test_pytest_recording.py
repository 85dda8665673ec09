"""The suites' recorder: baseline comparison, expected changes, xdist parts.

The suites under test are tiny pytest files run with pytester; their ``observe``
fixture is replaced by one that needs no Moodle site (the site is not the subject
here: the recording and comparing machinery is).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodle_regress.pytest_suites import login_user
from moodle_ws.testing import PLACEHOLDER_URL, replay_call
from moodle_ws.transport import Transport
from tests.unit.recordings import recording

pytest_plugins = ["pytester"]

CONFTEST = """
import os
import pytest
from moodle_regress.observation import Normaliser
from moodle_regress.pytest_recording import RECORDER_KEY, TestObservations
from moodle_regress.snapshot import SnapshotMeta

@pytest.fixture
def observe(request):
    release = os.environ["FAKE_RELEASE"]
    request.config.stash[RECORDER_KEY].start(SnapshotMeta(release=release))
    return TestObservations(
        request.node.nodeid, release=release,
        normaliser=Normaliser(site_root="https://moodle.example.org"),
    )
"""

SUITE = """
import os

def test_sections(observe):
    observe("courses", "MR-C001", "sections", value=os.environ["FAKE_SECTIONS"].split(","),
            ordered=True)
    if os.environ.get("FAKE_EXTRA"):
        observe("courses", "MR-C001", "format", value="topics")

def test_url(observe):
    observe("site", "@site", "login", value="https://moodle.example.org/login/index.php")

def test_fails_by_itself(observe):
    observe("site", "@site", "never", value=1)
    if os.environ.get("FAKE_BREAK"):
        assert False, "the test's own assertion"
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("FAKE_RELEASE", "4.5.6")
    monkeypatch.setenv("FAKE_SECTIONS", "General,Topic 1,Topic 2")
    return pytester


def record_baseline(suite: pytest.Pytester) -> Path:
    baseline = suite.path / "baseline.json"
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", f"--moodle-record={baseline}")
    result.assert_outcomes(passed=3)
    return baseline


def test_record_writes_a_snapshot_with_the_test_index(suite: pytest.Pytester) -> None:
    baseline = record_baseline(suite)
    data = json.loads(baseline.read_text())
    keys = {o["key"] for o in data["observations"]}
    assert keys == {"courses/MR-C001/sections", "site/@site/login", "site/@site/never"}
    login = next(o for o in data["observations"] if o["key"] == "site/@site/login")
    assert login["value"] == "/login/index.php"  # normalised: the host is gone
    assert data["meta"]["tests"]["test_suite.py::test_url"] == ["site/@site/login"]
    assert not list(suite.path.glob(".baseline.json.parts/*"))


def test_same_observations_pass_against_the_baseline(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = record_baseline(suite)
    monkeypatch.setenv("FAKE_RELEASE", "5.0.6")
    result = suite.runpytest_subprocess(f"--moodle-baseline={baseline}")
    result.assert_outcomes(passed=3)


def test_a_change_fails_the_test_with_a_readable_diff(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = record_baseline(suite)
    monkeypatch.setenv("FAKE_RELEASE", "5.0.6")
    monkeypatch.setenv("FAKE_SECTIONS", "General,Section 1,Topic 2")
    monkeypatch.setenv("FAKE_EXTRA", "1")
    result = suite.runpytest_subprocess(f"--moodle-baseline={baseline}")
    result.assert_outcomes(passed=2, failed=1)
    output = result.stdout.str()
    for line in (
        "2 unexpected difference(s) from the baseline (4.5.6 -> 5.0.6); 0 expected:",
        '+ courses/MR-C001/format: "topics"',
        "~ courses/MR-C001/sections:",
        'before: ["General", "Topic 1", "Topic 2"]',
        'after:  ["General", "Section 1", "Topic 2"]',
    ):
        assert line in output


def test_a_key_no_longer_recorded_shows_as_removed(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXTRA", "1")
    baseline = record_baseline(suite)
    monkeypatch.delenv("FAKE_EXTRA")
    result = suite.runpytest_subprocess(f"--moodle-baseline={baseline}")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(['*- courses/MR-C001/format: "topics"*'])


def test_expected_changes_let_the_test_pass(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = record_baseline(suite)
    expected = suite.path / "expected.yaml"
    expected.write_text(
        "expected:\n"
        "  - key: courses/*/sections\n"
        "    change: changed\n"
        "    after: {regex: 'Section 1'}\n"
        "    reason: 5.0 names new sections 'Section N'.\n"
    )
    monkeypatch.setenv("FAKE_SECTIONS", "General,Section 1,Topic 2")
    result = suite.runpytest_subprocess(
        f"--moodle-baseline={baseline}", f"--moodle-expected={expected}"
    )
    result.assert_outcomes(passed=3)


def test_a_failing_test_is_not_compared(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = record_baseline(suite)
    monkeypatch.setenv("FAKE_BREAK", "1")
    result = suite.runpytest_subprocess(f"--moodle-baseline={baseline}")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*the test's own assertion*"])
    result.stdout.no_fnmatch_line("*unexpected difference*")


def test_parts_of_xdist_workers_are_merged(suite: pytest.Pytester) -> None:
    serial = record_baseline(suite)
    parallel = suite.path / "parallel.json"
    result = suite.runpytest_subprocess("-n", "2", f"--moodle-record={parallel}")
    result.assert_outcomes(passed=3)
    one = json.loads(serial.read_text())
    two = json.loads(parallel.read_text())
    assert one["observations"] == two["observations"]
    assert one["meta"]["tests"] == two["meta"]["tests"]
    assert not (suite.path / ".parallel.json.parts").exists()


def test_an_unreadable_baseline_is_a_usage_error(suite: pytest.Pytester) -> None:
    bad = suite.path / "bad.json"
    bad.write_text("{not json")
    result = suite.runpytest_subprocess(f"--moodle-baseline={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--moodle-baseline*bad.json*"])


# --- user_client's login: skip only when the site offers no mobile service ----------


def _token_answer(label: str) -> Transport:
    # A login/token.php answer recorded from a real 4.5 site.
    return replay_call(recording("4.5", "errors").labelled(label)[0])


def test_a_site_without_the_service_skips_the_test() -> None:
    with pytest.raises(pytest.skip.Exception, match="offers no moodle_mobile_app service"):
        login_user(PLACEHOLDER_URL, "admin", "pw", transport=_token_answer("token_unknown_service"))


def test_web_services_off_skips_the_test() -> None:
    with pytest.raises(pytest.skip.Exception, match="offers no moodle_mobile_app service"):
        login_user(
            PLACEHOLDER_URL, "admin", "pw", transport=_token_answer("token_webservices_disabled")
        )


def test_a_refused_login_fails_the_test_instead_of_skipping() -> None:
    # A student who can no longer log in after an upgrade is a regression to see.
    with pytest.raises(pytest.fail.Exception, match="admin could not log in"):
        login_user(PLACEHOLDER_URL, "admin", "pw", transport=_token_answer("token_invalid_login"))


def test_a_granted_login_gives_a_client_with_the_users_token() -> None:
    client = login_user(
        PLACEHOLDER_URL, "admin", "pw", transport=_token_answer("token_mobile_service")
    )
    assert client.url == PLACEHOLDER_URL
