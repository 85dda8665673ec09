"""Running a regression suite (API or browser) against one site, in a pytest subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

from moodle_regress.resources import suite_dir

SUITES = ("api", "browser")


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

    @property
    def summary(self) -> str:
        return (
            f"{self.suite} {self.label}: {self.passed} passed, {self.failed} failed, "
            f"{self.skipped} skipped, {self.errors} errors"
        )


@dataclass(frozen=True)
class SuiteOptions:
    """What every suite run of a rehearsal shares."""

    plan: Path
    seed: int
    workers: int
    expected: Path | None
    allure_dir: Path
    allow_writes: bool = False


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
        plan=options.plan.absolute(),
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
    with log.open("w") as handle:
        completed = subprocess.run(
            args, cwd=out, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False
        )
    result = SuiteRun(suite=suite, label=label, exit_code=completed.returncode, log=log)
    if junit.is_file():
        count_junit(junit, result)
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
        f"--moodle-plan={options.plan}",
        f"--moodle-seed={options.seed}",
        f"--junitxml={junit}",
        f"--alluredir={options.allure_dir}",
    ]
    if options.workers > 1:
        args += ["-n", str(options.workers)]
    if options.allow_writes:
        args.append("--allow-writes")
    if options.expected is not None:
        args.append(f"--moodle-expected={options.expected}")
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
