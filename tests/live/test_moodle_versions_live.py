"""Moodle by version against a local bare repository of real code trees (file://),
and the tool as a user installs it (a wheel in a fresh virtual environment).

1. The installed tool rehearses ``--from v4.5.6 --to MOODLE_500_STABLE`` with the API
   suites: the wheel's plans, suites and expected files work against real sandboxes,
   and the trees come from the repository.  The only rehearsal of this file.
2. The checkout's tool is asked for the same commits under other names
   (``preflight --code MOODLE_405_STABLE --to v5.0.6``): it reuses the exported trees,
   exporting nothing.  Resolving a version is the same for every command; a preflight
   needs the trees alone, so this takes seconds, not a second rehearsal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.config import MOODLE_GIT_ENV, load_settings
from moodle_regress.sandbox.gitsource import MoodleGitSource
from moodle_regress.sandbox.live import moodle_code_tree, skip_reason
from tests.live.moodle_repo import moodle_repository
from tests.wheel_install import InstallUnavailableError, installed_tool

pytestmark = [pytest.mark.live, pytest.mark.slow]


@pytest.fixture(scope="module")
def repository_url() -> str:
    trees = []
    for release in ("4.5", "5.0"):
        tree = moodle_code_tree(release)
        if tree is None:
            pytest.skip(skip_reason(release))
        trees.append(tree)
    return moodle_repository(load_settings().home, trees).as_uri()


def rehearse(
    program: list[str], out: Path, url: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run(
        [*program, "rehearse", "--out", str(out), "--plan", "small", "--cleanup", *args],
        cwd=out.parent,
        env={**os.environ, MOODLE_GIT_ENV: url},
        capture_output=True,
        text=True,
        check=False,
    )
    summary = out / "rehearsal.json"
    assert summary.is_file(), done.stdout + done.stderr[-5000:]
    return done, json.loads(summary.read_text())


def assert_complete(summary: dict[str, Any], done: subprocess.CompletedProcess[str]) -> None:
    statuses = {s["name"]: s["status"] for s in summary["stages"]}
    assert set(statuses.values()) == {"done"}, (statuses, done.stderr[-3000:])
    assert summary["restored_equal"] is True
    assert summary["release_before"].startswith("4.5.6")
    assert summary["release_after"].startswith("5.0.6")
    assert done.returncode in (0, 1)  # 1: the real 4.5 -> 5.0 differences


@pytest.mark.takes(minutes=5)  # a rehearsal by the installed wheel (185 s in CI)
def test_the_installed_tool_rehearses_versions_from_the_repository(
    repository_url: str, tmp_path: Path
) -> None:
    try:
        tool = installed_tool()
    except InstallUnavailableError as exc:
        pytest.skip(f"cannot install the wheels here: {exc}")
    done, summary = rehearse(
        [str(tool.bin("moodle-regress"))],
        tmp_path / "installed",
        repository_url,
        "--from", "v4.5.6", "--to", "MOODLE_500_STABLE", "--suites", "api",
        "--expected", "4.5-to-5.0", "--name", "rh-test-installed",
    )  # fmt: skip
    assert_complete(summary, done)
    assert "Moodle v4.5.6 (" in done.stderr and "Moodle MOODLE_500_STABLE (" in done.stderr
    suites = {(s["suite"], s["site"]): s for s in summary["suites"]}
    assert suites[("api", "A")]["passed"] > 0 and suites[("api", "A")]["failed"] == 0
    assert suites[("api", "B")]["passed"] > 0


def test_other_names_of_the_same_commits_reuse_the_exported_trees(
    repository_url: str, tmp_path: Path
) -> None:
    source = MoodleGitSource(load_settings().home, repository_url)
    trees = [source.tree("MOODLE_405_STABLE"), source.tree("v5.0.6")]  # there already, or now
    inodes = {t.path: (t.path / "version.php").stat().st_ino for t in trees}
    report = tmp_path / "preflight.json"
    done = subprocess.run(
        [sys.executable, "-m", "moodle_regress.cli", "preflight",
         "--code", "MOODLE_405_STABLE", "--to", "v5.0.6", "--json", str(report)],
        env={**os.environ, MOODLE_GIT_ENV: repository_url},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]  # 4.5.6 -> 5.0.6+: warnings only
    assert done.stderr.count(": reused, ") == 2, done.stderr[:3000]
    assert "exported in" not in done.stderr
    assert {t.path: (t.path / "version.php").stat().st_ino for t in trees} == inodes
    found = json.loads(report.read_text())
    assert found["source"]["release"].startswith("4.5.6")
    assert found["target"]["release"].startswith("5.0.6")
