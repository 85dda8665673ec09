"""Shared live sites for tests: one sandbox per release, ``live-<release>`` on
PostgreSQL, and ``live-<release>-<engine>`` on another engine where a test asks
for one (``live-4.5-mariadb``).  Tests name a site by its key: "4.5", "4.5-mariadb".

Pytest workers (xdist) and separate pytest runs share them: the first one to ask
brings the sandbox up (or starts it when stopped) under a file lock, the others wait
for it and reuse it.  Tests must not change site-wide settings on these sites; tests
that need to, bring up a sandbox of their own.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock

from moodle_regress.config import Settings, load_settings
from moodle_regress.sandbox.db import DEFAULT_ENGINE, ENGINE_NAMES
from moodle_regress.sandbox.errors import SandboxError
from moodle_regress.sandbox.manager import SandboxManager
from moodle_regress.site import SiteDescriptor

RELEASES = ("4.5", "5.0", "5.1")


def skip_reason(release: str) -> str:
    env = "MOODLE_REGRESS_CODE_" + release.replace(".", "_")
    return (
        f"no Moodle {release} code tree configured: set {env} or [code_trees] in "
        "~/.config/moodle-regress/config.toml (see README, Live tests)"
    )


def moodle_code_tree(release: str, settings: Settings | None = None) -> Path | None:
    """The configured code tree for ``release``, if it exists on disk."""
    tree = (settings or load_settings()).code_tree(release)
    return tree if tree is not None and tree.is_dir() else None


def split_site_key(key: str) -> tuple[str, str]:
    """ "4.5" -> ("4.5", "postgres"); "4.5-mariadb" -> ("4.5", "mariadb")."""
    release, _, engine = key.partition("-")
    engine = engine or DEFAULT_ENGINE
    if engine not in ENGINE_NAMES:
        raise LookupError(f"{key!r}: no database engine {engine!r} (one of {ENGINE_NAMES})")
    return release, engine


def live_site_name(key: str) -> str:
    """The shared sandbox's name: ``live-4.5``, ``live-4.5-mariadb``."""
    release, engine = split_site_key(key)
    return f"live-{release}" if engine == DEFAULT_ENGINE else f"live-{release}-{engine}"


def ensure_live_site(key: str, settings: Settings | None = None) -> SiteDescriptor:
    """The running shared sandbox's descriptor for ``key`` ("4.5", "4.5-mariadb"),
    bringing it up or starting it as needed.  Raises :class:`LookupError` when no
    code tree is configured for the release."""
    settings = settings or load_settings()
    release, engine = split_site_key(key)
    tree = moodle_code_tree(release, settings)
    if tree is None:
        raise LookupError(skip_reason(release))
    manager = SandboxManager(settings, quiet=True)
    name = live_site_name(key)
    settings.sandboxes_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(settings.sandboxes_dir / f".{name}.fixture.lock"), timeout=900):
        box = manager.sandbox(name)
        if box.exists():
            state = box.state()
            if not state.release.startswith(release) or state.db.engine != engine:
                raise SandboxError(
                    f"the shared sandbox {name} runs Moodle {state.release} on "
                    f"{state.db.engine}, not {release} on {engine}",
                    f"destroy it (`moodle-regress sandbox destroy {name}`); the tests bring it "
                    "up again",
                )
            status = box.status()
            if not status.running:
                return box.start()
            return box.descriptor()
        if box.root.exists():
            box.destroy()  # the remains of a failed `up`
        return manager.up(name, tree, engine=engine)
