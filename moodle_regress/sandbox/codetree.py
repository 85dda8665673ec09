"""Reading a Moodle code tree: which release it is, its layout, its plugins.

Two layouts exist.  Up to 5.0 everything is in the tree's root.  From 5.1 the web
root is ``public/`` (which holds ``version.php`` and the code) while ``config.php``
and ``admin/cli`` stay at the tree's root.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Literal

from moodle_regress.sandbox.errors import NotMoodleTreeError

Layout = Literal["classic", "public"]

_VERSION = re.compile(r"^\s*\$version\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*;", re.M)
_RELEASE = re.compile(r"^\s*\$release\s*=\s*'([^']*)'", re.M)
_BRANCH = re.compile(r"^\s*\$branch\s*=\s*'([0-9]+)'", re.M)


def release_tuple(release: str) -> tuple[int, ...]:
    """ "4.5.6+ (Build: 20250811)" -> (4, 5, 6); "4.2" -> (4, 2, 0)."""
    match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", release)
    if not match:
        raise ValueError(f"not a Moodle release: {release!r}")
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def short_release(release: str) -> str:
    """ "4.5.6 (Build: 20250811)" -> "4.5.6"."""
    return release.split("(", maxsplit=1)[0].strip()


@dataclass(frozen=True)
class CodeTree:
    """One Moodle code tree on disk."""

    #: The tree's root: ``config.php`` and ``admin/cli`` live here.
    root: Path
    #: Where ``version.php`` and the code are (``root`` or ``root/public``).
    dirroot: Path
    layout: Layout
    version: Decimal
    release: str
    branch: str

    @property
    def webroot(self) -> Path:
        return self.dirroot

    @property
    def branch_key(self) -> str:
        """ "405" -> "4.5", "501" -> "5.1"."""
        return f"{self.branch[:-2]}.{int(self.branch[-2:])}"

    @property
    def short_release(self) -> str:
        return short_release(self.release)

    def cli(self, script: str) -> Path:
        return self.root / "admin" / "cli" / script

    @property
    def config_php(self) -> Path:
        return self.root / "config.php"

    @property
    def environment_xml(self) -> Path:
        return self.dirroot / "admin" / "environment.xml"

    def upgrade_requires(self) -> str | None:
        """The oldest release this code can upgrade from, as Moodle's own
        environment check declares it (``<MOODLE version="5.1" requires="4.2.3">``)."""
        element = self._environment_element()
        return element.get("requires") if element is not None else None

    def _environment_element(self) -> ET.Element | None:
        try:
            root = ET.parse(self.environment_xml)  # noqa: S314 - a local file the user chose.getroot()
        except (OSError, ET.ParseError):
            return None
        for element in root.iter("MOODLE"):
            if element.get("version") == self.branch_key:
                return element
        return None

    def php_requirements(self) -> tuple[str | None, list[str]]:
        """(minimum PHP version, required PHP extensions) from ``environment.xml``."""
        element = self._environment_element()
        if element is None:
            return None, []
        php = element.find("PHP")
        minimum = php.get("version") if php is not None else None
        extensions = [
            str(ext.get("name"))
            for ext in element.iter("PHP_EXTENSION")
            if ext.get("level") == "required" and ext.get("name")
        ]
        return minimum, extensions

    def database_requirement(self, vendor: str) -> str | None:
        """The oldest server version of database ``vendor`` (environment.xml's
        name: postgres, mariadb, mysql...) this release supports."""
        element = self._environment_element()
        if element is None:
            return None
        for found in element.iter("VENDOR"):
            if found.get("name") == vendor and found.get("version"):
                return str(found.get("version"))
        return None

    @cached_property
    def plugins(self) -> frozenset[str]:
        """Every plugin in the tree, as frankenstyle names (``mod_forum``),
        subplugins included."""
        return frozenset(self.plugin_dirs)

    @cached_property
    def plugin_dirs(self) -> dict[str, Path]:
        """Each plugin's frankenstyle name -> its directory, subplugins included."""
        return dict(
            sorted(
                (name, path) for path, (name, kind) in self.components.items() if kind == "plugin"
            )
        )

    @cached_property
    def components(self) -> dict[Path, tuple[str, str]]:
        """Each component's directory -> (name, kind): ``lib`` -> ("core", "core"),
        ``course`` -> ("core_course", "subsystem"), ``mod`` -> ("mod", "plugintype"),
        ``mod/forum`` -> ("mod_forum", "plugin"), subplugins included (Moodle's own
        ``lib/components.json`` and the plugins' ``db/subplugins.json``)."""
        components = self.root / "lib" / "components.json"
        if not components.is_file():
            components = self.dirroot / "lib" / "components.json"
        try:
            data = json.loads(components.read_text())
            types: dict[str, str] = data["plugintypes"]
            subsystems: dict[str, str | None] = data.get("subsystems", {})
        except (OSError, ValueError, KeyError):
            return {}
        base = components.parent.parent
        found: dict[Path, tuple[str, str]] = {self.dirroot / "lib": ("core", "core")}
        for name, path in subsystems.items():
            directory = self._resolve(path, base) if path else None
            if directory is not None and directory not in found:
                found[directory] = (f"core_{name}", "subsystem")
        pending = [(ptype, self._resolve(path, base)) for ptype, path in types.items()]
        while pending:
            ptype, directory = pending.pop()
            if directory is None or not directory.is_dir():
                continue
            found.setdefault(directory, (ptype, "plugintype"))
            for plugin_dir in directory.iterdir():
                if not (plugin_dir / "version.php").is_file():
                    continue
                found[plugin_dir] = (f"{ptype}_{plugin_dir.name}", "plugin")
                pending.extend(self._subplugin_types(plugin_dir))
        return found

    def _resolve(self, relative: str, base: Path) -> Path | None:
        for candidate in (base / relative, self.dirroot / relative, self.root / relative):
            if candidate.is_dir():
                return candidate
        return None

    def _subplugin_types(self, plugin_dir: Path) -> list[tuple[str, Path | None]]:
        path = plugin_dir / "db" / "subplugins.json"
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text())
        except ValueError:
            return []
        if "subplugintypes" in data:
            return [(t, plugin_dir / p) for t, p in data["subplugintypes"].items()]
        return [(t, self._resolve(p, self.dirroot)) for t, p in data.get("plugintypes", {}).items()]


