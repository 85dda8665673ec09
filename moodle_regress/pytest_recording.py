"""Recording what the suites observe, and comparing it with a baseline run.

Loaded by :mod:`moodle_regress.pytest_plugin`.  Options:

- ``--moodle-record FILE``: write this run's observations to a snapshot file;
- ``--moodle-baseline FILE``: a snapshot from an earlier run (say, before the
  upgrade); each test's observations are compared with the baseline's as soon as
  the test body has passed;
- ``--moodle-expected FILE``: expected changes; a difference it accepts does not
  fail the test.

A test takes the ``observe`` fixture and calls ``observe("courses", shortname,
"sections", value=...)``.  Given a baseline, a test whose observations differ from
the ones the same test recorded in the baseline fails with a readable diff (also
attached to allure), unless every difference is expected.  The snapshot's metadata
remembers which test recorded which keys (``meta.tests``), so that a key a test no
longer records shows up as removed.

Under pytest-xdist each worker writes a part next to the record file; the
controlling process merges the parts at the end of the run.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.compare import Comparison, Difference, compare
from moodle_regress.expected import ExpectedChanges, ExpectedFileError
from moodle_regress.files import write_json_atomic
from moodle_regress.observation import Normaliser, Observation, Source, make_key
from moodle_regress.resources import resolve_expected
from moodle_regress.snapshot import Snapshot, SnapshotError, SnapshotMeta

RECORDER_KEY = pytest.StashKey["RunRecorder"]()
TESTS_META = "tests"


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


class RunRecorder:
    """All observations of one process, the baseline and the expected changes."""

    def __init__(
        self,
        *,
        record: Path | None,
        baseline: Snapshot | None,
        expected: ExpectedChanges | None,
        worker: str,
    ) -> None:
        self.record = record
        self.baseline = baseline
        self.expected = expected
        self.worker = worker
        self.snapshot: Snapshot | None = None
        self.tests: dict[str, list[str]] = {}

    def start(self, meta: SnapshotMeta) -> None:
        """Begin recording once the site's facts are known (first test that observes)."""
        if self.snapshot is None:
            self.snapshot = Snapshot(meta)

    def finish_test(self, observed: TestObservations) -> Comparison | None:
        """Keep a test's observations; compare them with the baseline's."""
        if self.snapshot is None:
            raise RuntimeError("RunRecorder.start was not called")
        for observation in observed.observations.values():
            if self.snapshot.get(observation.key) is None:
                self.snapshot.add(observation)
        self.tests[observed.nodeid] = sorted(observed.observations)
        if self.baseline is None:
            return None
        return self.compare_test(observed.nodeid, observed.observations.values())

    def compare_test(self, nodeid: str, observations: Iterable[Observation]) -> Comparison:
        assert self.baseline is not None
        now = list(observations)
        owned = baseline_keys_of(self.baseline, nodeid)
        if owned is None:  # a baseline without the test index: compare what we saw
            owned = {o.key for o in now}
        before = Snapshot(self.baseline.meta)
        before.extend(o for k in sorted(owned) if (o := self.baseline.get(k)) is not None)
        after = Snapshot(self.snapshot.meta if self.snapshot else self.baseline.meta)
        after.extend(now)
        comparison = compare(before, after, visual=False)
        if self.expected is not None:
            comparison = self.expected.apply(comparison)
        return comparison

    def save_part(self) -> Path | None:
        """Write this process's observations next to the record file."""
        if self.record is None or self.snapshot is None:
            return None
        part = parts_dir(self.record) / f"{self.worker}.json"
        data = self.snapshot.to_json()
        data["meta"][TESTS_META] = self.tests
        write_json_atomic(part, data)
        return part


def baseline_keys_of(baseline: Snapshot, nodeid: str) -> set[str] | None:
    index = (baseline.meta.model_extra or {}).get(TESTS_META)
    if not isinstance(index, dict):
        return None
    keys = index.get(nodeid)
    return set(keys) if isinstance(keys, list) else set()


def parts_dir(record: Path) -> Path:
    return record.parent / f".{record.name}.parts"


