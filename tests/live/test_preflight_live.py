"""Preflight against real Moodle code trees and a real site: a downgrade refused in
seconds (and a rehearsal stopped before it makes a sandbox), and what 4.5 -> 5.0 takes
away from a site with chat and survey activities and the 4.5 tree's theme_moove.

The upgrade itself (a failing plugin named, --without-plugin, the plugins area after
it) is in test_sandbox.py and test_rehearsal_live.py, on their sandboxes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from moodle_regress.preflight import preflight_site
from moodle_regress.sandbox.live import moodle_code_tree, skip_reason
from moodle_regress.site import SiteDescriptor
from tests.live.upgrade_fixtures import add_removed_activities

pytestmark = [pytest.mark.live]

#: Not prefixed "mr-": the shared site's snapshots leave it out.
COURSE = "preflight-removed"


def tree(release: str) -> Path:
    found = moodle_code_tree(release)
    if found is None:
        pytest.skip(skip_reason(release))
    return found


def tool(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MOODLE_REGRESS_HOME": str(home), "COLUMNS": "200"}
    command = [sys.executable, "-m", "moodle_regress.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


def test_preflight_says_downgrade_in_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    done = tool(
        "preflight",
        "--code",
        str(tree("5.0")),
        "--to",
        str(tree("4.5")),
        "--json",
        str(tmp_path / "p.json"),
        home=tmp_path,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert "error: preflight: downgrade" in done.stderr
    result = json.loads((tmp_path / "p.json").read_text())
    assert [c["title"] for c in result["checks"] if c["verdict"] == "blocker"] == ["downgrade"]
    print(f"preflight 5.0 -> 4.5: {seconds:.1f} s")  # seen in -s runs; no timed assertion


def test_a_rehearsal_of_a_downgrade_stops_before_making_a_sandbox() -> None:
    # Its own home: no sandbox may appear in it.
    home = Path(tempfile.mkdtemp(prefix="moodle-regress-preflight-"))
    out = home / "out"
    done = tool(
        "rehearse",
        "--from",
        str(tree("5.0")),
        "--to",
        str(tree("4.5")),
        "--out",
        str(out),
        "--suites",
        "none",
        "--name",
        "rh-test-down",
        home=home,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    summary = json.loads((out / "rehearsal.json").read_text())
    statuses = {s["name"]: s["status"] for s in summary["stages"]}
    assert statuses["preflight"] == "failed"
    assert statuses["up"] == "skipped" and statuses["restore"] == "skipped"
    assert "downgrade" in summary["error"]
    assert summary["preflight"]["verdict"] == "blocker"
    assert not (home / "sandboxes" / "rh-test-down").exists()
    assert json.loads((out / "preflight.json").read_text())["verdict"] == "blocker"


def test_preflight_lists_what_50_removes_with_the_activities_that_go(
    site_45: SiteDescriptor, tmp_path: Path
) -> None:
    assert site_45.sandbox is not None
    add_removed_activities(site_45.sandbox.code_dir, course=COURSE, chats=2, surveys=1)
    report = preflight_site(site_45, tree("5.0"))
    fates = {p.component: p for p in report.plugins}
    assert fates["mod_chat"].fate == "uninstalled"
    # The shared site also holds other tests' content (their chats and surveys count too).
    chats = fates["mod_chat"].usage["activities"]
    assert chats[COURSE] == 2
    assert fates["mod_survey"].fate == "uninstalled"
    assert fates["mod_survey"].usage["activities"][COURSE] == 1
    assert fates["editor_atto"].fate == "uninstalled"
    assert fates["atto_bold"].group == "atto"
    if (tree("4.5") / "theme" / "moove").is_dir():
        assert fates["theme_moove"].fate == "missing"
    assert not report.blockers
    # Moodle's own environment check ran against the 5.0 environment.xml.
    assert any(c.title == "Moodle's environment check" for c in report.checks)
    chat = next(c for c in report.checks if c.component == "mod_chat")
    in_courses = f"{sum(chats.values())} activities in {len(chats)} course"
    assert in_courses in chat.cause and "its data goes" in chat.cause
    # The command shows the same, as a table.
    home = Path(os.environ.get("MOODLE_REGRESS_HOME", tmp_path))
    done = tool(
        "preflight",
        "--site",
        str(site_45.sandbox.root / "site.json"),
        "--to",
        str(tree("5.0")),
        home=home,
    )
    assert done.returncode == 0, done.stderr
    for name in ("mod_chat", "mod_survey", "atto_* (32 plugins)"):
        assert name in done.stderr
