"""The target's ``admin/environment.xml`` against this server and the site's database.

Where a site exists, Moodle's own check (``lib/environmentlib.php``) runs against the
site (``php/site_plugins.php``) and :func:`checks_from_moodle` turns its results into
checks.  Before the site exists (a rehearsal from a code tree), :func:`evaluate_xml`
evaluates the same file here: PHP version, extensions and settings of this server's PHP
(with the settings the sandbox gives it), the database engine the sandbox will use,
and the release the target upgrades from.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from moodle_regress.phprun import PhpFacts
from moodle_regress.preflight.model import Check, Verdict
from moodle_regress.sandbox.codetree import CodeTree, release_tuple

AREA = "environment"

#: environment.xml's vendor names for the sandbox's engines.
ENGINE_VENDORS = {"postgres": "postgres", "mariadb": "mariadb"}


def _level_verdict(level: str | None) -> Verdict:
    return "blocker" if (level or "required") == "required" else "warning"


def environment_element(tree: CodeTree) -> ET.Element | None:
    """The ``<MOODLE>`` element of the target's own release (or the newest below it)."""
    try:
        root = ET.parse(tree.environment_xml).getroot()  # noqa: S314 - the user's tree
    except (OSError, ET.ParseError):
        return None
    wanted = release_tuple(tree.release)
    best: tuple[tuple[int, ...], ET.Element] | None = None
    for element in root.iter("MOODLE"):
        version = release_tuple(element.get("version") or "0.0")
        if version <= wanted and (best is None or version > best[0]):
            best = (version, element)
    return best[1] if best else None


def evaluate_xml(
    tree: CodeTree, *, source_release: str, engine: str, php: PhpFacts | None
) -> list[Check]:
    """The checks of the target's environment.xml, evaluated here (no site yet)."""
    element = environment_element(tree)
    if element is None:
        return [
            Check(
                AREA,
                "environment.xml",
                "warning",
                f"{tree.environment_xml} has no section for Moodle {tree.branch_key}",
                "use a complete Moodle code tree",
            )
        ]
    checks = [_requires(element, source_release, tree), _database(element, engine, tree)]
    if php is None:
        checks.append(
            Check(
                AREA,
                "PHP",
                "blocker",
                "no php command on this server",
                "install php-cli (scripts/bootstrap does)",
            )
        )
        return checks
    checks.append(_php_version(element, php, tree))
    checks.extend(_extensions(element, php))
    checks.extend(_settings(element, php))
    return checks


def php_settings_wanted(tree: CodeTree) -> list[str]:
    element = environment_element(tree)
    if element is None:
        return []
    return [str(s.get("name")) for s in element.iter("PHP_SETTING") if s.get("name")]


def _requires(element: ET.Element, source_release: str, tree: CodeTree) -> Check:
    requires = element.get("requires")
    if not requires:
        return Check(AREA, "upgrade path", "ok", "the target names no oldest release")
    if source_release and release_tuple(source_release) < release_tuple(requires):
        return Check(
            AREA,
            "upgrade path",
            "blocker",
            f"Moodle {tree.short_release} upgrades only from {requires} or later; the site is "
            f"{source_release}",
            f"upgrade to {requires} or later first, then to {tree.short_release}",
        )
    return Check(
        AREA, "upgrade path", "ok", f"Moodle {tree.short_release} upgrades from {requires} or later"
    )


def _database(element: ET.Element, engine: str, tree: CodeTree) -> Check:
    vendor = ENGINE_VENDORS.get(engine, engine)
    for found in element.iter("VENDOR"):
        if found.get("name") == vendor:
            return Check(
                AREA,
                "database",
                "ok",
                f"Moodle {tree.branch_key} supports {vendor} {found.get('version')} or later; "
                "the sandbox's server version is checked by Moodle's installer",
            )
    return Check(
        AREA,
        "database",
        "blocker",
        f"Moodle {tree.branch_key} does not support {vendor}",
        "choose another database engine with --db",
    )


