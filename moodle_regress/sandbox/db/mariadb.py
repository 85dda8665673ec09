"""MariaDB: a private server in the sandbox's folder (``mariadb/``), or a database
the user names by URL (``mariadb://``, ``mysqli://``, ``mysql://``).

The server runs from Debian's ``mariadb-server`` binaries with its own option file
(``mariadb/my.cnf``): data in ``mariadb/data``, listening on 127.0.0.1 only, with
the settings Moodle's environment check asks for (utf8mb4 and utf8mb4_unicode_ci,
InnoDB with one file per table and the DYNAMIC row format of Barracuda, whose large
index prefixes are always on since MariaDB 10.3) and the ones that make it quick
for tests (no binary log, commits flushed once a second, no doublewrite buffer).
As root, ``mariadbd`` drops to the ``mysql`` user itself; its first start runs an
init file that leaves one password-protected superuser (``db.user``), as the
PostgreSQL cluster does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
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
    root_user,
    run_tool,
    version_at_least,
)
from moodle_regress.sandbox.errors import DatabaseError
from moodle_regress.sandbox.processes import pid_alive, read_pid

SERVER_USER = "mysql"
CHARSET = "utf8mb4"
COLLATION = "utf8mb4_unicode_ci"
_FIX = "check that the database server runs and the credentials are right"
_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
#: Unix socket paths longer than this do not fit in ``sun_path`` (108 bytes).
_SOCKET_MAX = 100

#: The server's options, besides paths and port.
SERVER_OPTIONS: dict[str, str | None] = {
    "bind-address": "127.0.0.1",
    "skip-name-resolve": None,
    "skip-log-bin": None,
    "character-set-server": CHARSET,
    "collation-server": COLLATION,
    "innodb_file_per_table": "1",
    "innodb_default_row_format": "dynamic",
    # Speed for tests: a crash can lose the last second of commits, nothing more.
    "innodb_flush_log_at_trx_commit": "2",
    "innodb_doublewrite": "0",
    "innodb_buffer_pool_size": "256M",
    "innodb_log_file_size": "64M",
    "max_connections": "60",
    "max_allowed_packet": "64M",
    "performance_schema": "OFF",
}


def _literal(value: str) -> str:
    """A MariaDB string literal (backslash is an escape character there)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _env(db: DatabaseConfig) -> dict[str, str]:
    return {**os.environ, "MYSQL_PWD": db.password}


def _args(db: DatabaseConfig) -> list[str]:
    return [
        "--no-defaults", "--protocol=TCP", "-h", db.host, "-P", str(db.port), "-u", db.user,
        f"--default-character-set={CHARSET}",
    ]  # fmt: skip


