"""Running ``moodle-regress rehearse`` from live tests, and what its outputs say.

Shared by the rehearsal, browser-suite and import live tests; the rehearsal they share
(4.5 -> 5.0 with both suites) is the session fixture ``rehearsal_45_50`` in conftest.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.resources import packaged_plan
from moodle_regress.sandbox.live import moodle_code_tree, skip_reason

SMALL_PLAN = packaged_plan("small")


def tree(release: str) -> Path:
    found = moodle_code_tree(release)
    if found is None:
        pytest.skip(skip_reason(release))
    return found


def rehearse(*args: str, out: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    command = [
        sys.executable,
        "-m",
        "moodle_regress.cli",
        "rehearse",
        "--out",
        str(out),
        "--plan",
        str(SMALL_PLAN),
        "--cleanup",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)
    summary_file = out / "rehearsal.json"
    assert summary_file.is_file(), done.stdout + done.stderr
    return done, json.loads(summary_file.read_text())


def differences(out: Path) -> dict[str, dict[str, Any]]:
    report = json.loads((out / "report.json").read_text())
    found: dict[str, dict[str, Any]] = {}
    for entities in report["areas"].values():
        for diffs in entities.values():
            for diff in diffs:
                found[diff["key"]] = diff
    return found


def assert_complete(summary: dict[str, Any], done: subprocess.CompletedProcess[str]) -> None:
    statuses = {s["name"]: s["status"] for s in summary["stages"]}
    # A stage that is not done says why in its detail (the checks that failed, the error).
    unfinished = {s["name"]: (s["status"], s.get("detail")) for s in summary["stages"]}
    unfinished = {name: seen for name, seen in unfinished.items() if seen[0] != "done"}
    assert set(statuses.values()) == {"done"}, (unfinished, done.stderr[-3000:])
    assert summary["restored_equal"] is True
    assert summary["error"] is None
    # The run prints its stages with their times, and where the report is.
    assert "total" in done.stderr
    assert "report:" in done.stderr
    # ... and where the time went: the upgrade is mostly Moodle's upgrader.
    assert "the tool's own time:" in done.stderr
    upgrade = next(s for s in summary["stages"] if s["name"] == "upgrade")
    assert upgrade["shares"]["moodle"] > upgrade["seconds"] / 2, upgrade
    assert 0 <= upgrade["own_seconds"] < upgrade["seconds"]
    assert Path(summary["backup"]).is_file()


@dataclass
class Rehearsal:
    done: subprocess.CompletedProcess[str]
    summary: dict[str, Any]
    out: Path