def _php_version(element: ET.Element, php: PhpFacts, tree: CodeTree) -> Check:
    node = element.find("PHP")
    needed = node.get("version") if node is not None else None
    if needed and release_tuple(php.version) < release_tuple(needed):
        return Check(
            AREA,
            "PHP version",
            _level_verdict(node.get("level") if node is not None else None),
            f"Moodle {tree.branch_key} needs PHP {needed}; this server has {php.version}",
            f"install PHP {needed} or later",
        )
    return Check(AREA, "PHP version", "ok", f"PHP {php.version} (needs {needed or 'any'})")


def _extensions(element: ET.Element, php: PhpFacts) -> list[Check]:
    checks = []
    for node in element.iter("PHP_EXTENSION"):
        name = str(node.get("name") or "")
        if name and name.lower() not in php.extensions:
            checks.append(
                Check(
                    AREA,
                    f"PHP extension {name}",
                    _level_verdict(node.get("level")),
                    f"PHP extension {name} ({node.get('level')}) is not loaded",
                    f"install it (Debian: php-{name})",
                )
            )
    if not checks:
        checks.append(Check(AREA, "PHP extensions", "ok", "every extension it names is loaded"))
    return checks


def _settings(element: ET.Element, php: PhpFacts) -> list[Check]:
    checks = []
    for node in element.iter("PHP_SETTING"):
        name, wanted = str(node.get("name") or ""), str(node.get("value") or "")
        have = php.settings.get(name)
        if not _setting_ok(have, wanted):
            checks.append(
                Check(
                    AREA,
                    f"PHP setting {name}",
                    _level_verdict(node.get("level")),
                    f"{name} is {have!r}; Moodle wants {wanted}",
                    f"set {name} = {wanted} in php.ini",
                )
            )
    return checks


def _setting_ok(have: str | None, wanted: str) -> bool:
    if have is None:
        return False
    if wanted[-1:].upper() in "KMG" and wanted[:-1].isdigit():
        return have == "-1" or _bytes(have) >= _bytes(wanted)
    return have.strip().lower() in {wanted.lower(), "on" if wanted == "1" else wanted.lower()}


def _bytes(value: str) -> int:
    value = value.strip().upper()
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if value[-1:] in units and value[:-1].isdigit():
        return int(value[:-1]) * units[value[-1]]
    return int(value) if value.lstrip("-").isdigit() else 0


# --- Moodle's own check, run against the site -------------------------------------


def checks_from_moodle(results: Sequence[Mapping[str, Any]]) -> list[Check]:
    """Moodle's environment results -> checks (failures only, and one "ok" line)."""
    checks = []
    for result in results:
        failed = not result.get("status") or result.get("restricted") or result.get("error_code")
        if not failed or result.get("bypassed"):
            continue
        checks.append(_from_result(result))
    if not any(c.verdict == "blocker" for c in checks):
        passed = sum(1 for r in results if r.get("status"))
        checks.append(
            Check(
                AREA,
                "Moodle's environment check",
                "ok",
                f"{passed} of {len(results)} checks passed; nothing required fails",
            )
        )
    return checks


def _from_result(result: Mapping[str, Any]) -> Check:
    part, info = str(result.get("part") or ""), str(result.get("info") or "")
    title = f"{part.replace('_', ' ')} {info}".strip()
    current, needed = result.get("current"), result.get("needed")
    cause = f"{title}: needs {needed}" if needed else f"{title}: not met"
    cause += f", found {current}" if current else ""
    if result.get("error_code"):
        cause += f" (error {result['error_code']})"
    feedback = str(result.get("feedback") or "").strip()
    return Check(
        AREA,
        title,
        _level_verdict(str(result.get("level") or "required")),
        cause,
        feedback or "see Moodle's Site administration > Server > Environment",
    )