def find_binary(name: str) -> str | None:
    """A MariaDB binary on PATH or in /usr/sbin (where Debian puts the server,
    outside a normal user's PATH)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


class MariaDB(Engine):
    name = "mariadb"
    label = "MariaDB"
    url_schemes = ("mariadb", "mysqli", "mysql")
    default_port = 3306
    default_user = "root"
    data_dir_name = "mariadb"
    dump_name = "db.sql"
    server_packages = ("mariadb-server",)
    client_packages = ("mariadb-client",)
    # One thread per connection; MariaDB 10.5+ names its Linux thread id.
    backend_process_sql = (
        "SELECT tid FROM information_schema.processlist WHERE id = CONNECTION_ID()"
    )

    def moodle_config(self, db: DatabaseConfig) -> MoodleDatabase:
        return MoodleDatabase(
            dbtype="mariadb",
            dblibrary="native",
            dbhost=db.host,
            dboptions={
                "dbpersist": 0,
                "dbport": db.port,
                "dbsocket": "",
                "dbcollation": COLLATION,
            },
        )

    def requirements(
        self,
        tree: CodeTree | None,
        *,
        need_server: bool = True,
        lookup: Lookup | None = None,
        is_root: bool | None = None,
    ) -> Requirements:
        lookup = lookup or find_binary
        found = Requirements(php_extension="mysqli")
        for client in ("mariadb", "mariadb-dump"):
            if lookup(client) is None:
                found.missing.append(Missing(f"MariaDB client {client}", "mariadb-client"))
        if not need_server:
            return found
        server = lookup("mariadbd")
        if server is None or lookup("mariadb-install-db") is None:
            found.missing.append(Missing("MariaDB server (mariadbd)", "mariadb-server"))
            return found
        needed = tree.database_requirement("mariadb") if tree is not None else None
        version = server_binary_version(server)
        if needed and version and not version_at_least(version, needed):
            found.missing.append(
                Missing(
                    f"MariaDB {needed} or later for Moodle {tree and tree.branch_key} "
                    f"(found {version})",
                    "mariadb-server",
                )
            )
        if root_user(is_root) and not _user_exists(SERVER_USER):
            found.missing.append(Missing("the mysql system user", "mariadb-server"))
        return found

    def private_server(self, directory: Path) -> MariaDBServer:
        return MariaDBServer(directory)

    # -- databases and queries ------------------------------------------------------

    def query(self, db: DatabaseConfig, sql: str, *, database: str | None = None) -> list[Row]:
        """Rows from the client's XML output, which tells NULL from empty text."""
        target = db.name if database is None else database
        out = run_tool(
            [
                "mariadb",
                *_args(db),
                "--connect-timeout=10",
                "--xml",
                *(["-D", target] if target else []),
            ],
            env=_env(db),
            what=f"a query on {db.host}:{db.port}/{target}",
            fix=_FIX,
            text_input=sql,  # on stdin: SQL of any length
        ).decode()
        return _rows(out)

    def create_database(self, db: DatabaseConfig) -> None:
        self.query(
            db,
            f"CREATE DATABASE {_ident(db.name)} DEFAULT CHARACTER SET {CHARSET} "
            f"COLLATE {COLLATION}",
            database="",
        )

    def drop_database(self, db: DatabaseConfig) -> None:
        self.query(db, f"DROP DATABASE IF EXISTS {_ident(db.name)}", database="")

    def server_version(self, db: DatabaseConfig) -> str:
        """ "MariaDB 10.11.19" (the server says "10.11.19-MariaDB-0+deb12u1")."""
        version = str(self.query(db, "SELECT version()")[0][0])
        if "mariadb" in version.lower():
            return f"MariaDB {version.split('-', 1)[0]}"
        return f"MySQL {version}"

    def literal(self, value: str) -> str:
        return _literal(value)

    def regex_match_sql(self, column: str, regex: str) -> str:
        return f"{column} REGEXP {_literal(regex)}"

    def table_count_sql(self, prefix_pattern: str) -> str:
        return (
            "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE "
            f"{prefix_pattern} AND table_schema = DATABASE()"
        )

    # -- dumps ----------------------------------------------------------------------

    def dump(self, db: DatabaseConfig, sink: IO[bytes]) -> None:
        """SQL text, one consistent snapshot (InnoDB), without locking the site."""
        run_tool(
            [
                "mariadb-dump", *_args(db), "--single-transaction", "--quick",
                "--skip-lock-tables", "--hex-blob", "--routines", "--max-allowed-packet=1G",
                db.name,
            ],
            env=_env(db),
            what="mariadb-dump",
            fix="check the database",
            stdout=sink,
        )  # fmt: skip

    def restore(self, db: DatabaseConfig, source: Path | IO[bytes]) -> None:
        command = ["mariadb", *_args(db), "--max-allowed-packet=1G", "-D", db.name]
        what, fix = "restoring the MariaDB dump", "check the dump"
        if isinstance(source, Path):
            with source.open("rb") as handle:
                run_tool(command, env=_env(db), what=what, fix=fix, stdin=handle)
            return
        feed_tool(command, env=_env(db), what=what, fix=fix, head=b"", rest=source)


def _rows(xml_text: str) -> list[Row]:
    """Rows of every result set in ``mariadb --xml`` output (several statements
    give several documents)."""
    body = re.sub(r"<\?xml[^>]*\?>", "", xml_text).strip()
    if not body:
        return []
    root = ET.fromstring(f"<all>{body}</all>")  # noqa: S314 - our own server's output
    rows: list[Row] = []
    for row in root.iter("row"):
        rows.append(
            tuple(
                None if field.get(_NIL) == "true" else (field.text or "")
                for field in row.iter("field")
            )
        )
    return rows


