"""Sandboxes: real Moodle sites brought up from code trees, upgraded, backed up,
restored.

A sandbox is one directory, ``<settings.sandboxes_dir>/<name>/``::

    sandbox.json   the sandbox's own state (ports, database, code source), 0600
    site.json      the site descriptor every other command accepts, 0600
    code/          a hard-link copy of the code tree, with the sandbox's config.php
    moodledata/    Moodle's dataroot
    pgdata/ or mariadb/   the private database server (unless a database URL was given)
    logs/          installer, upgrade, web server and PHP error logs
    backups/       the backups taken before each upgrade

Why a hard-link copy of the code: Moodle reads ``config.php`` from the tree it runs
from, so each site needs its own.  ``cp -al`` makes the copy in about a second
without using disk space; the user's tree is never written to, and any number of
sandboxes can run from one tree at the same time.  The copy is a snapshot: edits
that replace files in the user's tree (git checkout) do not reach a running sandbox.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import BaseModel, SecretStr

from moodle_regress.config import Settings, load_settings
from moodle_regress.files import write_atomic, write_json_atomic
from moodle_regress.sandbox import importing, moodle, prereqs, server
from moodle_regress.sandbox.anonymise import anonymise as anonymise_people
from moodle_regress.sandbox.codetree import CodeTree, inspect_tree, release_tuple
from moodle_regress.sandbox.db import (
    DEFAULT_ENGINE,
    ENGINES,
    DatabaseConfig,
    Engine,
    PrivateServer,
    config_from_url,
    engine_for,
    engine_named,
    open_dump,
)
from moodle_regress.sandbox.db.base import sql_literal
from moodle_regress.sandbox.errors import (
    BackupError,
    DowngradeError,
    EngineMismatchError,
    InvalidNameError,
    PortInUseError,
    RestoreError,
    SandboxError,
    SandboxExistsError,
    SandboxNotFoundError,
    ServerError,
    UpgradeFailedError,
    UpgradePathError,
)
from moodle_regress.sandbox.fresh import tree_fingerprint
from moodle_regress.sandbox.installs import DATAROOT_REBUILT, KeptInstalls, make_dataroot_folders
from moodle_regress.sandbox.processes import run_command
from moodle_regress.sandbox.progress import Steps
from moodle_regress.site import DESCRIPTOR_NAME, SandboxPaths, SiteDescriptor
from moodle_regress.validation import InvalidDocumentError, validate_secret_json
from moodle_ws.redaction import register_secret

STATE_NAME = "sandbox.json"
ARCHIVE_FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Dataroot parts Moodle rebuilds by itself: left out of backups.
DATAROOT_EXCLUDES = DATAROOT_REBUILT


class SandboxState(BaseModel):
    """What the tool remembers about one sandbox (``sandbox.json``)."""

    name: str
    code_source: Path
    release: str
    version: str
    branch: str
    layout: str
    http_port: int
    db: DatabaseConfig
    private_db: bool
    admin_username: str = "admin"
    admin_password: str
    created: str
    workers: int = server.WORKERS
    history: list[dict[str, str]] = []
    #: What the tool was doing to the site when it stopped short ("installing",
    #: "upgrading to 5.0", "restoring ..."); None once that finished.  A sandbox with
    #: something unfinished is not usable: ``list`` and ``status`` say so, ``start``
    #: refuses.
    unfinished: str | None = None


@dataclass
class SandboxStatus:
    name: str
    url: str
    release: str
    code_source: Path
    path: Path
    server_running: bool
    db_running: bool
    answers: bool | None = None
    #: Why the sandbox cannot be used (a half-made site, a damaged state file).
    unusable: str | None = None

    @property
    def running(self) -> bool:
        return self.server_running and self.db_running

    @property
    def state(self) -> str:
        """``running``, ``stopped``, or why the sandbox cannot be used."""
        if self.unusable:
            return f"unusable: {self.unusable}"
        if self.server_running and not self.db_running:
            return "database down (web server running): start it again"
        return "running" if self.running else "stopped"


@dataclass
class UpgradeResult:
    old_release: str
    new_release: str
    seconds: float
    backup: Path
    added_functions: list[str] = field(default_factory=list)
    missing_plugins: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class RestoreResult:
    descriptor: SiteDescriptor
    release: str
    counts: moodle.SiteCounts
    seconds: float


def validate_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidNameError(
            f"{name!r} cannot be a sandbox name",
            "use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    return name


def copy_code(source: CodeTree, target: Path) -> CodeTree:
    """A hard-link copy of ``source`` at ``target`` (a real copy across file
    systems), without the tree's own config.php and VCS metadata."""
    target.mkdir(parents=True)
    entries = [str(p) for p in source.root.iterdir() if p.name not in {".git", "config.php", ".hg"}]
    result = subprocess.run(
        ["cp", "-al", *entries, str(target)], check=False, capture_output=True, text=True
    )
    if result.returncode != 0:
        shutil.rmtree(target)
        target.mkdir(parents=True)
        run_command(
            ["cp", "-a", "--reflink=auto", *entries, str(target)],
            error=SandboxError,
            what=f"copying the code tree {source.root}",
            fix="check free disk space and permissions",
        )
    return inspect_tree(target)


