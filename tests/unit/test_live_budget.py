"""The live tests' time budget (MOODLE_REGRESS_LIVE_BUDGET) in the top-level conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

import conftest

pytest_plugins = ["pytester"]


def test_no_budget_never_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOODLE_REGRESS_LIVE_BUDGET", raising=False)
    assert conftest.live_budget_exhausted(now=conftest._SESSION_START + 10**6) is None


def test_the_budget_lasts_until_it_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_LIVE_BUDGET", "600")
    start = conftest._SESSION_START
    assert conftest.live_budget_exhausted(now=start + 599) is None
    reason = conftest.live_budget_exhausted(now=start + 601)
    assert reason is not None
    assert "MOODLE_REGRESS_LIVE_BUDGET=600" in reason


def test_a_test_that_would_not_end_within_the_budget_does_not_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_LIVE_BUDGET", "3600")
    start = conftest._SESSION_START
    # 40 minutes in: a quick test starts, a rehearsal of half an hour does not.
    assert conftest.live_budget_exhausted(now=start + 2400, needs=60) is None
    reason = conftest.live_budget_exhausted(now=start + 2400, needs=1800)
    assert reason is not None and "takes about 1800 s" in reason


def test_the_takes_mark_gives_the_seconds_a_test_needs(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    takes(minutes): how long\n")
    pytester.makepyfile(
        test_marks="""
import pytest

@pytest.mark.takes(minutes=25)
def test_heavy():
    pass

def test_quick():
    pass
"""
    )
    items, _ = pytester.inline_genitems("-p", "no:moodle_regress")
    assert {i.name: conftest.test_needs(i) for i in items} == {
        "test_heavy": 1500.0,
        "test_quick": 0.0,
    }


def _report(nodeid: str, reason: str) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid, ("x.py", 1, nodeid), {}, "skipped", ("x.py", 1, f"Skipped: {reason}"), "setup"
    )


def test_the_tests_the_budget_skipped_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_LIVE_BUDGET", "1")
    spent = conftest.live_budget_exhausted(now=conftest._SESSION_START + 5)
    assert spent is not None
    reports = [
        _report("tests/live/test_b.py::test_two", spent),
        _report("tests/live/test_a.py::test_one", spent),
        _report("tests/live/test_c.py::test_other", "no code tree configured for 5.1"),
    ]
    assert conftest.skipped_for_budget(reports) == [
        "tests/live/test_a.py::test_one",
        "tests/live/test_b.py::test_two",
    ]


def test_the_terminal_summary_lists_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_LIVE_BUDGET", "0")
    pytester.makeconftest((Path(conftest.__file__)).read_text())
    pytester.makepyfile(
        test_live="""
import pytest

@pytest.mark.live
def test_first():
    pass

@pytest.mark.live
def test_second():
    pass
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:moodle_regress", "-m", "live"
    )
    output = result.stdout.str()
    assert "2 live test(s) not run: live-test time budget spent" in output
    assert "test_live.py::test_first" in output
    assert "test_live.py::test_second" in output
