"""The schema and data check of a rehearsal, and the time it adds.

Site A is read at the end of its observation (just before the upgrade and its
backup), site B right after the upgrade, the restored site right after the restore:
each reading gives the ``data`` area (rows per table) and the ``schema`` area (the
site's drift from a fresh install of its own code on the same engine, plus Moodle's
check_database_schema.php findings a fresh install has not).

Fresh installs come from :class:`~moodle_regress.sandbox.fresh.FreshSchemas`: site A,
itself a fresh install of code tree A, is saved as that tree's; code tree B's is
read from there or, the first time, installed in the background while site A is
seeded and observed (:meth:`IntegrityCheck.prepare`), so that it rarely adds to the
rehearsal's time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from moodle_regress.files import write_json_atomic
from moodle_regress.observation import Observation
from moodle_regress.observe import data as data_area
from moodle_regress.observe import schema as schema_area
from moodle_regress.observe.schema import SchemaReading
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.db import DEFAULT_ENGINE
from moodle_regress.sandbox.dbschema import read_database
from moodle_regress.sandbox.errors import SandboxError
from moodle_regress.sandbox.fresh import FreshSchemas, tree_fingerprint
from moodle_regress.sandbox.manager import SandboxManager
from moodle_regress.sandbox.progress import Steps


class FreshInstallError(SandboxError):
    """The fresh install of a code tree, needed for the schema check, failed."""


@dataclass
class CheckedSite:
    """One site's reading and the observations it gives."""

    reading: SchemaReading
    fresh: SchemaReading
    observations: list[Observation]
    #: Whether the fresh install was saved before this rehearsal needed it.
    fresh_saved_before: bool = True

    @property
    def schema_differences(self) -> int:
        return sum(1 for o in self.observations if o.area == schema_area.AREA)


@dataclass
class _Fresh:
    reading: SchemaReading
    saved_before: bool


