"""``sandbox cache list|clear`` and ``--no-cache``: what is listed and removed of the kept
installs (entries made through KeptInstall.save with an engine that needs no server)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from moodle_regress.cli.rehearse import rehearse_command
from moodle_regress.cli.sandbox import human_size, sandbox
from moodle_regress.config import Settings, load_settings
from moodle_regress.errors import MoodleRegressError
from moodle_regress.rehearsal import RehearsalOptions
from moodle_regress.rehearsal import rehearse as run_rehearsal
from moodle_regress.sandbox.db import DatabaseConfig, engine_named
from moodle_regress.sandbox.installs import (
    KeptInstall,
    KeptInstallError,
    KeptInstalls,
    release_matches,
)
from moodle_regress.sandbox.manager import SandboxManager

DB = DatabaseConfig(port=5432, password="x")


class _Engine:
    """What saving and loading an entry asks of an engine, without a server."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dump_name = engine_named(name).dump_name
        self.restored: list[Path] = []

    def server_version(self, db: DatabaseConfig) -> str:
        return "15.14"

    def dump(self, db: DatabaseConfig, sink: IO[bytes]) -> None:
        sink.write(b"-- a dump\n" * 1000)

    def restore(self, db: DatabaseConfig, dump: Path) -> None:
        self.restored.append(dump)


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeptInstalls:
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("MOODLE_REGRESS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MOODLE_REGRESS_REUSE_INSTALLS", raising=False)
    monkeypatch.delenv("MOODLE_REGRESS_KEPT_INSTALLS", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich's table: no column cut short
    return KeptInstalls(load_settings())


def _save(
    kept: KeptInstalls, tmp_path: Path, engine: str, fingerprint: str, release: str
) -> KeptInstall:
    dataroot = tmp_path / f"data-{engine}-{fingerprint}"
    (dataroot / "filedir").mkdir(parents=True)
    (dataroot / "filedir" / "a").write_bytes(b"x" * 10_000)
    entry = KeptInstall(kept.root / engine / fingerprint, _Engine(engine), fingerprint)  # type: ignore[arg-type]
    entry.save(DB, dataroot, release=release, admin_username="admin")
    return entry


def _run(*args: str) -> Result:
    return CliRunner().invoke(sandbox, ["cache", *args])


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_list_shows_each_entry_with_its_release_fingerprint_size_and_use(
    kept: KeptInstalls, tmp_path: Path
) -> None:
    entry = _save(kept, tmp_path, "postgres", "a" * 64, "4.5.6+ (Build: 20250801)")
    _save(kept, tmp_path, "mariadb", "b" * 64, "5.0.2 (Build: 20250901)")
    (kept.root / "postgres" / "mine").mkdir()  # not the tool's: not listed
    result = _run("list")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "a" * 10 in line or "b" * 10 in line]
    assert len(rows) == 2
    (pg,) = [row for row in rows if "postgres" in row]
    assert "4.5.6+" in pg and "KiB" in pg and "never" in pg
    made = entry.made()
    assert made is not None and made.strftime("%Y-%m-%d %H:%M") in pg
    assert "a" * 11 not in pg  # the fingerprint shortened
    assert "mine" not in result.output
    assert "2 kept installs" in result.output

    (tmp_path / "loaded").mkdir()
    entry.load_into(DB, tmp_path / "loaded")  # loading marks it used
    assert entry.last_used() is not None
    assert "never" not in next(
        line for line in _run("list").output.splitlines() if "a" * 10 in line
    )


def test_list_of_no_entries_says_where_it_looked(kept: KeptInstalls) -> None:
    result = _run("list")
    assert result.exit_code == 0
    assert "no kept installs" in result.output


def test_clear_removes_the_tools_entries_only_and_says_what_it_freed(
    kept: KeptInstalls, tmp_path: Path
) -> None:
    first = _save(kept, tmp_path, "postgres", "a" * 64, "4.5.6+ (Build: 20250801)")
    second = _save(kept, tmp_path, "mariadb", "b" * 64, "5.0.2 (Build: 20250901)")
    size = first.size() + second.size()
    # Folders the tool did not make: no manifest, a manifest for another folder, another engine.
    (kept.root / "postgres" / "mine").mkdir()
    (kept.root / "postgres" / "mine" / "notes.txt").write_text("keep me")
    copied = kept.root / "postgres" / "copied"
    shutil.copytree(first.path, copied)
    (kept.root / "oracle" / "x").mkdir(parents=True)
    (kept.root / "oracle" / "x" / "manifest.json").write_text(json.dumps({"engine": "oracle"}))
    foreign = {
        path: _tree(path)
        for path in (kept.root / "postgres" / "mine", copied, kept.root / "oracle")
    }

    result = _run("clear")
    assert result.exit_code == 0, result.output
    assert not first.path.exists() and not second.path.exists()
    assert {path: _tree(path) for path in foreign} == foreign
    assert "removed postgres 4.5.6+ aaaaaaaaaa " in result.output
    assert "removed mariadb 5.0.2" in result.output
    assert "2 kept installs removed" in result.output
    assert f"{human_size(size)} freed" in result.output
    assert kept.entries() == []
    assert not [p for p in (kept.root / "postgres").iterdir() if ".removing." in p.name]


