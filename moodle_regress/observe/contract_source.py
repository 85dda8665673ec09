"""Where the web-service contract is read: a sandbox's code, or a code tree given with
``--code`` for a site that is not a sandbox.

``contract.php`` needs Moodle bootstrapped: some functions describe their parameters
with the site's settings (``get_config()``) or its constants (``SITEID``), so a bare
class-loading bootstrap cannot describe them (52 of 754 functions of 5.0 fail that
way).  A site whose code tree is given with ``--code`` is therefore described by that
code running against an installed site *of the same version*: a throwaway
``config.php`` (in a temporary folder, with a temporary dataroot) points the tree's
``lib/setup.php`` at the database of a sandbox made from the same release (an existing
one, or one brought up for the purpose and left stopped for the next time).  The script
only reads; the function list comes from the code's ``db/services.php`` files, so the
borrowed database only answers the settings.  Defaults that follow a site's settings
are therefore those of a fresh install, not the real site's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moodle_regress.observation import Observation
from moodle_regress.observe.contract import contract_observations
from moodle_regress.phprun import PhpScriptError, run_php_script
from moodle_regress.sandbox.codetree import CodeTree, inspect_tree, short_release
from moodle_regress.sandbox.manager import Sandbox, SandboxManager
from moodle_regress.sandbox.moodle import render_config_php
from moodle_regress.site import SiteDescriptor

SCRIPT = "contract.php"


def run_contract_script(folder: Path, *, log: Path | None = None) -> dict[str, Any]:
    """Run ``contract.php`` against the Moodle that ``folder/config.php`` bootstraps."""
    result = run_php_script(folder, SCRIPT, log=log)
    if not isinstance(result, dict) or not isinstance(result.get("functions"), dict):
        raise PhpScriptError(f"{SCRIPT} answered no function list", f"see {log}" if log else None)
    return result


def read_sandbox_contract(code_dir: Path, *, log: Path | None = None) -> dict[str, Any]:
    """The contract of a sandbox: its own code and config.php."""
    return run_contract_script(code_dir, log=log)


def same_version_sandbox(manager: SandboxManager, tree: CodeTree) -> Sandbox | None:
    """A usable sandbox of the tree's release, one whose database runs first.

    A sandbox left half-made (an install, upgrade or restore that stopped short, such as
    the fresh install of a release whose plugin fails) cannot be started, so it is passed
    over rather than failing the read.
    """
    found: list[tuple[bool, Sandbox]] = []
    for status in manager.list():
        if status.unusable:
            continue
        box = manager.sandbox(status.name)
        state = box.state()
        if state.version == str(tree.version) and state.release == tree.release:
            found.append((status.db_running, box))
    found.sort(key=lambda pair: not pair[0])  # stable: running first, else by name
    return found[0][1] if found else None


@contextmanager
def site_for_tree(manager: SandboxManager, tree: CodeTree) -> Iterator[Sandbox]:
    """An installed site of the tree's version, its database running; one this brought
    up or started is stopped afterwards (and kept for the next time)."""
    box = same_version_sandbox(manager, tree)
    ours = box is None or not box.status().db_running
    if box is None:
        name = f"contract-{tree.branch}-{str(tree.version).replace('.', '-')}"
        manager.up(name, tree.root)
        box = manager.get(name)
    elif ours:
        box.start()
    try:
        yield box
    finally:
        if ours:
            box.stop()


@contextmanager
def throwaway_config(box: Sandbox, tree: CodeTree) -> Iterator[Path]:
    """A folder holding a config.php that runs ``tree``'s code on ``box``'s database,
    with a temporary dataroot (caches of one tree never meet the other's)."""
    state = box.state()
    with tempfile.TemporaryDirectory(prefix="moodle-regress-contract-") as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        text = render_config_php(
            name=f"{box.root.name} (contract of {tree.root})",
            db=state.db,
            wwwroot=box.url(state),
            dataroot=folder / "data",
            layout=tree.layout,
            setup=tree.root / "lib" / "setup.php",
            pin_backend=state.private_db,
        )
        config = folder / "config.php"
        config.write_text(text)
        config.chmod(0o600)
        yield folder


def read_tree_contract(
    code: Path, manager: SandboxManager, *, log: Path | None = None
) -> dict[str, Any]:
    """The contract of the code tree at ``code`` (see the module's docstring)."""
    tree = inspect_tree(code)
    with site_for_tree(manager, tree) as box, throwaway_config(box, tree) as folder:
        return run_contract_script(folder, log=log)


def observe_contract(
    descriptor: SiteDescriptor,
    *,
    code: Path | None = None,
    manager: SandboxManager | None = None,
    log: Path | None = None,
) -> tuple[list[Observation], list[str]]:
    """The ``contract`` observations of a site, and notes on how they were read.

    From ``code`` when given (see :func:`read_tree_contract`), else from the sandbox's own
    code; a site that is neither gets no contract observations and a note saying why.
    """
    if code is not None:
        answer = read_tree_contract(code, manager or SandboxManager(quiet=True), log=log)
    elif descriptor.sandbox is not None:
        answer = read_sandbox_contract(descriptor.sandbox.code_dir, log=log)
    else:
        return [], [
            "web-service contract not observed: the site is not a sandbox; give the code "
            "tree of its release with --code"
        ]
    release = str(answer.get("release") or "")
    notes = []
    site_release = descriptor.release or ""
    if code is not None and site_release and short_release(site_release) != short_release(release):
        notes.append(
            f"web-service contract read from the code of {release} at {code}; "
            f"the site runs {site_release}"
        )
    return contract_observations(answer, release), notes
