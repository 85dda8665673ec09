"""Shared live sites for tests: one sandbox per release, ``live-<release>``.

Pytest workers (xdist) and separate pytest runs share them: the first one to ask
brings the sandbox up (or starts it when stopped) under a file lock, the others wait
for it and reuse it.  Tests must not change site-wide settings on these sites; tests
that need to, bring up a sandbox of their own.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock

from moodle_regress.config import Settings, load_settings
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


def live_site_name(release: str) -> str:
    return f"live-{release}"


def ensure_live_site(release: str, settings: Settings | None = None) -> SiteDescriptor:
    """The running ``live-<release>`` sandbox's descriptor, bringing it up or
    starting it as needed.  Raises :class:`LookupError` when no code tree is
    configured for ``release``."""
    settings = settings or load_settings()
    tree = moodle_code_tree(release, settings)
    if tree is None:
        raise LookupError(skip_reason(release))
    manager = SandboxManager(settings, quiet=True)
    name = live_site_name(release)
    settings.sandboxes_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(settings.sandboxes_dir / f".{name}.fixture.lock"), timeout=900):
        box = manager.sandbox(name)
        if box.exists():
            state = box.state()
            if not state.release.startswith(release):
                raise SandboxError(
                    f"the shared sandbox {name} runs Moodle {state.release}, not {release}",
                    f"destroy it (`moodle-regress sandbox destroy {name}`); the tests bring it "
                    "up again",
                )
            status = box.status()
            if not status.running:
                return box.start()
            return box.descriptor()
        if box.root.exists():
            box.destroy()  # the remains of a failed `up`
        return manager.up(name, tree)
