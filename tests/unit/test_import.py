"""``sandbox import``: reading a dump's prefix, copying a dataroot without what Moodle
rebuilds, and the errors given before anything is made."""

from __future__ import annotations

import gzip
import io
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from moodle_regress.cli.sandbox import sandbox
from moodle_regress.sandbox.importing import (
    DATAROOT_SKIPPED,
    DatarootError,
    DumpError,
    archive_root,
    copy_dataroot,
    inspect_dump,
    one_database,
    prefix_from_tables,
    skip_patterns,
)

MOODLE = ["config", "config_log", "config_plugins", "context", "course", "user"]


def plain_dump(prefix: str = "mdl_", owner: str = "moodle") -> bytes:
    """The start of a plain pg_dump of a Moodle database."""
    lines = ["--", "-- PostgreSQL database dump", "--", "SET statement_timeout = 0;"]
    for table in MOODLE:
        lines += [
            f"CREATE TABLE public.{prefix}{table} (",
            "    id bigint NOT NULL",
            ");",
            f"ALTER TABLE public.{prefix}{table} OWNER TO {owner};",
        ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("prefix", ["mdl_", "m_", "moodle", ""])
def test_the_prefix_is_that_of_the_moodle_tables(prefix: str) -> None:
    tables = [f"{prefix}{t}" for t in MOODLE] + ["other_config", "sessions"]
    assert prefix_from_tables(tables) == prefix


def test_no_prefix_without_moodle_tables_or_with_two_sites() -> None:
    assert prefix_from_tables(["wp_posts", "wp_config", "wp_options"]) is None
    assert prefix_from_tables([f"{p}{t}" for p in ("a_", "b_") for t in MOODLE]) is None


@pytest.mark.parametrize("compress", [False, True])
def test_a_plain_dump_gives_its_prefix_and_owners(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / ("site.sql.gz" if compress else "site.sql")
    text = plain_dump("m_", owner="prod_moodle")
    path.write_bytes(gzip.compress(text) if compress else text)
    before = path.read_bytes()
    info = inspect_dump(path)
    assert (info.format, info.compressed, info.prefix) == ("plain", compress, "m_")
    assert info.owners == ["prod_moodle"]
    assert path.read_bytes() == before


def mysql_dump(
    prefix: str = "mdl_", database: str | None = None, tables: list[str] = MOODLE
) -> bytes:
    """The start of a mariadb-dump of a Moodle database, in the layout mariadb-dump
    10.11 writes (``database``: made with ``--databases``, which names it)."""
    lines = [
        "/*M!999999\\- enable the sandbox mode */ ",
        "-- MariaDB dump 10.19-10.11.14-MariaDB, for debian-linux-gnu (x86_64)",
        "--",
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;",
    ]
    if database is not None:
        lines += [
            f"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `{database}` /*!40100 DEFAULT "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci */;",
            "",
            f"USE `{database}`;",
        ]
    for table in tables:
        lines += [
            f"DROP TABLE IF EXISTS `{prefix}{table}`;",
            f"CREATE TABLE `{prefix}{table}` (",
            "  `id` bigint(10) NOT NULL AUTO_INCREMENT,",
            "  PRIMARY KEY (`id`)",
            ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;",
            f"INSERT INTO `{prefix}{table}` VALUES (1),(2);",
        ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("database", [None, "moodle_prod"])
def test_a_mariadb_dump_gives_its_engine_and_prefix(tmp_path: Path, database: str | None) -> None:
    path = tmp_path / "site.sql.gz"
    path.write_bytes(gzip.compress(mysql_dump("m_", database)))
    info = inspect_dump(path)
    assert (info.engine, info.format, info.compressed, info.prefix) == (
        "mariadb",
        "plain",
        True,
        "m_",
    )
    assert info.owners == []
    assert inspect_dump(_written(tmp_path / "pg.sql", plain_dump())).engine == "postgres"


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_mysql_dump_of_no_moodle_site_is_refused_naming_its_kind(tmp_path: Path) -> None:
    path = _written(tmp_path / "wp.sql", mysql_dump("wp_", tables=["options", "posts"]))
    with pytest.raises(DumpError) as error:
        inspect_dump(path)
    assert "holds no Moodle database" in error.value.message
    assert "MySQL/MariaDB dump" in error.value.message
    assert "mariadb-dump" in str(error.value.fix)


def test_the_loaded_dump_names_no_database_of_its_own() -> None:
    # mysqldump --databases switches to the production database by name: the copy
    # must load into the sandbox's.
    dump = mysql_dump(database="moodle_prod")
    loaded = one_database(io.BytesIO(dump)).read()
    kept = [
        line
        for line in dump.splitlines(keepends=True)
        if not line.startswith((b"CREATE DATABASE", b"USE `"))
    ]
    assert loaded == b"".join(kept)
    assert b"moodle_prod" not in loaded
    assert loaded.count(b"CREATE TABLE `mdl_") == len(MOODLE)


def test_a_dump_of_two_databases_is_refused_while_loading() -> None:
    two = mysql_dump(database="moodle") + mysql_dump(database="mysql", tables=["user"])
    with pytest.raises(DumpError, match=r"more than one database \(moodle, mysql"):
        one_database(io.BytesIO(two)).read()


def test_a_damaged_compressed_dump_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "site.sql.gz"
    path.write_bytes(gzip.compress(plain_dump())[:40])
    with pytest.raises(DumpError, match="cannot be read"):
        inspect_dump(path)


def test_a_custom_dump_that_pg_restore_cannot_read_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "site.dump"
    path.write_bytes(b"PGDMP" + b"\x00" * 20)
    with pytest.raises(DumpError, match="pg_restore cannot read the dump"):
        inspect_dump(path)


# -- dataroot ------------------------------------------------------------------------


def make_dataroot(root: Path) -> Path:
    for name in DATAROOT_SKIPPED:
        (root / name / "x").mkdir(parents=True)
        (root / name / "x" / "f").write_text("rebuilt")
    # Deeper folders of the same names are the site's own.
    (root / "filedir" / "ab" / "cache").mkdir(parents=True)
    (root / "filedir" / "ab" / "cache" / "abcdef").write_text("content")
    (root / "filedir" / "ab" / "cd").write_text("content")
    (root / "lang" / "de").mkdir(parents=True)
    (root / "lang" / "de" / "langconfig.php").write_text("<?php")
    return root


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


KEPT = {"filedir/ab/cache/abcdef", "filedir/ab/cd", "lang/de/langconfig.php"}


def test_a_dataroot_folder_is_copied_without_the_rebuilt_folders(tmp_path: Path) -> None:
    source = make_dataroot(tmp_path / "moodledata")
    before = files(source)
    copy_dataroot(source, tmp_path / "copy")
    assert files(tmp_path / "copy") == KEPT
    assert files(source) == before


@pytest.mark.parametrize(
    ("members", "flags"),
    [(["moodledata"], "-czf"), (["."], "-cf"), (["filedir", "lang", "cache", "muc"], "-czf")],
)
def test_a_dataroot_archive_is_unpacked_without_the_rebuilt_folders(
    tmp_path: Path, members: list[str], flags: str
) -> None:
    source = make_dataroot(tmp_path / "moodledata")
    archive = tmp_path / "moodledata.tar"
    within = tmp_path if members == ["moodledata"] else source
    subprocess.run(["tar", "-C", str(within), flags, str(archive), *members], check=True)
    copy_dataroot(archive, tmp_path / "copy")
    assert files(tmp_path / "copy") == KEPT


def test_the_archive_root_is_the_one_folder_that_is_not_a_dataroots_own() -> None:
    assert archive_root(["moodledata/", "moodledata/filedir/"]) == "moodledata"
    assert archive_root(["./", "./filedir/", "./cache/"]) == ""
    assert archive_root(["filedir/", "filedir/ab/"]) == ""
    assert skip_patterns("md")[:2] == ["md/cache", "./md/cache"]


def test_no_dataroot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatarootError, match="no dataroot"):
        copy_dataroot(tmp_path / "absent", tmp_path / "copy")
    (tmp_path / "notes.txt").write_text("not an archive")
    with pytest.raises(DatarootError, match="not a tar archive"):
        copy_dataroot(tmp_path / "notes.txt", tmp_path / "copy2")


# -- the command -----------------------------------------------------------------------


def run_import(tmp_path: Path, dump: Path, dataroot: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        sandbox,
        ["import", "copy", "--code", str(tmp_path), "--db-dump", str(dump),
         "--dataroot", str(dataroot)],
        env={"MOODLE_REGRESS_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert "Traceback" not in result.output
    # Refused before any sandbox is made.
    assert not (tmp_path / "home" / "sandboxes" / "copy").exists()
    return result.exit_code, result.output


def test_the_command_refuses_a_missing_dump(tmp_path: Path) -> None:
    status, output = run_import(tmp_path, tmp_path / "absent.dump", tmp_path)
    assert status == 2 and "no database dump at" in output


def test_the_command_refuses_a_file_that_is_not_a_dump(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a dump")
    status, output = run_import(tmp_path, tmp_path / "photo.jpg", tmp_path)
    assert status == 2 and "holds no Moodle database" in output


def test_the_command_refuses_a_missing_dataroot(tmp_path: Path) -> None:
    (tmp_path / "site.sql").write_bytes(plain_dump())
    status, output = run_import(tmp_path, tmp_path / "site.sql", tmp_path / "moodledata")
    assert status == 2 and "no dataroot at" in output
