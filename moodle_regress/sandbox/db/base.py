"""What every database engine offers the sandbox (see ``Engine``), and the parts
they share: the connection settings, running client tools, reading dumps.

An engine is stateless: each operation takes the ``DatabaseConfig`` it works on.
A private server (``PrivateServer``) is the engine's server running from a folder of
the sandbox, listening on 127.0.0.1 only.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import re
import shutil
import stat
import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Final, cast
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from moodle_regress.sandbox.codetree import CodeTree
from moodle_regress.sandbox.errors import DatabaseError
from moodle_regress.timing import CLOCK

#: Sandboxes made before there was a choice of engine have none in their state.
DEFAULT_ENGINE: Final = "postgres"

Row = tuple[str | None, ...]
Lookup = Callable[[str], str | None]
PhpValue = str | int | bool


class DatabaseConfig(BaseModel):
    """How Moodle and the tool reach the site's database."""

    engine: str = DEFAULT_ENGINE
    host: str = "127.0.0.1"
    port: int
    name: str = "moodle"
    user: str = "moodle"
    password: str
    prefix: str = "mdl_"

    def renamed(self, name: str) -> DatabaseConfig:
        """The same server and credentials, another database."""
        return self.model_copy(update={"name": name})


@dataclass(frozen=True)
class MoodleDatabase:
    """The database part of Moodle's config.php."""

    dbtype: str
    dblibrary: str
    dbhost: str
    dboptions: Mapping[str, PhpValue]


@dataclass(frozen=True)
class Missing:
    """One missing prerequisite and the Debian package that brings it."""

    what: str
    package: str


@dataclass
class Requirements:
    """What an engine needs on this machine, and what is missing of it."""

    php_extension: str
    missing: list[Missing] = field(default_factory=list)


