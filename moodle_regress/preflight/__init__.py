"""Preflight: will this upgrade work, and what will it take away, before anything is touched.

:func:`preflight_site` reads a site on this machine (a sandbox or an imported site:
Moodle's plugin manager and environment check, one PHP run); :func:`preflight_code`
reads the code tree a fresh site would start from.  Both read the target tree's
``version.php`` files and its ``lib/db/upgrade.php`` (what Moodle uninstalls itself)
and return a :class:`PreflightReport`: checks with a verdict (ok, warning, blocker),
their cause and fix, and every plugin's fate with what of its data goes.
"""

from moodle_regress.preflight.model import (
    Check,
    PluginFate,
    PreflightBlocked,
    PreflightError,
    PreflightReport,
)
from moodle_regress.preflight.render import preflight_html, print_preflight
from moodle_regress.preflight.run import preflight_code, preflight_site

__all__ = [
    "Check",
    "PluginFate",
    "PreflightBlocked",
    "PreflightError",
    "PreflightReport",
    "preflight_code",
    "preflight_html",
    "preflight_site",
    "print_preflight",
]
