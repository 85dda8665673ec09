"""Files shipped inside the package: seeding plans, expected changes, the suites.

Everything is found through :mod:`importlib.resources`, so an installed wheel works
the same as a checkout.  Plans and expected-changes files are handed to child
processes (the suites' pytest) by path: wheels install unpacked, so each resource is
a real file; :func:`packaged_path` says so plainly if it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from moodle_regress.errors import MoodleRegressError

#: The packages and folders holding the shipped data.
PLANS = ("data", "plans")
EXPECTED = ("data", "expected")
SUITES_PACKAGE = "moodle_regress.suites"


class ResourceError(MoodleRegressError):
    """A packaged file is missing or not on the file system."""


def packaged_path(*parts: str) -> Path:
    """The file or folder ``moodle_regress/<parts...>`` of the installed package."""
    resource = files("moodle_regress").joinpath(*parts)
    path = Path(str(resource))
    if not path.exists():
        raise ResourceError(
            f"moodle_regress/{'/'.join(parts)} is not in the installed package "
            "(reinstall moodle-regress from a complete wheel or checkout)"
        )
    return path


def default_plan() -> Path:
    """The default seeding plan: every installed format, 1,000+ users, 40+ courses."""
    return packaged_path(*PLANS, "default.yaml")


def plan_names() -> list[str]:
    """The names of the shipped plans (``default``, ``small``...)."""
    return sorted(p.stem for p in packaged_path(*PLANS).glob("*.yaml"))


def expected_names() -> list[str]:
    """The names of the shipped expected-changes files (``4.5-to-5.0``...)."""
    return sorted(p.stem for p in packaged_path(*EXPECTED).glob("*.yaml"))


def packaged_plan(name: str) -> Path:
    """A shipped plan by name (``small`` or ``small.yaml``)."""
    return packaged_path(*PLANS, _yaml_name(name))


def packaged_expected(name: str) -> Path:
    """A shipped expected-changes file by name (``4.5-to-5.0`` or with ``.yaml``)."""
    return packaged_path(*EXPECTED, _yaml_name(name))


def any_upgrade_expected() -> Path:
    """The changes every upgrade makes (release, version, functions' versions)."""
    return packaged_expected("any-upgrade")


def suite_dir(suite: str) -> Path:
    """The folder of a shipped suite (``api`` or ``browser``), to run it by path."""
    return packaged_path("suites", suite)


def suite_module(suite: str) -> str:
    """The suite as a module name, for ``pytest --pyargs``."""
    return f"{SUITES_PACKAGE}.{suite}"


def resolve_plan(value: str | Path) -> Path:
    """A plan given on the command line: a file, or the name of a shipped plan."""
    return _file_or_packaged(value, plan_names(), packaged_plan)


def resolve_expected(value: str | Path) -> Path:
    """An expected-changes file given on the command line: a file or a shipped name."""
    return _file_or_packaged(value, expected_names(), packaged_expected)


def _file_or_packaged(value: str | Path, names: list[str], lookup: Callable[[str], Path]) -> Path:
    """An existing file wins; a bare name (no folder) of a shipped file comes next."""
    path = Path(value).expanduser()
    if path.is_file():
        return path
    name = str(value).removesuffix(".yaml")
    return lookup(name) if name in names else path


def _yaml_name(name: str) -> str:
    return name if name.endswith(".yaml") else f"{name}.yaml"
