"""Which installed site lends its database to the contract read of a code tree."""

from __future__ import annotations

from pathlib import Path

from moodle_regress.config import Settings
from moodle_regress.observe.contract_source import same_version_sandbox
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.manager import SandboxManager, SandboxState
from tests.unit.sandbox_fakes import make_tree
from tests.unit.test_sandbox_db import OLD_STATE


def _save(manager: SandboxManager, name: str, tmp_path: Path, **changes: object) -> None:
    box = manager.sandbox(name)
    box.root.mkdir(parents=True)
    data = {**OLD_STATE, "name": name, "code_source": str(tmp_path / "code")}
    data.update({"version": "2024100706.00", **changes})  # as install records it
    box.save_state(SandboxState.model_validate(data))


def test_a_half_made_sandbox_of_the_same_release_is_passed_over(tmp_path: Path) -> None:
    # Found in CI: a rehearsal's fresh install of a release with a failing plugin stops
    # short; the contract read then picked it (first by name) and could not start it.
    manager = SandboxManager(Settings(home=tmp_path / "home", config_file=tmp_path / "none.toml"))
    tree = inspect_tree(make_tree(tmp_path / "code"))
    _save(manager, "a-fresh", tmp_path, unfinished="installing")
    _save(manager, "b-other-release", tmp_path, version="2025041400", release="5.0 (Build: 1)")
    _save(manager, "c-usable", tmp_path)
    chosen = same_version_sandbox(manager, tree)
    assert chosen is not None and chosen.name == "c-usable"


def test_no_usable_sandbox_of_the_release_means_none(tmp_path: Path) -> None:
    manager = SandboxManager(Settings(home=tmp_path / "home", config_file=tmp_path / "none.toml"))
    tree = inspect_tree(make_tree(tmp_path / "code"))
    _save(manager, "a-fresh", tmp_path, unfinished="installing")
    assert same_version_sandbox(manager, tree) is None
