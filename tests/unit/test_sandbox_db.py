"""The database seam offline: engine choice, config.php, URLs, state files, dumps."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from moodle_regress.config import Settings
from moodle_regress.sandbox.db import (
    DEFAULT_ENGINE,
    ENGINE_NAMES,
    DatabaseConfig,
    config_from_url,
    engine_for,
    engine_named,
    mariadb,
    open_dump,
)
from moodle_regress.sandbox.db.base import version_at_least, version_tuple
from moodle_regress.sandbox.db.mariadb import MariaDB, MariaDBServer, _rows
from moodle_regress.sandbox.db.postgres import Postgres, PostgresServer
from moodle_regress.sandbox.errors import DatabaseError, EngineMismatchError
from moodle_regress.sandbox.manager import ARCHIVE_FORMAT, SandboxManager, SandboxState
from moodle_regress.sandbox.moodle import render_config_php
from tests.unit.sandbox_fakes import make_tree

#: sandbox.json as written before the engine choice existed (no "engine").
OLD_STATE = {
    "name": "live-4.5",
    "code_source": "/srv/moodle/4.5",
    "release": "4.5.6 (Build: 20250811)",
    "version": "2024100706",
    "branch": "405",
    "layout": "classic",
    "http_port": 40001,
    "db": {
        "host": "127.0.0.1",
        "port": 40002,
        "name": "moodle",
        "user": "moodle",
        "password": "pw",
        "prefix": "mdl_",
    },
    "private_db": True,
    "admin_username": "admin",
    "admin_password": "Mr-x-9a",
    "created": "2026-01-01T00:00:00+00:00",
    "workers": 4,
    "history": [],
}


def test_a_state_file_from_before_the_engine_choice_loads_as_postgres() -> None:
    state = SandboxState.model_validate_json(json.dumps(OLD_STATE))
    assert state.db.engine == DEFAULT_ENGINE == "postgres"
    assert isinstance(engine_for(state.db), Postgres)


def test_engines_are_named_and_an_unknown_one_says_which_exist() -> None:
    assert ENGINE_NAMES == ("postgres", "mariadb")
    with pytest.raises(DatabaseError, match="no database engine named 'oracle'") as info:
        engine_named("oracle")
    assert info.value.fix is not None and "postgres" in info.value.fix


def test_postgres_config_php(tmp_path: Path) -> None:
    db = DatabaseConfig(port=54321, password="p")
    text = render_config_php(
        name="d", db=db, wwwroot="http://h", dataroot=tmp_path, layout="classic"
    )
    assert "$CFG->dbtype = 'pgsql';" in text
    assert "$CFG->dblibrary = 'native';" in text
    assert "$CFG->dboptions = ['dbpersist' => 0, 'dbport' => 54321, 'dbsocket' => ''];" in text


def test_postgres_requirements_name_server_clients_and_php_extension(tmp_path: Path) -> None:
    tree_dir = make_tree(tmp_path / "m", pg="13")
    from moodle_regress.sandbox.codetree import inspect_tree

    needs = Postgres(binaries=None).requirements(
        inspect_tree(tree_dir), need_server=False, lookup=lambda name: None, is_root=True
    )
    assert needs.php_extension == "pgsql"
    assert {m.package for m in needs.missing} == {"postgresql-client"}
    # Without a server the server and runuser are not asked for.
    assert not any("server" in m.what or "runuser" in m.what for m in needs.missing)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15", (15, 0, 0)), ("10.11.19-MariaDB-0+deb12u1", (10, 11, 19)), ("10.6.7", (10, 6, 7))],
)
def test_server_versions_are_compared_as_numbers(text: str, expected: tuple[int, ...]) -> None:
    assert version_tuple(text) == expected
    assert version_at_least(text, None)
    assert version_at_least("10.11.19-MariaDB", "10.6.7")
    assert not version_at_least("13", "14")


DUMP = b"-- a dump\nCREATE TABLE t (id int);\n" * 1000


@pytest.mark.parametrize("kind", ["plain", "gzip", "xz", "bzip2", "zstd"])
def test_open_dump_decompresses_by_content(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "dump.bin"  # the name says nothing: the content decides
    if kind == "zstd":
        if shutil.which("zstd") is None:
            pytest.skip("zstd is not installed")
        path.write_bytes(
            subprocess.run(["zstd", "-c"], input=DUMP, capture_output=True, check=True).stdout
        )
    else:
        packers: dict[str, Callable[[bytes], bytes]] = {
            "plain": bytes, "gzip": gzip.compress, "xz": lzma.compress, "bzip2": bz2.compress,
        }  # fmt: skip
        path.write_bytes(packers[kind](DUMP))
    with open_dump(path) as stream:
        assert stream.read() == DUMP


def test_cli_offers_the_engines_and_refuses_others(tmp_path: Path) -> None:
    from moodle_regress.cli.sandbox import sandbox

    result = CliRunner().invoke(
        sandbox,
        ["up", "demo", "--code", str(tmp_path), "--db", "oracle"],
        env={"MOODLE_REGRESS_HOME": str(tmp_path / "home")},
    )
    assert result.exit_code == 2
    assert "Invalid value for '--db': 'oracle' is not" in result.output
    assert not (tmp_path / "home").exists()


# -- MariaDB ---------------------------------------------------------------------------

#: ``mariadb --xml`` answering three statements, as MariaDB 10.11.19's client printed
#: it for a 4.5.6 sandbox (one XML document per result set).
MARIADB_XML = """<?xml version="1.0"?>

