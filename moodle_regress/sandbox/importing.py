"""Reading what an administrator's own backup holds, for ``sandbox import``: the
database dump's kind and table prefix, and the dataroot (a folder or a tar archive)
copied without the parts Moodle rebuilds.

Nothing here writes to the dump or the dataroot it reads: dumps are streamed to the
database's own client tools, dataroots copied (never hard-linked: the sandbox's
Moodle writes to its files).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moodle_regress.sandbox.db import open_dump
from moodle_regress.sandbox.errors import SandboxError
from moodle_regress.sandbox.installs import DATAROOT_REBUILT
from moodle_regress.sandbox.processes import run_command

#: Dataroot folders an import leaves out: Moodle makes them again.  ``muc`` too: its
#: cache configuration may name the real site's cache servers (Redis, Memcached), which
#: a copy must never reach; Moodle writes a default one.
DATAROOT_SKIPPED = (*DATAROOT_REBUILT, "muc")
#: Names only a dataroot has at its top (to tell one in an archive from the folder
#: that holds it).
_DATAROOT_NAMES = frozenset({*DATAROOT_SKIPPED, "filedir", "lang", "repository", "models"})
#: A custom-format dump (pg_dump -Fc) begins with these bytes.
_CUSTOM_MAGIC = b"PGDMP"
#: ``CREATE TABLE public.mdl_config (`` in a plain pg_dump, ``CREATE TABLE `mdl_config` (``
#: in a mysqldump / mariadb-dump.
_CREATE_TABLE = re.compile(
    rb'^CREATE TABLE (?:IF NOT EXISTS )?(?:["`]?[\w$]+["`]?\.)?["`]?([\w$]+)["`]?\s*\('
)
#: What only a mysqldump / mariadb-dump file has.
_MYSQL = re.compile(rb"^(?:-- (?:MySQL|MariaDB) dump|CREATE TABLE `|/\*!40\d{3} )")
#: The statements of ``mysqldump --databases`` that name a database: the import loads
#: into the sandbox's own.
_CREATE_DATABASE = re.compile(rb"^CREATE DATABASE ")
_USE_DATABASE = re.compile(rb"^USE `((?:[^`]|``)+)`;")
#: ``ALTER TABLE public.mdl_config OWNER TO moodle;``: roles the dump expects.
_OWNER = re.compile(rb"OWNER TO \"?([\w$-]+)\"?;")
#: ``215; 1259 16390 TABLE public mdl_config moodle`` in ``pg_restore --list``.
_LISTED_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE \S+ (\S+) (\S+)")


class SiteImportError(SandboxError):
    """A dump or dataroot cannot be imported, or the imported site is not safe."""


class DumpError(SiteImportError):
    """The dump is missing, unreadable, or not a Moodle database dump."""


class DatarootError(SiteImportError):
    """The dataroot is missing or not a folder or tar archive."""


class VersionMismatchError(SiteImportError):
    """The code tree is not of the version the dump holds."""


class UnsafeSiteError(SiteImportError):
    """The imported site still points at its old address after rewriting."""


@dataclass
class DumpInfo:
    """What a dump holds: its engine ("postgres" or "mariadb", for MySQL's and
    MariaDB's dumps alike), its format ("custom" or "plain"), whether it is
    compressed, Moodle's table prefix, and the roles that own its objects (a plain
    pg_dump sets owners, and psql stops at a missing role)."""

    path: Path
    format: str
    compressed: bool
    prefix: str
    owners: list[str] = field(default_factory=list)
    engine: str = "postgres"


def prefix_from_tables(names: Iterable[str]) -> str | None:
    """Moodle's table prefix among table names: the ``X`` of ``Xconfig`` when
    ``Xconfig_plugins`` and ``Xcourse`` are there too (``mdl_``, ``m_``, even "")."""
    tables = set(names)
    found = sorted(
        name.removesuffix("config")
        for name in tables
        if name.endswith("config")
        and f"{name.removesuffix('config')}config_plugins" in tables
        and f"{name.removesuffix('config')}course" in tables
    )
    # Two Moodle sites in one dump: the caller cannot guess which one is meant.
    return found[0] if len(found) == 1 else None


def _readable(path: Path) -> None:
    if not path.is_file():
        raise DumpError(
            f"no database dump at {path}", "give the path of a pg_dump or mariadb-dump file"
        )
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise DumpError(
            f"the dump {path} cannot be read: {exc.strerror}", "check the file's permissions"
        ) from None


def inspect_dump(path: Path) -> DumpInfo:
    """Read a dump's engine, format and table prefix (streaming: a plain dump is read
    only as far as its Moodle tables; a custom one through ``pg_restore --list``)."""
    _readable(path)
    with path.open("rb") as raw:
        compressed = raw.read(6).startswith((b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\xfd7zXZ", b"BZh"))
    owners: list[str] = []
    mysql = False
    try:
        with open_dump(path) as stream:
            head = stream.read(5)
            if head == _CUSTOM_MAGIC:
                tables = _listed_tables(head, stream)
                kind = "custom"
            else:
                kind = "plain"
                tables, owners, mysql = _plain_tables(head, stream)
    except (OSError, EOFError) as exc:
        raise DumpError(
            f"the dump {path} cannot be read: {exc}", "check that the file is complete"
        ) from None
    prefix = prefix_from_tables(tables)
    if prefix is None:
        what = "MySQL/MariaDB dump" if mysql else "file"
        raise DumpError(
            f"{path} holds no Moodle database (no <prefix>config, <prefix>config_plugins "
            f"and <prefix>course tables in this {what})",
            "give a dump of the site's database made by pg_dump (custom -Fc or plain SQL) "
            "or mariadb-dump / mysqldump (SQL), optionally compressed",
        )
    return DumpInfo(path, kind, compressed, prefix, owners, "mariadb" if mysql else "postgres")


def _plain_tables(head: bytes, stream: IO[bytes]) -> tuple[list[str], list[str], bool]:
    """Table names and owner roles in a plain SQL dump, read line by line until
    Moodle's prefix is known (pg_dump and mariadb-dump write tables in name order:
    config, then config_plugins, then course), and whether it is a MySQL dump."""
    tables: list[str] = []
    owners: list[str] = []
    mysql = False
    lines = iter(stream)
    for line in itertools.chain([head + next(lines, b"")], lines):
        mysql = mysql or bool(_MYSQL.match(line))
        match = _CREATE_TABLE.match(line)
        if match:
            tables.append(match.group(1).decode(errors="replace"))
            if prefix_from_tables(tables) is not None:
                break
            continue
        owner = _OWNER.search(line)
        if owner:
            role = owner.group(1).decode(errors="replace")
            if role not in owners:
                owners.append(role)
    return tables, owners, mysql


def _listed_tables(head: bytes, stream: IO[bytes]) -> list[str]:
    """Table names in a custom-format dump: ``pg_restore --list`` reading it on stdin."""
    process = subprocess.Popen(
        ["pg_restore", "--list"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd="/",
    )
    # Fed from a thread while its listing is read: either pipe filling must not stop
    # the other.
    sink, process.stdin = process.stdin, None
    assert sink is not None
    feeder = threading.Thread(target=_feed, args=(sink, head, stream))
    feeder.start()
    out, err = process.communicate()
    feeder.join()
    if process.returncode != 0:
        raise DumpError(
            f"pg_restore cannot read the dump: {err.decode(errors='replace').strip()[-300:]}",
            "check that the file is a complete pg_dump custom-format dump",
        )
    tables = []
    for line in out.decode(errors="replace").splitlines():
        match = _LISTED_TABLE.match(line)
        if match:
            tables.append(match.group(1))
    return tables


def _feed(sink: IO[bytes], head: bytes, stream: IO[bytes]) -> None:
    try:
        sink.write(head)
        shutil.copyfileobj(stream, sink, 1 << 20)
    except BrokenPipeError:
        pass  # pg_restore read its table of contents and stopped: enough
    finally:
        with contextlib.suppress(BrokenPipeError):
            sink.close()


def one_database(stream: IO[bytes]) -> IO[bytes]:
    """A MySQL/MariaDB dump as a stream without its ``CREATE DATABASE`` and ``USE``
    statements (``mysqldump --databases`` writes them), so that it loads into the
    sandbox's database; a dump of several databases stops with :class:`DumpError`."""
    return io.BufferedReader(_OneDatabase(stream), 1 << 20)