def inspect_tree(path: Path) -> CodeTree:
    """Read the Moodle code tree at ``path`` or raise :class:`NotMoodleTreeError`."""
    root = path.expanduser().resolve()
    if not root.is_dir():
        raise NotMoodleTreeError(
            f"{path} is not a directory", "give the directory of a Moodle code tree with --code"
        )
    if (root / "public" / "version.php").is_file() and (root / "admin" / "cli").is_dir():
        dirroot, layout = root / "public", "public"
    elif (root / "version.php").is_file() and (root / "lib" / "setup.php").is_file():
        dirroot, layout = root, "classic"
    else:
        raise NotMoodleTreeError(
            f"{path} is not a Moodle code tree (no version.php with lib/setup.php, "
            "nor public/version.php)",
            "give the directory that holds Moodle's version.php (or public/version.php for 5.1+)",
        )
    text = (dirroot / "version.php").read_text(errors="replace")
    version, release, branch = _VERSION.search(text), _RELEASE.search(text), _BRANCH.search(text)
    if not (version and release and branch) or "MOODLE VERSION INFORMATION" not in text:
        raise NotMoodleTreeError(
            f"{dirroot / 'version.php'} is not Moodle's core version.php",
            "give the root directory of a Moodle code tree, not a plugin's",
        )
    if not (root / "admin" / "cli" / "install_database.php").is_file():
        raise NotMoodleTreeError(
            f"{path} has no admin/cli/install_database.php", "use a complete Moodle code tree"
        )
    try:
        number = Decimal(version.group(1))
    except InvalidOperation:
        raise NotMoodleTreeError(f"unreadable $version in {dirroot / 'version.php'}") from None
    return CodeTree(
        root=root,
        dirroot=dirroot,
        layout=layout,  # type: ignore[arg-type]
        version=number,
        release=release.group(1),
        branch=branch.group(1),
    )
