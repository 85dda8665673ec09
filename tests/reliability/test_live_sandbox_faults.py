"""Faults of real sandboxes: a killed database, a full disk, work interrupted.

The killed database and the full disk use the shared ``live-4.5`` sandbox and leave
it running.  Interruptions (Ctrl-C during an install, a restore and an upgrade) run
in a state folder of the test's own, on sites made for them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from moodle_regress.sandbox.live import moodle_code_tree
from moodle_regress.site import SiteDescriptor
from tests.reliability.conftest import RunCli, assert_no_secret

pytestmark = pytest.mark.live


def _tree(release: str) -> Path:
    tree = moodle_code_tree(release)
    if tree is None:
        pytest.skip(f"no Moodle {release} code tree configured (see README, Live tests)")
    return tree


# --- a killed database -----------------------------------------------------------------


def test_a_sandbox_whose_database_was_killed(
    site_45: SiteDescriptor, run_cli: RunCli, tmp_path: Path
) -> None:
    assert site_45.sandbox is not None
    pid_file = site_45.sandbox.root / "pgdata" / "postmaster.pid"
    if not pid_file.is_file():
        pytest.skip("live-4.5 does not run a private PostgreSQL")
    postmaster = int(pid_file.read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    try:
        _wait_for(lambda: not _alive(postmaster))
        run = run_cli("snapshot", "--site", site_45.name, "--out", str(tmp_path / "s.json"))
        run.assert_error("Database connection failed", "[dbconnectionfailed]", "sandbox start")
        assert "<p>" not in run.err
        assert not (tmp_path / "s.json").exists()
        status = run_cli("sandbox", "status", site_45.name)
        assert "database down" in status.out
    finally:
        started = run_cli("sandbox", "start", site_45.name)
    assert started.code == 0, started.err
    again = run_cli("snapshot", "--site", site_45.name, "--out", str(tmp_path / "s.json"))
    assert again.code == 0, again.err


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("waited in vain")
        time.sleep(0.2)


# --- a full disk ----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_backup_onto_a_full_disk_leaves_nothing(
    site_45: SiteDescriptor, run_cli: RunCli, small_disk: Path
) -> None:
    assert site_45.sandbox is not None
    run = run_cli("sandbox", "backup", site_45.name, str(small_disk / "b.tar.zst"))
    run.assert_error("No space left on device", "check free disk space")
    assert list(small_disk.iterdir()) == []
    assert not list(site_45.sandbox.root.glob(".backup-*"))


# --- interrupted work -----------------------------------------------------------------


class Tool:
    """``moodle-regress`` run as a user runs it, in a state folder of its own."""

    def __init__(self, home: Path) -> None:
        self.env = {**os.environ, "MOODLE_REGRESS_HOME": str(home), "COLUMNS": "300"}
        self.home = home

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "moodle_regress.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )

    def interrupt_when(self, ready: Callable[[], bool], *args: str) -> str:
        """Start the command, press Ctrl-C once ``ready()`` holds; its output."""
        process = subprocess.Popen(
            [sys.executable, "-c", _WITH_CTRL_C, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            _wait_for(lambda: ready() or process.poll() is not None, seconds=900)
            if process.poll() is not None:
                output, _ = process.communicate()
                raise AssertionError(f"finished before it could be interrupted: {args}\n{output}")
            os.killpg(process.pid, signal.SIGINT)
            output, _ = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        # 130: the tool stopped on Ctrl-C; 2: Moodle's own script (same terminal, same
        # Ctrl-C) died first and the tool reported that failure.
        assert process.returncode in (130, 2), output
        return output

    def state(self, name: str) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(
            (self.home / "sandboxes" / name / "sandbox.json").read_text()
        )
        return loaded

    def listed(self, name: str) -> str:
        listing = self.run("sandbox", "list")
        return " ".join(line for line in listing.stderr.splitlines() if f" {name} " in line)


#: The tool, with Ctrl-C working as at a terminal even when the tests were started in
#: the background (`cmd &` leaves SIGINT ignored, and an ignored signal stays ignored
#: across exec); its PHP runs then get SIGINT's default too.
_WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('moodle_regress.cli', run_name='__main__')"
)


@pytest.fixture
def tool(tmp_path: Path) -> Iterator[Tool]:
    made = Tool(tmp_path / "home")
    yield made
    for folder in (made.home / "sandboxes").glob("*"):
        made.run("sandbox", "destroy", folder.name, "--yes")


def _grows(path: Path) -> Callable[[], bool]:
    return lambda: path.is_file() and path.stat().st_size > 0


def _state_says(tool: Tool, name: str, unfinished: str) -> Callable[[], bool]:
    """Whether the sandbox's state says ``unfinished`` (saved as the work starts)."""

    def check() -> bool:
        try:
            return str(tool.state(name).get("unfinished") or "").startswith(unfinished)
        except (OSError, ValueError):
            return False

    return check


