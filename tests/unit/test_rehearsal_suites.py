"""How the rehearsal starts a suite: a child pytest in the suite's output folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.rehearsal.suites import SuiteOptions, run_suite


def test_relative_paths_reach_the_suite_as_absolute_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `rehearse --plan plans/mine.yaml --out run`: the suite runs in run/A, where a
    # relative plan named nothing (every seeded-site test errored "no such file").
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "mine.yaml").write_text("tag: mine\n")
    seen: dict[str, Any] = {}

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen["args"], seen["cwd"] = args, kwargs["cwd"]
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    run_suite(
        "api",
        "site.json",
        Path("run") / "A",
        label="A",
        options=SuiteOptions(
            plan=Path("plans/mine.yaml"),
            seed=0,
            workers=1,
            expected=Path("expected.yaml"),
            allure_dir=Path("run/allure-results"),
        ),
        baseline=Path("run/A-baseline.json"),
    )
    options = dict(a.split("=", 1) for a in seen["args"] if a.startswith("--") and "=" in a)
    assert Path(seen["cwd"]) == tmp_path / "run" / "A"
    assert Path(options["--moodle-plan"]) == tmp_path / "plans" / "mine.yaml"
    assert Path(options["--moodle-plan"]).is_file()
    for option in ("--junitxml", "--alluredir", "--moodle-record", "--moodle-baseline"):
        assert Path(options[option]).is_absolute(), option
    assert Path(options["--moodle-expected"]) == tmp_path / "expected.yaml"


def test_both_sites_suites_get_the_formats_site_a_was_seeded_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 5.0 -> 5.1 (our 5.1 tree adds remuiformat): B's suites regenerated the plan for
    # B's formats, expected a course A never had and other students in every course,
    # and failed their enrolment checks on an unchanged site.
    seen: list[list[str]] = []

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    options = SuiteOptions(
        plan=tmp_path / "plan.yaml",
        seed=0,
        workers=1,
        expected=None,
        allure_dir=tmp_path / "allure",
        formats=("topics", "weeks", "singleactivity", "social"),
    )
    for label in ("A", "B"):
        run_suite("api", "site.json", tmp_path / label, label=label, options=options, baseline=None)
    assert all("--moodle-formats=topics,weeks,singleactivity,social" in a for a in seen)
    assert len(seen) == 2


def test_the_suites_read_the_formats_option(tmp_path: Path) -> None:
    # The plugin is installed (an entry point): a child pytest has its options.
    (tmp_path / "test_formats.py").write_text(
        "import os\n"
        "from moodle_regress.pytest_plugin import seeded_formats\n\n"
        "def test_formats(request):\n"
        "    expected = os.environ['EXPECTED'] or None\n"
        "    assert seeded_formats(request.config) == (expected and expected.split(','))\n"
    )

    def run(*options: str, expected: str) -> int:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
            cwd=tmp_path,
            env={**os.environ, "EXPECTED": expected},
            capture_output=True,
            check=False,
        ).returncode

    assert run("--moodle-formats=topics, weeks", expected="topics,weeks") == 0
    assert run(expected="") == 0
    assert run("--moodle-formats=topics", expected="weeks") == 1  # the test can fail


def test_both_sites_suites_check_the_sample_site_a_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of a real site rehearsed without a plan: the suites must check its own
    # courses and people (as sampled on A), not the default plan's, on both sites.
    seen: list[list[str]] = []

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    options = SuiteOptions(
        plan=None,
        seed=0,
        workers=1,
        expected=None,
        allure_dir=tmp_path / "allure",
        sample=Path("site-sample.json"),
    )
    for label in ("A", "B"):
        run_suite("api", "site.json", tmp_path / label, label=label, options=options, baseline=None)
    assert all(f"--moodle-sample={tmp_path / 'site-sample.json'}" in a for a in seen)
    assert not any(a.startswith("--moodle-plan") for args in seen for a in args)