class _OneDatabase(io.RawIOBase):
    def __init__(self, stream: IO[bytes]) -> None:
        self._lines = iter(stream)
        self._pending = b""
        self._database: bytes | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            line = next(self._lines, None)
            if line is None:
                return 0
            self._pending = self._kept(line)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _kept(self, line: bytes) -> bytes:
        if _CREATE_DATABASE.match(line):
            return b""
        used = _USE_DATABASE.match(line)
        if used is None:
            return line
        if self._database is not None and used.group(1) != self._database:
            names = [n.decode(errors="replace") for n in (self._database, used.group(1))]
            raise DumpError(
                f"the dump holds more than one database ({', '.join(names)}, ...)",
                "dump the Moodle database alone: mariadb-dump [options] DBNAME > FILE",
            )
        self._database = used.group(1)
        return b""


# -- dataroot ----------------------------------------------------------------------


def archive_root(members: Iterable[str]) -> str:
    """The folder inside a dataroot archive that is the dataroot: "" when its top is
    the dataroot itself (``tar -C moodledata .``), else the one folder everything is
    in (``tar -C /var moodledata``)."""
    tops = set()
    for member in members:
        parts = [p for p in member.split("/") if p not in ("", ".")]
        if parts:
            tops.add(parts[0])
    if len(tops) == 1:
        (top,) = tops
        if top not in _DATAROOT_NAMES:
            return top
    return ""