def server_binary_version(binary: str) -> str | None:
    """``mariadbd --version``: "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for ..."."""
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"Ver\s+(\d+\.\d+\.\d+)", out)
    return match.group(1) if match else None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class MariaDBServer(PrivateServer):
    """A MariaDB server of the sandbox's own."""

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def option_file(self) -> Path:
        return self.directory / "my.cnf"

    @property
    def pidfile(self) -> Path:
        return self.directory / "mariadbd.pid"

    @property
    def init_file(self) -> Path:
        return self.directory / "init.sql"

    @property
    def socket(self) -> Path:
        """In the folder when the path fits a socket address, else a short one
        derived from it (the server must not fall back on the system's socket)."""
        inside = self.directory / "mariadbd.sock"
        if len(str(inside)) <= _SOCKET_MAX:
            return inside
        digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"moodle-regress-{digest}.sock"

    def exists(self) -> bool:
        return (self.data / "mysql").is_dir()

    def _owner(self) -> tuple[int, int] | None:
        if not root_user():
            return None
        entry = pwd.getpwnam(SERVER_USER)
        return entry.pw_uid, entry.pw_gid

    def _options(self, port: int) -> str:
        lines = [
            "# moodle-regress sandbox: written by moodle-regress",
            "[mariadbd]",
            f"datadir = {self.data}",
            f"socket = {self.socket}",
            f"pid-file = {self.pidfile}",
            f"log-error = {self.log}",
            f"port = {port}",
        ]
        lines += [
            key if value is None else f"{key} = {value}" for key, value in SERVER_OPTIONS.items()
        ]
        return "\n".join(lines) + "\n"

    def init(self, db: DatabaseConfig) -> None:
        super().init(db)
        # The option file names the folders: made for the staging one, now for this one.
        self._write_options(db.port)

    def _create(self, folder: Path, db: DatabaseConfig) -> None:
        MariaDBServer(folder)._install(db)

    def _write_options(self, port: int) -> None:
        write_atomic(self.option_file, self._options(port), mode=0o644)
        owner = self._owner()
        if owner is not None:
            os.chown(self.option_file, *owner)

    def _install(self, db: DatabaseConfig) -> None:
        """The data folder (``mariadb-install-db``) and the init file that secures
        it on first start, in this server's folder."""
        self.directory.mkdir(mode=0o700, parents=True)
        write_atomic(self.option_file, self._options(db.port), mode=0o644)
        users = [f"{_literal(db.user)}@{_literal(host)}" for host in ("127.0.0.1", "localhost")]
        password = _literal(db.password)
        statements = [
            # Only root@localhost stays of the passwordless accounts the installer made.
            "DELETE FROM mysql.global_priv WHERE User = '' OR "
            "(User = 'root' AND Host <> 'localhost')",
            "FLUSH PRIVILEGES",
            f"ALTER USER 'root'@'localhost' IDENTIFIED BY {password}",
            *(f"CREATE OR REPLACE USER {user} IDENTIFIED BY {password}" for user in users),
            *(f"GRANT ALL PRIVILEGES ON *.* TO {user} WITH GRANT OPTION" for user in users),
        ]
        write_atomic(self.init_file, ";\n".join(statements) + ";\n", mode=0o600)
        owner = self._owner()
        if owner is not None:
            ensure_traversable(self.directory.parent, *owner)
            for path in (self.directory, self.option_file, self.init_file):
                os.chown(path, *owner)
        binary = find_binary("mariadb-install-db")
        if binary is None:
            raise DatabaseError(
                "mariadb-install-db is missing", "apt-get install -y mariadb-server"
            )
        command = [
            binary, f"--defaults-file={self.option_file}",
            "--auth-root-authentication-method=normal", "--skip-test-db",
            *([f"--user={SERVER_USER}"] if owner else []),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
        if result.returncode != 0:
            raise DatabaseError(
                f"mariadb-install-db failed in {self.directory}: "
                f"{(result.stderr or result.stdout).strip()[-800:]}",
                "check the MariaDB installation and free disk space",
            )

    def start(self, db: DatabaseConfig, timeout: float = 90.0) -> None:
        binary = find_binary("mariadbd")
        if binary is None:
            raise DatabaseError("mariadbd is missing", "apt-get install -y mariadb-server")
        first = self.init_file.exists()
        command = [
            binary, f"--defaults-file={self.option_file}", f"--port={db.port}",
            *([f"--user={SERVER_USER}"] if self._owner() else []),
            *([f"--init-file={self.init_file}"] if first else []),
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DatabaseError(
                    f"MariaDB exited at start (status {process.returncode}): {self._log_tail()}",
                    f"see {self.log}",
                )
            if _accepts(db.port) and self._answers(db):
                if first:
                    self.init_file.unlink(missing_ok=True)
                return
            time.sleep(0.2)
        self.stop()
        raise DatabaseError(
            f"MariaDB did not answer on 127.0.0.1:{db.port} within {timeout:.0f} s",
            f"see {self.log}",
        )

    def _answers(self, db: DatabaseConfig) -> bool:
        try:
            MariaDB().query(db, "SELECT 1", database="")
        except DatabaseError:
            return False
        return True

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = [line for line in self.log.read_text().splitlines() if "ERROR" in line]
            return " / ".join(lines[-2:]) or "no error logged"
        return "no log"

    def stop(self, timeout: float = 60.0) -> None:
        pid = read_pid(self.pidfile)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)

    def is_running(self) -> bool:
        return read_pid(self.pidfile) is not None


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
