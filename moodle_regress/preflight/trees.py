"""A Moodle code tree's own versions: core and every plugin's ``version.php``, read
the way Moodle's plugin manager reads them (one PHP run for the whole tree, no site
needed: ``php/version_files.php``)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from moodle_regress.phprun import PhpScriptError, run_php_script
from moodle_regress.preflight.model import PreflightError
from moodle_regress.sandbox.codetree import CodeTree

#: Moodle's ANY_VERSION, as version_files.php reports it.
ANY_VERSION = "any"
MATURITY_STABLE = 200
MATURITY_NAMES = {50: "alpha", 100: "beta", 150: "release candidate", 200: "stable"}


@dataclass(frozen=True)
class PluginVersion:
    """What one plugin's version.php declares."""

    component: str
    version: str | None
    release: str | None = None
    requires: str | None = None
    incompatible: int | None = None
    maturity: int | None = None
    dependencies: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class TreeVersions:
    tree: CodeTree
    maturity: int | None
    plugins: dict[str, PluginVersion]

    @property
    def stable(self) -> bool:
        return self.maturity is None or self.maturity >= MATURITY_STABLE


def number(value: str | None) -> Decimal | None:
    """A Moodle version number ("2024100700", "2024100700.01") as a Decimal."""
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def read_versions(tree: CodeTree, *, log: Path | None = None) -> TreeVersions:
    """Core's and every plugin's version.php of ``tree`` (one PHP run)."""
    payload = {
        "core": str(tree.dirroot / "version.php"),
        "plugins": {name: str(path / "version.php") for name, path in tree.plugin_dirs.items()},
    }
    # The script needs no site: a folder without config.php is its working directory.
    with tempfile.TemporaryDirectory(prefix="moodle-regress-versions-") as workdir:
        try:
            data = run_php_script(Path(workdir), "version_files.php", payload, log=log, timeout=120)
        except PhpScriptError as exc:
            raise PreflightError(
                f"reading the version.php files of {tree.root} failed: {exc.message}",
                "check that the tree's PHP files are complete",
            ) from None
    return TreeVersions(
        tree=tree,
        maturity=_int(data["core"].get("maturity")),
        plugins={name: _plugin(name, info) for name, info in data["plugins"].items()},
    )


def _plugin(component: str, info: Mapping[str, Any]) -> PluginVersion:
    return PluginVersion(
        component=component,
        version=info.get("version"),
        release=info.get("release"),
        requires=info.get("requires"),
        incompatible=_int(info.get("incompatible")),
        maturity=_int(info.get("maturity")),
        dependencies=dict(info.get("dependencies") or {}),
        error=info.get("error"),
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
