"""Area ``plugins``: every plugin the site has installed, as Moodle's plugin manager sees
it (``php/site_plugins.php`` against a local site's code, one run).

Keys: ``plugins/<component>/version`` (the database's version), ``.../release`` (the
code's release: none when the code is gone), ``.../enabled`` (true, false, or none when
the plugin type has no such notion) and ``.../status`` (Moodle's: ``uptodate``,
``missing`` when the code is gone...).  Across an upgrade: a plugin installed appears,
one Moodle uninstalled disappears, one left without code turns ``missing``.

No web-service function lists a site's plugins: a remote site gets a note instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from moodle_regress.observation import Normaliser, Observation, make_key
from moodle_regress.observe.registry import Answers, Context, Observer, register
from moodle_regress.phprun import run_php_script

AREA = "plugins"
SCRIPT = "site_plugins.php"
REMOTE_NOTE = (
    "plugins: not observed (no web-service function lists a site's plugins; the area "
    "needs the site's code and database on this machine)"
)


class Output(Protocol):
    def add(self, key: str, value: Any, *, ordered: bool = False) -> None: ...


def gather(code_dir: Path, *, log: Path | None = None) -> Any:
    """The site's plugins (one PHP run against its code)."""
    return run_php_script(code_dir, SCRIPT, {}, log=log, timeout=300)


def observe(gathered: Mapping[str, Any], out: Output) -> None:
    """``site_plugins.php``'s answer -> observations of the installed plugins."""
    for plugin in gathered.get("plugins") or []:
        if plugin.get("versiondb") is None:
            continue  # code without a database version: not installed
        component = str(plugin["component"])
        out.add(make_key(AREA, component, "version"), plugin["versiondb"])
        out.add(make_key(AREA, component, "release"), plugin.get("release"))
        out.add(make_key(AREA, component, "enabled"), plugin.get("enabled"))
        out.add(make_key(AREA, component, "status"), plugin.get("status"))


class _Collected:
    def __init__(self, release: str) -> None:
        self.items: list[Observation] = []
        self.release = release
        self.normaliser = Normaliser()

    def add(self, key: str, value: Any, *, ordered: bool = False) -> None:
        self.items.append(
            self.normaliser.observation(key, value, release=self.release, ordered=ordered)
        )


def observe_local(
    code_dir: Path, *, release: str = "", log: Path | None = None
) -> list[Observation]:
    """The area's observations of the local site whose code is ``code_dir``."""
    out = _Collected(release)
    observe(gather(code_dir, log=log), out)
    return out.items


# --- the area's step: one PHP run against a local site's code -------------------------


def _gather(ctx: Context) -> Any:
    assert ctx.code_dir is not None
    return gather(ctx.code_dir, log=ctx.php_log)


def _observe(_ctx: Context, answers: Answers, out: Output) -> None:
    observe(answers.gathered, out)


PLUGINS = register(
    Observer(
        name="plugins",
        area=AREA,
        needs=("site",),
        local=True,
        remote_note=REMOTE_NOTE,
        gather=_gather,
        observe=_observe,
    )
)
