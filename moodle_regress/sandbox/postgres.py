"""The sandbox's database: a private PostgreSQL cluster in the sandbox's directory,
or a database the user names by URL.

PostgreSQL refuses to run as root, so when the tool runs as root the cluster's files
belong to the ``postgres`` user and ``initdb``/``pg_ctl`` run through ``runuser``.
The cluster listens on 127.0.0.1 only (no Unix socket: sandbox paths can exceed the
socket path limit) and asks for a password (scram-sha-256).
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from moodle_regress.files import write_atomic
from moodle_regress.sandbox.errors import DatabaseError
from moodle_regress.sandbox.prereqs import PostgresBinaries

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


class DatabaseConfig(BaseModel):
    """How Moodle and the tool reach the site's database."""

    host: str = "127.0.0.1"
    port: int
    name: str = "moodle"
    user: str = "moodle"
    password: str
    prefix: str = "mdl_"

    @classmethod
    def from_url(cls, url: str) -> DatabaseConfig:
        """``postgresql://user:password@host:port/dbname``."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
            raise DatabaseError(
                f"{url!r} is not a PostgreSQL URL",
                "use postgresql://USER:PASSWORD@HOST:PORT/DBNAME",
            )
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            name=unquote(parts.path.strip("/")),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
        )

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"}

    def args(self, database: str | None = None) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database or self.name]


def psql(db: DatabaseConfig, sql: str, *, database: str | None = None) -> str:
    """Run ``sql`` and return psql's unaligned, tuples-only output."""
    result = subprocess.run(
        ["psql", *db.args(database), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env=db.env(),
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DatabaseError(
            f"database command failed on {db.host}:{db.port}/{database or db.name}: "
            f"{result.stderr.strip()}",
            "check that the database server runs and the credentials are right",
        )
    return result.stdout


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_database(db: DatabaseConfig, *, maintenance_db: str = "postgres") -> None:
    psql(
        db,
        f"CREATE DATABASE {_ident(db.name)} ENCODING 'UTF8' TEMPLATE template0",
        database=maintenance_db,
    )


def drop_database(db: DatabaseConfig, *, maintenance_db: str = "postgres") -> None:
    psql(db, f"DROP DATABASE IF EXISTS {_ident(db.name)} WITH (FORCE)", database=maintenance_db)


def database_is_empty(db: DatabaseConfig) -> bool:
    out = psql(
        db,
        "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE "
        f"'{db.prefix}%' AND table_schema = current_schema()",
    )
    return out.strip() == "0"


def dump(db: DatabaseConfig, target: Path) -> None:
    """Custom-format dump, uncompressed: the archive around it compresses."""
    result = subprocess.run(
        ["pg_dump", *db.args(), "-Fc", "-Z0", "--no-owner", "-f", str(target)],
        env=db.env(),
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DatabaseError(f"pg_dump failed: {result.stderr.strip()}", "check the database")


def restore(db: DatabaseConfig, source: Path) -> None:
    result = subprocess.run(
        ["pg_restore", *db.args(), "--no-owner", "--exit-on-error", "-j", "2", str(source)],
        env=db.env(),
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DatabaseError(f"pg_restore failed: {result.stderr.strip()}", "check the archive")


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster of the sandbox's own (``<sandbox>/pgdata``)."""

    pgdata: Path
    binaries: PostgresBinaries

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.binaries.tool(args[0])), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", CLUSTER_USER, "--", *command]
        result = subprocess.run(command, check=False, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise DatabaseError(
                f"{args[0]} failed for the cluster in {self.pgdata}: "
                f"{(result.stderr or result.stdout).strip()[-800:]}",
                f"see {self.log}" if self.log.exists() else "check the PostgreSQL installation",
            )
        return result

    @property
    def log(self) -> Path:
        return self.pgdata / "server.log"

    def init(self, db: DatabaseConfig) -> None:
        """Create the cluster with ``db.user`` as its superuser."""
        self.pgdata.mkdir(mode=0o700, parents=True)
        pwfile = self.pgdata.parent / f".{self.pgdata.name}.pw"
        write_atomic(pwfile, db.password + "\n", mode=0o600)
        try:
            if self.as_root:
                owner = pwd.getpwnam(CLUSTER_USER)
                ensure_traversable(self.pgdata.parent, owner.pw_uid, owner.pw_gid)
                os.chown(self.pgdata, owner.pw_uid, owner.pw_gid)
                os.chown(pwfile, owner.pw_uid, owner.pw_gid)
            self._run(
                [
                    "initdb", "-D", str(self.pgdata), "-U", db.user, f"--pwfile={pwfile}",
                    "-A", "scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                    "--no-instructions",
                ]
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        conf = self.pgdata / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write(CLUSTER_CONF)

    def start(self, port: int) -> None:
        self._run(
            [
                "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-w", "-t", "60",
                "-o", f"-p {port}", "start",
            ]
        )  # fmt: skip

    def stop(self) -> None:
        if self.is_running():
            self._run(["pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"])

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        return self._run(["pg_ctl", "-D", str(self.pgdata), "status"], check=False).returncode == 0


def ensure_traversable(path: Path, uid: int, gid: int) -> list[Path]:
    """Let the cluster's user reach ``path``: add the search bit for others on each
    ancestor that would stop it (e.g. a 0700 home directory).  Only the search bit:
    nothing becomes listable or readable.  Returns the directories changed."""
    changed: list[Path] = []
    for directory in [path, *path.parents]:
        info = directory.stat()
        mode = info.st_mode
        if info.st_uid == uid and mode & stat.S_IXUSR:
            continue
        if info.st_gid == gid and mode & stat.S_IXGRP:
            continue
        if mode & stat.S_IXOTH:
            continue
        os.chmod(directory, stat.S_IMODE(mode) | stat.S_IXOTH)
        changed.append(directory)
    return changed
