from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from moodle_regress.config import Settings
from moodle_regress.sandbox import live, processes, server
from moodle_regress.sandbox.db import DatabaseConfig, config_from_url, ensure_traversable
from moodle_regress.sandbox.errors import (
    DatabaseError,
    InvalidNameError,
    PortInUseError,
    RestoreError,
    SandboxNotFoundError,
    UpgradeFailedError,
)
from moodle_regress.sandbox.manager import SandboxManager, read_manifest, validate_name
from moodle_regress.sandbox.moodle import php_string, render_config_php
from moodle_regress.sandbox.progress import Steps


def test_config_php_carries_the_sandbox_settings(tmp_path: Path) -> None:
    db = DatabaseConfig(port=54321, password="pa'ss\\word", name="moodle")
    text = render_config_php(
        name="demo", db=db, wwwroot="http://127.0.0.1:8080", dataroot=tmp_path, layout="public"
    )
    assert text.startswith("<?php\n")
    assert "$CFG->dbpass = 'pa\\'ss\\\\word';" in text
    assert "'dbport' => 54321" in text
    assert "$CFG->wwwroot = 'http://127.0.0.1:8080';" in text
    assert f"$CFG->dataroot = '{tmp_path}';" in text
    assert "$CFG->noemailever = true;" in text
    assert "$CFG->debugdisplay = 0;" in text
    assert text.rstrip().endswith("require_once(__DIR__ . '/lib/setup.php');")