class PrivateServer(ABC):
    """The engine's server running from ``directory`` (the sandbox's own).

    ``init`` creates it with ``db.user``/``db.password`` as its superuser; ``start``
    makes it listen on 127.0.0.1:``db.port`` and returns once it accepts queries."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def exists(self) -> bool:
        return self.directory.is_dir()

    def init(self, db: DatabaseConfig) -> None:
        """Create the server's folder, all or nothing: it is made in a staging folder
        beside it and renamed into place once complete, so an init cut short (Ctrl-C,
        a full disk) leaves no folder that ``exists()`` would take for a server."""
        staging = self.directory.with_name(f".{self.directory.name}.init")
        shutil.rmtree(staging, ignore_errors=True)  # left by an init cut short
        try:
            self._create(staging, db)
            staging.rename(self.directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @abstractmethod
    def _create(self, folder: Path, db: DatabaseConfig) -> None:
        """Create the server in ``folder`` (renamed to ``directory`` afterwards)."""

    @abstractmethod
    def start(self, db: DatabaseConfig) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def is_running(self) -> bool: ...


class Engine(ABC):
    """One database engine: its private server, databases, dumps, queries, what
    Moodle's config.php says about it and what it needs on the machine."""

    #: Short name: ``--db NAME``, ``DatabaseConfig.engine``, backups' manifests.
    name: ClassVar[str]
    #: The name people know it by, for messages.
    label: ClassVar[str]
    #: URL schemes of ``--db-url`` that name this engine.
    url_schemes: ClassVar[tuple[str, ...]]
    default_port: ClassVar[int]
    default_user: ClassVar[str]
    #: The private server's folder inside a sandbox.
    data_dir_name: ClassVar[str]
    #: The dump's file name inside a backup archive.
    dump_name: ClassVar[str]
    #: Debian packages of the server and of the client tools.
    server_packages: ClassVar[tuple[str, ...]]
    client_packages: ClassVar[tuple[str, ...]]
    #: SQL answering the operating-system id of the process (or thread) serving the
    #: connection: a PHP run pinned to one CPU pins it to the same (see cpus.py).
    backend_process_sql: ClassVar[str]

    # -- Moodle and the machine --------------------------------------------------

    @abstractmethod
    def moodle_config(self, db: DatabaseConfig) -> MoodleDatabase:
        """``$CFG->dbtype``, ``dblibrary``, ``dbhost`` and ``dboptions``."""

    @abstractmethod
    def requirements(
        self,
        tree: CodeTree | None,
        *,
        need_server: bool = True,
        lookup: Lookup | None = None,
        is_root: bool | None = None,
    ) -> Requirements:
        """The PHP extension Moodle's driver needs, and what of the server and the
        client tools is missing (the server's version checked against the tree's
        ``environment.xml`` when a tree is given)."""

    @abstractmethod
    def private_server(self, directory: Path) -> PrivateServer: ...

    def config_from_url(self, url: str) -> DatabaseConfig:
        """``scheme://user:password@host:port/dbname`` (one of ``url_schemes``)."""
        parts = urlsplit(url)
        if parts.scheme not in self.url_schemes or not parts.path.strip("/"):
            raise DatabaseError(
                f"{redact_url(url)!r} is not a {self.label} URL",
                f"use {self.url_schemes[0]}://USER:PASSWORD@HOST:PORT/DBNAME",
            )
        return DatabaseConfig(
            engine=self.name,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or self.default_port,
            name=unquote(parts.path.strip("/")),
            user=unquote(parts.username or self.default_user),
            password=unquote(parts.password or ""),
        )

    # -- databases and queries ------------------------------------------------------

    @abstractmethod
    def query(self, db: DatabaseConfig, sql: str) -> list[Row]:
        """Run ``sql`` in ``db`` and return its rows (NULL as None, all else as text)."""

    @abstractmethod
    def create_database(self, db: DatabaseConfig) -> None:
        """Create ``db.name`` with the character set and collation Moodle wants."""

    @abstractmethod
    def drop_database(self, db: DatabaseConfig) -> None:
        """Drop ``db.name`` if it exists (closing its connections)."""

    @abstractmethod
    def table_count_sql(self, prefix_pattern: str) -> str:
        """SQL counting the current database's tables whose names are LIKE the pattern."""

    def literal(self, value: str) -> str:
        """``value`` as a string literal of this engine's SQL."""
        return sql_literal(value)

    def regex_match_sql(self, column: str, regex: str) -> str:
        """SQL that holds where ``column`` matches ``regex`` (an extended regex)."""
        return f"{column} ~ {self.literal(regex)}"

    def database_is_empty(self, db: DatabaseConfig) -> bool:
        """Whether ``db`` holds no table with Moodle's prefix."""
        pattern = db.prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
        rows = self.query(db, self.table_count_sql(sql_literal(pattern)))
        return rows[0][0] == "0"

    def server_version(self, db: DatabaseConfig) -> str:
        """The server's own version string (``SELECT version()``)."""
        return str(self.query(db, "SELECT version()")[0][0])

    # -- dumps ----------------------------------------------------------------------

    @abstractmethod
    def dump(self, db: DatabaseConfig, sink: IO[bytes]) -> None:
        """Write a dump of ``db`` to ``sink`` (a file or a pipe: it is streamed, so a
        compressor can sit behind it)."""

    @abstractmethod
    def restore(self, db: DatabaseConfig, source: Path | IO[bytes]) -> None:
        """Load a dump (a file, or a stream such as ``open_dump``'s) into the
        existing, empty ``db``."""


# -- shared helpers ------------------------------------------------------------------


def sql_literal(value: str) -> str:
    """A standard SQL string literal (quotes doubled; backslashes as given)."""
    return "'" + value.replace("'", "''") + "'"


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def run_tool(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    what: str,
    fix: str,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    text_input: str | None = None,
) -> bytes:
    """Run a client tool (reading ``stdin``, or ``text_input``); raise
    ``DatabaseError`` naming ``what`` and the tool's own message when it fails.
    Returns its output unless ``stdout`` takes it."""
    feed: dict[str, Any] = (
        {"input": text_input.encode()}
        if text_input is not None
        else {"stdin": stdin if stdin is not None else subprocess.DEVNULL}
    )
    with CLOCK.busy("database"):
        result = subprocess.run(
            list(command),
            env=dict(env),
            **feed,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=False,
            cwd="/",
        )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()[-800:] or "no message"
        raise DatabaseError(f"{what} failed: {message}", fix)
    return result.stdout or b""


