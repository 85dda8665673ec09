"""The preflight as the rehearsal's first stage, and again just before its upgrade.

1. Before any sandbox is made, on the code trees (:func:`before_sandbox`): a blocker
   (a downgrade, a plugin Moodle would refuse...) stops the rehearsal at once.
2. On the seeded sandbox, just before the backup and the upgrade
   (:func:`before_upgrade`): Moodle's plugin manager and environment check, and the
   counts of what the upgrade removes.

Each writes ``<out>/preflight.json`` (the second replaces the first); then
:func:`stop_if_blocked` raises :class:`PreflightBlocked` on a blocker unless
``force``.  After the upgrade, Moodle's upgrade log is kept in ``<out>``
(:func:`keep_upgrade_log`), whatever happens to the sandbox.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from moodle_regress.expected import ExpectedChanges
from moodle_regress.files import write_json_atomic
from moodle_regress.preflight.model import PreflightBlocked, PreflightReport
from moodle_regress.preflight.run import preflight_code, preflight_site
from moodle_regress.sandbox.errors import UpgradeFailedError
from moodle_regress.site import SiteDescriptor

REPORT_NAME = "preflight.json"
UPGRADE_LOG_NAME = "upgrade.log"


def before_sandbox(
    code_from: Path,
    code_to: Path,
    out: Path,
    *,
    engine: str,
    without: Sequence[str] = (),
) -> PreflightReport:
    report = preflight_code(code_from, code_to, engine=engine, without=without)
    write_json_atomic(out / REPORT_NAME, report.to_json())
    return report


def before_upgrade(
    descriptor: SiteDescriptor,
    code_to: Path,
    out: Path,
    *,
    without: Sequence[str] = (),
) -> PreflightReport:
    report = preflight_site(descriptor, code_to, without=without, log=out / "preflight-php.log")
    write_json_atomic(out / REPORT_NAME, report.to_json())
    return report


def stop_if_blocked(report: PreflightReport, *, force: bool) -> None:
    if report.blockers and not force:
        raise PreflightBlocked(report)


def keep_upgrade_log(log: Path | None, out: Path) -> Path | None:
    """Copy Moodle's upgrade log into ``out`` (the sandbox may be destroyed later)."""
    if log is None or not log.is_file():
        return None
    kept = out / UPGRADE_LOG_NAME
    shutil.copyfile(log, kept)
    return kept


def failed_upgrade(exc: UpgradeFailedError, kept_log: Path | None) -> str:
    """One line: what failed, Moodle's own words, where the log is, and the next step."""
    text = exc.message
    if kept_log is not None and exc.log is not None:
        text = text.replace(str(exc.log), str(kept_log))
    if exc.component and exc.component != "core":
        text += f"; rehearse again without it: --without-plugin {exc.component}"
    return text


#: What a plugin's fate makes of its observations in the ``plugins`` area.
_FATE_CHANGES = {"uninstalled": "removed", "dropped": "removed", "missing": "changed"}


def expected_rules(report: PreflightReport) -> ExpectedChanges:
    """The differences the preflight foretold, as expected changes whose reason is the
    preflight's finding: the plugins Moodle uninstalls disappear from the ``plugins``
    area, those left without code turn ``missing``.  They still show in the report."""
    causes = {c.component: c.cause for c in report.checks if c.component}
    entries = [
        {
            "key": f"plugins/{plugin.component}/*",
            "change": _FATE_CHANGES[plugin.fate],
            "reason": "foretold by the preflight: "
            + causes.get(plugin.component, causes.get(f"{plugin.group}_*", plugin.fate)),
        }
        for plugin in report.plugins
        if plugin.fate in _FATE_CHANGES
    ]
    return ExpectedChanges.parse(yaml.safe_dump({"expected": entries}), source="the preflight")
