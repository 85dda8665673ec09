"""Installed sites kept for reuse: Moodle's installer runs once per code tree and engine.

Moodle's installer takes minutes (two to ten on a small machine), and a rehearsal, the
schema check's fresh install and every test sandbox would run it again for the same code.
So the first ``sandbox up`` of a tree on a private database server keeps what the installer
made, before the tool configures anything:

    <MOODLE_REGRESS_HOME>/installed-sites/<engine>/<fingerprint>/
        manifest.json    release, version, admin user, the server's version, when made
        <dump>           the engine's dump of the new database
        moodledata.tar   the dataroot, less what Moodle rebuilds by itself

and later ``up``s of a tree with the same fingerprint (its ``version.php`` and
``db/install.xml`` files, as for the schema check's fresh installs) on the same engine
and server version load that instead (seconds), then configure the site as after an
install, giving it its own name and site identifier.  An entry is written to a hidden
folder and renamed into place when whole, so an interrupted save leaves nothing that looks
usable; a file lock per entry keeps two runs from saving the same one.  Deleting the folder
is safe, and ``moodle-regress sandbox cache clear`` does it entry by entry, under the
entry's lock, touching only folders holding a manifest the tool wrote (``cache list``
shows them, with when each was last loaded: a ``last-used`` file's time).
``MOODLE_REGRESS_REUSE_INSTALLS=0`` (or ``reuse_installs = false`` in the config
file, or ``--no-cache``) runs the installer every time, and
``MOODLE_REGRESS_KEPT_INSTALLS=DIR`` (or ``kept_installs = "DIR"``) keeps them elsewhere,
shared by several tool homes (the tests do).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from moodle_regress.config import Settings
from moodle_regress.files import write_json_atomic
from moodle_regress.sandbox.codetree import short_release
from moodle_regress.sandbox.db import ENGINE_NAMES, DatabaseConfig, Engine, engine_named
from moodle_regress.sandbox.errors import SandboxError
from moodle_regress.sandbox.processes import run_command

FOLDER = "installed-sites"
#: The layout of an entry; entries of another layout are not used (and made again).
FORMAT = 1
MANIFEST = "manifest.json"
#: Dataroot folders Moodle makes again by itself (left out here and of sandbox backups).
DATAROOT_REBUILT = ("cache", "localcache", "sessions", "temp", "trashdir", "lock")
#: Made again before a site answers: Moodle's file storage makes them on first use
#: without guarding against a concurrent request doing the same, and the loser of
#: that race fails with ``storedfilecannotcreatefiledirs`` (file_system_filedir).
DATAROOT_MADE_AHEAD = ("filedir", "trashdir")
#: The mode of the folders Moodle makes there: mkdir with ``$CFG->directorypermissions``
#: (02777) under Moodle's umask of 0, which keeps no set-group-ID bit.
DATAROOT_DIRECTORY_MODE = 0o777
DATAROOT_ARCHIVE = "moodledata.tar"
#: Touched each time an entry is loaded: its time is when the entry was last used.
LAST_USED = "last-used"


class KeptInstallError(SandboxError):
    """A kept install could not be saved, loaded or removed."""


class KeptInstallBusyError(KeptInstallError):
    """Another run holds the entry's lock (it is installing or loading that tree)."""


