"""The upgrade's direction and every plugin's fate, with a verdict each.

The rules are Moodle's own (``admin/cli/upgrade.php`` and the plugin manager's
``all_plugins_ok``): the code may not be older than the database (core or plugin), a
plugin's ``requires`` must not be above the new core's version, its ``incompatible``
must be above the new branch, its dependencies present and recent enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moodle_regress.preflight.model import Check, PluginFate, Side
from moodle_regress.preflight.removals import CoreRemovals
from moodle_regress.preflight.trees import (
    ANY_VERSION,
    MATURITY_NAMES,
    PluginVersion,
    TreeVersions,
    number,
)
from moodle_regress.sandbox.codetree import short_release


@dataclass(frozen=True)
class SitePlugin:
    """A plugin the site has installed (its database's version)."""

    component: str
    version: str | None
    release: str | None = None
    standard: bool | None = None
    enabled: bool | None = None
    #: The plugin owning this one's type (subplugins), e.g. ``editor_atto`` for ``atto_*``.
    parent: str | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)


def direction_checks(source: Side, target: Side, target_tree: TreeVersions) -> list[Check]:
    """Downgrade (refused), same release (nothing to do), unstable target."""
    checks = []
    old, new = number(source.version), number(target.version)
    if old is not None and new is not None and new < old:
        checks.append(
            Check(
                "direction",
                "downgrade",
                "blocker",
                f"the target is Moodle {short_release(target.release)} ({target.version}), older "
                f"than the site's {short_release(source.release)} ({source.version}): Moodle "
                "cannot downgrade",
                "give a code tree of the same or a later release",
            )
        )
    elif old is not None and new == old:
        checks.append(
            Check(
                "direction",
                "same release",
                "warning",
                f"the site already runs {target.release}: the upgrade has nothing to do",
                "give the code tree of a later release",
            )
        )
    else:
        checks.append(
            Check(
                "direction",
                "upgrade",
                "ok",
                f"{source.release or source.version} -> {target.release}",
            )
        )
    if not target_tree.stable:
        level = MATURITY_NAMES.get(target_tree.maturity or 0, str(target_tree.maturity))
        checks.append(
            Check(
                "direction",
                "unstable target",
                "warning",
                f"Moodle {target.release} is marked {level}, not stable",
                "rehearse with a stable release before upgrading a real site",
            )
        )
    return checks


def plugin_fates(
    site: Mapping[str, SitePlugin], target: TreeVersions, removals: CoreRemovals
) -> tuple[list[PluginFate], list[Check]]:
    """Each plugin of either side, what the upgrade does to it, and the checks it fails."""
    fates: list[PluginFate] = []
    checks: list[Check] = []
    core_version = number(str(target.tree.version))
    branch = int(target.tree.branch)
    subplugins: dict[str, list[str]] = {}
    for component in sorted(set(site) | set(target.plugins)):
        installed, code = site.get(component), target.plugins.get(component)
        if code is None:
            assert installed is not None
            fate, check = _without_code(installed, removals, target)
            fates.append(fate)
            if fate.group is not None:
                subplugins.setdefault(fate.group, []).append(component)
            else:
                checks.append(check)
            continue
        fate = _with_code(installed, code)
        fates.append(fate)
        found = _code_checks(code, target, core_version, branch)
        if installed is not None and fate.fate == "refused":
            found.insert(0, _older_in_target(installed, code))
        if found and fate.fate != "refused":
            fate.fate = "refused"
        checks.extend(found)
    checks.extend(_subplugin_checks(subplugins, target))
    return fates, checks


def _subplugin_checks(groups: Mapping[str, list[str]], target: TreeVersions) -> list[Check]:
    """One check per plugin type whose plugins go together (subplugins of a removed plugin)."""
    return [
        Check(
            "plugins",
            "removed by Moodle",
            "warning",
            f"Moodle {target.tree.branch_key}'s upgrade uninstalls every {plugin_type} plugin "
            f"({len(names)}: {', '.join(names)}): their data goes",
            "back up or export what you need of them before upgrading",
            f"{plugin_type}_*",
        )
        for plugin_type, names in sorted(groups.items())
    ]


def _with_code(installed: SitePlugin | None, code: PluginVersion) -> PluginFate:
    fate = PluginFate(
        component=code.component,
        fate="installed",
        target_version=code.version,
        target_release=code.release,
    )
    if installed is None:
        return fate
    fate.site_version, fate.site_release = installed.version, installed.release
    fate.standard, fate.enabled, fate.usage = installed.standard, installed.enabled, installed.usage
    old, new = number(installed.version), number(code.version)
    if old is not None and new is not None and new < old:
        fate.fate = "refused"
    else:
        fate.fate = "upgraded" if old is None or new is None or new > old else "kept"
    return fate


def _older_in_target(installed: SitePlugin, code: PluginVersion) -> Check:
    return Check(
        "plugins",
        "older in the target",
        "blocker",
        f"{code.component} is {installed.version} ({installed.release}) on the site but "
        f"{code.version} ({code.release}) in the target: Moodle refuses to downgrade a plugin",
        f"put {code.component} {installed.release or installed.version} or later into the target "
        f"tree, or rehearse with --without-plugin {code.component}",
        component=code.component,
    )