def merge_parts(record: Path) -> Snapshot | None:
    """Merge every process's part into ``record``; returns the merged snapshot."""
    folder = parts_dir(record)
    parts = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not parts:
        return None
    merged: Snapshot | None = None
    tests: dict[str, list[str]] = {}
    for part in parts:
        data = json.loads(part.read_text())
        tests.update(data["meta"].pop(TESTS_META, {}) or {})
        snapshot = Snapshot.from_json(data, path=part)
        if merged is None:
            merged = Snapshot(snapshot.meta)
        for observation in snapshot:
            if merged.get(observation.key) is None:
                merged.add(observation)
    assert merged is not None
    data = merged.to_json()
    data["meta"][TESTS_META] = dict(sorted(tests.items()))
    write_json_atomic(record, data)
    for part in parts:
        part.unlink()
    folder.rmdir()
    return Snapshot.from_json(data, path=record)


def render_differences(comparison: Comparison, *, limit: int = 40) -> str:
    """A diff a person can read in a test failure: one block per unexpected change."""
    lines: list[str] = []
    before = comparison.before.meta.release or "baseline"
    after = comparison.after.meta.release or "this run"
    unexpected = comparison.unexpected
    lines.append(
        f"{len(unexpected)} unexpected difference(s) from the baseline "
        f"({before} -> {after}); {len(comparison) - len(unexpected)} expected:"
    )
    for difference in unexpected[:limit]:
        lines.extend(_describe(difference))
    if len(unexpected) > limit:
        lines.append(f"... and {len(unexpected) - limit} more")
    return "\n".join(lines)


def _describe(difference: Difference) -> list[str]:
    def show(value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= 300 else text[:297] + "..."

    if difference.kind == "added":
        return [f"+ {difference.key}: {show(difference.after_value)}"]
    if difference.kind == "removed":
        return [f"- {difference.key}: {show(difference.before_value)}"]
    return [
        f"~ {difference.key}:",
        f"    before: {show(difference.before_value)}",
        f"    after:  {show(difference.after_value)}",
    ]


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
        help="expected-changes file (YAML): differences it accepts do not fail tests",
    )


def pytest_configure(config: pytest.Config) -> None:
    record_option = config.getoption("--moodle-record", None)
    baseline_option = config.getoption("--moodle-baseline", None)
    expected_option = config.getoption("--moodle-expected", None)
    try:
        baseline = Snapshot.load(Path(baseline_option)) if baseline_option else None
    except (SnapshotError, OSError) as exc:
        raise pytest.UsageError(f"--moodle-baseline {baseline_option}: {exc}") from None
    try:
        expected = (
            ExpectedChanges.load(resolve_expected(expected_option)) if expected_option else None
        )
    except (ExpectedFileError, OSError) as exc:
        raise pytest.UsageError(f"--moodle-expected {expected_option}: {exc}") from None
    record = Path(record_option).resolve() if record_option else None
    # The worker's id from xdist's own config, not PYTEST_XDIST_WORKER: a pytest run
    # started from inside a worker (pytester) inherits that variable but is no worker.
    workerinput = getattr(config, "workerinput", None)
    worker = str(workerinput["workerid"]) if workerinput else "main"
    if record is not None and worker == "main":
        # The controller (or a serial run) starts from no parts: stale ones from an
        # interrupted earlier run would otherwise be merged in.
        folder = parts_dir(record)
        if folder.is_dir():
            for stale in folder.glob("*.json"):
                stale.unlink()
    config.stash[RECORDER_KEY] = RunRecorder(
        record=record, baseline=baseline, expected=expected, worker=worker
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    outcome = yield
    observed = getattr(item, "funcargs", {}).get("observe")
    if not isinstance(observed, TestObservations) or outcome.excinfo is not None:
        return
    recorder = item.config.stash[RECORDER_KEY]
    comparison = recorder.finish_test(observed)
    if comparison is None:
        return
    if comparison.differences:
        _attach("comparison with the baseline", render_differences(comparison))
    if comparison.unexpected:
        # Raised here, in the call phase, so the test fails (not errors) with the diff.
        outcome.force_exception(AssertionError(render_differences(comparison)))


def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder = session.config.stash.get(RECORDER_KEY, None)
    if recorder is None or recorder.record is None:
        return
    recorder.save_part()
    if recorder.worker == "main":
        merge_parts(recorder.record)


def _attach(name: str, text: str) -> None:
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency, but keep plain pytest working
        return
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