@dataclass(frozen=True)
class KeptInstall:
    """One entry: the install of one code tree (by fingerprint) on one engine."""

    path: Path
    engine: Engine
    fingerprint: str

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> dict[str, object] | None:
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        return data

    def recorded(self) -> dict[str, object] | None:
        """The manifest when the tool wrote it for this very entry (of any layout), else
        None: the folder is not the tool's to list or remove."""
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None
        if (
            not isinstance(data, dict)
            or data.get("fingerprint") != self.fingerprint
            or data.get("engine") != self.engine.name
        ):
            return None
        return data

    @property
    def release(self) -> str:
        """The short release ("4.5.6+") the entry was installed from."""
        return short_release(str((self.recorded() or {}).get("release", "?")))

    def made(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str((self.recorded() or {}).get("made")))
        except ValueError:
            return None

    def size(self) -> int:
        """Bytes on disk (allocated blocks, as ``du``)."""
        total = 0
        for folder, _dirs, files in os.walk(self.path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_blocks * 512
                except OSError:
                    continue  # removed meanwhile
        return total

    def last_used(self) -> datetime | None:
        try:
            return datetime.fromtimestamp((self.path / LAST_USED).stat().st_mtime, UTC)
        except OSError:
            return None

    def usable_for(self, db: DatabaseConfig, admin_username: str) -> bool:
        """Whether the entry is whole and fits a site on ``db`` with that admin."""
        manifest = self.manifest()
        return (
            manifest is not None
            and manifest.get("admin_username") == admin_username
            and manifest.get("prefix") == db.prefix
            and manifest.get("server_version") == self.engine.server_version(db)
            and (self.path / self.engine.dump_name).is_file()
            and (self.path / DATAROOT_ARCHIVE).is_file()
        )

    def save(
        self, db: DatabaseConfig, dataroot: Path, *, release: str, admin_username: str
    ) -> None:
        """Keep the site on ``db`` with ``dataroot`` (just installed) as this entry."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        try:
            with (staging / self.engine.dump_name).open("wb") as sink:
                self.engine.dump(db, sink)
            _tar(
                ["-cf", str(staging / DATAROOT_ARCHIVE), "-C", str(dataroot),
                 *[f"--exclude=./{d}" for d in DATAROOT_REBUILT], "."],
                what=f"keeping the dataroot {dataroot}",
            )  # fmt: skip
            manifest = {
                "format": FORMAT,
                "fingerprint": self.fingerprint,
                "engine": self.engine.name,
                "server_version": self.engine.server_version(db),
                "release": release,
                "admin_username": admin_username,
                "prefix": db.prefix,
                "made": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            write_json_atomic(staging / MANIFEST, manifest)
            if self.path.exists():
                shutil.rmtree(self.path)  # an entry of another format, or damaged
            staging.rename(self.path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def load_into(self, db: DatabaseConfig, dataroot: Path) -> None:
        """Fill the empty database ``db`` and the empty folder ``dataroot`` from the entry."""
        self.engine.restore(db, self.path / self.engine.dump_name)
        _tar(
            ["-xf", str(self.path / DATAROOT_ARCHIVE), "-C", str(dataroot)],
            what=f"unpacking the kept dataroot into {dataroot}",
        )
        # A shared folder may be read-only to this user: only the listing loses.
        with contextlib.suppress(OSError):
            (self.path / LAST_USED).touch()


def make_dataroot_folders(dataroot: Path) -> list[str]:
    """Make the folders of :data:`DATAROOT_MADE_AHEAD` that ``dataroot`` lacks (as a
    kept install, a backup or an import leaves it); returns the names made."""
    made = []
    for name in DATAROOT_MADE_AHEAD:
        folder = dataroot / name
        if not folder.is_dir():
            folder.mkdir(exist_ok=True)
            folder.chmod(DATAROOT_DIRECTORY_MODE)  # mkdir's mode is cut by the umask
            made.append(name)
    return made


def kept_installs_root(settings: Settings) -> Path:
    """The folder of the kept installs (see the module docstring)."""
    return settings.kept_installs_dir or settings.home / FOLDER


class KeptInstalls:
    """The kept installs of one tool home (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.root = kept_installs_root(settings)
        self.enabled = settings.reuse_installs

    def entry(self, engine: Engine, fingerprint: str) -> KeptInstall:
        return KeptInstall(self.root / engine.name / fingerprint, engine, fingerprint)

    def lock(self, entry: KeptInstall, *, timeout: float = 1800) -> FileLock:
        entry.path.parent.mkdir(parents=True, exist_ok=True)
        # The first run installs (minutes on a busy machine) while a second one waits.
        return FileLock(str(entry.path.parent / f".{entry.fingerprint[:16]}.lock"), timeout=timeout)

    def entries(
        self, *, engine: str | None = None, release: str | None = None
    ) -> list[KeptInstall]:
        """The entries the tool made (a folder with its manifest), by engine and release;
        anything else under the root is not listed."""
        found: list[KeptInstall] = []
        for name in ENGINE_NAMES:
            folder = self.root / name
            if (engine is not None and name != engine) or not folder.is_dir():
                continue
            kind = engine_named(name)
            for path in sorted(folder.iterdir()):
                if path.name.startswith(".") or not path.is_dir():
                    continue  # locks, and saves or removals under way
                entry = KeptInstall(path, kind, path.name)
                if entry.recorded() is not None and (
                    release is None or release_matches(entry.release, release)
                ):
                    found.append(entry)
        return found

    def remove(self, entry: KeptInstall) -> int:
        """Delete the entry, returning the bytes freed; refuses while another run holds it.

        The entry is renamed aside first, so that a removal that fails halfway leaves
        nothing at the entry's place that a run could take for an install."""
        try:
            with self.lock(entry, timeout=0):
                if entry.recorded() is None:
                    return 0  # removed by another clear meanwhile, or never the tool's
                size = entry.size()
                doomed = Path(
                    tempfile.mkdtemp(prefix=f".{entry.path.name}.removing.", dir=entry.path.parent)
                )
                entry.path.rename(doomed / entry.path.name)
                try:
                    shutil.rmtree(doomed)
                except OSError as exc:
                    raise KeptInstallError(
                        f"removing the kept install {entry.path} failed halfway: {exc}",
                        f"delete {doomed} by hand (it is no longer used)",
                    ) from None
                return size
        except Timeout:
            raise KeptInstallBusyError(
                f"the kept install {entry.path} is in use by another run",
                "clear it again when that run has made its sandbox",
            ) from None


def release_matches(release: str, wanted: str) -> bool:
    """Whether a manifest's release ("4.5.6+ (Build: ...)") is of ``wanted`` ("4.5",
    "4.5.6"): the same numbers, up to where ``wanted`` stops (4.5 is not 4.50)."""
    short = short_release(release)
    wanted = wanted.strip()
    return short == wanted or (short.startswith(wanted) and short[len(wanted)] in ".+- ")


def _tar(arguments: list[str], *, what: str) -> None:
    run_command(
        ["tar", *arguments],
        error=KeptInstallError,
        what=what,
        fix="check free disk space; `moodle-regress sandbox cache clear` to start over",
    )