def skip_patterns(root: str) -> list[str]:
    """tar ``--exclude`` patterns (anchored) for the skipped folders at a dataroot's top
    inside an archive whose dataroot is ``root``."""
    base = f"{root}/" if root else ""
    return [p for name in DATAROOT_SKIPPED for p in (f"{base}{name}", f"./{base}{name}")]


def copy_dataroot(source: Path, target: Path) -> None:
    """Copy a dataroot (folder or tar archive, compressed or not) to ``target``
    (which must not exist), without the folders Moodle rebuilds."""
    if source.is_dir():
        target.mkdir(mode=0o700)
        entries = [str(p) for p in source.iterdir() if p.name not in DATAROOT_SKIPPED]
        if entries:
            _run(["cp", "-a", "--reflink=auto", *entries, str(target)], source)
        return
    if not source.is_file():
        raise DatarootError(
            f"no dataroot at {source}", "give the site's moodledata folder or a tar archive of it"
        )
    root = archive_root(_first_members(source))
    target.mkdir(mode=0o700)
    _run(
        [
            "tar", "-xf", str(source), "-C", str(target), "--no-same-owner",
            *(["--strip-components=1"] if root else []),
            "--anchored", "--no-wildcards-match-slash",
            *[f"--exclude={pattern}" for pattern in skip_patterns(root)],
        ],
        source,
    )  # fmt: skip


def _first_members(archive: Path, count: int = 200) -> list[str]:
    """The first names in a tar archive (tar stops when we stop reading)."""
    process = subprocess.Popen(
        ["tar", "-tf", str(archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    members = []
    for line in process.stdout:
        members.append(line.rstrip("\n"))
        if len(members) >= count:
            break
    process.stdout.close()
    status = process.wait()
    if not members and status != 0:
        message = process.stderr.read().strip() if process.stderr else ""
        raise DatarootError(
            f"{archive} is not a tar archive: {message[-200:]}",
            "give the site's moodledata folder or a tar archive of it (.tar, .tar.gz, .tar.zst)",
        )
    return members


def _run(command: list[str], source: Path) -> None:
    run_command(
        command,
        error=DatarootError,
        what=f"copying the dataroot {source}",
        fix="check free disk space and that the archive is complete",
    )