def _code_checks(
    code: PluginVersion, target: TreeVersions, core_version: Any, branch: int
) -> list[Check]:
    """``requires``, ``incompatible`` and dependencies of a plugin in the target tree."""
    name = code.component
    without = (
        f"update {name} to a release for Moodle {target.tree.branch_key}, "
        f"or rehearse with --without-plugin {name}"
    )
    found: list[Check] = []
    if code.error or code.version is None:
        message = f"{name}: {code.error or 'no $plugin->version'}"
        found.append(Check("plugins", "unreadable version.php", "blocker", message, without, name))
    requires = number(code.requires)
    if requires is not None and core_version is not None and requires > core_version:
        message = f"{name} requires Moodle {code.requires}; the target is {target.tree.version}"
        found.append(Check("plugins", "needs a newer Moodle", "blocker", message, without, name))
    if code.incompatible is not None and branch >= code.incompatible:
        message = (
            f"{name} declares itself incompatible with Moodle branch "
            f"{code.incompatible} and later; the target is {branch}"
        )
        found.append(Check("plugins", "incompatible", "blocker", message, without, name))
    return found + _dependency_checks(code, target)


def _dependency_checks(code: PluginVersion, target: TreeVersions) -> list[Check]:
    """A dependency the target lacks, or has in too old a version."""
    found: list[Check] = []
    for dependency, needed in code.dependencies.items():
        other = target.plugins.get(dependency)
        have = number(other.version) if other is not None else None
        if other is None or (
            needed != ANY_VERSION and (have is None or have < (number(needed) or 0))
        ):
            state = "missing from the target" if other is None else f"{other.version} in the target"
            found.append(
                Check(
                    "plugins",
                    "dependency",
                    "blocker",
                    f"{code.component} needs {dependency} {needed}; it is {state}",
                    f"add {dependency} {needed} or later to the target tree, or rehearse "
                    f"with --without-plugin {code.component}",
                    code.component,
                )
            )
    return found


def _without_code(
    installed: SitePlugin, removals: CoreRemovals, target: TreeVersions
) -> tuple[PluginFate, Check]:
    """A site's plugin the target has no code for: uninstalled, dropped or left missing."""
    fate = PluginFate(
        component=installed.component,
        fate="missing",
        site_version=installed.version,
        site_release=installed.release,
        standard=installed.standard,
        enabled=installed.enabled,
        usage=installed.usage,
    )
    goes = describe_usage(installed.usage)
    name, release = installed.component, target.tree.branch_key
    if removals.removes(name, installed.parent):
        fate.fate = "uninstalled"
        plugin_type = name.split("_", 1)[0]
        if plugin_type in removals.uninstalled_types or installed.parent in removals.uninstalled:
            fate.group = plugin_type
        cause = f"Moodle {release}'s upgrade uninstalls {name}: its data goes" + (
            f" ({goes})" if goes else ""
        )
        return fate, Check(
            "plugins",
            "removed by Moodle",
            "warning",
            cause,
            "back up or export what you need of it before upgrading",
            name,
        )
    if name in removals.deleted_standard:
        fate.fate = "dropped"
        cause = f"Moodle {release} no longer ships {name}" + (
            f"; the site holds {goes}" if goes else ""
        )
        return fate, Check(
            "plugins",
            "dropped from Moodle",
            "warning",
            cause,
            "uninstall it on the site (Site administration > Plugins) once its data is not needed",
            name,
        )
    cause = (
        f"{name} {installed.release or installed.version} is installed on the site but the "
        f"target tree has no code for it: Moodle upgrades without it and its data stays, unused"
    )
    if goes:
        cause += f" ({goes})"
    return fate, Check(
        "plugins",
        "missing from the target",
        "warning",
        cause,
        f"add {name}'s release for Moodle {target.tree.branch_key} to the target tree, "
        "or uninstall it on the site first",
        name,
    )


def describe_usage(usage: Mapping[str, Any]) -> str:
    """ "3 activities in 2 courses, 4 settings" and the like."""
    parts = []
    activities = usage.get("activities") or {}
    if activities:
        total = sum(int(n) for n in activities.values())
        parts.append(f"{_count(total, 'activity')} in {_count(len(activities), 'course')}")
    labels = {
        "users": "users",
        "enrolments": "enrolments",
        "instances": "enrolment methods",
        "block_instances": "block instances",
        "courses": "courses using it",
        "categories": "categories using it",
    }
    for key, label in labels.items():
        if usage.get(key):
            parts.append(f"{usage[key]} {label}")
    if usage.get("site_theme"):
        parts.append("it is the site's theme")
    if usage.get("settings"):
        parts.append(_count(int(usage["settings"]), "setting"))
    return ", ".join(parts)


def _count(number: int, noun: str) -> str:
    """ "1 activity", "3 activities", "2 courses"."""
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1]}ies" if noun.endswith("y") else f"{number} {noun}s"
