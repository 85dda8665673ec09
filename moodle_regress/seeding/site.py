"""What the seeder learns about a site: its course formats, and, for a local sandbox, a
way to do what no web-service function can (enable enrolment methods)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodle_regress import plugins
from moodle_regress.phprun import run_php_script
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


def installed_formats(client: MoodleClient, local: LocalSite | None = None) -> list[str]:
    """Course formats installed on the site, core ones first (see :mod:`moodle_regress.plugins`)."""
    return plugins.installed_formats(client, local.code_dir if local is not None else None)