def test_clear_by_engine_and_release(kept: KeptInstalls, tmp_path: Path) -> None:
    pg45 = _save(kept, tmp_path, "postgres", "1" * 64, "4.5.6+ (Build: 20250801)")
    pg50 = _save(kept, tmp_path, "postgres", "2" * 64, "5.0 (Build: 20250401)")
    maria45 = _save(kept, tmp_path, "mariadb", "3" * 64, "4.5.6+ (Build: 20250801)")

    assert _run("clear", "--engine", "mariadb").exit_code == 0
    assert (pg45.path.exists(), pg50.path.exists(), maria45.path.exists()) == (True, True, False)
    result = _run("clear", "--release", "5.0")
    assert result.exit_code == 0
    assert (pg45.path.exists(), pg50.path.exists()) == (True, False)
    assert "1 kept installs removed" in result.output


@pytest.mark.parametrize(
    ("release", "wanted", "matches"),
    [
        ("4.5.6+ (Build: 20250801)", "4.5", True),
        ("4.5.6+ (Build: 20250801)", "4.5.6", True),
        ("4.5 (Build: 20241007)", "4.5", True),
        ("4.5.6+ (Build: 20250801)", "4.5.7", False),
        ("4.50 (Build: 20300101)", "4.5", False),
        ("5.0.2 (Build: 20250901)", "4.5", False),
    ],
)
def test_a_release_is_matched_up_to_where_the_wanted_one_stops(
    release: str, wanted: str, matches: bool
) -> None:
    assert release_matches(release, wanted) is matches


def test_an_entry_another_run_holds_is_left_whole_and_the_clear_exits_2(
    kept: KeptInstalls, tmp_path: Path
) -> None:
    held = _save(kept, tmp_path, "postgres", "a" * 64, "4.5.6+ (Build: 20250801)")
    free = _save(kept, tmp_path, "postgres", "b" * 64, "5.0.2 (Build: 20250901)")
    before = _tree(held.path)
    with kept.lock(held):  # as a run loading or saving it does
        result = _run("clear")
    assert result.exit_code == 2
    assert "in use by another run" in result.output
    assert _tree(held.path) == before
    assert held.usable_for(DB, "admin")
    assert not free.path.exists()
    assert "1 kept installs removed" in result.output


def test_a_removal_that_fails_halfway_leaves_nothing_usable_at_the_entrys_place(
    kept: KeptInstalls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _save(kept, tmp_path, "postgres", "a" * 64, "4.5.6+ (Build: 20250801)")

    def fail(path: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("moodle_regress.sandbox.installs.shutil.rmtree", fail)
    with pytest.raises(KeptInstallError) as caught:
        kept.remove(entry)
    assert not entry.path.exists()
    assert not entry.usable_for(DB, "admin")
    assert caught.value.fix and "by hand" in caught.value.fix


class _Stop(MoodleRegressError):
    """Ends a command once the settings it passes down are seen."""


@pytest.mark.parametrize(("flag", "reuse"), [((), True), (("--no-cache",), False)])
def test_up_passes_no_cache_down_as_reuse_off(
    kept: KeptInstalls,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: tuple[str, ...],
    reuse: bool,
) -> None:
    seen: list[Settings] = []

    def up(self: SandboxManager, name: str, code_dir: Path, **_: object) -> None:
        seen.append(self.settings)
        raise _Stop("seen")

    monkeypatch.setattr(SandboxManager, "up", up)
    result = CliRunner().invoke(sandbox, ["up", "demo", "--code", str(tmp_path), *flag])
    assert result.exit_code == 2 and "seen" in result.output
    assert [s.reuse_installs for s in seen] == [reuse]
    assert [KeptInstalls(s).enabled for s in seen] == [reuse]


def test_no_cache_on_the_command_line_does_not_turn_a_configured_off_on(
    kept: KeptInstalls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_REUSE_INSTALLS", "0")
    seen: list[bool] = []

    def up(self: SandboxManager, name: str, code_dir: Path, **_: object) -> None:
        seen.append(self.settings.reuse_installs)
        raise _Stop("seen")

    monkeypatch.setattr(SandboxManager, "up", up)
    CliRunner().invoke(sandbox, ["up", "demo", "--code", str(tmp_path)])
    assert seen == [False]


@pytest.mark.parametrize(("flag", "reuse"), [((), True), (("--no-cache",), False)])
def test_rehearse_passes_no_cache_to_its_options(
    kept: KeptInstalls,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: tuple[str, ...],
    reuse: bool,
) -> None:
    seen: list[RehearsalOptions] = []

    def rehearse(options: RehearsalOptions, **_: object) -> None:
        seen.append(options)
        raise _Stop("seen")

    monkeypatch.setattr("moodle_regress.cli.rehearse.rehearse", rehearse)
    arguments = ["--from", str(tmp_path), "--to", str(tmp_path), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(rehearse_command, [*arguments, *flag])
    assert isinstance(result.exception, _Stop)
    assert [o.reuse_installs for o in seen] == [reuse]


def test_a_rehearsal_without_reuse_makes_its_sandboxes_with_reuse_off(
    kept: KeptInstalls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Settings] = []

    class Recording(SandboxManager):
        def __init__(self, settings: Settings | None = None, **kwargs: Any) -> None:
            super().__init__(settings, **kwargs)
            made.append(self.settings)

    monkeypatch.setattr("moodle_regress.rehearsal.upgrade.SandboxManager", Recording)
    options = RehearsalOptions(
        code_from=tmp_path, code_to=tmp_path, out=tmp_path / "out", reuse_installs=False
    )
    # Not a Moodle tree: the preflight stops it, after the manager is made.
    console = Console(file=io.StringIO())
    assert run_rehearsal(options, console=console, live=False).exit_code == 2
    assert [s.reuse_installs for s in made] == [False]
    assert made[0].home == kept.root.parent  # the rest as configured
