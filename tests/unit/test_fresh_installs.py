"""The fresh-install cache: keyed by the tree's version and install.xml files."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from moodle_regress.config import Settings
from moodle_regress.observe.schema import Column, SchemaReading, Table
from moodle_regress.sandbox.fresh import FreshSchemas, tree_fingerprint

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "moodle_plugins"


def _tree(root: Path, plugin_version: str = "mrdrift-v1") -> Path:
    """A directory shaped like a Moodle tree, with our fixture plugin in local/."""
    (root / "local").mkdir(parents=True)
    (root / "version.php").write_text("<?php $version = 2024100706.00;\n")
    (root / "lib" / "db").mkdir(parents=True)
    (root / "lib" / "db" / "install.xml").write_text("<XMLDB/>\n")
    plugin = root / "local" / "mrdrift"
    plugin.mkdir()
    for source in (FIXTURE_PLUGINS / plugin_version).rglob("*"):
        target = plugin / source.relative_to(FIXTURE_PLUGINS / plugin_version)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.write_bytes(source.read_bytes())
    return root


def _settings(home: Path) -> Settings:
    return Settings(home=home, config_file=home / "config.toml")


def _reading(server: str = "15.18 (Debian)", vendor: str = "postgres") -> SchemaReading:
    column = Column(type="int", meta_type="R", max_length=18, not_null=True, auto_increment=True)
    return SchemaReading(
        release="5.0.6+",
        version="2025041406",
        dbfamily="postgres" if vendor == "postgres" else "mysql",
        dbvendor=vendor,
        server_version=server,
        tables={"config": Table("config", {"id": column})},
        check={},
    )


def test_fingerprint_follows_versions_and_install_xml_only(tmp_path: Path) -> None:
    one = tree_fingerprint(_tree(tmp_path / "a"))
    assert one == tree_fingerprint(_tree(tmp_path / "b"))
    # Other files do not count ...
    (tmp_path / "a" / "index.php").write_text("<?php echo 'hello';\n")
    (tmp_path / "a" / "local" / "mrdrift" / "tests").mkdir()
    (tmp_path / "a" / "local" / "mrdrift" / "tests" / "version.php").write_text("x")
    assert tree_fingerprint(tmp_path / "a") == one
    # ... a plugin's new version and schema do.
    assert tree_fingerprint(_tree(tmp_path / "c", "mrdrift-v2")) != one
    (tmp_path / "b" / "lib" / "db" / "install.xml").write_text("<XMLDB><TABLES/></XMLDB>\n")
    assert tree_fingerprint(tmp_path / "b") != one


def test_a_tree_less_a_plugin_fingerprints_as_one_that_never_had_it(tmp_path: Path) -> None:
    with_it = _tree(tmp_path / "a")
    never = _tree(tmp_path / "b")
    shutil.rmtree(never / "local" / "mrdrift")
    assert tree_fingerprint(with_it) != tree_fingerprint(never)
    assert tree_fingerprint(with_it, skip=[with_it / "local" / "mrdrift"]) == tree_fingerprint(
        never
    )


def test_engine_names_vendor_and_major_version() -> None:
    assert _reading().engine == "postgres-15"
    assert _reading("10.11.6-MariaDB-0+deb12u1", "mariadb").engine == "mariadb-10"


def test_saved_readings_round_trip_and_are_made_once(tmp_path: Path) -> None:
    cache = FreshSchemas(_settings(tmp_path))
    made: list[int] = []

    def make() -> SchemaReading:
        made.append(1)
        return _reading()

    first, saved_before = cache.get_or_make("f" * 64, "postgres", make)
    assert saved_before is False
    again, saved_before = cache.get_or_make("f" * 64, "postgres", make)
    assert saved_before is True
    assert made == [1]
    assert again == first
    assert cache.path("f" * 64, "postgres").is_file()
    # Another engine is another install.
    assert cache.load("f" * 64, "mariadb") is None


def test_remember_keeps_the_first_reading(tmp_path: Path) -> None:
    cache = FreshSchemas(_settings(tmp_path))
    assert cache.remember("a" * 64, "postgres", _reading()) is True
    assert cache.remember("a" * 64, "postgres", _reading()) is False


def test_a_damaged_file_is_made_again(tmp_path: Path) -> None:
    cache = FreshSchemas(_settings(tmp_path))
    cache.path("b" * 64, "postgres").parent.mkdir(parents=True)
    cache.path("b" * 64, "postgres").write_text("{not json")
    reading, saved_before = cache.get_or_make("b" * 64, "postgres", _reading)
    assert saved_before is False
    assert cache.load("b" * 64, "postgres") == reading


def test_two_runs_at_once_install_once(tmp_path: Path) -> None:
    cache = FreshSchemas(_settings(tmp_path))
    made: list[int] = []
    started = threading.Event()

    def make() -> SchemaReading:
        made.append(1)
        started.set()
        return _reading()

    threads = [
        threading.Thread(target=cache.get_or_make, args=("c" * 64, "postgres", make))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == [1]
