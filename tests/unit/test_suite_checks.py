"""Suite checks as observations: a check that passed on site A and fails or is skipped
on site B is an unexpected difference (the rehearsal's exit status counted only the
snapshot's differences, so such a check went unreported).

The JUnit reports are made by pytest itself, running a small suite twice: once as
"A" and once as "B", where some checks behave differently.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from moodle_regress.compare import compare
from moodle_regress.expected import ExpectedChanges
from moodle_regress.observation import Observation
from moodle_regress.rehearsal.stages import StageBoard
from moodle_regress.rehearsal.suites import CHECKS_AREA, SuiteRun, check_outcomes
from moodle_regress.resources import any_upgrade_expected
from moodle_regress.snapshot import Snapshot, SnapshotMeta

SUITE = """
import os
import pytest
from moodle_regress.compare import compare
from moodle_regress.observation import Observation
from moodle_regress.recording import render_differences
from moodle_regress.snapshot import Snapshot, SnapshotMeta

B = os.environ["SITE"] == "B"

def test_steady():
    pass

def test_breaks_on_b():
    assert not B, "the course page lost its sections\\nsecond line"

def test_skipped_on_b():
    if B:
        pytest.skip("web services are switched off")

def test_only_applies_on_b():
    if not B:
        pytest.skip("no subsections on this site")

@pytest.mark.parametrize("theme", ["boost", "moove"] if not B else ["boost", "newtheme"])
def test_theme(theme):
    pass

def test_new_on_b_fails():
    if not B:
        pytest.skip("not collected on A")  # replaced below on A
    raise AssertionError("the new format's page is blank")

def test_differs_from_the_baseline():
    # What the API suites' recorder raises for a check whose only fault is a difference
    # from the baseline: those differences are observations of their own.
    if B:
        before = Snapshot(SnapshotMeta(release="4.5"), [Observation("courses/C1/name", "x")])
        after = Snapshot(SnapshotMeta(release="5.0"), [Observation("courses/C1/name", "y")])
        raise AssertionError(render_differences(compare(before, after)))

@pytest.fixture
def broken_on_b():
    if B:
        raise RuntimeError("the site refused the login")

def test_with_a_fixture(broken_on_b):
    pass
"""


def junit_of(tmp_path: Path, site: str) -> Path:
    folder = tmp_path / site
    folder.mkdir()
    source = SUITE
    if site == "A":  # a check B has and A does not
        source = source.replace("def test_new_on_b_fails", "def _not_on_a")
    (folder / "test_checks.py").write_text(source)
    junit = folder / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--junitxml={junit}", str(folder / "test_checks.py")],
        cwd=folder, env={**os.environ, "SITE": site},
        capture_output=True, check=False,
    )  # fmt: skip
    return junit


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("checks")
    return {
        site: {o.key: o.value for o in check_outcomes(junit_of(tmp, site), "api")}
        for site in ("A", "B")
    }


def key(test: str) -> str:
    return f"{CHECKS_AREA}/api/test_checks::{test}"


def test_each_check_is_one_observation_with_its_outcome_and_message(
    outcomes: dict[str, dict[str, str]],
) -> None:
    a, b = outcomes["A"], outcomes["B"]
    assert a[key("test_steady")] == b[key("test_steady")] == "passed"
    assert b[key("test_breaks_on_b")] == (
        "failed: AssertionError: the course page lost its sections"
    )
    assert b[key("test_skipped_on_b")] == "skipped: web services are switched off"
    assert a[key("test_only_applies_on_b")] == "skipped: no subsections on this site"
    assert b[key("test_with_a_fixture")] == (
        'error: failed on setup with "RuntimeError: the site refused the login"'
    )
    assert key("test_theme[moove]") in a and key("test_theme[moove]") not in b


def test_a_failure_that_only_reports_baseline_differences_counts_as_passed(
    outcomes: dict[str, dict[str, str]],
) -> None:
    assert outcomes["B"][key("test_differs_from_the_baseline")] == "passed"


def test_checks_that_got_worse_on_b_are_unexpected_differences(
    outcomes: dict[str, dict[str, str]],
) -> None:
    before = Snapshot(SnapshotMeta(release="4.5"))
    after = Snapshot(SnapshotMeta(release="5.0"))
    before.extend(Observation(k, v) for k, v in outcomes["A"].items())
    after.extend(Observation(k, v) for k, v in outcomes["B"].items())
    rules = ExpectedChanges.load(any_upgrade_expected())
    comparison = rules.apply(compare(before, after))
    unexpected = {d.key for d in comparison.unexpected}
    expected = {d.key for d in comparison if d.expected}
    assert unexpected == {
        key("test_breaks_on_b"),  # passed -> failed
        key("test_skipped_on_b"),  # passed -> skipped
        key("test_with_a_fixture"),  # passed -> error
        key("test_theme[moove]"),  # ran on A, not on B
        key("test_new_on_b_fails"),  # only on B, and fails
    }
    assert expected == {
        key("test_only_applies_on_b"),  # skipped -> passed
        key("test_theme[newtheme]"),  # only on B, passes
    }


def test_a_stage_whose_suite_checks_failed_ends_incomplete_not_done(tmp_path: Path) -> None:
    # Site B's observation showed "done" while its suite had failed checks.
    run = SuiteRun("api", "B", exit_code=1)
    run.checks = check_outcomes(junit_of(tmp_path, "B"), "api")
    assert sorted(run.faults) == [
        key("test_breaks_on_b"),
        key("test_new_on_b_fails"),
        key("test_with_a_fixture"),
    ]  # the baseline's differences are no fault of the check
    board = StageBoard([("observe_b", "6. observe B")], Console(file=io.StringIO()), live=False)
    with board.run("observe_b") as stage:
        stage.incomplete = bool(run.faults)
    assert board.get("observe_b").status == "incomplete"
    with board.run("observe_b"):
        pass
    assert board.get("observe_b").status == "done"


def test_a_suite_that_did_not_run_is_a_crash_not_a_result() -> None:
    assert SuiteRun("browser", "A", exit_code=4).crashed  # pytest's usage error
    assert SuiteRun("browser", "A", exit_code=2).crashed  # interrupted before a check
    assert not SuiteRun("browser", "A", exit_code=1).crashed  # checks failed: a result
