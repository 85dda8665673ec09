"""The built wheels, installed into a fresh virtual environment outside the checkout.

Builds once per state of the sources (see tests/wheel_install.py); the first run
takes a minute or two, later runs reuse the installed copy.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

import moodle_regress
from tests.wheel_install import ROOT, InstalledTool, InstallUnavailableError, installed_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tool() -> InstalledTool:
    try:
        return installed_tool()
    except InstallUnavailableError as exc:
        pytest.skip(f"cannot install the wheels here: {exc}")


def _wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def _source_files(package: str) -> set[str]:
    from tests.wheel_install import source_files

    return {
        name.removeprefix("moodle_ws/") if package == "moodle_ws" else name
        for name in source_files()
        if name.startswith(f"{package}/") and not name.endswith("pyproject.toml")
    }


def test_the_tool_wheel_holds_every_file_of_the_package(tool: InstalledTool) -> None:
    # Plans, expected changes, schemas, PHP scripts, the suites: everything tracked.
    in_wheel = _wheel_files(tool.wheel("moodle-regress"))
    assert _source_files("moodle_regress") <= in_wheel
    assert "moodle_regress/data/plans/default.yaml" in in_wheel
    assert not any(name.startswith("moodle_ws/") for name in in_wheel)


def test_the_client_wheel_holds_the_client_alone(tool: InstalledTool) -> None:
    in_wheel = _wheel_files(tool.wheel("moodle-ws"))
    assert {f"moodle_ws/{name}" for name in _source_files("moodle_ws")} == in_wheel


def test_the_build_shows_no_deprecation_warning(tool: InstalledTool) -> None:
    assert "Successfully built" in tool.build_log
    assert "deprecat" not in tool.build_log.lower(), tool.build_log[-3000:]


def test_the_installed_command_tells_its_version_and_helps(tool: InstalledTool) -> None:
    out = tool.run(tool.bin("moodle-regress"), "--version")
    assert out.strip() == f"moodle-regress, version {moodle_regress.__version__}"
    assert "--plan" in tool.run(tool.bin("moodle-regress"), "seed", "--help")
    assert "--from" in tool.run(tool.bin("moodle-regress"), "rehearse", "--help")


def test_the_installed_package_finds_its_shipped_files(tool: InstalledTool) -> None:
    script = """
import json
from importlib.resources import files
import moodle_regress
from moodle_regress.expected import ExpectedChanges
from moodle_regress.resources import (
    default_plan, expected_names, packaged_expected, plan_names, suite_dir
)
from moodle_regress.seeding import load_plan
package = files("moodle_regress")
print(json.dumps({
    "package": moodle_regress.__file__,
    "default_plan": str(default_plan()),
    "default_tag": load_plan(default_plan()).tag,
    "plans": plan_names(),
    "expected": {n: len(ExpectedChanges.load(packaged_expected(n)).rules)
                 for n in expected_names()},
    "schemas": sorted(p.name for p in package.joinpath("schemas").iterdir()),
    "php": sorted(str(p.relative_to(suite_dir("api").parents[1]))
                  for p in suite_dir("api").parents[1].rglob("*.php")),
}))
"""
    found = json.loads(tool.run(tool.bin("python"), "-c", script).strip().splitlines()[-1])
    assert Path(found["package"]).is_relative_to(tool.venv)
    assert Path(found["default_plan"]).is_relative_to(tool.venv)
    assert found["default_tag"]
    assert {"default", "small"} <= set(found["plans"])
    assert found["expected"]["any-upgrade"] > 0 and found["expected"]["4.5-to-5.0"] > 0
    assert "snapshot-1.schema.json" in found["schemas"]
    php_in_checkout = sorted(
        str(p.relative_to(ROOT / "moodle_regress"))
        for p in (ROOT / "moodle_regress").rglob("*.php")
    )
    assert found["php"] == php_in_checkout


def test_the_installed_suites_are_collected_by_module_name(tool: InstalledTool) -> None:
    for suite in ("api", "browser"):
        out = tool.run(
            tool.bin("pytest"), "--pyargs", f"moodle_regress.suites.{suite}", "--collect-only",
            "-q", "-p", "no:cacheprovider",
        )  # fmt: skip
        assert " collected" in out and "error" not in out.lower(), out
        assert "moodle-browser-results" not in out


def test_the_client_installs_alone_without_the_tools_dependencies(tool: InstalledTool) -> None:
    python = tool.client_venv / "bin" / "python"
    script = "import importlib.metadata as m; print(' '.join(d.name for d in m.distributions()))"
    names = {name.lower() for name in tool.run(python, "-c", script).split()}
    assert {"moodle-ws", "requests", "pydantic"} <= names
    assert names.isdisjoint({"moodle-regress", "playwright", "pillow", "allure-pytest", "pytest"})
    out = tool.run(python, "-c", "import moodle_ws; print(moodle_ws.MoodleClient.__name__)")
    assert out.strip() == "MoodleClient"
