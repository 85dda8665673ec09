"""Running a regression suite (API or browser) against one site, in a pytest subprocess.

Each run's checks become observations, ``checks/<suite>/<module>::<test>`` with the
value ``passed``, ``skipped: <reason>``, ``failed: <message>`` or ``error: <message>``
(the first line), so that a check that passed on site A and fails or is skipped on
site B is an unexpected difference like any other, with its message beside it.  A
failure that only reports differences from the baseline counts as passed: those
differences are in the snapshot already, each on its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

from moodle_regress.observation import Observation, Source, make_key
from moodle_regress.resources import suite_dir
from moodle_regress.timing import CLOCK

SUITES = ("api", "browser")

#: The area of the suites' check outcomes.
CHECKS_AREA = "checks"

#: How the API suites' recorder fails a test whose only fault is a difference from the
#: baseline (see :func:`moodle_regress.recording.render_differences`).
BASELINE_FAILURE = "unexpected difference(s) from the baseline"


@dataclass
class SuiteRun:
    """One pytest run of a suite against one site."""

    suite: str
    label: str
    exit_code: int
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    snapshot: Path | None = None
    log: Path | None = None
    checks: list[Observation] = field(default_factory=list)

    @property
    def faults(self) -> list[str]:
        """The checks that failed or errored (not for differences from the baseline)."""
        return [c.key for c in self.checks if str(c.value).startswith(("failed", "error"))]

    @property
    def crashed(self) -> bool:
        """pytest itself stopped (interrupted, internal or usage error, nothing
        collected) and reported no check."""
        return self.exit_code not in (0, 1) and not self.checks

    @property
    def summary(self) -> str:
        return (
            f"{self.suite} {self.label}: {self.passed} passed, {self.failed} failed, "
            f"{self.skipped} skipped, {self.errors} errors"
        )


@dataclass(frozen=True)
class SuiteOptions:
    """What every suite run of a rehearsal shares (``plan``: None on a copy of a real
    site rehearsed without one: the suites then check ``sample``)."""

    plan: Path | None
    seed: int
    workers: int
    expected: Path | None
    allure_dir: Path
    allow_writes: bool = False
    #: The course formats site A was seeded with (passed on to both sites' suites, so
    #: that on B, whose formats may differ, the plan means the courses it made on A).
    formats: tuple[str, ...] | None = None
    #: Without a plan: the site's own courses and people the suites check, sampled on A
    #: (see ``seeding.sample``), the same file for B.
    sample: Path | None = None


def run_suite(
    suite: str,
    site_ref: str,
    out: Path,
    *,
    label: str,
    options: SuiteOptions,
    baseline: Path | None,
) -> SuiteRun:
    """Run one suite in a pytest subprocess, recording its observations under ``out``."""
    # The suite runs in ``out``: paths given relative to this process's folder
    # (``--plan plans/x.yaml``, ``--out run``) would name nothing there.
    out = out.absolute()
    baseline = baseline.absolute() if baseline is not None else None
    options = replace(
        options,
        plan=options.plan.absolute() if options.plan is not None else None,
        allure_dir=options.allure_dir.absolute(),
        expected=options.expected.absolute() if options.expected is not None else None,
    )
    out.mkdir(parents=True, exist_ok=True)
    junit = out / f"{suite}-junit.xml"
    log = out / f"{suite}-pytest.log"
    record, recording = _recording_args(suite, out, baseline)
    args = [*_common_args(suite, site_ref, junit, options), *recording]
    env = dict(os.environ)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    with CLOCK.busy("suites"), log.open("w") as handle:
        completed = subprocess.run(
            args, cwd=out, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False
        )
    result = SuiteRun(suite=suite, label=label, exit_code=completed.returncode, log=log)
    if junit.is_file():
        count_junit(junit, result)
        result.checks = check_outcomes(junit, suite)
    result.snapshot = record if record.is_file() else None
    return result


def _common_args(suite: str, site_ref: str, junit: Path, options: SuiteOptions) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "pytest",
        str(suite_dir(suite)),
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfE",
        f"--moodle-site={site_ref}",
        f"--moodle-seed={options.seed}",
        f"--junitxml={junit}",
        f"--alluredir={options.allure_dir}",
    ]
    if options.plan is not None:
        args.append(f"--moodle-plan={options.plan}")
    if options.sample is not None:
        args.append(f"--moodle-sample={options.sample.absolute()}")
    if options.workers > 1:
        args += ["-n", str(options.workers)]
    if options.allow_writes:
        args.append("--allow-writes")
    if options.expected is not None:
        args.append(f"--moodle-expected={options.expected}")
    if options.formats:
        args.append(f"--moodle-formats={','.join(options.formats)}")
    return args


def _recording_args(suite: str, out: Path, baseline: Path | None) -> tuple[Path, list[str]]:
    """Where the suite records its snapshot, and the options that say so (and the baseline)."""
    if suite == "browser":
        folder = out / "browser"
        args = [f"--moodle-browser-out={folder}"]
        if baseline is not None:
            args.append(f"--moodle-browser-baseline={baseline.parent}")
        return folder / "snapshot.json", args
    record = out / f"{suite}-suite.json"
    args = [f"--moodle-record={record}"]
    if baseline is not None:
        args.append(f"--moodle-baseline={baseline}")
    return record, args


def count_junit(path: Path, result: SuiteRun) -> None:
    """Add the counts of a JUnit XML report to ``result``."""
    root = ET.parse(path).getroot()  # noqa: S314 - our own pytest's output
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for node in suites:
        failed, errors, skipped = (int(node.get(k, 0)) for k in ("failures", "errors", "skipped"))
        result.failed += failed
        result.errors += errors
        result.skipped += skipped
        result.passed += int(node.get("tests", 0)) - failed - errors - skipped


def _testcases(path: Path) -> list[ET.Element]:
    return list(ET.parse(path).getroot().iter("testcase"))  # noqa: S314 - our pytest's output


def check_name(testcase: ET.Element) -> str:
    """``module::test[param]`` (or ``module.Class::test``) of a JUnit test case: the
    test's node id without the folder the suite was installed in."""
    parts = testcase.get("classname", "").split(".")
    first = next((i for i, p in enumerate(parts) if p.startswith("test_")), len(parts) - 1)
    return f"{'.'.join(parts[first:])}::{testcase.get('name', '')}"


def check_outcome(testcase: ET.Element) -> str:
    """``passed``, ``skipped: <reason>``, ``failed: <message>`` or ``error: <message>``."""
    for tag, outcome in (("error", "error"), ("failure", "failed"), ("skipped", "skipped")):
        node = testcase.find(tag)
        if node is None:
            continue
        message = (node.get("message") or node.text or "").strip().splitlines()
        first = message[0].strip() if message else ""
        if outcome == "failed" and BASELINE_FAILURE in first:
            return "passed"  # its differences are observations of their own
        if outcome == "skipped":
            first = first.removeprefix("Skipped: ")
        return f"{outcome}: {first}" if first else outcome
    return "passed"


def check_outcomes(path: Path, suite: str) -> list[Observation]:
    """The outcome of each check of a JUnit XML report, as observations."""
    source: Source = "browser" if suite == "browser" else "api"
    found: dict[str, Observation] = {}
    for testcase in _testcases(path):
        key = make_key(CHECKS_AREA, suite, check_name(testcase))
        outcome = check_outcome(testcase)
        # A test that failed in teardown after passing has two entries: the worse wins.
        if key not in found or found[key].value == "passed":
            found[key] = Observation(key, outcome, source=source)
    return [found[k] for k in sorted(found)]
