"""Recording what the API suites observe, and comparing it with a baseline run.

Loaded by :mod:`moodle_regress.pytest_plugin`; the recording itself is the one core
of :mod:`moodle_regress.recording`.  Options:

- ``--moodle-record FILE``: write this run's observations to a snapshot file;
- ``--moodle-baseline FILE``: a snapshot from an earlier run (say, before the
  upgrade); each test's observations are compared with the baseline's as soon as
  the test body has passed;
- ``--moodle-expected FILE``: expected changes; a difference it accepts does not
  fail the test.

A test takes the ``observe`` fixture and calls ``observe("courses", shortname,
"sections", value=...)``.  Given a baseline, a test whose observations differ from
the ones the same test recorded in the baseline fails with a readable diff (also
attached to allure), unless every difference is expected.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.observation import Normaliser, Observation, Source, make_key
from moodle_regress.recording import (
    Recorder,
    attach_text,
    clear_parts,
    load_baseline,
    load_expected,
    merge_parts,
    render_differences,
    worker_of,
)

RECORDER_KEY = pytest.StashKey[Recorder]()

__all__ = ["RECORDER_KEY", "TestObservations", "render_differences"]


class TestObservations:
    """The observations one test records (the ``observe`` fixture)."""

    __test__ = False  # not a test class, whatever pytest's name matching thinks

    def __init__(
        self, nodeid: str, *, release: str, normaliser: Normaliser, source: Source = "api"
    ) -> None:
        self.nodeid = nodeid
        self.release = release
        self.normaliser = normaliser
        self.source = source
        self.observations: dict[str, Observation] = {}

    def __call__(
        self, area: str, entity: str, *aspect: str | int, value: Any, ordered: bool = False
    ) -> Observation:
        """Record one fact; ``value`` is normalised (ids, times, hosts, list order)."""
        key = make_key(area, entity, *aspect)
        observation = self.normaliser.observation(
            key, value, release=self.release, source=self.source, ordered=ordered
        )
        self.observations[key] = observation
        return observation


# --- pytest hooks -------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("moodle-regress")
    group.addoption(
        "--moodle-record",
        default=None,
        metavar="FILE",
        help="write this run's observations to a snapshot file",
    )
    group.addoption(
        "--moodle-baseline",
        default=None,
        metavar="FILE",
        help="compare each test's observations with this snapshot of an earlier run",
    )
    group.addoption(
        "--moodle-expected",
        default=None,
        metavar="FILE",
        help="expected-changes file (YAML) or a shipped one's name: differences it "
        "accepts do not fail tests",
    )


def pytest_configure(config: pytest.Config) -> None:
    record_option = config.getoption("--moodle-record", None)
    record = Path(record_option).resolve() if record_option else None
    worker = worker_of(config)
    if record is not None and worker == "main":
        clear_parts(record)  # stale parts of an interrupted run would be merged in
    config.stash[RECORDER_KEY] = Recorder(
        record,
        baseline=load_baseline(config.getoption("--moodle-baseline", None), "--moodle-baseline"),
        expected=load_expected(config.getoption("--moodle-expected", None)),
        worker=worker,
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    outcome = yield
    observed = getattr(item, "funcargs", {}).get("observe")
    if not isinstance(observed, TestObservations) or outcome.excinfo is not None:
        return
    recorder = item.config.stash[RECORDER_KEY]
    recorder.keep(observed.nodeid, observed.observations.values())
    comparison = recorder.compare_owner(observed.nodeid, observed.observations.values())
    if comparison is None:
        return
    if comparison.differences:
        attach_text("comparison with the baseline", render_differences(comparison))
    if comparison.unexpected:
        # Raised here, in the call phase, so the test fails (not errors) with the diff.
        outcome.force_exception(AssertionError(render_differences(comparison)))


def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder = session.config.stash.get(RECORDER_KEY, None)
    if recorder is None or recorder.target is None:
        return
    recorder.save_part()
    if recorder.worker == "main":
        merge_parts(recorder.target)
