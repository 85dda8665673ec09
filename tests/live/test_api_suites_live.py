"""The API suites against real sandboxes, run as a user runs them (a child pytest).

- they pass on 4.5, 5.0 and 5.1 without a baseline;
- on 5.0 against a 4.5 baseline they report the real differences between the two
  (each one checked in the 5.0 tree: mod_chat and mod_survey left core, functions
  removed and added, the social format's section name), and with
  ``moodle_regress/data/expected/4.5-to-5.0.yaml`` they pass;
- ``-n 2`` records exactly what a serial run records.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.resources import packaged_expected
from moodle_regress.site import SiteDescriptor

pytestmark = [pytest.mark.live, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EXPECTED_45_50 = packaged_expected("4.5-to-5.0")
RUN_TIMEOUT_S = 1800

Run = Callable[..., subprocess.CompletedProcess[str]]


def run_suites(
    site: SiteDescriptor, workdir: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``pytest moodle_regress/suites/api --moodle-site <descriptor> --moodle-plan small
    ...`` in a child process."""
    workdir.mkdir(parents=True, exist_ok=True)
    descriptor = workdir / f"site-{site.name}.json"
    site.save(descriptor)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "moodle_regress/suites/api",
            "--moodle-site",
            str(descriptor),
            "-p",
            "no:cacheprovider",
            "-q",
            # The small plan has every kind of entity the suites check, with content,
            # and seeds in seconds; the default plan takes tens of minutes per site.
            "--moodle-plan",
            "small",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout[-8000:] + result.stderr[-3000:]


def assert_passed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, output(result)
    assert " passed" in result.stdout
    assert " failed" not in result.stdout and " error" not in result.stdout


def observations(snapshot: Path) -> dict[str, Any]:
    data = json.loads(snapshot.read_text())
    return {o["key"]: o["value"] for o in data["observations"]}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-suites")


@pytest.fixture(scope="module")
def recorded(
    workdir: Path, live_site_factory: Callable[[str], SiteDescriptor]
) -> Callable[[str], tuple[subprocess.CompletedProcess[str], Path]]:
    """A serial run on a release, recording its snapshot (each release run once)."""
    done: dict[str, tuple[subprocess.CompletedProcess[str], Path]] = {}

    def get(release: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        if release not in done:
            site = live_site_factory(release)
            snapshot = workdir / f"serial-{release}.json"
            done[release] = (
                run_suites(site, workdir, f"--moodle-record={snapshot}"),
                snapshot,
            )
        return done[release]

    return get


@pytest.mark.parametrize("release", ["4.5", "5.0", "5.1"])
def test_suites_pass_without_a_baseline(
    release: str, recorded: Callable[[str], tuple[subprocess.CompletedProcess[str], Path]]
) -> None:
    result, snapshot = recorded(release)
    assert_passed(result)
    seen = observations(snapshot)
    # Every behaviour area recorded something.
    areas = {key.split("/", 1)[0] for key in seen}
    assert {
        "courses",
        "sections",
        "enrolments",
        "formats",
        "themes",
        "users",
        "webservice",
    } <= areas


def test_5_0_against_a_4_5_baseline_reports_the_real_differences(
    workdir: Path,
    recorded: Callable[[str], tuple[subprocess.CompletedProcess[str], Path]],
    site_50: SiteDescriptor,
) -> None:
    result_45, baseline = recorded("4.5")
    assert_passed(result_45)

    result = run_suites(site_50, workdir, f"--moodle-baseline={baseline}")
    assert result.returncode == 1, output(result)
    text = result.stdout
    # mod_chat and mod_survey left core in 5.0, and with them their app functions.
    assert "- webservice/mod_chat_view_chat/in-mobile-service: true" in text
    assert "- webservice/mod_survey_submit_answers/in-mobile-service: true" in text
    # ... and the plan's chat activity, which a student could open on 4.5, with it.
    assert '- content/chat/student-opens: "ok"' in text
    # Fully removed in 5.0 (MDL-84036).
    assert (
        "- webservice/core_grades_get_enrolled_users_for_search_widget/in-mobile-service: true"
        in text
    )
    # New in 5.0, replacing the deprecated mod_quiz_get_user_attempts.
    assert "+ webservice/mod_quiz_get_user_quiz_attempts/in-mobile-service: true" in text
    # The social format's single section (the small plan's MR-S004) got a name of its own.
    assert "~ courses/MR-S004/sections/section-0:" in text
    assert 'after:  {"name": "Social activities", "summary": ""}' in text
    # The failures are the comparisons: the suites' own assertions hold on 5.0.
    assert "test_mobile_service_function_list" in text
    assert "FAILED moodle_regress/suites/api/test_enrolments.py" not in text

    accepted = run_suites(
        site_50,
        workdir,
        f"--moodle-baseline={baseline}",
        f"--moodle-expected={EXPECTED_45_50}",
    )
    assert_passed(accepted)


def test_two_workers_record_what_a_serial_run_records(
    workdir: Path,
    recorded: Callable[[str], tuple[subprocess.CompletedProcess[str], Path]],
    site_45: SiteDescriptor,
) -> None:
    serial_result, serial = recorded("4.5")
    assert_passed(serial_result)
    parallel = workdir / "parallel-4.5.json"
    result = run_suites(site_45, workdir, "-n", "2", f"--moodle-record={parallel}")
    assert_passed(result)
    assert observations(parallel) == observations(serial)
    tests_serial = json.loads(serial.read_text())["meta"]["tests"]
    tests_parallel = json.loads(parallel.read_text())["meta"]["tests"]
    assert tests_parallel == tests_serial
    assert not list(workdir.glob(".parallel-4.5.json.parts/*"))
