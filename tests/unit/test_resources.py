"""Files shipped inside the package, found without the checkout's folders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import moodle_regress
from moodle_regress import cli as cli_module
from moodle_regress.expected import ExpectedChanges
from moodle_regress.resources import (
    ResourceError,
    any_upgrade_expected,
    default_plan,
    expected_names,
    packaged_path,
    packaged_plan,
    plan_names,
    resolve_expected,
    resolve_plan,
    suite_dir,
    suite_module,
)
from moodle_regress.seeding import load_plan

PACKAGE = Path(moodle_regress.__file__).parent


def test_the_default_plan_is_inside_the_package_and_loads() -> None:
    path = default_plan()
    assert path.is_relative_to(PACKAGE)
    assert load_plan(path).tag


def test_shipped_plans_and_expected_files_are_listed_by_name() -> None:
    assert {"default", "small", "large"} <= set(plan_names())
    assert {"any-upgrade", "4.5-to-5.0"} <= set(expected_names())
    for name in expected_names():
        ExpectedChanges.load(packaged_path("data", "expected", f"{name}.yaml"))
    assert any_upgrade_expected().name == "any-upgrade.yaml"


def test_a_name_on_the_command_line_finds_the_shipped_file() -> None:
    assert resolve_plan("small") == packaged_plan("small")
    assert resolve_plan("small.yaml") == packaged_plan("small")
    assert resolve_expected("4.5-to-5.0").is_relative_to(PACKAGE)


def test_an_existing_file_wins_over_a_shipped_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text("tag: mine\n")
    assert resolve_plan("small.yaml") == Path("small.yaml")
    # A path with a folder is a path, never a shipped name.
    assert resolve_plan("elsewhere/small") == Path("elsewhere/small")
    assert resolve_plan("missing") == Path("missing")


def test_a_missing_resource_is_a_typed_error() -> None:
    with pytest.raises(ResourceError, match="not in the installed package"):
        packaged_path("data", "plans", "nothing.yaml")


def test_the_suites_are_importable_packages_of_the_tool() -> None:
    for suite in ("api", "browser"):
        assert (suite_dir(suite) / "__init__.py").is_file()
        assert suite_module(suite) == f"moodle_regress.suites.{suite}"


def test_no_module_of_the_package_reads_files_of_the_checkout() -> None:
    # Files outside the package are absent from an installed wheel.
    checkout_paths = re.compile(r"__file__\)(\.resolve\(\))?\.parents|PROJECT_ROOT")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if checkout_paths.search(path.read_text())
    ]
    assert offenders == []


def test_an_unknown_plan_is_refused_in_one_line_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "--site", "a", "--site", "b", "--out", str(tmp_path)]
    monkeypatch.setattr("sys.argv", ["moodle-regress", *args, "--plan", "no-such-plan"])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--plan no-such-plan: no such file" in err
    assert "small" in err