def test_config_php_is_valid_php(tmp_path: Path) -> None:
    php = subprocess.run(["which", "php"], capture_output=True, text=True, check=False)
    if php.returncode != 0:
        pytest.skip("php is not installed")
    db = DatabaseConfig(port=5432, password="x'y\\z")
    path = tmp_path / "config.php"
    path.write_text(
        render_config_php(name="d", db=db, wwwroot="http://h", dataroot=tmp_path, layout="classic")
    )
    result = subprocess.run(["php", "-l", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_php_string_escapes_quotes_and_backslashes() -> None:
    assert php_string("a'b\\c") == "'a\\'b\\\\c'"


def test_database_url_is_parsed() -> None:
    db = config_from_url("postgresql://mu:p%40ss@db.example:6543/moodle45")
    assert (db.engine, db.host, db.port, db.user, db.password, db.name) == (
        "postgres", "db.example", 6543, "mu", "p@ss", "moodle45",
    )  # fmt: skip
    assert config_from_url("postgres://h/db").port == 5432


def test_unknown_database_url_names_the_known_schemes_and_hides_the_password() -> None:
    with pytest.raises(DatabaseError, match="not a database URL") as info:
        config_from_url("oracle://u:secret@h/db")
    assert "postgresql://" in str(info.value)
    assert "secret" not in str(info.value)
    with pytest.raises(DatabaseError, match="DBNAME"):
        config_from_url("postgresql://u:p@h:5432")


def test_busy_port_is_detected_and_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not server.port_is_free(port)
        with pytest.raises(PortInUseError, match=f"port {port}") as info:
            server.require_free(port, "web server")
        assert info.value.fix and "--port" in info.value.fix
    assert server.port_is_free(port)


def test_free_port_avoids_given_ports() -> None:
    port = server.free_port()
    assert server.port_is_free(port)
    assert server.free_port(avoid={port}) != port


@pytest.mark.parametrize("name", ["", "../x", "a/b", "-lead", "x" * 65, "sp ace"])
def test_bad_sandbox_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_name(name)


def test_good_sandbox_names_pass() -> None:
    assert validate_name("live-4.5") == "live-4.5"


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", config_file=tmp_path / "none.toml")


def test_unknown_sandbox_is_a_clear_error(tmp_path: Path) -> None:
    manager = SandboxManager(_settings(tmp_path), quiet=True)
    with pytest.raises(SandboxNotFoundError, match="no sandbox named 'ghost'"):
        manager.get("ghost")
    assert manager.list() == []


def test_manifest_of_something_that_is_not_a_backup(tmp_path: Path) -> None:
    with pytest.raises(RestoreError, match="no backup archive"):
        read_manifest(tmp_path / "missing.tar.zst")
    junk = tmp_path / "junk.tar.zst"
    junk.write_bytes(b"not a tar")
    with pytest.raises(RestoreError, match="not a moodle-regress sandbox backup"):
        read_manifest(junk)


def test_upgrade_failure_names_the_backup(tmp_path: Path) -> None:
    error = UpgradeFailedError("Moodle's upgrade failed: boom", tmp_path / "b.tar.zst")
    assert "boom" in str(error)
    assert str(tmp_path / "b.tar.zst") in str(error)


def test_ensure_traversable_adds_only_the_search_bit(tmp_path: Path) -> None:
    locked = tmp_path / "home"
    inner = locked / "sandboxes"
    inner.mkdir(parents=True)
    locked.chmod(0o700)
    inner.chmod(0o755)
    changed = ensure_traversable(inner, uid=os.getuid() + 4242, gid=os.getgid() + 4242)
    assert locked in changed and inner not in changed
    assert stat.S_IMODE(locked.stat().st_mode) == 0o701


def test_steps_time_each_step_even_when_it_fails() -> None:
    steps = Steps(quiet=True)
    with steps.step("one", key="k"):
        pass
    with pytest.raises(RuntimeError), steps.step("two"):
        raise RuntimeError("x")
    assert set(steps.timings) == {"k", "two"}


def test_a_recording_holds_only_the_steps_run_inside_it() -> None:
    # An upgrade's timings once included those of the `up` run before it.
    steps = Steps(quiet=True)
    with steps.step("install", key="moodle_install"):
        pass
    with steps.recording() as upgrade, steps.step("upgrade", key="moodle_upgrade"):
        pass
    with steps.step("later"):
        pass
    assert set(upgrade) == {"moodle_upgrade"}
    assert set(steps.timings) == {"moodle_install", "moodle_upgrade", "later"}


def test_live_site_without_a_code_tree_says_how_to_configure(tmp_path: Path) -> None:
    with pytest.raises(LookupError) as info:
        live.ensure_live_site("4.5", _settings(tmp_path))
    message = str(info.value)
    assert "MOODLE_REGRESS_CODE_4_5" in message and "\n" not in message


def test_cli_turns_sandbox_errors_into_one_line(tmp_path: Path) -> None:
    from moodle_regress.cli.sandbox import sandbox

    runner = CliRunner()
    result = runner.invoke(
        sandbox,
        ["up", "demo", "--code", str(tmp_path)],
        env={"MOODLE_REGRESS_HOME": str(tmp_path / "home")},
    )
    assert result.exit_code == 2
    assert "is not a Moodle code tree" in result.output
    assert "Traceback" not in result.output


def test_upgrade_refuses_before_touching_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moodle_regress.sandbox import moodle
    from moodle_regress.sandbox.errors import DowngradeError, UpgradePathError
    from moodle_regress.sandbox.manager import Sandbox, SandboxState
    from tests.unit.sandbox_fakes import make_tree

    settings = _settings(tmp_path)
    box = Sandbox(settings.sandboxes_dir / "s", settings, Steps(quiet=True))
    box.root.mkdir(parents=True)
    state = SandboxState(
        name="s", code_source=tmp_path, release="4.1.0 (Build: 1)", version="2022112800",
        branch="401", layout="classic", http_port=1, db=DatabaseConfig(port=2, password="p"),
        private_db=False, admin_password="x", created="2026-01-01",
    )  # fmt: skip
    box.save_state(state)
    monkeypatch.setattr(moodle, "site_version", lambda db: (state.release, state.version))
    too_new = make_tree(
        tmp_path / "new", version="2025041400.00", release="5.0 (Build: 1)", branch="500",
        requires="4.2.3",
    )  # fmt: skip
    with pytest.raises(UpgradePathError, match=r"only from 4\.2\.3") as info:
        box.upgrade(too_new)
    assert info.value.fix and "4.2.3" in info.value.fix
    older = make_tree(tmp_path / "old", version="2020061500.00", release="3.9 (B)", branch="309")
    with pytest.raises(DowngradeError, match="cannot downgrade"):
        box.upgrade(older)
    assert sorted(p.name for p in box.root.iterdir()) == ["sandbox.json"]
    assert box.state() == state


def test_an_old_code_copy_is_out_of_the_way_when_removal_returns(tmp_path: Path) -> None:
    # Restore renames the code to code.old right after an upgrade removed the
    # previous code.old in the background: the name must be free at once.
    from moodle_regress.sandbox.manager import remove_in_background

    old = tmp_path / "code.old"
    (old / "lib").mkdir(parents=True)
    (old / "lib" / "setup.php").write_text("<?php\n")
    remove_in_background(old)
    assert not old.exists()
    fresh = tmp_path / "code"
    (fresh / "lib").mkdir(parents=True)
    fresh.rename(old)  # the rename that failed with "Directory not empty"
    assert (old / "lib").is_dir()


def test_sandbox_ports_are_outside_the_ephemeral_range() -> None:
    # A port the kernel hands out for outgoing connections could be held by any
    # program when a stopped sandbox starts again: sandboxes keep ports below it.
    low, high = processes.sandbox_port_range()
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    if ephemeral.is_file():
        first = int(ephemeral.read_text().split()[0])
        assert high < first
    assert all(low <= server.free_port() <= high for _ in range(20))


@pytest.mark.parametrize(
    ("engine", "backend_sql"),
    [("postgres", "pg_backend_pid()"), ("mariadb", "information_schema.processlist")],
)
def test_config_php_of_a_private_server_pins_the_backend_of_a_pinned_run(
    tmp_path: Path, engine: str, backend_sql: str
) -> None:
    db = DatabaseConfig(engine=engine, port=5432, password="x")

    def config(pin_backend: bool) -> str:
        return render_config_php(
            name="d", db=db, wwwroot="http://h", dataroot=tmp_path, layout="classic",
            pin_backend=pin_backend,
        )  # fmt: skip

    plain, pinned = config(False), config(True)
    assert "taskset" not in plain
    assert backend_sql in pinned and "taskset -p -c" in pinned
    # After Moodle's setup (its $DB), never before.
    assert pinned.index("lib/setup.php") < pinned.index("taskset")
    if shutil.which("php"):
        path = tmp_path / "config.php"
        path.write_text(pinned)
        result = subprocess.run(
            ["php", "-l", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
