"""Kept installs: the settings that turn reuse off or move the folder, and how an entry
is judged usable (its Moodle side is tested live, tests/live/test_sandbox.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodle_regress.config import ConfigError, load_settings
from moodle_regress.sandbox.db import DatabaseConfig, engine_named
from moodle_regress.sandbox.installs import (
    DATAROOT_DIRECTORY_MODE,
    FORMAT,
    KeptInstall,
    KeptInstalls,
    kept_installs_root,
    make_dataroot_folders,
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(path))
    monkeypatch.setenv("MOODLE_REGRESS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MOODLE_REGRESS_REUSE_INSTALLS", raising=False)
    monkeypatch.delenv("MOODLE_REGRESS_KEPT_INSTALLS", raising=False)
    return path


def test_installs_are_reused_by_default_and_kept_in_the_home(config: Path) -> None:
    settings = load_settings()
    assert settings.reuse_installs is True
    assert kept_installs_root(settings) == settings.home / "installed-sites"


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("off", False), ("1", True)])
def test_the_environment_turns_reuse_on_or_off(
    config: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    config.write_text("reuse_installs = true\n")
    monkeypatch.setenv("MOODLE_REGRESS_REUSE_INSTALLS", value)
    assert load_settings().reuse_installs is expected


def test_the_config_file_turns_reuse_off_and_moves_the_folder(config: Path, tmp_path: Path) -> None:
    config.write_text(f'reuse_installs = false\nkept_installs = "{tmp_path / "kept"}"\n')
    settings = load_settings()
    assert settings.reuse_installs is False
    assert KeptInstalls(settings).root == tmp_path / "kept"


def test_a_reuse_value_that_is_not_yes_or_no_names_the_setting(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_REUSE_INSTALLS", "sometimes")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "MOODLE_REGRESS_REUSE_INSTALLS" in caught.value.message
    assert caught.value.fix and "1 or 0" in caught.value.fix


class _Engine:
    """The two things an entry asks of an engine, without a server."""

    name = "postgres"
    dump_name = engine_named("postgres").dump_name

    def __init__(self, version: str) -> None:
        self.version = version

    def server_version(self, db: DatabaseConfig) -> str:
        return self.version


def _entry(tmp_path: Path, version: str = "PostgreSQL 15.14") -> KeptInstall:
    entry = KeptInstall(tmp_path / "postgres" / "f1", _Engine(version), "f1")  # type: ignore[arg-type]
    entry.path.mkdir(parents=True)
    (entry.path / entry.engine.dump_name).write_bytes(b"-- dump")
    (entry.path / "moodledata.tar").write_bytes(b"")
    manifest = {
        "format": FORMAT,
        "server_version": "PostgreSQL 15.14",
        "admin_username": "admin",
        "prefix": "mdl_",
    }
    (entry.path / "manifest.json").write_text(json.dumps(manifest))
    return entry


def test_an_entry_is_used_only_when_whole_and_fitting(tmp_path: Path) -> None:
    db = DatabaseConfig(port=5432, password="x")
    entry = _entry(tmp_path)
    assert entry.usable_for(db, "admin")
    assert not entry.usable_for(db, "root")  # another admin user
    assert not entry.usable_for(db.model_copy(update={"prefix": "m_"}), "admin")
    assert not _entry(tmp_path / "other", "PostgreSQL 16.1").usable_for(db, "admin")
    (entry.path / "moodledata.tar").unlink()  # half an entry
    assert not entry.usable_for(db, "admin")


def test_an_entry_of_another_layout_or_a_damaged_manifest_is_not_used(tmp_path: Path) -> None:
    db = DatabaseConfig(port=5432, password="x")
    entry = _entry(tmp_path)
    entry.manifest_path.write_text(json.dumps({"format": FORMAT + 1}))
    assert not entry.usable_for(db, "admin")
    entry.manifest_path.write_text("{not json")
    assert not entry.usable_for(db, "admin")


def test_the_folders_moodle_races_on_are_made_before_the_site_answers(tmp_path: Path) -> None:
    dataroot = tmp_path / "moodledata"
    (dataroot / "filedir" / "ab").mkdir(parents=True)
    (dataroot / "filedir").chmod(0o750)
    assert make_dataroot_folders(dataroot) == ["trashdir"]
    assert (dataroot / "trashdir").stat().st_mode & 0o7777 == DATAROOT_DIRECTORY_MODE
    # What was there stays as it was (the site's own folders, their modes and files).
    assert (dataroot / "filedir" / "ab").is_dir()
    assert (dataroot / "filedir").stat().st_mode & 0o7777 == 0o750
    assert make_dataroot_folders(dataroot) == []
