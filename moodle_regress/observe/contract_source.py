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

import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from moodle_regress.observation import Observation
from moodle_regress.observe.contract import contract_observations
from moodle_regress.sandbox.codetree import CodeTree, inspect_tree, short_release
from moodle_regress.sandbox.manager import Sandbox, SandboxManager
from moodle_regress.sandbox.moodle import php_args, render_config_php
from moodle_regress.site import SiteDescriptor

SCRIPT = "contract.php"
_RESULT = "MOODLE_REGRESS_RESULT "
_ERROR = "MOODLE_REGRESS_ERROR "


class ContractError(Exception):
    """The contract cannot be read (no code to read it from, or the PHP run failed)."""


def run_contract_script(config: Path, cwd: Path, *, log: Path | None = None) -> dict[str, Any]:
    """Run ``contract.php`` against the Moodle that ``config`` bootstraps."""
    script = resources.files("moodle_regress") / "php" / SCRIPT
    with resources.as_file(script) as path:
        done = subprocess.run(
            [*php_args(), str(path)],
            input=json.dumps({"config": str(config)}),
            capture_output=True,
            text=True,
            cwd=str(cwd),
            timeout=600,
            check=False,
        )
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(done.stdout[-20000:] + done.stderr)
    for line in done.stdout.splitlines():
        if line.startswith(_RESULT):
            result: dict[str, Any] = json.loads(line[len(_RESULT) :])
            return result
    tail = " / ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
    raise ContractError(f"reading the web-service contract failed: {tail or 'no output'}")


def read_sandbox_contract(code_dir: Path, *, log: Path | None = None) -> dict[str, Any]:
    """The contract of a sandbox: its own code and config.php."""
    return run_contract_script(code_dir / "config.php", code_dir, log=log)


def _same_version(manager: SandboxManager, tree: CodeTree) -> Sandbox | None:
    for status in manager.list():
        box = manager.sandbox(status.name)
        state = box.state()
        if state.version == str(tree.version) and state.release == tree.release:
            return box
    return None


@contextmanager
def site_for_tree(manager: SandboxManager, tree: CodeTree) -> Iterator[Sandbox]:
    """An installed site of the tree's version, its database running; one this brought
    up or started is stopped afterwards (and kept for the next time)."""
    box = _same_version(manager, tree)
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
    """A config.php that runs ``tree``'s code on ``box``'s database, with a temporary
    dataroot (caches of one tree never meet the other's)."""
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
        )
        config = folder / "config.php"
        config.write_text(text)
        config.chmod(0o600)
        yield config


def read_tree_contract(
    code: Path, manager: SandboxManager, *, log: Path | None = None
) -> dict[str, Any]:
    """The contract of the code tree at ``code`` (see the module's docstring)."""
    tree = inspect_tree(code)
    with site_for_tree(manager, tree) as box, throwaway_config(box, tree) as config:
        return run_contract_script(config, tree.root, log=log)


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
