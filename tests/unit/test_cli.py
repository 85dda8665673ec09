"""The command's entry point: exit statuses reach the shell."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import click
import pytest

from moodle_regress import cli as cli_module
from moodle_regress.sandbox.manager import same_version


@pytest.fixture
def exiting_command() -> Iterator[None]:
    @click.command("exit-with")
    @click.argument("code", type=int)
    def exit_with(code: int) -> None:
        raise click.exceptions.Exit(code)

    cli_module.cli.add_command(exit_with)
    yield
    del cli_module.cli.commands["exit-with"]


@pytest.mark.parametrize("code", [0, 1, 2])
def test_a_commands_exit_status_reaches_the_shell(
    exiting_command: None, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr("sys.argv", ["moodle-regress", "exit-with", str(code)])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == code


def test_a_usage_error_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["moodle-regress", "rehearse", "--suites", "bogus"])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == 2


def test_a_backup_version_matches_its_code_tree_as_a_number() -> None:
    # The database records "2024100706"; version.php says 2024100706.00.
    assert same_version(Decimal("2024100706.00"), "2024100706")
    assert same_version(Decimal("2025041406.11"), "2025041406.11")
    assert not same_version(Decimal("2025041406.11"), "2024100706")