@dataclass
class IntegrityCheck:
    """Reads sites for a rehearsal and keeps the seconds each part took.

    ``seconds`` holds what the check adds to the rehearsal's time (readings, and
    waiting for a fresh install); ``background`` what ran beside other stages.
    """

    manager: SandboxManager
    log: Path
    #: The sandboxes' database engine: fresh installs are made and kept per engine.
    engine: str = DEFAULT_ENGINE
    seconds: dict[str, float] = field(default_factory=dict)
    #: Table -> component, from every reading so far: a table the site's code no
    #: longer declares (its plugin's code is gone) keeps the component it had.
    components: dict[str, str] = field(default_factory=dict)
    background: dict[str, float] = field(default_factory=dict)
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="fresh-install")
    )
    _pending: dict[str, Future[_Fresh]] = field(default_factory=dict)

    @property
    def fresh(self) -> FreshSchemas:
        return FreshSchemas(self.manager.settings)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def prepare(self, tree: Path, without: Sequence[str] = ()) -> None:
        """Make sure a fresh install of ``tree`` is saved, in the background.

        ``without``: plugins the site's copy of ``tree`` leaves out (the rehearsal's
        ``--without-plugin``), left out of the fresh install too."""
        fingerprint = installed_fingerprint(tree, without)
        if fingerprint not in self._pending:
            self._pending[fingerprint] = self._pool.submit(
                self._fresh_install, tree, fingerprint, without
            )

    def close(self) -> None:
        """Wait for a fresh install still running (it is saved for next time)."""
        self._pool.shutdown(wait=True)

    def check_site(
        self,
        label: str,
        code_dir: Path,
        source_tree: Path,
        *,
        fresh_install: bool = False,
        moodle_check: bool = True,
        save: Path | None = None,
        without: Sequence[str] = (),
    ) -> CheckedSite:
        """Read the site whose code copy is ``code_dir`` (from ``source_tree``) and
        compare it with a fresh install of ``source_tree``.

        ``fresh_install``: the site was installed from ``source_tree`` and changed
        only in its data since, so its schema is that tree's fresh install's.
        ``moodle_check``: run check_database_schema.php too.  ``save``: a folder to
        keep both readings in (``database.json``, ``database-fresh-install.json``).
        ``without``: plugins the site's copy of ``source_tree`` left out.
        """
        with self._timed(f"read {label}"):
            reading = read_database(code_dir, log=self.log, check=moodle_check, source=label)
            fingerprint = installed_fingerprint(source_tree, without)
            if fresh_install:
                self.fresh.remember(fingerprint, self.engine, reading.reading)
            fresh = self._saved(fingerprint)
        if fresh is None:
            with self._timed(f"waiting for the fresh install of {source_tree.name}"):
                self.prepare(source_tree, without)
                fresh = self._pending[fingerprint].result()
        site = reading.reading
        if save is not None:
            write_json_atomic(save / "database.json", site.to_json())
            write_json_atomic(save / "database-fresh-install.json", fresh.reading.to_json())
        known = {**self.components, **fresh.reading.components}
        self.components.update(site.components)
        if fresh.reading.engine != site.engine:
            raise FreshInstallError(
                f"the fresh install of {source_tree} ran on {fresh.reading.engine}, the site "
                f"on {site.engine}",
                f"delete {self.fresh.path(fingerprint, self.engine)} to install it again",
            )
        found = [
            *schema_area.observations(site, fresh.reading, known),
            *data_area.row_counts(site, known),
        ]
        return CheckedSite(site, fresh.reading, found, fresh_saved_before=fresh.saved_before)

    def summary(self) -> str:
        parts = ", ".join(f"{label} {sec:.1f} s" for label, sec in self.seconds.items())
        text = f"schema and data check: {self.total_seconds:.1f} s ({parts})"
        if self.background:
            text += "; in the background: " + ", ".join(
                f"{label} {sec:.1f} s" for label, sec in self.background.items()
            )
        return text

    def _saved(self, fingerprint: str) -> _Fresh | None:
        """The fresh install saved before this run needed it (one this run is making
        counts as not saved: the caller waits for it)."""
        if fingerprint in self._pending:
            return None
        reading = self.fresh.load(fingerprint, self.engine)
        return None if reading is None else _Fresh(reading, saved_before=True)

    @contextmanager
    def _timed(self, part: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[part] = self.seconds.get(part, 0.0) + time.monotonic() - started

    def _fresh_install(self, tree: Path, fingerprint: str, without: Sequence[str]) -> _Fresh:
        started = time.monotonic()
        reading, saved_before = self.fresh.get_or_make(
            fingerprint, self.engine, lambda: self._install(tree, fingerprint, without)
        )
        if not saved_before:
            self.background[f"fresh install of {tree.name}"] = time.monotonic() - started
        return _Fresh(reading, saved_before)

    def _install(self, tree: Path, fingerprint: str, without: Sequence[str]) -> SchemaReading:
        """A throw-away sandbox from ``tree``: installed, read, destroyed."""
        # Its own quiet manager: this runs beside the rehearsal's stages.
        manager = SandboxManager(self.manager.settings, steps=Steps(quiet=True))
        name = f"fresh-{fingerprint[:12]}"
        box = manager.sandbox(name)
        if box.root.exists():
            box.destroy()  # the remains of an interrupted fresh install
        try:
            manager.up(name, tree, engine=self.engine, without=without)
        except SandboxError as exc:
            raise FreshInstallError(
                f"the fresh install of {tree} for the schema check failed: {exc.cause}",
                f"see the logs in {box.root / 'logs'}",
            ) from None
        try:
            return read_database(
                box.code_dir, log=self.log, rows=False, source=f"fresh install of {tree}"
            ).reading
        finally:
            box.destroy()


def installed_fingerprint(tree: Path, without: Sequence[str] = ()) -> str:
    """The fingerprint of what a sandbox installs from ``tree`` when it leaves the
    plugins ``without`` out (the same as a tree that never had them)."""
    if not without:
        return tree_fingerprint(tree)
    folders = inspect_tree(tree).plugin_dirs
    return tree_fingerprint(tree, skip=[folders[c] for c in without if c in folders])


@dataclass(frozen=True)
class RowChanges:
    """Tables of the ``data`` area whose rows went down (or vanished) and up, each as
    ``table: N -> M``."""

    lost: list[str]
    grown: list[str]


def row_changes(before: Sequence[Observation], after: Sequence[Observation]) -> RowChanges:
    """How the rows per table changed from ``before`` to ``after`` (a restored site
    must have every row its backup had; restoring and checking it add a few)."""
    rows_after = {o.key: o.value for o in after if o.area == data_area.AREA}
    lost, grown = [], []
    for obs in before:
        if obs.area != data_area.AREA:
            continue
        now = rows_after.get(obs.key)
        table = obs.key.split("/")[2]
        if now is None or now < obs.value:
            lost.append(f"{table}: {obs.value} -> {'no table' if now is None else now}")
        elif now > obs.value:
            grown.append(f"{table}: {obs.value} -> {now}")
    return RowChanges(lost, grown)
