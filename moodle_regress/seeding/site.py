"""What the seeder learns about a site: installed course formats, and, for a local
sandbox, a way to do what no web-service function can (enable enrolment methods)."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from moodle_regress.seeding.plan import CORE_FORMATS
from moodle_ws import MoodleClient, MoodleError

log = logging.getLogger(__name__)

_RESULT = "MOODLE_REGRESS_RESULT "

#: Third-party formats probed on sites whose code the tool cannot see.
KNOWN_EXTRA_FORMATS = (
    "board",
    "buttons",
    "designer",
    "flexsections",
    "grid",
    "multitopic",
    "onetopic",
    "remuiformat",
    "tiles",
    "topcoll",
    "ludic",
)


class LocalSiteError(Exception):
    """Running PHP against a local sandbox's code failed."""


@dataclass(frozen=True)
class LocalSite:
    """A site whose code tree is on this machine (a sandbox)."""

    code_dir: Path
    webroot: Path

    @property
    def config_php(self) -> Path:
        # config.php sits at the tree's root in both layouts (5.1 has public/).
        return self.code_dir / "config.php"

    def formats_on_disk(self) -> list[str]:
        base = self.webroot / "course" / "format"
        return sorted(p.parent.name for p in base.glob("*/version.php"))

    def enable_enrol_methods(self, courses: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Enable self/guest instances with their keys (see ``php/enrol_methods.php``)."""
        from moodle_regress.sandbox.moodle import php_args

        payload = {"config": str(self.config_php), "courses": list(courses)}
        script = resources.files("moodle_regress.seeding") / "php" / "enrol_methods.php"
        with resources.as_file(script) as path:
            result = subprocess.run(
                [*php_args(), str(path)],
                input=json.dumps(payload),
                check=False,
                capture_output=True,
                text=True,
                cwd=str(self.code_dir),
                timeout=300,
            )
        for line in result.stdout.splitlines():
            if line.startswith(_RESULT):
                data: dict[str, int] = json.loads(line[len(_RESULT) :])
                return data
        tail = " / ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        raise LocalSiteError(f"enabling enrolment methods failed: {tail or 'no output'}")


def installed_formats(client: MoodleClient, local: LocalSite | None = None) -> list[str]:
    """Course formats installed on the site, core ones first, then the others sorted.

    No web-service function lists plugins.  For a local sandbox the code tree says;
    otherwise each known third-party format is probed through
    ``core_get_component_strings`` (an uninstalled plugin has no strings).
    """
    found = list(CORE_FORMATS)
    if local is not None:
        extras = [f for f in local.formats_on_disk() if f not in CORE_FORMATS]
    else:
        extras = [f for f in KNOWN_EXTRA_FORMATS if _has_strings(client, f"format_{f}")]
    return found + sorted(extras)


def _has_strings(client: MoodleClient, component: str) -> bool:
    if not client.supports("core_get_component_strings"):
        return False
    try:
        strings = client.call("core_get_component_strings", component=component, lang="en")
    except MoodleError as exc:
        log.debug("probing %s: %s", component, exc)
        return False
    return bool(strings)
