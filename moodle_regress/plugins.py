"""Which plugins a site has: the one place that knows.

- A local site (a sandbox) has its code tree on this machine: the tree says, without
  a call (:func:`tree_plugins`, by plugin type, subplugins included; Moodle's own
  ``lib/components.json`` names where each type lives).
- A remote site: no web-service function lists plugins, so candidate names are
  probed (:func:`probe_plugins`): ``core_get_string(<type>_<name>, pluginname)``
  answers the plugin's display name, or ``[[pluginname]]`` when it is not installed.
- Plugins the database knows but the code lacks (after an upgrade to a tree without
  them) come from Moodle's plugin manager in ``php/configure.php``.

>>> tree_plugins(Path("/srv/moodle/4.5"))["theme"]        # doctest: +SKIP
['boost', 'classic', 'moove']
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodle_ws import MoodleError

if TYPE_CHECKING:
    from moodle_regress.site import SiteDescriptor
    from moodle_ws import MoodleClient

log = logging.getLogger(__name__)

#: Themes and course formats every supported Moodle (4.5 to 5.1) ships.
CORE_THEMES = ("boost", "classic")
CORE_FORMATS = ("topics", "weeks", "singleactivity", "social")

#: Third-party course formats probed on sites whose code the tool cannot see.
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

#: Third-party themes probed on sites whose code the tool cannot see (beside the core
#: ones and the site's own).
KNOWN_EXTRA_THEMES = (
    "academi",
    "adaptable",
    "almondb",
    "boost_union",
    "classy",
    "degrade",
    "edumy",
    "fordson",
    "klass",
    "moove",
    "snap",
    "trema",
)

#: The web-service function a probe calls.
PROBE_FUNCTION = "core_get_string"


def tree_plugins(code_dir: Path) -> dict[str, list[str]]:
    """Plugin type -> sorted names of every plugin in the Moodle code tree at ``code_dir``."""
    from moodle_regress.sandbox.codetree import inspect_tree

    by_type: dict[str, list[str]] = {}
    for component in sorted(inspect_tree(code_dir).plugins):
        plugin_type, name = component.split("_", 1)
        by_type.setdefault(plugin_type, []).append(name)
    return by_type


def site_code_dir(descriptor: SiteDescriptor) -> Path | None:
    """The code tree of a local site (a sandbox), or None for a site elsewhere."""
    return descriptor.sandbox.code_dir if descriptor.sandbox is not None else None


def local_plugins(descriptor: SiteDescriptor) -> dict[str, list[str]]:
    """A sandbox's plugins by type (from its code tree); empty for a remote site."""
    code_dir = site_code_dir(descriptor)
    return tree_plugins(code_dir) if code_dir is not None else {}


def with_core_first(core: Iterable[str], found: Iterable[str]) -> list[str]:
    """The core names in their order, then the others sorted."""
    first = list(core)
    return first + sorted(set(found) - set(first))


def local_formats(code_dir: Path) -> list[str]:
    """Course formats in a code tree: the core ones first, then the others sorted."""
    return with_core_first(CORE_FORMATS, tree_plugins(code_dir).get("format", []))


def probe_call(plugin_type: str, name: str) -> tuple[str, dict[str, Any]]:
    """The call that tells whether ``<plugin_type>_<name>`` is installed: (function, params)."""
    return PROBE_FUNCTION, {"component": f"{plugin_type}_{name}", "stringid": "pluginname"}


def display_name(answer: Any) -> str | None:
    """A probe's answer -> the plugin's display name, or None when it is not installed."""
    if isinstance(answer, str) and answer and not answer.startswith("[["):
        return answer
    return None


def probe_plugins(client: MoodleClient, plugin_type: str, names: Iterable[str]) -> dict[str, str]:
    """The installed plugins among ``names``, with their display names (probed concurrently)."""
    if not client.supports(PROBE_FUNCTION):
        return {}
    candidates = sorted(set(names))

    def probe(name: str) -> str | None:
        function, params = probe_call(plugin_type, name)
        try:
            return display_name(client.call(function, read=True, **params))
        except MoodleError as exc:
            log.debug("probing %s_%s: %s", plugin_type, name, exc)
            return None

    answers = client.map_concurrently(probe, candidates)
    return {name: shown for name, shown in zip(candidates, answers, strict=True) if shown}


def installed_formats(client: MoodleClient, code_dir: Path | None = None) -> list[str]:
    """Course formats installed on the site, the core ones first, then the others sorted.

    From the code tree when the site is local (``code_dir``), else by probing the
    known third-party formats.
    """
    if code_dir is not None:
        return local_formats(code_dir)
    return with_core_first(CORE_FORMATS, probe_plugins(client, "format", KNOWN_EXTRA_FORMATS))


def installed_themes(client: MoodleClient, code_dir: Path | None = None) -> list[str]:
    """Themes installed on the site, the core ones first, then the others sorted.

    From the code tree when the site is local (``code_dir``), else by probing the
    site's theme and the known third-party ones.
    """
    if code_dir is not None:
        return with_core_first(CORE_THEMES, tree_plugins(code_dir).get("theme", []))
    names = {*KNOWN_EXTRA_THEMES, str(client.site_info().get("theme") or CORE_THEMES[0])}
    return with_core_first(CORE_THEMES, probe_plugins(client, "theme", names))
