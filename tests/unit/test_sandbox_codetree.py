from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from moodle_regress.sandbox.codetree import inspect_tree, release_tuple, short_release
from moodle_regress.sandbox.errors import NotMoodleTreeError
from tests.unit.sandbox_fakes import make_tree


def test_classic_layout_is_read(tmp_path: Path) -> None:
    tree = inspect_tree(make_tree(tmp_path / "m"))
    assert tree.layout == "classic"
    assert tree.dirroot == tree.root == tree.webroot == (tmp_path / "m").resolve()
    assert tree.version == Decimal("2024100706.00")
    assert tree.short_release == "4.5.6"
    assert tree.branch_key == "4.5"
    assert tree.cli("upgrade.php") == tree.root / "admin" / "cli" / "upgrade.php"
    assert tree.config_php == tree.root / "config.php"


def test_public_layout_keeps_config_and_cli_at_the_root(tmp_path: Path) -> None:
    tree = inspect_tree(
        make_tree(tmp_path / "m", branch="501", release="5.1.3 (Build: 1)", public=True)
    )
    assert tree.layout == "public"
    assert tree.webroot == tree.root / "public"
    assert tree.config_php == tree.root / "config.php"
    assert tree.cli("install_database.php").is_file()
    assert tree.branch_key == "5.1"


def test_requirements_come_from_the_trees_environment_xml(tmp_path: Path) -> None:
    tree = inspect_tree(make_tree(tmp_path / "m", requires="4.2.3", php="8.2.0", pg="14"))
    assert tree.upgrade_requires() == "4.2.3"
    assert tree.php_requirements() == ("8.2.0", ["iconv", "intl"])
    assert tree.database_requirement("postgres") == "14"
    assert tree.database_requirement("oracle") is None


def test_plugins_include_subplugins_and_skip_directories_without_version(tmp_path: Path) -> None:
    tree = inspect_tree(make_tree(tmp_path / "m", public=True, branch="501"))
    assert tree.plugins == {"mod_forum", "mod_assign", "theme_boost", "assignsubmission_file"}


def test_a_directory_that_is_not_moodle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("hello")
    with pytest.raises(NotMoodleTreeError, match="not a Moodle code tree") as info:
        inspect_tree(tmp_path)
    assert info.value.fix and "version.php" in info.value.fix


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotMoodleTreeError, match="not a directory"):
        inspect_tree(tmp_path / "nope")


def test_a_plugins_version_php_is_not_a_code_tree(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "setup.php").write_text("<?php\n")
    (tmp_path / "version.php").write_text("<?php\n$plugin->version = 2024010100;\n")
    with pytest.raises(NotMoodleTreeError, match=r"not Moodle's core version\.php"):
        inspect_tree(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4.5.6 (Build: 20250811)", (4, 5, 6)), ("5.0.6+ (Build: 1)", (5, 0, 6)), ("4.2", (4, 2, 0))],
)
def test_release_tuple(text: str, expected: tuple[int, ...]) -> None:
    assert release_tuple(text) == expected


def test_release_order_is_numeric_not_textual() -> None:
    assert release_tuple("4.10.0") > release_tuple("4.2.3")
    assert release_tuple("4.1.9") < release_tuple("4.2.3")
    assert short_release("5.0.6+ (Build: 20260403)") == "5.0.6+"
    with pytest.raises(ValueError, match="not a Moodle release"):
        release_tuple("banana")
