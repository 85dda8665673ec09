"""Work stopped short: nothing half-made may look healthy.

Offline: sandboxes whose state says an install, upgrade or restore stopped short
(what the sandbox manager leaves when it is interrupted), and a damaged state file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodle_regress.config import load_settings
from moodle_regress.sandbox.db import DatabaseConfig
from moodle_regress.sandbox.manager import SandboxManager, SandboxState
from tests.reliability.conftest import PASSWORD, TOKEN, RunCli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MOODLE_REGRESS_HOME", str(tmp_path / "home"))
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(config))
    return tmp_path / "home"


def _sandbox(name: str, unfinished: str | None) -> None:
    box = SandboxManager(load_settings(), quiet=True).sandbox(name)
    box.root.mkdir(parents=True)
    box.save_state(
        SandboxState(
            name=name,
            code_source=Path("/nonexistent/moodle"),
            release="4.2.6 (Build: 20240212)",
            version="2023042406.00",
            branch="402",
            layout="classic",
            http_port=9,
            db=DatabaseConfig(port=9, password=TOKEN),
            private_db=False,
            admin_password=PASSWORD,
            created="2026-01-01T00:00:00+00:00",
            unfinished=unfinished,
        )
    )


@pytest.mark.parametrize(
    "unfinished", ["installing", "upgrading to 4.5", "restoring before-4.5.tar.zst"]
)
def test_list_shows_a_half_made_sandbox_as_unusable(
    home: Path, run_cli: RunCli, unfinished: str
) -> None:
    _sandbox("half", unfinished)
    _sandbox("whole", None)
    run = run_cli("sandbox", "list")
    assert run.code == 0, run.err
    text = run.out + run.err
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("│ ")}
    assert f"unusable: interrupted while {unfinished}"[:30] in " ".join(text.split())
    assert "stopped" in rows["whole"]
    assert "stopped" not in rows["half"] and "running" not in rows["half"]


def test_status_says_a_half_made_sandbox_is_unusable(home: Path, run_cli: RunCli) -> None:
    _sandbox("half", "installing")
    run = run_cli("sandbox", "status", "half", "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["unusable"] == "interrupted while installing"


@pytest.mark.parametrize("command", ["start", "upgrade", "backup"])
def test_a_half_made_sandbox_is_not_started_upgraded_or_backed_up(
    home: Path, run_cli: RunCli, tmp_path: Path, command: str
) -> None:
    _sandbox("half", "installing")
    extra = {"start": [], "upgrade": ["--code", str(tmp_path)], "backup": [str(tmp_path / "b")]}
    run = run_cli("sandbox", command, "half", *extra[command])
    run.assert_error("sandbox half is unusable", "sandbox destroy half")
    assert not (tmp_path / "b").exists()


def test_a_damaged_state_file_does_not_break_the_list(home: Path, run_cli: RunCli) -> None:
    _sandbox("whole", None)
    damaged = home / "sandboxes" / "broken"
    damaged.mkdir(parents=True)
    (damaged / "sandbox.json").write_text('{"name": "broken", "admin_password": "' + PASSWORD)
    run = run_cli("sandbox", "list")
    assert run.code == 0, run.err
    text = run.out + run.err
    assert "sandbox.json is damaged" in " ".join(text.split())
    assert "whole" in text
