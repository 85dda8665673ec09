"""The rehearsal's schema and data check: which fresh install each site is compared
with, what it waits for, and the restored site's rows (readings recorded from real
sites, see test_schema_area.py; the installs themselves are stood in for)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from moodle_regress import integrity
from moodle_regress.config import Settings
from moodle_regress.integrity import FreshInstallError, IntegrityCheck, row_changes
from moodle_regress.observe.data import row_counts
from moodle_regress.observe.schema import SchemaReading
from moodle_regress.sandbox.dbschema import TimedReading
from moodle_regress.sandbox.errors import SandboxError
from moodle_regress.sandbox.manager import SandboxManager
from tests.unit.sandbox_fakes import make_tree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _load(name: str) -> SchemaReading:
    data: dict[str, Any] = json.loads((FIXTURES / "schema" / name).read_text())
    for table, rows in data["rows"].items():
        data["tables"].setdefault(table, {"columns": {}, "indexes": []})["rows"] = rows
    return SchemaReading.from_json(data)


SITE_A = _load("4.5.6-with-mrdrift-1-chat-survey.json")
UPGRADED = _load("5.0.6-upgraded-from-4.5.6-with-mrdrift-2.json")
FRESH_B = _load("5.0.6-fresh-with-mrdrift-2.json")


def _tree(root: Path, plugin: str) -> Path:
    """Folders whose fingerprints differ as trees A and B do."""
    (root / "local" / "mrdrift").mkdir(parents=True)
    source = FIXTURES / "moodle_plugins" / plugin / "version.php"
    (root / "local" / "mrdrift" / "version.php").write_bytes(source.read_bytes())
    return root


class Fixture:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tree_a = _tree(tmp_path / "a", "mrdrift-v1")
        self.tree_b = _tree(tmp_path / "b", "mrdrift-v2")
        self.release_install = threading.Event()
        self.installs: list[Path] = []
        self.left_out: list[tuple[str, ...]] = []
        readings = {"A": SITE_A, "B": UPGRADED, "restored": SITE_A}

        def read(code_dir: Path, **options: Any) -> TimedReading:
            return TimedReading(readings[options["source"]], 0.01)

        def install(
            _self: IntegrityCheck, tree: Path, _fingerprint: str, without: tuple[str, ...]
        ) -> SchemaReading:
            self.installs.append(tree)
            self.left_out.append(tuple(without))
            assert self.release_install.wait(10), "the test never let the install finish"
            return FRESH_B

        monkeypatch.setattr(integrity, "read_database", read)
        monkeypatch.setattr(IntegrityCheck, "_install", install)
        settings = Settings(home=tmp_path / "home", config_file=tmp_path / "config.toml")
        self.check = IntegrityCheck(SandboxManager(settings), log=tmp_path / "log")


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fixture:
    return Fixture(tmp_path, monkeypatch)


def test_site_a_does_not_wait_for_b_s_fresh_install(fx: Fixture) -> None:
    # B's fresh install runs in the background (here: until released) ...
    fx.check.prepare(fx.tree_b)
    # ... and site A, a fresh install of its own tree, is compared with itself at once.
    checked = fx.check.check_site("A", fx.tree_a / "copy", fx.tree_a, fresh_install=True)
    assert checked.schema_differences == 0
    assert checked.fresh_saved_before is True
    assert not any(part.startswith("waiting") for part in fx.check.seconds)
    fx.release_install.set()
    b = fx.check.check_site("B", fx.tree_b / "copy", fx.tree_b)
    fx.check.close()
    assert fx.installs == [fx.tree_b]
    assert b.fresh_saved_before is False
    # (The fixtures define a few tables only: the plugin's is one of them.)
    assert {o.key for o in b.observations if o.key.startswith("schema/local_mrdrift/")} == {
        "schema/local_mrdrift/local_mrdrift_items/columns/note",
        "schema/local_mrdrift/local_mrdrift_items/check_database_schema",
    }
    assert "waiting for the fresh install of b" in fx.check.seconds
    assert "fresh install of b" in fx.check.background
    assert "in the background: fresh install of b" in fx.check.summary()


def test_a_saved_fresh_install_is_not_made_again(fx: Fixture) -> None:
    fx.release_install.set()
    fx.check.check_site("B", fx.tree_b / "copy", fx.tree_b)
    again = IntegrityCheck(fx.check.manager, log=fx.check.log)
    checked = again.check_site("B", fx.tree_b / "copy", fx.tree_b)
    again.close()
    assert fx.installs == [fx.tree_b]
    assert checked.fresh_saved_before is True
    assert checked.fresh == FRESH_B


def test_b_s_fresh_install_leaves_out_the_plugins_the_upgrade_left_out(
    fx: Fixture, tmp_path: Path
) -> None:
    # `rehearse --to TREE --without-plugin X`: the upgrade leaves X out of the site's
    # code, and so must the fresh install of TREE it is compared with (it installed X,
    # whose install step fails, and the schema stage failed).
    fx.release_install.set()
    tree = make_tree(tmp_path / "b51", public=True)
    fx.check.prepare(tree, ("mod_forum",))
    fx.check.check_site("B", tree / "copy", tree, without=("mod_forum",))
    fx.check.close()
    assert (fx.installs, fx.left_out) == ([tree], [("mod_forum",)])
    # What was installed is the tree without X: a tree that never had X shares it.
    stock = make_tree(tmp_path / "stock", public=True)
    shutil.rmtree(stock / "public" / "mod" / "forum")
    again = IntegrityCheck(fx.check.manager, log=fx.check.log)
    assert again.check_site("B", stock / "copy", stock).fresh_saved_before is True
    again.close()
    assert fx.installs == [tree]


def test_the_fresh_install_sandbox_is_brought_up_without_those_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[dict[str, Any]] = []

    def up(_self: SandboxManager, name: str, code_dir: Path, **options: Any) -> None:
        asked.append(options)
        raise SandboxError("stopped by the test", "none")

    monkeypatch.setattr(SandboxManager, "up", up)
    settings = Settings(home=tmp_path / "home", config_file=tmp_path / "config.toml")
    check = IntegrityCheck(SandboxManager(settings), log=tmp_path / "log")
    tree = make_tree(tmp_path / "b51", public=True)
    with pytest.raises(FreshInstallError, match="stopped by the test"):
        check._install(tree, "f" * 64, ("mod_forum",))
    assert asked == [{"engine": "postgres", "without": ("mod_forum",)}]


def test_dropped_tables_keep_the_component_they_had(fx: Fixture) -> None:
    fx.release_install.set()
    fx.check.check_site("A", fx.tree_a / "copy", fx.tree_a, fresh_install=True)
    b = fx.check.check_site("B", fx.tree_b / "copy", fx.tree_b)
    # 5.0's code declares no chat table any more; A's did.
    assert "mod_chat" not in set(UPGRADED.components.values())
    removed_in_b = {o.key for o in row_counts(SITE_A)} - {o.key for o in b.observations}
    assert "data/mod_chat/chat_messages/rows" in removed_in_b


def test_a_restored_site_may_gain_rows_but_not_lose_any() -> None:
    before = row_counts(SITE_A)
    same = row_changes(before, before)
    assert same.lost == [] and same.grown == []
    after = row_counts(UPGRADED)
    changes = row_changes(before, after)
    assert "chat_messages: 3 -> no table" in changes.lost
    assert any(item.startswith("logstore_standard_log: ") for item in changes.grown)
