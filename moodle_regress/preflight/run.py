"""Running a preflight: read the site (or the code it starts from) and the target tree,
then judge the upgrade before anything is touched."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from moodle_regress.phprun import PhpScriptError, probe_php, run_php_script
from moodle_regress.plugins import site_code_dir
from moodle_regress.preflight.checks import SitePlugin, direction_checks, plugin_fates
from moodle_regress.preflight.environment import (
    checks_from_moodle,
    evaluate_xml,
    php_settings_wanted,
)
from moodle_regress.preflight.model import PreflightError, PreflightReport, Side
from moodle_regress.preflight.removals import core_removals, standard_plugins
from moodle_regress.preflight.trees import TreeVersions, number, read_versions
from moodle_regress.sandbox.codetree import CodeTree, inspect_tree
from moodle_regress.sandbox.db import DEFAULT_ENGINE
from moodle_regress.site import SiteDescriptor


def preflight_code(
    code: Path,
    target: Path,
    *,
    engine: str = DEFAULT_ENGINE,
    without: Sequence[str] = (),
    log: Path | None = None,
) -> PreflightReport:
    """Judge an upgrade of a fresh site of code tree ``code`` to ``target`` (no site yet:
    the environment is evaluated here, every plugin of ``code`` counts as installed)."""
    started = time.monotonic()
    source_tree, target_tree = inspect_tree(code), inspect_tree(target)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reading = pool.submit(read_versions, source_tree, log=log)
        target_versions = leave_out(read_versions(target_tree, log=log), without)
        source_versions = reading.result()
    standard = standard_plugins(source_tree)
    installed = {
        name: SitePlugin(name, info.version, info.release, standard=name in standard)
        for name, info in source_versions.plugins.items()
    }
    source = Side(
        code.name,
        source_tree.release,
        str(source_tree.version),
        source_tree.branch,
        source_versions.maturity,
        source="code",
    )
    report = _judge(source, installed, target_versions)
    _note_without(report, without)
    if not report.blockers:
        php = probe_php(php_settings_wanted(target_tree))
        report.checks[:0] = evaluate_xml(
            target_tree, source_release=source_tree.release, engine=engine, php=php
        )
    report.notes.append(
        f"read from the code tree {source_tree.root}: what the site will hold is counted "
        "once it exists (the rehearsal checks again before its upgrade)"
    )
    report.seconds = time.monotonic() - started
    return report


def preflight_site(
    site: SiteDescriptor, target: Path, *, without: Sequence[str] = (), log: Path | None = None
) -> PreflightReport:
    """Judge an upgrade of ``site`` (a sandbox or an imported site: its code and database
    on this machine) to ``target``: Moodle's plugin manager and environment check run
    against the site, in one PHP run."""
    started = time.monotonic()
    code_dir = site_code_dir(site)
    if code_dir is None:
        raise PreflightError(
            f"the site {site.name} is not on this machine: a preflight reads its database and code",
            "run it on a sandbox or an imported copy of the site (`moodle-regress sandbox`)",
        )
    target_tree = inspect_tree(target)
    target_versions = leave_out(read_versions(target_tree, log=log), without)
    data = read_site(code_dir, target_tree, target_versions, log=log)
    core = data["core"]
    installed = site_plugins(data)
    source = Side(
        site.name, str(core["release"]), str(core["version"]), str(core["branch"]), source="site"
    )
    report = _judge(source, installed, target_versions)
    _note_without(report, without)
    environment = data.get("environment") or {}
    report.checks[:0] = checks_from_moodle(environment.get("results") or [])
    database = data.get("database") or {}
    report.notes.append(
        f"read from the site's database ({database.get('vendor')} {database.get('version')}) "
        "through Moodle's plugin manager; environment: Moodle's own check of the target's "
        "environment.xml"
    )
    report.seconds = time.monotonic() - started
    return report


def leave_out(versions: TreeVersions, without: Sequence[str]) -> TreeVersions:
    """The target as the rehearsal will use it: without the plugins ``--without-plugin``
    names (each must be in the tree)."""
    unknown = [name for name in without if name not in versions.plugins]
    if unknown:
        raise PreflightError(
            f"--without-plugin {', '.join(unknown)}: no such plugin in {versions.tree.root}",
            "give the plugin's full name as the preflight lists it (theme_moove, local_x)",
        )
    plugins = {k: v for k, v in versions.plugins.items() if k not in without}
    return replace(versions, plugins=plugins)


def read_site(
    code_dir: Path, target: CodeTree, versions: TreeVersions, *, log: Path | None = None
) -> Any:
    """The site's plugins, the data of those the target lacks, and Moodle's environment
    check of the target (``php/site_plugins.php``, one run)."""
    with tempfile.TemporaryDirectory(prefix="moodle-regress-env-") as workdir:
        payload = {
            "target_components": sorted(versions.plugins),
            "environment": {
                "xml": str(target.environment_xml),
                "release": target.release,
                "workdir": workdir,
            },
        }
        try:
            return run_php_script(code_dir, "site_plugins.php", payload, log=log, timeout=300)
        except PhpScriptError as exc:
            raise PreflightError(
                f"reading the site's plugins failed: {exc.message}",
                exc.fix or "check that the site runs (`moodle-regress sandbox status`)",
            ) from None


def site_plugins(data: Mapping[str, Any]) -> dict[str, SitePlugin]:
    """The installed plugins (a database version) of ``site_plugins.php``'s answer."""
    usage = data.get("usage") or {}
    return {
        p["component"]: SitePlugin(
            component=p["component"],
            version=p["versiondb"],
            release=p.get("release"),
            standard=p.get("standard"),
            enabled=p.get("enabled"),
            parent=p.get("parent"),
            usage=usage.get(p["component"]) or {},
        )
        for p in data.get("plugins") or []
        if p.get("versiondb") is not None
    }


def _judge(
    source: Side, installed: Mapping[str, SitePlugin], target: TreeVersions
) -> PreflightReport:
    tree = target.tree
    target_side = Side(
        tree.root.name, tree.release, str(tree.version), tree.branch, target.maturity
    )
    report = PreflightReport(source=source, target=target_side)
    report.checks.extend(direction_checks(source, target_side, target))
    if report.blockers:
        report.notes.append("plugins not checked: Moodle refuses this upgrade anyway")
        return report
    removals = core_removals(tree, number(source.version))
    fates, checks = plugin_fates(installed, target, removals)
    report.plugins = fates
    report.checks.extend(checks)
    return report


def _note_without(report: PreflightReport, without: Sequence[str]) -> None:
    if without:
        report.notes.append(
            "left out of the target (--without-plugin): " + ", ".join(sorted(without))
        )