def feed_tool(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    what: str,
    fix: str,
    head: bytes,
    rest: IO[bytes],
) -> None:
    """Run a tool reading ``head`` then the rest of a stream on its stdin."""
    with CLOCK.busy("database"):
        status, errors = _fed(command, env, head, rest)
    if status != 0:
        message = b"".join(errors).decode(errors="replace").strip()[-800:] or "no message"
        raise DatabaseError(f"{what} failed: {message}", fix)


def _fed(
    command: Sequence[str], env: Mapping[str, str], head: bytes, rest: IO[bytes]
) -> tuple[int, list[bytes]]:
    process = subprocess.Popen(
        list(command),
        env=dict(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd="/",
    )
    sink, stderr = process.stdin, process.stderr
    assert sink is not None and stderr is not None
    errors: list[bytes] = []
    # Read its messages meanwhile: a full stderr pipe would stop it.
    reader = threading.Thread(target=lambda: errors.append(stderr.read()))
    reader.start()
    # A tool that stops early breaks the pipe: its status and message say why.
    with contextlib.suppress(BrokenPipeError), sink:
        sink.write(head)
        shutil.copyfileobj(rest, sink, 1 << 20)
    status = process.wait()
    reader.join()
    return status, errors


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


@contextmanager
def open_dump(path: Path) -> Iterator[IO[bytes]]:
    """A dump file opened for reading, decompressed on the fly when it is gzip, xz,
    bzip2 or zstd (recognised by content, not by name)."""
    with path.open("rb") as raw:
        head = raw.read(6)
    kind = next((k for magic, k in _MAGIC if head.startswith(magic)), None)
    if kind == "zstd":
        yield from _zstd_stream(path)
        return
    with _open(path, kind) as stream:
        yield stream


def _open(path: Path, kind: str | None) -> IO[bytes]:
    if kind == "gzip":
        return cast(IO[bytes], gzip.GzipFile(path, "rb"))
    if kind == "xz":
        return cast(IO[bytes], lzma.LZMAFile(path, "rb"))
    if kind == "bzip2":
        return cast(IO[bytes], bz2.BZ2File(path, "rb"))
    return path.open("rb")


def _zstd_stream(path: Path) -> Iterator[IO[bytes]]:
    if shutil.which("zstd") is None:
        raise DatabaseError(f"{path} is zstd-compressed", "apt-get install -y zstd")
    process = subprocess.Popen(
        ["zstd", "-dc", "--", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    try:
        yield process.stdout
    finally:
        process.stdout.close()
        if process.wait() not in (0, -13):  # -13: we stopped reading early (SIGPIPE)
            raise DatabaseError(f"decompressing {path} failed", "check the file")


def peek(stream: IO[bytes], size: int = 5) -> bytes:
    """The first bytes of a stream (consumed: pass them on with ``feed_tool``)."""
    return stream.read(size)


def ensure_traversable(path: Path, uid: int, gid: int) -> list[Path]:
    """Let a server's user reach ``path``: add the search bit for others on each
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


def root_user(is_root: bool | None = None) -> bool:
    """Whether the tool runs as root (``is_root`` overrides, for tests)."""
    return os.geteuid() == 0 if is_root is None else is_root


def version_tuple(text: str) -> tuple[int, ...]:
    """ "15" -> (15, 0, 0); "10.11.19-MariaDB-0+deb12u1" -> (10, 11, 19)."""
    match = re.match(r"\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if not match:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(part or 0) for part in match.groups())


def version_at_least(found: str, needed: str | None) -> bool:
    return needed is None or version_tuple(found) >= version_tuple(needed)