def _for_a_while(condition: Callable[[], bool], seconds: float) -> Callable[[], bool]:
    """True once ``condition`` has held for ``seconds`` (Moodle's script is then busy)."""
    since: list[float] = []

    def check() -> bool:
        if not since and condition():
            since.append(time.monotonic())
        return bool(since) and time.monotonic() - since[0] >= seconds

    return check


def test_an_interrupted_install_is_not_shown_as_healthy(tool: Tool) -> None:
    tree = _tree("4.5")
    logs = tool.home / "sandboxes" / "cut" / "logs"
    # Moodle's installer itself, not an install kept from an earlier sandbox (seconds).
    tool.env["MOODLE_REGRESS_REUSE_INSTALLS"] = "0"
    output = tool.interrupt_when(
        _grows(logs / "install.log"), "sandbox", "up", "cut", "--code", str(tree)
    )
    assert "Traceback" not in output
    assert tool.state("cut")["unfinished"] == "installing"
    assert "unusable: interrupted while installing" in tool.listed("cut")
    start = tool.run("sandbox", "start", "cut")
    assert start.returncode == 2
    assert "sandbox cut is unusable" in start.stderr
    # Nothing of it runs: the tool stopped its database and web server.
    status = tool.run("sandbox", "status", "cut", "--json")
    facts = json.loads(status.stdout)
    assert (facts["server_running"], facts["db_running"]) == (False, False)
    assert_no_secret(output, start.stderr)


def test_interrupted_restore_and_upgrade_are_not_shown_as_healthy(
    tool: Tool, site_45: SiteDescriptor, run_cli: RunCli, tmp_path: Path
) -> None:
    tree_50 = _tree("5.0")
    backup = tmp_path / "live.tar.zst"
    made = run_cli("sandbox", "backup", site_45.name, str(backup))
    assert made.code == 0, made.err
    box = tool.home / "sandboxes" / "rb"

    # Ctrl-C during the restore: the half-restored sandbox says so.
    tool.interrupt_when(
        _state_says(tool, "rb", "restoring"), "sandbox", "restore", "rb", str(backup)
    )
    assert "unusable: interrupted while restoring" in tool.listed("rb")
    # Restored again, it is whole.
    again = tool.run("sandbox", "restore", "rb", str(backup))
    assert again.returncode == 0, again.stderr
    assert tool.state("rb")["unfinished"] is None
    # Both servers, not "database down (web server running)", which says "running" too.
    facts = json.loads(tool.run("sandbox", "status", "rb", "--json").stdout)
    assert (facts["server_running"], facts["db_running"]) == (True, True), facts

    # Ctrl-C during Moodle's upgrade: the half-upgraded sandbox says so and refuses
    # to start; restoring the backup the upgrade took makes it whole again.
    tool.interrupt_when(
        _for_a_while(_state_says(tool, "rb", "upgrading to 5.0"), 8),
        "sandbox", "upgrade", "rb", "--code", str(tree_50),
    )  # fmt: skip
    assert str(tool.state("rb")["unfinished"]).startswith("upgrading to 5.0")
    assert "unusable: interrupted while upgrading to 5.0" in tool.listed("rb")
    assert tool.run("sandbox", "start", "rb").returncode == 2
    before = sorted((box / "backups").glob("before-5.0*.tar.zst"))
    assert before, "the upgrade took no backup before changing anything"
    restored = tool.run("sandbox", "restore", "rb", str(before[-1]))
    assert restored.returncode == 0, restored.stderr
    assert tool.state("rb")["unfinished"] is None
