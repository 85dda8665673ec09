"""What the seeder learns about a site: its course formats, and, for a local sandbox, a
way to do what no web-service function can (enable enrolment methods)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodle_regress import plugins
from moodle_regress.phprun import run_php_script
from moodle_regress.seeding.plan import Plan
from moodle_ws import MoodleClient


@dataclass(frozen=True)
class LocalSite:
    """A site whose code tree is on this machine (a sandbox)."""

    code_dir: Path
    webroot: Path
    #: Where the output of PHP run against the site goes.
    log: Path | None = None

    def enable_enrol_methods(self, courses: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Enable self/guest instances with their keys (``php/enrol_methods.php``)."""
        result: dict[str, int] = run_php_script(
            self.code_dir,
            "enrol_methods.php",
            {"courses": list(courses)},
            log=self.log,
            timeout=300,
        )
        return result


def installed_formats(
    client: MoodleClient, local: LocalSite | None = None, plan: Plan | None = None
) -> list[str]:
    """Course formats installed on the site, core ones first (see :mod:`moodle_regress.plugins`).

    On a remote site the formats ``plan`` names are probed too, beside the known ones.
    """
    if local is not None:
        return plugins.installed_formats(client, local.code_dir)
    found = plugins.installed_formats(client)
    wanted = sorted(set(plan_formats(plan)) - set(found)) if plan is not None else []
    extra = plugins.probe_plugins(client, "format", wanted) if wanted else {}
    return plugins.with_core_first(plugins.CORE_FORMATS, [*found, *extra])


def plan_formats(plan: Plan) -> list[str]:
    """The course formats a plan names (``formats: all`` names none)."""
    names = [c.format for c in plan.courses]
    for spec in plan.generate.courses:
        if isinstance(spec.formats, list):
            names += spec.formats
    return names
