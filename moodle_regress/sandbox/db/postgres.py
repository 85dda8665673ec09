"""PostgreSQL: a private cluster in the sandbox's folder (``pgdata/``), or a
database the user names by URL (``postgresql://``).

PostgreSQL refuses to run as root, so when the tool runs as root the cluster's files
belong to the ``postgres`` user and ``initdb``/``pg_ctl`` run through ``runuser``.
The cluster listens on 127.0.0.1 only (no Unix socket: sandbox paths can exceed the
socket path limit) and asks for a password (scram-sha-256).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from moodle_regress.files import write_atomic
from moodle_regress.sandbox.codetree import CodeTree
from moodle_regress.sandbox.db.base import (
    DatabaseConfig,
    Engine,
    Lookup,
    Missing,
    MoodleDatabase,
    PrivateServer,
    Requirements,
    Row,
    ensure_traversable,
    feed_tool,
    peek,
    root_user,
    run_tool,
    version_at_least,
)
from moodle_regress.sandbox.errors import DatabaseError

CLUSTER_USER = "postgres"

#: Appended to the private cluster's postgresql.conf.  ``synchronous_commit=off``
#: speeds up Moodle's installer (thousands of small DDL transactions) without any
#: risk of corruption: a crash can only lose the last fraction of a second.
CLUSTER_CONF = """
# moodle-regress sandbox
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
synchronous_commit = off
max_connections = 60
shared_buffers = 128MB
"""

#: Separators psql puts between fields and rows, and what it prints for NULL:
#: control characters no Moodle value holds.
_FIELD, _ROW, _NULL = "\x1f", "\x1e", "\x1d"
#: A custom-format dump (pg_dump -Fc) begins with these bytes; a plain one is SQL.
_CUSTOM_MAGIC = b"PGDMP"
_FIX = "check that the database server runs and the credentials are right"


@dataclass(frozen=True)
class PostgresBinaries:
    bindir: Path
    major: int

    def tool(self, name: str) -> Path:
        return self.bindir / name


def find_postgres(search: Path = Path("/usr/lib/postgresql")) -> PostgresBinaries | None:
    """The newest PostgreSQL server binaries installed the Debian way."""
    best: PostgresBinaries | None = None
    if not search.is_dir():
        return None
    for bindir in search.glob("*/bin"):
        if not all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            continue
        try:
            major = int(bindir.parent.name.split(".")[0])
        except ValueError:
            continue
        if best is None or major > best.major:
            best = PostgresBinaries(bindir, major)
    return best


def _env(db: DatabaseConfig) -> dict[str, str]:
    return {**os.environ, "PGPASSWORD": db.password, "PGCONNECT_TIMEOUT": "10"}


def _args(db: DatabaseConfig, database: str | None = None) -> list[str]:
    return ["-h", db.host, "-p", str(db.port), "-U", db.user, "-d", database or db.name]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Postgres(Engine):
    name = "postgres"
    label = "PostgreSQL"
    url_schemes = ("postgresql", "postgres", "pgsql")
    default_port = 5432
    default_user = "postgres"
    data_dir_name = "pgdata"
    dump_name = "db.dump"
    server_packages = ("postgresql",)
    client_packages = ("postgresql-client",)
    backend_process_sql = "SELECT pg_backend_pid()"
    #: The database to connect to for creating and dropping others.
    maintenance_db = "postgres"

    def __init__(self, binaries: PostgresBinaries | None = None) -> None:
        self._binaries = binaries

    @property
    def binaries(self) -> PostgresBinaries | None:
        return self._binaries or find_postgres()

    def moodle_config(self, db: DatabaseConfig) -> MoodleDatabase:
        return MoodleDatabase(
            dbtype="pgsql",
            dblibrary="native",
            dbhost=db.host,
            dboptions={"dbpersist": 0, "dbport": db.port, "dbsocket": ""},
        )

    def requirements(
        self,
        tree: CodeTree | None,
        *,
        need_server: bool = True,
        lookup: Lookup | None = None,
        is_root: bool | None = None,
    ) -> Requirements:
        lookup = lookup or shutil.which
        found = Requirements(php_extension="pgsql")
        for client in ("psql", "pg_dump", "pg_restore"):
            if lookup(client) is None:
                found.missing.append(Missing(f"PostgreSQL client {client}", "postgresql-client"))
        if not need_server:
            return found
        binaries = self.binaries
        needed = tree.database_requirement("postgres") if tree is not None else None
        if binaries is None:
            found.missing.append(
                Missing("PostgreSQL server binaries (/usr/lib/postgresql/*/bin)", "postgresql")
            )
        elif not version_at_least(str(binaries.major), needed):
            found.missing.append(
                Missing(
                    f"PostgreSQL {needed} or later for Moodle {tree and tree.branch_key} "
                    f"(found {binaries.major})",
                    "postgresql",
                )
            )
        if root_user(is_root) and lookup("runuser") is None:
            found.missing.append(
                Missing("runuser (to run PostgreSQL as an unprivileged user)", "util-linux")
            )
        return found

    def private_server(self, directory: Path) -> PostgresServer:
        return PostgresServer(directory, self.binaries)

    # -- databases and queries ------------------------------------------------------

    def query(self, db: DatabaseConfig, sql: str, *, database: str | None = None) -> list[Row]:
        # On stdin, not the command line: SQL of any length.
        out = run_tool(
            [
                "psql", *_args(db, database), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                "-F", _FIELD, "-R", _ROW, "-P", f"null={_NULL}", "-f", "-",
            ],
            env=_env(db),
            what=f"a query on {db.host}:{db.port}/{database or db.name}",
            fix=_FIX,
            text_input=sql,
        ).decode()  # fmt: skip
        if out.endswith("\n"):
            out = out[:-1]
        if not out:
            return []
        return [
            tuple(None if value == _NULL else value for value in row.split(_FIELD))
            for row in out.split(_ROW)
        ]

    def create_database(self, db: DatabaseConfig) -> None:
        self.query(
            db,
            f"CREATE DATABASE {_ident(db.name)} ENCODING 'UTF8' TEMPLATE template0",
            database=self.maintenance_db,
        )

    def drop_database(self, db: DatabaseConfig) -> None:
        self.query(
            db,
            f"DROP DATABASE IF EXISTS {_ident(db.name)} WITH (FORCE)",
            database=self.maintenance_db,
        )

    def server_version(self, db: DatabaseConfig) -> str:
        return f"PostgreSQL {self.query(db, 'SHOW server_version')[0][0]}"

    def table_count_sql(self, prefix_pattern: str) -> str:
        return (
            "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE "
            f"{prefix_pattern} AND table_schema = current_schema()"
        )

    # -- dumps ----------------------------------------------------------------------

    def dump(self, db: DatabaseConfig, sink: IO[bytes]) -> None:
        """Custom format, uncompressed: whatever holds it compresses."""
        run_tool(
            ["pg_dump", *_args(db), "-Fc", "-Z0", "--no-owner"],
            env=_env(db),
            what="pg_dump",
            fix="check the database",
            stdout=sink,
        )

    def restore(self, db: DatabaseConfig, source: Path | IO[bytes]) -> None:
        """A custom-format dump (pg_restore; in parallel when it is a file) or a
        plain SQL one (psql)."""
        what, fix = "restoring the PostgreSQL dump", "check the dump"
        restore = ["pg_restore", *_args(db), "--no-owner", "--exit-on-error"]
        plain = ["psql", *_args(db), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"]
        if isinstance(source, Path):
            with source.open("rb") as handle:
                custom = peek(handle) == _CUSTOM_MAGIC
            command = [*restore, "-j", "2", str(source)] if custom else [*plain, "-f", str(source)]
            run_tool(command, env=_env(db), what=what, fix=fix)
            return
        head = peek(source)
        command = restore if head == _CUSTOM_MAGIC else plain
        feed_tool(command, env=_env(db), what=what, fix=fix, head=head, rest=source)


class PostgresServer(PrivateServer):
    """A PostgreSQL cluster of the sandbox's own."""

    def __init__(self, directory: Path, binaries: PostgresBinaries | None) -> None:
        super().__init__(directory)
        self.binaries = binaries

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.binaries is None:
            raise DatabaseError(
                "PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are missing",
                "apt-get install -y postgresql",
            )
        command = [str(self.binaries.tool(args[0])), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", CLUSTER_USER, "--", *command]
        result = subprocess.run(command, check=False, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise DatabaseError(
                f"{args[0]} failed for the cluster in {self.directory}: "
                f"{(result.stderr or result.stdout).strip()[-800:]}",
                f"see {self.log}" if self.log.exists() else "check the PostgreSQL installation",
            )
        return result

    def _create(self, folder: Path, db: DatabaseConfig) -> None:
        # A cluster holds no path of its own folder: it can be made elsewhere and moved.
        folder.mkdir(mode=0o700, parents=True)
        pwfile = folder.parent / f".{self.directory.name}.pw"
        write_atomic(pwfile, db.password + "\n", mode=0o600)
        try:
            if self.as_root:
                owner = pwd.getpwnam(CLUSTER_USER)
                ensure_traversable(folder.parent, owner.pw_uid, owner.pw_gid)
                os.chown(folder, owner.pw_uid, owner.pw_gid)
                os.chown(pwfile, owner.pw_uid, owner.pw_gid)
            self._run(
                [
                    "initdb", "-D", str(folder), "-U", db.user, f"--pwfile={pwfile}",
                    "-A", "scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                    "--no-instructions",
                ]
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        with (folder / "postgresql.conf").open("a") as handle:
            handle.write(CLUSTER_CONF)

    def start(self, db: DatabaseConfig) -> None:
        self._run(
            [
                "pg_ctl", "-D", str(self.directory), "-l", str(self.log), "-w", "-t", "60",
                "-o", f"-p {db.port}", "start",
            ]
        )  # fmt: skip

    def stop(self) -> None:
        if self.is_running():
            self._run(["pg_ctl", "-D", str(self.directory), "-m", "fast", "-w", "-t", "60", "stop"])

    def is_running(self) -> bool:
        if self.binaries is None or not (self.directory / "postmaster.pid").exists():
            return False
        return (
            self._run(["pg_ctl", "-D", str(self.directory), "status"], check=False).returncode == 0
        )
