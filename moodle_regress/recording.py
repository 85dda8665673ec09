"""The one recorder core of the suites: what a run observes, and how it compares with a
baseline run.

The API suites (:mod:`moodle_regress.pytest_recording`) and the browser suites
(:mod:`moodle_regress.browser.record`) both record through a :class:`Recorder`:

- one per process: observations by key (the first of a key wins) and which owner (a
  test) recorded which keys, kept in the snapshot's ``meta.tests`` so that a key a
  test no longer records shows as removed;
- :meth:`Recorder.compare_keys`: the baseline's observations of some keys against
  this run's, through the one :func:`~moodle_regress.compare.compare` and the
  expected-changes rules (:class:`~moodle_regress.expected.ExpectedChanges`);
- under pytest-xdist each process writes a part (``.<target>.parts/<worker>.json``
  next to the target file); the controlling process merges them into the target.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.compare import Comparison, Difference, compare
from moodle_regress.errors import MoodleRegressError
from moodle_regress.expected import ExpectedChanges
from moodle_regress.observation import Observation
from moodle_regress.resources import resolve_expected
from moodle_regress.snapshot import Snapshot, SnapshotMeta

#: The snapshot metadata field that says which test recorded which keys.
TESTS_META = "tests"
#: What a part's file name ends with (a recorder of a suite may add its own files).
PART_SUFFIX = ".snapshot.json"


def worker_of(config: pytest.Config) -> str:
    """The xdist worker ("gw0"...) from xdist's own config, or "main".

    Not ``PYTEST_XDIST_WORKER``: a pytest run started from inside a worker (pytester)
    inherits that variable but is no worker.
    """
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


def parts_dir(target: Path) -> Path:
    """Where the processes of a run put their parts of ``target``."""
    return target.parent / f".{target.name}.parts"


def clear_parts(target: Path) -> None:
    """Remove the parts an interrupted earlier run left (the controller, at the start)."""
    shutil.rmtree(parts_dir(target), ignore_errors=True)


def load_baseline(value: str | None, option: str) -> Snapshot | None:
    """The baseline snapshot named on the command line, or a usage error saying why not."""
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_dir():
        path = path / "snapshot.json"
    try:
        return Snapshot.load(path)
    except (MoodleRegressError, OSError) as exc:
        raise pytest.UsageError(f"{option} {value}: {exc}") from None


def load_expected(value: str | None, option: str = "--moodle-expected") -> ExpectedChanges | None:
    """The expected-changes rules named on the command line (a file or a shipped name)."""
    if not value:
        return None
    try:
        return ExpectedChanges.load(resolve_expected(value))
    except (MoodleRegressError, OSError) as exc:
        raise pytest.UsageError(f"{option} {value}: {exc}") from None


class Recorder:
    """One process's observations, the baseline and the expected changes."""

    def __init__(
        self,
        target: Path | None,
        *,
        baseline: Snapshot | None = None,
        expected: ExpectedChanges | None = None,
        worker: str = "main",
    ) -> None:
        self.target = target
        self.baseline = baseline
        self.expected = expected
        self.worker = worker
        self.snapshot: Snapshot | None = None
        self.tests: dict[str, list[str]] = {}

    def start(self, meta: SnapshotMeta) -> None:
        """Begin recording once the site's facts are known (the first call wins)."""
        if self.snapshot is None:
            self.snapshot = Snapshot(meta)

    def keep(self, owner: str | None, observations: Iterable[Observation]) -> None:
        """Add observations (a key already kept stays as it was); index them under ``owner``."""
        if self.snapshot is None:
            raise RuntimeError("Recorder.start was not called")
        keys = []
        for observation in observations:
            if self.snapshot.get(observation.key) is None:
                self.snapshot.add(observation)
            keys.append(observation.key)
        if owner is not None:
            self.tests[owner] = sorted({*self.tests.get(owner, ()), *keys})

    def baseline_keys(self, owner: str) -> set[str] | None:
        """The keys ``owner`` recorded in the baseline (None: the baseline has no index)."""
        assert self.baseline is not None
        index = (self.baseline.meta.model_extra or {}).get(TESTS_META)
        if not isinstance(index, dict):
            return None
        keys = index.get(owner)
        return set(keys) if isinstance(keys, list) else set()

    def compare_keys(
        self,
        keys: Iterable[str],
        observations: Iterable[Observation],
        *,
        visual: bool = False,
        threshold: float | None = None,
        tolerance: int | None = None,
    ) -> Comparison | None:
        """The baseline's observations of ``keys`` against ``observations``, with the
        expected changes applied; None without a baseline."""
        if self.baseline is None:
            return None
        before = Snapshot(self.baseline.meta, path=self.baseline.path)
        before.extend(o for k in sorted(set(keys)) if (o := self.baseline.get(k)) is not None)
        after = Snapshot(self.snapshot.meta if self.snapshot else self.baseline.meta)
        after.extend(observations)
        comparison = compare(before, after, visual=visual, threshold=threshold, tolerance=tolerance)
        return self.expected.apply(comparison) if self.expected is not None else comparison

    def compare_owner(self, owner: str, observations: Iterable[Observation]) -> Comparison | None:
        """What ``owner`` recorded now against what it recorded in the baseline."""
        if self.baseline is None:
            return None
        now = list(observations)
        owned = self.baseline_keys(owner)
        if owned is None:  # a baseline without the index: compare what was seen now
            owned = {o.key for o in now}
        return self.compare_keys(owned, now)

    def save_part(self) -> Path | None:
        """Write this process's observations next to the target (see :func:`merge_parts`)."""
        if self.target is None or self.snapshot is None:
            return None
        part = parts_dir(self.target) / f"{self.worker}{PART_SUFFIX}"
        self.snapshot.meta = self.snapshot.meta.model_copy(update={TESTS_META: self.tests})
        self.snapshot.save(part)
        return part


def merge_parts(target: Path) -> Snapshot | None:
    """Merge every process's part into ``target`` and remove the parts' folder."""
    folder = parts_dir(target)
    parts = sorted(folder.glob(f"*{PART_SUFFIX}")) if folder.is_dir() else []
    if not parts:
        return None
    loaded = [Snapshot.load(path) for path in parts]
    tests: dict[str, list[str]] = {}
    for part in loaded:
        tests.update((part.meta.model_extra or {}).get(TESTS_META) or {})
    meta = loaded[0].meta.model_copy(update={TESTS_META: dict(sorted(tests.items()))})
    merged = Snapshot.combine(loaded, meta)
    merged.save(target)
    shutil.rmtree(folder, ignore_errors=True)
    return merged


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


def attach_text(name: str, text: str) -> None:
    """A text attachment in the allure results (when allure is there)."""
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency, but keep plain pytest working
        return
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_png(name: str, path: Path) -> None:
    """A picture in the allure results (when allure is there)."""
    try:
        import allure
    except ImportError:
        return
    allure.attach.file(  # type: ignore[no-untyped-call]
        str(path), name=name, attachment_type=allure.attachment_type.PNG
    )
