"""The two distributions: moodle-ws (the client alone) and moodle-regress (the tool)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import moodle_regress
import moodle_ws

ROOT = Path(__file__).resolve().parents[2]


def _project(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text())


def test_importing_every_client_module_loads_nothing_of_the_tool() -> None:
    # In a fresh interpreter: the client's whole tree, then what got imported.
    script = (
        "import pkgutil, sys, importlib, moodle_ws\n"
        "for m in pkgutil.walk_packages(moodle_ws.__path__, 'moodle_ws.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = set(done.stdout.split())
    assert "moodle_ws" in loaded
    assert {"requests", "pydantic"} <= loaded
    assert loaded.isdisjoint({"moodle_regress", "playwright", "PIL", "allure", "pytest"})


def test_the_client_distribution_needs_only_requests_and_pydantic() -> None:
    project = _project(ROOT / "moodle_ws" / "pyproject.toml")["project"]
    assert isinstance(project, dict)
    names = {dep.split(">")[0].split("=")[0].strip() for dep in project["dependencies"]}
    assert names == {"requests", "pydantic"}


def test_the_client_distribution_lists_every_package_of_the_client() -> None:
    setuptools = _project(ROOT / "moodle_ws" / "pyproject.toml")["tool"]
    assert isinstance(setuptools, dict)
    listed = set(setuptools["setuptools"]["packages"])
    found = {
        ".".join(("moodle_ws", *init.parent.relative_to(ROOT / "moodle_ws").parts))
        for init in (ROOT / "moodle_ws").rglob("__init__.py")
        if "build" not in init.parts
    }
    assert listed == found


def test_the_tool_requires_the_client_of_its_own_release() -> None:
    project = _project(ROOT / "pyproject.toml")["project"]
    assert isinstance(project, dict)
    assert f"moodle-ws=={moodle_ws.__version__}" in project["dependencies"]
    assert moodle_regress.__version__ == moodle_ws.__version__
    assert isinstance(project["license"], str)  # an SPDX expression, not a table