<resultset statement="SELECT name, value FROM mdl_config WHERE name IN ('release','version') \
ORDER BY name" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <row>
\t<field name="name">release</field>
\t<field name="value">4.5.6 (Build: 20250811)</field>
  </row>

  <row>
\t<field name="name">version</field>
\t<field name="value">2024100706</field>
  </row>
</resultset>
<?xml version="1.0"?>

<resultset statement="SELECT 1 AS a, NULL AS b, '' AS c, 'x&lt;y&amp;z' AS d" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <row>
\t<field name="a">1</field>
\t<field name="b" xsi:nil="true" />
\t<field name="c"></field>
\t<field name="d">x&lt;y&amp;z</field>
  </row>
</resultset>
<?xml version="1.0"?>

<resultset statement="SELECT i FROM t
" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"></resultset>
"""


def test_mariadb_xml_rows_tell_null_from_empty_text() -> None:
    assert _rows(MARIADB_XML) == [
        ("release", "4.5.6 (Build: 20250811)"),
        ("version", "2024100706"),
        ("1", None, "", "x<y&z"),
    ]
    assert _rows("") == []


@pytest.mark.parametrize("scheme", ["mariadb", "mysqli", "mysql"])
def test_mariadb_urls(scheme: str) -> None:
    db = config_from_url(f"{scheme}://mu:p%40ss@db.example/moodle45")
    assert (db.engine, db.host, db.port, db.user, db.password, db.name) == (
        "mariadb", "db.example", 3306, "mu", "p@ss", "moodle45",
    )  # fmt: skip


def test_mariadb_config_php(tmp_path: Path) -> None:
    db = DatabaseConfig(engine="mariadb", port=33061, password="p")
    text = render_config_php(
        name="d", db=db, wwwroot="http://h", dataroot=tmp_path, layout="classic"
    )
    assert "$CFG->dbtype = 'mariadb';" in text
    assert "$CFG->dbhost = '127.0.0.1';" in text
    assert (
        "$CFG->dboptions = ['dbpersist' => 0, 'dbport' => 33061, 'dbsocket' => '', "
        "'dbcollation' => 'utf8mb4_unicode_ci'];"
    ) in text


def test_mariadb_socket_stays_short_enough_for_a_socket_address(tmp_path: Path) -> None:
    short = MariaDBServer(Path("/srv/s/mariadb"))
    assert short.socket == Path("/srv/s/mariadb/mariadbd.sock")
    deep = MariaDBServer(tmp_path / ("x" * 120) / "mariadb")
    assert len(str(deep.socket)) <= 100
    assert deep.socket != MariaDBServer(tmp_path / ("y" * 120) / "mariadb").socket


class Interrupted:
    """A server installer that writes part of its folder, then is cut short (Ctrl-C)
    on its first run and completes on later ones."""

    def __init__(self, complete: Callable[[Path], None]) -> None:
        self.complete = complete
        self.runs = 0

    def __call__(self, folder: Path) -> None:
        self.runs += 1
        (folder / "half-written").write_text("x")
        if self.runs == 1:
            raise KeyboardInterrupt
        self.complete(folder)


def _pg_cluster(folder: Path) -> None:
    (folder / "PG_VERSION").write_text("15\n")
    (folder / "postgresql.conf").write_text("# initdb's\n")


def test_an_interrupted_postgres_init_leaves_no_cluster_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installer = Interrupted(_pg_cluster)

    def run(self: PostgresServer, args: list[str], *, check: bool = True) -> object:
        assert args[0] == "initdb"
        installer(Path(args[args.index("-D") + 1]))
        return None

    monkeypatch.setattr(PostgresServer, "_run", run)
    monkeypatch.setattr(PostgresServer, "as_root", property(lambda self: False))
    cluster = PostgresServer(tmp_path / "box" / "pgdata", None)
    db = DatabaseConfig(port=5999, password="pw")
    with pytest.raises(KeyboardInterrupt):
        cluster.init(db)
    # Nothing a later restore would take for a cluster (and fail to start).
    assert not cluster.exists()
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == []
    cluster.init(db)
    assert cluster.exists()
    assert (cluster.directory / "PG_VERSION").is_file()
    assert "listen_addresses = '127.0.0.1'" in (cluster.directory / "postgresql.conf").read_text()
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == ["pgdata"]


def test_an_interrupted_mariadb_init_leaves_no_server_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installer = Interrupted(lambda folder: (folder / "data" / "mysql").mkdir(parents=True))

    def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        options = Path(command[1].removeprefix("--defaults-file="))
        installer(options.parent)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr("moodle_regress.sandbox.db.mariadb.subprocess.run", run)
    monkeypatch.setattr(mariadb, "find_binary", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(MariaDBServer, "_owner", lambda self: None)
    server = MariaDBServer(tmp_path / "box" / "mariadb")
    db = DatabaseConfig(engine="mariadb", port=33999, password="pw")
    with pytest.raises(KeyboardInterrupt):
        server.init(db)
    assert not server.exists()
    assert not (tmp_path / "box" / "mariadb").exists()
    server.init(db)
    assert server.exists()
    # The option file names the server's own folder, not the one it was made in.
    options = server.option_file.read_text()
    assert f"datadir = {server.data}\n" in options
    assert ".init" not in options
    assert server.init_file.is_file()
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == ["mariadb"]


def _state(engine: str, tmp_path: Path) -> SandboxState:
    data = {**OLD_STATE, "code_source": str(tmp_path / "code"), "name": "s"}
    data["db"] = {**OLD_STATE["db"], "engine": engine}  # type: ignore[dict-item]
    return SandboxState.model_validate(data)


def _archive(tmp_path: Path, engine: str) -> tuple[Path, Path]:
    tree = make_tree(tmp_path / "code")
    staging = tmp_path / "staging"
    staging.mkdir()
    manifest = {
        "format": ARCHIVE_FORMAT, "release": "4.5.6 (Build: 20250811)",
        "version": "2024100706", "code_source": str(tree), "engine": engine,
        "dump": "db.sql", "counts": {"users": 1, "courses": 0, "enrolments": 0},
        "admin_username": "admin", "admin_password": "x",
    }  # fmt: skip
    (staging / "manifest.json").write_text(json.dumps(manifest))
    archive = tmp_path / "backup.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(staging), "manifest.json"], check=True)
    return archive, tree


def test_a_backup_of_one_engine_is_refused_by_a_sandbox_of_the_other(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", config_file=tmp_path / "none.toml")
    manager = SandboxManager(settings, quiet=True)
    archive, _ = _archive(tmp_path, "mariadb")
    box = manager.sandbox("s")
    box.root.mkdir(parents=True)
    state = _state("postgres", tmp_path)
    box.save_state(state)
    with pytest.raises(EngineMismatchError, match="holds a MariaDB database") as info:
        manager.restore("s", archive)
    assert info.value.fix is not None and "new sandbox" in info.value.fix
    assert box.state() == state
    assert sorted(p.name for p in box.root.iterdir()) == ["sandbox.json"]
    # --db naming another engine than the backup's is refused before a sandbox exists.
    with pytest.raises(EngineMismatchError, match="--db asked for postgres"):
        manager.restore("new", archive, engine="postgres")
    assert not manager.sandbox("new").root.exists()


def test_db_and_db_url_of_different_engines_are_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", config_file=tmp_path / "none.toml")
    manager = SandboxManager(settings, quiet=True)
    tree = make_tree(tmp_path / "code")
    with pytest.raises(EngineMismatchError, match="--db postgres was given with a MariaDB URL"):
        manager.up("s", tree, engine="postgres", db_url="mariadb://u:p@127.0.0.1:1/m")
    assert not manager.sandbox("s").root.exists()


def test_a_regex_match_is_written_in_each_engines_sql() -> None:
    # An import looks for the old address with it: a backslash MariaDB read as an
    # escape would turn "\." into "." and the check into another one.
    regex = r"https://moodle\.example\.org($|[^A-Za-z0-9.:-])"
    assert Postgres().regex_match_sql("value", regex) == f"value ~ '{regex}'"
    assert MariaDB().regex_match_sql("value", regex) == (
        r"value REGEXP 'https://moodle\\.example\\.org($|[^A-Za-z0-9.:-])'"
    )
    assert MariaDB().literal("it's") == "'it''s'"