class Sandbox:
    """One sandbox directory and the operations on it."""

    def __init__(self, root: Path, settings: Settings, steps: Steps | None = None) -> None:
        self.root = root
        self.name = root.name
        self.settings = settings
        self.steps = steps or Steps()

    # -- paths and state -------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.root / STATE_NAME

    @property
    def descriptor_path(self) -> Path:
        return self.root / DESCRIPTOR_NAME

    @property
    def code_dir(self) -> Path:
        return self.root / "code"

    @property
    def dataroot(self) -> Path:
        return self.root / "moodledata"

    def db_dir(self, state: SandboxState | None = None) -> Path:
        """The private database server's folder."""
        return self.root / engine_for((state or self.state()).db).data_dir_name

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pidfile(self) -> Path:
        return self.root / "run" / "php.pid"

    def exists(self) -> bool:
        return self.state_path.is_file()

    def state(self) -> SandboxState:
        try:
            # Validated without echoing the input: it holds the passwords.
            state = validate_secret_json(SandboxState, self.state_path.read_text())
        except FileNotFoundError:
            raise SandboxNotFoundError(
                f"no sandbox named {self.name!r} in {self.root.parent}",
                "see `moodle-regress sandbox list`, or create it with `sandbox up`",
            ) from None
        except InvalidDocumentError as exc:
            raise SandboxError(
                f"{self.state_path} is damaged: {exc}",
                f"destroy the sandbox (`moodle-regress sandbox destroy {self.name}`)",
            ) from None
        register_secret(state.db.password)
        register_secret(state.admin_password)
        return state

    def refuse_unfinished(self, state: SandboxState) -> None:
        """Raise :class:`SandboxError` when an install, upgrade or restore of this
        sandbox stopped short (the site is half-made)."""
        if state.unfinished:
            raise SandboxError(
                f"sandbox {self.name} is unusable: it was interrupted while {state.unfinished}",
                f"destroy it (`moodle-regress sandbox destroy {self.name}`) and make it again, "
                "or restore a backup into it",
            )

    def save_state(self, state: SandboxState) -> None:
        write_atomic(self.state_path, state.model_dump_json(indent=2) + "\n", mode=0o600)

    def url(self, state: SandboxState | None = None) -> str:
        return f"http://127.0.0.1:{(state or self.state()).http_port}"

    def tree(self) -> CodeTree:
        return inspect_tree(self.code_dir)

    def engine(self, state: SandboxState | None = None) -> Engine:
        return engine_for((state or self.state()).db)

    def db_server(self, state: SandboxState | None = None) -> PrivateServer | None:
        """The sandbox's own database server (None when it uses the user's)."""
        state = state or self.state()
        if not state.private_db:
            return None
        return self.engine(state).private_server(self.db_dir(state))

    def descriptor(self) -> SiteDescriptor:
        return SiteDescriptor.load(self.descriptor_path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root.parent / f".{self.name}.lock"), timeout=900):
            yield

    # -- processes ---------------------------------------------------------------

    def _start_db(self, state: SandboxState) -> None:
        db_server = self.db_server(state)
        if db_server is not None and not db_server.is_running():
            server.require_free(state.db.port, f"sandbox's {self.engine(state).label}")
            db_server.start(state.db)

    def _write_config(self, state: SandboxState, tree: CodeTree) -> None:
        moodle.write_config(
            tree,
            moodle.render_config_php(
                name=state.name,
                db=state.db,
                wwwroot=self.url(state),
                dataroot=self.dataroot,
                layout=tree.layout,
                pin_backend=state.private_db,
            ),
        )

    def _start_server(self, state: SandboxState) -> None:
        if server.read_pid(self.pidfile) is not None:
            return
        self.pidfile.parent.mkdir(exist_ok=True)
        make_dataroot_folders(self.dataroot)
        server.start(
            webroot=self.tree().webroot,
            port=state.http_port,
            pidfile=self.pidfile,
            log=self.logs / "server.log",
            error_log=self.logs / "php-errors.log",
            workers=state.workers,
        )

    def start(self) -> SiteDescriptor:
        """Start the database and the web server (each only if stopped)."""
        with self.locked():
            state = self.state()
            self.refuse_unfinished(state)
            with self.steps.step(f"Starting sandbox {self.name}"):
                self._start_db(state)
                self._start_server(state)
            return self.descriptor()

    def halt(self) -> None:
        """Stop whatever runs (without the lock, and without trusting the state file:
        for cleaning up after a failure)."""
        server.stop(self.pidfile)
        for engine_type in ENGINES.values():
            folder = self.root / engine_type.data_dir_name
            if folder.is_dir():
                engine_type().private_server(folder).stop()

    def stop(self) -> None:
        with self.locked():
            state = self.state()
            with self.steps.step(f"Stopping sandbox {self.name}"):
                server.stop(self.pidfile)
                db_server = self.db_server(state)
                if db_server is not None:
                    db_server.stop()

    def status(self, *, probe: bool = False) -> SandboxStatus:
        state = self.state()
        db_server = self.db_server(state)
        db_running = db_server.is_running() if db_server is not None else True
        server_running = server.read_pid(self.pidfile) is not None
        status = SandboxStatus(
            name=self.name,
            url=self.url(state),
            release=state.release,
            code_source=state.code_source,
            path=self.root,
            server_running=server_running,
            db_running=db_running,
            unusable=f"interrupted while {state.unfinished}" if state.unfinished else None,
        )
        if probe and status.running and not status.unusable:
            try:
                info = self.descriptor().client().site_info()
                status.answers = bool(info)
            except Exception:  # any failure means "does not answer"
                status.answers = False
        return status

    def damaged_status(self) -> SandboxStatus:
        """What ``list`` shows of a sandbox whose state file cannot be read."""
        return SandboxStatus(
            name=self.name,
            url="",
            release="",
            code_source=Path(),
            path=self.root,
            server_running=server.read_pid(self.pidfile) is not None,
            db_running=False,
            unusable=f"its {STATE_NAME} is damaged",
        )

    def destroy(self) -> None:
        with self.locked():
            state = self.state() if self.exists() else None
            with self.steps.step(f"Destroying sandbox {self.name}"):
                if state is None or state.private_db:
                    self.halt()
                else:
                    server.stop(self.pidfile)
                shutil.rmtree(self.root, ignore_errors=True)
            if state is not None and not state.private_db:
                self.steps.note(
                    f"the database {state.db.name} on {state.db.host}:{state.db.port} "
                    "was not yours to drop: it is left as it is"
                )

    def _write_descriptor(self, state: SandboxState, token: str) -> SiteDescriptor:
        tree = self.tree()
        descriptor = SiteDescriptor(
            name=self.name,
            url=self.url(state),
            token=SecretStr(token),
            service=moodle.SERVICE,
            admin_username=state.admin_username,
            admin_password=SecretStr(state.admin_password),
            release=state.release,
            version=state.version,
            test_site=True,
            sandbox=SandboxPaths(
                root=self.root,
                code_dir=tree.root,
                webroot=tree.webroot,
                dataroot=self.dataroot,
                db_dir=self.db_dir(state) if state.private_db else None,
            ),
            code_source=str(state.code_source),
            branch=state.branch,
            db_engine=state.db.engine,
        )
        descriptor.save(self.descriptor_path)
        return descriptor

    def _check_answers(self, descriptor: SiteDescriptor) -> dict[str, Any]:
        try:
            info = descriptor.client().site_info()
        except Exception as exc:
            raise ServerError(
                f"the site at {descriptor.url} does not answer web service calls: {exc}",
                f"see {self.logs / 'php-errors.log'}",
            ) from None
        return info

    # -- upgrade ---------------------------------------------------------------

    def upgrade(self, code_dir: Path, *, without: Sequence[str] = ()) -> UpgradeResult:
        """Upgrade the site to the code in ``code_dir`` (see the module docstring);
        the plugins named in ``without`` are left out of the sandbox's copy of it."""
        with self.locked(), self.steps.recording() as timings:
            result = self._upgrade(code_dir, without)
            # This upgrade's steps only, not those of an earlier `up` on the same Steps.
            result.timings = dict(timings)
            return result

    def _upgrade(self, code_dir: Path, without: Sequence[str] = ()) -> UpgradeResult:
        started = time.monotonic()
        state = self.state()
        self.refuse_unfinished(state)
        with self.steps.step("Checking the new code against the site", key="checks"):
            new = inspect_tree(code_dir)
            self._start_db(state)
            old_release, old_version = moodle.site_version(state.db)
            if new.version < _decimal(old_version):
                raise DowngradeError(
                    f"the code in {new.root} is Moodle {new.short_release} ({new.version}), older "
                    f"than the site's {old_release} ({old_version}): Moodle cannot downgrade",
                    "give a code tree of the same or a later release, or restore a backup",
                )
            requires = new.upgrade_requires()
            if requires and release_tuple(old_release) < release_tuple(requires):
                raise UpgradePathError(
                    f"Moodle {new.short_release} upgrades only from {requires} or later; the site "
                    f"is {old_release}",
                    f"upgrade to {requires} or later first, then to {new.short_release}",
                )
            report = prereqs.check(new, engine=self.engine(state), need_server=False)
            report.raise_if_missing()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        backup = self.root / "backups" / f"before-{new.short_release}-{stamp}.tar.zst"
        staged = self.root / "code.new"
        shutil.rmtree(staged, ignore_errors=True)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The copy of the new code is ready by the time the backup is.
            copying = pool.submit(copy_code, new, staged)
            self._backup(backup, state)
            with self.steps.step("Copying the new code"):
                new_tree = copying.result()
                remove_plugins(new_tree, without)
        tree = self._switch_code(state, new_tree, staged, f"upgrading to {new.short_release}")
        log = self.logs / "upgrade.log"
        log_start = log.stat().st_size if log.is_file() else 0
        since = int(time.time())
        try:
            with self.steps.step(
                f"Upgrading {moodle_short(old_release)} to {new.short_release} (Moodle's upgrade)",
                key="moodle_upgrade",
            ):
                moodle.upgrade(tree, log=log, error=SandboxError)
            with self.steps.step("Updating the test configuration", key="configure"):
                configured = moodle.configure(tree, log=log)
        except SandboxError as exc:
            raise self._upgrade_failed(
                exc, new, backup, log=log, log_start=log_start, since=since
            ) from None
        # Known to the database but absent from the new code, counted after the
        # upgrade: Moodle itself uninstalls the standard plugins it dropped (Atto in
        # 5.0...), so what is left are the site's own plugins the new tree lacks.
        missing = configured.missing_plugins
        if missing:
            self.steps.note(
                "[yellow]plugins the site has but the new code lacks:[/] " + ", ".join(missing)
            )
        state.code_source = new.root
        state.release, state.version, state.branch = (
            configured.release,
            configured.version,
            configured.branch,
        )
        state.layout = tree.layout
        state.history.append(
            {"at": stamp, "from": old_release, "to": configured.release, "backup": str(backup)}
        )
        state.unfinished = None
        self.save_state(state)
        with self.steps.step("Starting the web server", key="serve"):
            self._start_server(state)
            descriptor = self._write_descriptor(state, configured.token)
            self._check_answers(descriptor)
        remove_in_background(self.root / "code.old")
        return UpgradeResult(
            old_release=old_release,
            new_release=configured.release,
            seconds=time.monotonic() - started,
            backup=backup,
            added_functions=configured.added,
            missing_plugins=missing,
        )

    def _switch_code(
        self, state: SandboxState, new_tree: CodeTree, staged: Path, unfinished: str
    ) -> CodeTree:
        """Put the staged new code in place (the old one aside in ``code.old``),
        marking the sandbox unfinished until the upgrade completes."""
        state.unfinished = unfinished
        self.save_state(state)
        with self.steps.step("Switching the code"):
            server.stop(self.pidfile)
            self._write_config(state, new_tree)
            old_code = self.root / "code.old"
            shutil.rmtree(old_code, ignore_errors=True)
            self.code_dir.rename(old_code)
            staged.rename(self.code_dir)
            return self.tree()

    def _upgrade_failed(
        self,
        exc: SandboxError,
        new: CodeTree,
        backup: Path,
        *,
        log: Path,
        log_start: int,
        since: int,
    ) -> UpgradeFailedError:
        """The error of a failed upgrade, naming what Moodle says failed."""
        try:
            with log.open(errors="replace") as handle:
                handle.seek(log_start)
                output = handle.read()
            failure = moodle.upgrade_failure(self.state().db, output, since=since)
        except (OSError, SandboxError):
            failure = None
        if failure is None:
            return UpgradeFailedError(
                f"upgrading to {new.short_release} failed: {exc.cause} (log: {log})",
                backup,
                log=log,
            )
        return UpgradeFailedError(
            f"upgrading to {new.short_release} failed{failure.describe()} (log: {log})",
            backup,
            log=log,
            component=failure.component,
            version=failure.version,
            moodle_message=failure.message,
            debuginfo=failure.debuginfo,
        )

    # -- backup ----------------------------------------------------------------

    def backup(self, target: Path) -> Path:
        with self.locked():
            state = self.state()
            self.refuse_unfinished(state)
            self._start_db(state)
            return self._backup(target, state)

    def _backup(self, target: Path, state: SandboxState) -> Path:
        target = target.expanduser().absolute()
        with self.steps.step(f"Backing up {self.name} to {target}", key="backup"):
            counts = moodle.count_site(state.db)
            release, version = moodle.site_version(state.db)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".backup-", dir=self.root))
            engine = self.engine(state)
            try:
                with (staging / engine.dump_name).open("wb") as sink:
                    engine.dump(state.db, sink)
                manifest = {
                    "format": ARCHIVE_FORMAT,
                    "name": self.name,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "release": release,
                    "version": version,
                    "branch": state.branch,
                    "code_source": str(state.code_source),
                    "layout": state.layout,
                    "counts": counts.__dict__,
                    "admin_username": state.admin_username,
                    "admin_password": state.admin_password,
                    "prefix": state.db.prefix,
                    "engine": engine.name,
                    "dump": engine.dump_name,
                    "server_version": engine.server_version(state.db),
                    "dataroot_excluded": list(DATAROOT_EXCLUDES),
                }
                write_json_atomic(staging / "manifest.json", manifest, mode=0o600)
                partial = target.with_name(f".{target.name}.partial")
                command = [
                    "tar", *_compression(), "-cf", str(partial),
                    "-C", str(staging), "manifest.json", engine.dump_name,
                    "-C", str(self.root),
                    *[f"--exclude=moodledata/{d}" for d in DATAROOT_EXCLUDES],
                    "moodledata",
                ]  # fmt: skip
                try:
                    run_command(
                        command,
                        error=BackupError,
                        what=f"writing {target}",
                        fix="check free disk space and that the directory is writable",
                    )
                except BackupError:
                    partial.unlink(missing_ok=True)
                    raise
                os.chmod(partial, 0o600)
                os.replace(partial, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target


def remove_plugins(tree: CodeTree, components: Sequence[str]) -> None:
    """Take plugins out of a sandbox's own copy of a code tree (``--without-plugin``).

    The copy is of hard links: removing its files never touches the user's tree."""
    for component in components:
        folder = tree.plugin_dirs.get(component)
        if folder is None:
            raise SandboxError(
                f"--without-plugin {component}: the code tree {tree.root} has no such plugin",
                "give the plugin's full name as the preflight lists it (theme_moove, local_x)",
            )
        shutil.rmtree(folder)


def remove_in_background(path: Path) -> None:
    """Delete an old code copy without making the user wait (tens of thousands of
    links).  The folder is first renamed aside at once, so ``path`` is free when this
    returns: a later rename to the same name must not race the deletion."""
    if path.exists():
        trash = path.with_name(f".{path.name}.trash-{secrets.token_hex(4)}")
        path.rename(trash)
        subprocess.Popen(
            ["rm", "-rf", "--", str(trash)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def _compression() -> list[str]:
    if shutil.which("zstd"):
        return ["--use-compress-program=zstd -T0 -3"]
    return ["-z"]


def _decimal(value: str) -> Decimal:
    return Decimal(value or "0")


def same_version(tree_version: Decimal, recorded: object) -> bool:
    """Whether a code tree's version is the one a backup recorded.

    Compared as numbers: the database stores "2024100706", version.php says
    "2024100706.00".
    """
    return tree_version == _decimal(str(recorded))


def moodle_short(release: str) -> str:
    return release.split("(", maxsplit=1)[0].strip()


def read_manifest(archive: Path) -> dict[str, object]:
    if not archive.is_file():
        raise RestoreError(f"no backup archive at {archive}", "give the path of a backup file")
    result = subprocess.run(
        ["tar", "-xOf", str(archive), "--occurrence=1", "manifest.json"],
        check=False,
        capture_output=True,
        text=True,
    )
    try:
        manifest: dict[str, object] = json.loads(result.stdout)
    except ValueError:
        raise RestoreError(
            f"{archive} is not a moodle-regress sandbox backup (no manifest)",
            "give a file written by `moodle-regress sandbox backup`",
        ) from None
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise RestoreError(
            f"{archive} has archive format {manifest.get('format')}, this tool reads "
            f"{ARCHIVE_FORMAT}",
            "restore it with the tool version that wrote it",
        )
    return manifest


class SandboxManager:
    """Every sandbox under ``settings.sandboxes_dir``."""

    def __init__(
        self, settings: Settings | None = None, *, steps: Steps | None = None, quiet: bool = False
    ) -> None:
        self.settings = settings or load_settings()
        self.steps = steps or Steps(quiet=quiet)

    def sandbox(self, name: str) -> Sandbox:
        return Sandbox(self.settings.sandboxes_dir / validate_name(name), self.settings, self.steps)

    def get(self, name: str) -> Sandbox:
        box = self.sandbox(name)
        box.state()  # raises SandboxNotFoundError
        return box

    def list(self) -> list[SandboxStatus]:
        base = self.settings.sandboxes_dir
        if not base.is_dir():
            return []
        found = []
        for path in sorted(base.iterdir()):
            if (path / STATE_NAME).is_file():
                box = Sandbox(path, self.settings, self.steps)
                try:
                    found.append(box.status())
                except SandboxError:
                    found.append(box.damaged_status())
        return found

    def _used_ports(self) -> set[int]:
        used: set[int] = set()
        base = self.settings.sandboxes_dir
        if base.is_dir():
            for path in base.glob(f"*/{STATE_NAME}"):
                try:
                    state = validate_secret_json(SandboxState, path.read_text())
                except (OSError, InvalidDocumentError):
                    continue
                used |= {state.http_port, state.db.port}
        return used

    def _new_ports(self, port: int | None) -> tuple[int, int]:
        used = self._used_ports()
        if port is not None:
            server.require_free(port, "web server")
            if port in used:
                raise PortInUseError(
                    f"port {port} belongs to another sandbox", "choose another port with --port"
                )
        http = port or server.free_port(avoid=used)
        return http, server.free_port(avoid=used | {http})

    # -- up ----------------------------------------------------------------------

    def up(
        self,
        name: str,
        code_dir: Path,
        *,
        port: int | None = None,
        engine: str | None = None,
        db_url: str | None = None,
        admin_password: str | None = None,
        install_packages: bool = False,
        without: Sequence[str] = (),
    ) -> SiteDescriptor:
        """Bring up a new site from ``code_dir`` and return its descriptor.

        ``engine`` picks the database engine of a private server (default
        PostgreSQL); ``db_url`` uses the user's empty database instead (its scheme
        names the engine).  The plugins named in ``without`` are left out of the
        sandbox's copy of the code, as :meth:`Sandbox.upgrade` leaves them out."""
        box = self.sandbox(name)
        with box.locked():
            if box.exists() or box.root.exists():
                raise SandboxExistsError(
                    f"a sandbox named {name!r} already exists in {box.root}",
                    f"use it, or remove it first: `moodle-regress sandbox destroy {name}`",
                )
            with self.steps.step("Checking the code tree and prerequisites", key="checks"):
                tree = inspect_tree(code_dir)
                db = self._new_database(engine, db_url, tree, install_packages)
                http_port, db_port = self._new_ports(port)
                if db_url is None:
                    db.port = db_port
            state = SandboxState(
                name=name,
                code_source=tree.root,
                release=tree.release,
                version=str(tree.version),
                branch=tree.branch,
                layout=tree.layout,
                http_port=http_port,
                db=db,
                private_db=db_url is None,
                admin_password=admin_password or _password(),
                created=datetime.now(UTC).isoformat(timespec="seconds"),
                unfinished="installing",
            )
            _create_folder(box, state)
            box.dataroot.mkdir(mode=0o700)
            try:
                descriptor = self._bring_up(box, state, tree, without)
            except BaseException:
                # Leave nothing running; the directory stays, with the logs, marked
                # unusable (state.unfinished).
                box.halt()
                raise
            state.unfinished = None
            box.save_state(state)
            return descriptor

    def _new_database(
        self, engine_name: str | None, db_url: str | None, tree: CodeTree, install: bool
    ) -> DatabaseConfig:
        """The new sandbox's database settings, once the machine has what it needs
        (the port of a private server is set by the caller)."""
        if db_url is not None:
            db = config_from_url(db_url)
            if engine_name is not None and engine_name != db.engine:
                raise EngineMismatchError(
                    f"--db {engine_name} was given with a {engine_for(db).label} URL",
                    "give one of them, or both for the same engine",
                )
        else:
            db = DatabaseConfig(
                engine=engine_name or DEFAULT_ENGINE, port=0, password=secrets.token_urlsafe(18)
            )
        engine = engine_for(db)
        report = prereqs.check(tree, engine=engine, need_server=db_url is None)
        if not report.ok and install:
            self.steps.note(f"installing: {' '.join(sorted(set(report.packages)))}")
            prereqs.install_packages(report.packages)
            report = prereqs.check(tree, engine=engine, need_server=db_url is None)
        report.raise_if_missing()
        if db_url is not None and not engine.database_is_empty(db):
            raise SandboxError(
                f"the database {db.name} on {db.host}:{db.port} already holds "
                f"Moodle tables ({db.prefix}*)",
                "give an empty database",
            )
        return db

    def _bring_up(
        self, box: Sandbox, state: SandboxState, tree: CodeTree, without: Sequence[str] = ()
    ) -> SiteDescriptor:
        steps, name = self.steps, state.name
        engine = box.engine(state)
        with steps.step(f"Copying the code and starting {engine.label}", key="prepare"):
            with ThreadPoolExecutor(max_workers=1) as pool:
                copying = pool.submit(copy_code, tree, box.code_dir)
                db_server = box.db_server(state)
                if db_server is not None:
                    db_server.init(state.db)
                    server.require_free(state.db.port, f"sandbox's {engine.label}")
                    db_server.start(state.db)
                    engine.create_database(state.db)
                copy = copying.result()
                remove_plugins(copy, without)
            box._write_config(state, copy)
        log = box.logs / "install.log"
        restored = self._install(box, state, tree, copy, log)
        with steps.step("Configuring the site for testing", key="configure"):
            configured = moodle.configure(
                copy,
                log=log,
                admin_password=state.admin_password,
                site_names=(f"moodle-regress sandbox {name}", name),
                new_identity=restored,
            )
        state.release, state.version = configured.release, configured.version
        box.save_state(state)
        with steps.step(f"Serving {box.url(state)}", key="serve"):
            box._start_server(state)
            descriptor = box._write_descriptor(state, configured.token)
            box._check_answers(descriptor)
        return descriptor

    def _install(
        self, box: Sandbox, state: SandboxState, tree: CodeTree, copy: CodeTree, log: Path
    ) -> bool:
        """Install Moodle into the new site's empty database and dataroot: from the
        install kept for this tree and engine when there is one (True), else with Moodle's
        installer, keeping what it made for the next time (False)."""
        engine = box.engine(state)
        kept = KeptInstalls(self.settings)
        if not (kept.enabled and state.private_db):
            self._run_installer(state, tree, copy, log)
            return False
        # The copy's: what is installed, less the plugins ``up(without=)`` left out.
        entry = kept.entry(engine, tree_fingerprint(copy.root))
        with kept.lock(entry):
            if entry.usable_for(state.db, state.admin_username):
                with self.steps.step(
                    f"Installing Moodle {tree.short_release} (the install kept from an "
                    "earlier sandbox of this code)",
                    key="moodle_install",
                ):
                    log.write_text(f"loaded the install kept in {entry.path}\n")
                    entry.load_into(state.db, box.dataroot)
                return True
            self._run_installer(state, tree, copy, log)
            with self.steps.step("Keeping the new install for later sandboxes", key="keep"):
                entry.save(
                    state.db,
                    box.dataroot,
                    release=tree.release,
                    admin_username=state.admin_username,
                )
        return False

    def _run_installer(
        self, state: SandboxState, tree: CodeTree, copy: CodeTree, log: Path
    ) -> None:
        with self.steps.step(f"Installing Moodle {tree.short_release} (Moodle's installer)",
                             key="moodle_install"):  # fmt: skip
            moodle.install(
                copy,
                log=log,
                admin_username=state.admin_username,
                # Throwaway: configure() sets the real one, off the command line.
                admin_password=_password(),
                admin_email="admin@example.invalid",
                fullname=f"moodle-regress sandbox {state.name}",
                shortname=state.name,
            )

    # -- import ---------------------------------------------------------------------

    def import_site(
        self,
        name: str,
        code_dir: Path,
        dump: Path,
        dataroot: Path,
        *,
        port: int | None = None,
        old_urls: Sequence[str] = (),
        anonymise: bool = False,
    ) -> ImportResult:
        """Bring a copy of a real site up as sandbox ``name``: its code, its database
        dump (PostgreSQL's or MySQL/MariaDB's: the sandbox's engine is the dump's) and
        its dataroot, made safe (``php/sanitise.php``) before the web server
        starts, its people replaced by fakes with ``anonymise``.  The dump and the
        dataroot are only read."""
        dump, dataroot = _passed_through(dump), _passed_through(dataroot)
        # Refused before anything is made: the dump and the dataroot as given.
        info = importing.inspect_dump(dump)
        if not dataroot.exists():
            raise importing.DatarootError(
                f"no dataroot at {dataroot}",
                "give the site's moodledata folder or a tar archive of it",
            )
        box = self.sandbox(name)
        with box.locked():
            if box.exists() or box.root.exists():
                raise SandboxExistsError(
                    f"a sandbox named {name!r} already exists in {box.root}",
                    f"import under another name, or `moodle-regress sandbox destroy {name}`",
                )
            try:
                return self._import(
                    box, code_dir, info, dataroot,
                    port=port, old_urls=old_urls, anonymise=anonymise,
                )  # fmt: skip
            except importing.VersionMismatchError:
                # Wrong code for the dump: nothing worth keeping to look at.
                box.halt()
                shutil.rmtree(box.root, ignore_errors=True)
                raise
            except BaseException:
                # Nothing left running; the folder stays, with its logs, unusable.
                box.halt()
                raise

    def _import(
        self,
        box: Sandbox,
        code_dir: Path,
        info: importing.DumpInfo,
        dataroot: Path,
        *,
        port: int | None,
        old_urls: Sequence[str],
        anonymise: bool,
    ) -> ImportResult:
        started = time.monotonic()
        engine = engine_named(info.engine)
        with self.steps.step("Checking the code tree and prerequisites", key="checks"):
            tree = inspect_tree(code_dir)
            prereqs.check(tree, engine=engine).raise_if_missing()
            http_port, db_port = self._new_ports(port)
        state = SandboxState(
            name=box.name,
            code_source=tree.root,
            release=tree.release,
            version=str(tree.version),
            branch=tree.branch,
            layout=tree.layout,
            http_port=http_port,
            db=DatabaseConfig(
                engine=engine.name,
                port=db_port,
                password=secrets.token_urlsafe(18),
                prefix=info.prefix,
            ),
            private_db=True,
            admin_password=_password(),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            unfinished=f"importing {info.path.name}",
        )
        _create_folder(box, state)
        with (
            self.steps.step(f"Loading {info.path.name} and copying the files", key="restore"),
            ThreadPoolExecutor(max_workers=2) as pool,
        ):
            copying = pool.submit(copy_code, tree, box.code_dir)
            files = pool.submit(importing.copy_dataroot, dataroot, box.dataroot)
            db_server = engine.private_server(box.db_dir(state))
            db_server.init(state.db)
            server.require_free(state.db.port, f"sandbox's {engine.label}")
            db_server.start(state.db)
            engine.create_database(state.db)
            _load_dump(engine, state.db, info)
            copy = copying.result()
            files.result()
        release, version = moodle.site_version(state.db)
        if not same_version(tree.version, version):
            raise importing.VersionMismatchError(
                f"the dump is of Moodle {release} ({version}) but the code tree {tree.root} "
                f"is {tree.release} ({tree.version})",
                "give --code the site's own code tree (the version it runs)",
            )
        box._write_config(state, copy)
        log = box.logs / "import.log"
        with self.steps.step("Making the copy safe (before it serves)", key="sanitise"):
            sanitised = moodle.sanitise(copy, log=log, new_url=box.url(state), old_urls=old_urls)
            left = moodle.old_urls_left(state.db, sanitised.replaced)
            if left:
                raise importing.UnsafeSiteError(
                    "the imported site still points at its old address: " + "; ".join(left),
                    f"give every address the site had with --old-url (see {log})",
                )
            state.admin_username = sanitised.admin_username
            anonymised = anonymise_people(copy, state.db, log=log) if anonymise else 0
            configured = moodle.configure(
                copy, log=log, admin_password=state.admin_password, new_identity=True
            )
        state.release, state.version = configured.release, configured.version
        state.branch = configured.branch
        box.save_state(state)
        with self.steps.step(f"Serving {box.url(state)}", key="serve"):
            box._start_server(state)
            descriptor = box._write_descriptor(state, configured.token)
            box._check_answers(descriptor)
        state.unfinished = None
        box.save_state(state)
        return ImportResult(
            descriptor,
            configured.release,
            moodle.count_site(state.db),
            sanitised,
            time.monotonic() - started,
            anonymised,
        )

    # -- restore ------------------------------------------------------------------

    def restore(
        self,
        name: str,
        archive: Path,
        *,
        code_dir: Path | None = None,
        port: int | None = None,
        engine: str | None = None,
    ) -> RestoreResult:
        """Restore ``archive`` into sandbox ``name`` (created if new, replaced if
        not), then prove it: same release and same counts as at backup time.

        The archive's engine is the sandbox's: an existing sandbox of another
        engine, or ``engine`` naming another one, is refused before anything changes."""
        box = self.sandbox(name)
        with box.locked():
            try:
                return self._restore(box, archive.expanduser().absolute(), code_dir, port, engine)
            except RestoreError:
                raise  # refused or checked: what runs stays up for inspection
            except BaseException:
                box.halt()
                raise

    def _restore(
        self,
        box: Sandbox,
        archive: Path,
        code_dir: Path | None,
        port: int | None,
        engine_name: str | None,
    ) -> RestoreResult:
        started = time.monotonic()
        manifest = read_manifest(archive)
        engine = engine_named(str(manifest.get("engine", DEFAULT_ENGINE)))
        source = code_dir or Path(str(manifest["code_source"]))
        tree = inspect_tree(source)
        if not same_version(tree.version, manifest["version"]):
            raise RestoreError(
                f"the backup is of Moodle {manifest['release']} ({manifest['version']}) but the "
                f"code tree {tree.root} is now {tree.release} ({tree.version})",
                "pass --code with a code tree of the backup's version",
            )
        if engine_name is not None and engine_name != engine.name:
            raise EngineMismatchError(
                f"{archive} holds a {engine.label} database; --db asked for {engine_name}",
                f"restore it with --db {engine.name} (or without --db)",
            )
        existing = box.exists()
        state = self._restore_target(box, manifest, tree, port, engine)
        if existing:
            server.stop(box.pidfile)
        state.db.prefix = str(manifest.get("prefix", "mdl_"))
        state.unfinished = f"restoring {archive.name}"
        box.save_state(state)
        with self.steps.step(f"Restoring {archive.name} into {box.name}", key="restore"):
            dump = str(manifest.get("dump", engine.dump_name))
            copy = self._unpack(box, state, archive, dump, tree, existing=existing)
            state.code_source = tree.root
            state.release, state.version = str(manifest["release"]), str(manifest["version"])
            state.branch, state.layout = tree.branch, tree.layout
            box.save_state(state)
            box._write_config(state, copy)
            token = moodle.configure(copy, log=box.logs / "restore.log").token
        with self.steps.step("Serving and checking the restored site", key="verify"):
            box._start_server(state)
            descriptor = box._write_descriptor(state, token)
            info = box._check_answers(descriptor)
            counts = moodle.count_site(state.db)
            expected = moodle.SiteCounts(**manifest["counts"])  # type: ignore[arg-type]
            if info.get("release") != manifest["release"] or counts != expected:
                raise RestoreError(
                    f"the restored site differs from the backup: release "
                    f"{info.get('release')!r} vs {manifest['release']!r}, counts {counts} vs "
                    f"{expected}",
                    "the archive may be damaged; restore it again or take a new backup",
                )
        state.unfinished = None
        box.save_state(state)
        return RestoreResult(
            descriptor, str(info.get("release")), counts, time.monotonic() - started
        )

    def _restore_target(
        self,
        box: Sandbox,
        manifest: dict[str, object],
        tree: CodeTree,
        port: int | None,
        engine: Engine,
    ) -> SandboxState:
        """The state of the sandbox to restore into: the existing one (of the same
        engine as the backup), or a new one with a private server of that engine."""
        if box.exists():
            state = box.state()
            if state.db.engine != engine.name:
                raise EngineMismatchError(
                    f"the backup holds a {engine.label} database but the sandbox {box.name} "
                    f"runs {box.engine(state).label}",
                    f"restore it into a new sandbox (another name), which will run {engine.label}",
                )
            return state
        if box.root.exists():
            raise SandboxExistsError(
                f"{box.root} exists but is not a sandbox",
                f"remove it: `moodle-regress sandbox destroy {box.name}`",
            )
        prereqs.check(tree, engine=engine).raise_if_missing()
        http_port, db_port = self._new_ports(port)
        state = SandboxState(
            name=box.name,
            code_source=tree.root,
            release=str(manifest["release"]),
            version=str(manifest["version"]),
            branch=tree.branch,
            layout=tree.layout,
            http_port=http_port,
            db=DatabaseConfig(engine=engine.name, port=db_port, password=secrets.token_urlsafe(18)),
            private_db=True,
            admin_username=str(manifest["admin_username"]),
            admin_password=str(manifest["admin_password"]),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        _create_folder(box, state)
        return state

    def _unpack(
        self,
        box: Sandbox,
        state: SandboxState,
        archive: Path,
        dump: str,
        tree: CodeTree,
        *,
        existing: bool,
    ) -> CodeTree:
        """Unpack the archive: a fresh database from its dump, its dataroot, and a
        copy of the code; returns the code copy."""
        engine = box.engine(state)
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=box.root))
        try:
            run_command(
                ["tar", "-xf", str(archive), "-C", str(staging)],
                error=RestoreError,
                what=f"unpacking {archive}",
                fix="check the file and free disk space",
            )
            with ThreadPoolExecutor(max_workers=1) as pool:
                old_code = box.root / "code.old"
                # A failed upgrade leaves the code it replaced there.
                remove_in_background(old_code)
                if box.code_dir.exists():
                    box.code_dir.rename(old_code)
                copying = pool.submit(copy_code, tree, box.code_dir)
                db_server = box.db_server(state)
                if db_server is not None and not db_server.exists():
                    db_server.init(state.db)
                box._start_db(state)
                if existing or not state.private_db:
                    engine.drop_database(state.db)
                engine.create_database(state.db)
                engine.restore(state.db, staging / dump)
                if box.dataroot.exists():
                    shutil.rmtree(box.dataroot)
                (staging / "moodledata").rename(box.dataroot)
                copy = copying.result()
            remove_in_background(old_code)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return copy


@dataclass
class ImportResult:
    descriptor: SiteDescriptor
    release: str
    counts: moodle.SiteCounts
    sanitised: moodle.Sanitised
    seconds: float
    #: Users whose names, username, email, phones and address were replaced by fakes.
    anonymised: int = 0


def _load_dump(engine: Engine, db: DatabaseConfig, info: importing.DumpInfo) -> None:
    """Stream the dump ``info`` describes into the sandbox's empty database ``db``."""
    for role in info.owners:  # a plain pg_dump's: psql stops at a role it lacks
        if role != db.user and not engine.query(
            db, f"SELECT 1 FROM pg_roles WHERE rolname = {sql_literal(role)}"
        ):
            engine.query(db, f'CREATE ROLE "{role}" NOLOGIN')
    if info.engine == "mariadb":
        with open_dump(info.path) as stream:
            engine.restore(db, importing.one_database(stream))
    elif info.compressed:
        with open_dump(info.path) as stream:
            engine.restore(db, stream)
    else:
        engine.restore(db, info.path)


def _passed_through(source: Path) -> Path:
    return source.expanduser().absolute()


def _create_folder(box: Sandbox, state: SandboxState) -> None:
    """A new sandbox's folder, its logs folder and its state; its secrets (the
    database's and the admin's passwords) redacted from then on."""
    register_secret(state.db.password)
    register_secret(state.admin_password)
    box.root.mkdir(parents=True)
    box.logs.mkdir()
    box.save_state(state)


def _password() -> str:
    # Moodle's default password policy: upper, lower, digit and a symbol.
    return f"Mr-{secrets.token_urlsafe(12)}-9a"
