"""Which plugins Moodle's own upgrade removes, as the target tree itself says.

- ``lib/db/upgrade.php`` of the target calls ``uninstall_plugin('mod', 'chat')`` (5.0:
  chat, survey, Atto, CAS, MNet...) inside ``if ($oldversion < V)`` steps: those run
  for sites older than ``V`` and delete the plugin's data everywhere.  Subplugins of an
  uninstalled plugin go with it (5.0 removes every ``atto_*`` before ``editor_atto``).
- ``lib/plugins.json`` ``deleted``: standard plugins Moodle no longer ships; the plugin
  manager hides them when missing (``core_plugin_manager::is_deleted_standard_plugin``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from moodle_regress.sandbox.codetree import CodeTree

_STEP = re.compile(r"\$oldversion\s*<\s*([0-9]+(?:\.[0-9]+)?)")
_UNINSTALL = re.compile(r"uninstall_plugin\(\s*'([a-z0-9_]+)'\s*,\s*(?:'([a-z0-9_]+)'|\$\w+)\s*\)")


@dataclass(frozen=True)
class CoreRemovals:
    """What the target's core upgrade removes for a site at a given version."""

    #: Plugins (frankenstyle) an upgrade step uninstalls, with the step's version.
    uninstalled: dict[str, Decimal]
    #: Plugin types whose every plugin an upgrade step uninstalls (a loop over them).
    uninstalled_types: frozenset[str]
    #: Standard plugins Moodle no longer ships (plugins.json "deleted").
    deleted_standard: frozenset[str]

    def removes(self, component: str, parent: str | None = None) -> bool:
        plugin_type = component.split("_", 1)[0]
        return (
            component in self.uninstalled
            or plugin_type in self.uninstalled_types
            or (parent is not None and parent in self.uninstalled)
        )


def core_removals(tree: CodeTree, site_version: Decimal | None) -> CoreRemovals:
    """The removals of ``tree``'s core upgrade for a site at ``site_version`` (None: a
    site older than every step)."""
    uninstalled: dict[str, Decimal] = {}
    types: set[str] = set()
    for step, plugin_type, name in uninstall_calls(tree.dirroot / "lib" / "db" / "upgrade.php"):
        if site_version is not None and step <= site_version:
            continue  # the site is past that step: it already ran (or never will)
        if name is None:
            types.add(plugin_type)
        else:
            uninstalled[f"{plugin_type}_{name}"] = step
    return CoreRemovals(uninstalled, frozenset(types), deleted_standard_plugins(tree))


def uninstall_calls(upgrade_php: Path) -> list[tuple[Decimal, str, str | None]]:
    """(step version, plugin type, plugin name or None for a loop over the type) of
    every ``uninstall_plugin`` call in an ``upgrade.php``."""
    try:
        text = upgrade_php.read_text(errors="replace")
    except OSError:
        return []
    found = []
    step = Decimal(0)
    for line in text.splitlines():
        guard = _STEP.search(line)
        if guard and "XXXX" not in line:
            step = Decimal(guard.group(1))
        call = _UNINSTALL.search(line)
        if call:
            found.append((step, call.group(1), call.group(2)))
    return found


def deleted_standard_plugins(tree: CodeTree) -> frozenset[str]:
    """Standard plugins the tree's Moodle no longer ships (frankenstyle names)."""
    data = _plugins_json(tree)
    return frozenset(
        f"{plugin_type}_{name}"
        for plugin_type, names in (data.get("deleted") or {}).items()
        for name in names
    )


def standard_plugins(tree: CodeTree) -> frozenset[str]:
    """Plugins the tree's Moodle ships as standard (frankenstyle names)."""
    data = _plugins_json(tree)
    return frozenset(
        f"{plugin_type}_{name}"
        for plugin_type, names in (data.get("standard") or {}).items()
        for name in names
    )


def _plugins_json(tree: CodeTree) -> dict[str, dict[str, list[str]]]:
    # 5.1 keeps lib/plugins.json at the tree's root, earlier releases in the code.
    for path in (tree.root / "lib" / "plugins.json", tree.dirroot / "lib" / "plugins.json"):
        try:
            data: dict[str, dict[str, list[str]]] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        return data
    return {}
