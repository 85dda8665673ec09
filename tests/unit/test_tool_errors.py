"""The tool's one error root, and the command line printing every failure as one line."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import moodle_regress
from moodle_regress import cli as cli_module
from moodle_regress.errors import MoodleRegressError
from moodle_regress.sandbox.errors import NotMoodleTreeError


def _package_error_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module of moodle_regress (suites aside;
    warnings are no errors: they derive from Warning, as moodle_ws's MoodleWarning)."""
    found: list[type[BaseException]] = []
    for module_info in pkgutil.walk_packages(moodle_regress.__path__, "moodle_regress."):
        if ".suites" in module_info.name or module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not issubclass(value, click.ClickException | Warning)
            ):
                found.append(value)
    return found


def test_every_error_class_of_the_tool_derives_from_the_root() -> None:
    classes = _package_error_classes()
    assert len(classes) >= 20
    strays = [c.__qualname__ for c in classes if not issubclass(c, MoodleRegressError)]
    assert strays == []


def test_there_is_one_seed_error() -> None:
    from moodle_regress.browser import seed as browser_seed
    from moodle_regress.seeding import SeedError

    assert vars(browser_seed)["SeedError"] is SeedError


def test_message_and_fix() -> None:
    error = MoodleRegressError("the plan has no users", "add a users: section")
    assert error.message == "the plan has no users"
    assert error.fix == "add a users: section"
    assert str(error) == "the plan has no users (fix: add a users: section)"
    assert MoodleRegressError("two\nlines").one_line() == "two / lines"


@pytest.fixture
def failing_command() -> object:
    @click.command("fail-with")
    def fail_with() -> None:
        raise NotMoodleTreeError("nowhere is not a Moodle code tree", "give a Moodle tree")

    cli_module.cli.add_command(fail_with)
    yield
    del cli_module.cli.commands["fail-with"]


def test_the_cli_prints_a_tool_error_as_one_line_and_exits_2(
    failing_command: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["moodle-regress", "fail-with"])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: nowhere is not a Moodle code tree (fix: give a Moodle tree)\n"


def test_verbose_adds_the_traceback(
    failing_command: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["moodle-regress", "-v", "fail-with"])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("error: nowhere is not a Moodle code tree")


def test_a_client_error_is_one_line_too(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_module.cli,
        ["snapshot", "--site", "https://moodle.invalid", "--out", str(tmp_path / "s.json")],
        env={"MOODLE_REGRESS_TOKEN": "", "MOODLE_REGRESS_HOME": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: no token for https://moodle.invalid")
    assert "Traceback" not in result.output
