"""The upgrade rehearsal: a sandbox from code tree A, seeded, observed, upgraded to B,
observed again, reported, and its backup restored and checked to equal A."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from moodle_regress.compare import compare
from moodle_regress.config import load_settings
from moodle_regress.expected import ExpectedChanges
from moodle_regress.files import write_json_atomic
from moodle_regress.integrity import CheckedSite, IntegrityCheck, row_changes
from moodle_regress.observation import Observation
from moodle_regress.observe.contract import AREA as CONTRACT_AREA
from moodle_regress.preflight import PreflightReport
from moodle_regress.preflight import stage as preflight_stage
from moodle_regress.rehearsal.pipeline import (
    Pipeline,
    expected_files,
    observe_site,
    seed_site,
)
from moodle_regress.rehearsal.result import RehearsalError, RehearsalResult
from moodle_regress.rehearsal.stages import Stage, StageBoard
from moodle_regress.rehearsal.suites import SuiteOptions
from moodle_regress.report.html import write_html_report
from moodle_regress.resources import default_plan
from moodle_regress.sandbox import SandboxManager
from moodle_regress.sandbox.adhoc import run_queued_tasks
from moodle_regress.sandbox.db import DEFAULT_ENGINE
from moodle_regress.sandbox.errors import UpgradeFailedError
from moodle_regress.sandbox.manager import UpgradeResult
from moodle_regress.sandbox.progress import Steps
from moodle_regress.site import DESCRIPTOR_NAME, SiteDescriptor
from moodle_regress.snapshot import Snapshot

STAGES = (
    ("preflight", "0. preflight: will the upgrade work?"),
    ("up", "1. sandbox from code A"),
    ("seed", "2. seed the plan (none: sample the site's own)"),
    ("observe_a", "3. observe A (snapshot + suites)"),
    ("upgrade", "4. back up and upgrade to B"),
    ("adhoc", "4b. ad hoc tasks the upgrade queued"),
    ("schema", "5. schema and rows of B against a fresh install"),
    ("observe_b", "6. observe B against A"),
    ("report", "7. compare and report"),
    ("restore", "8. restore the backup, check it is A"),
)


@dataclass
class RehearsalOptions:
    code_from: Path
    code_to: Path
    out: Path
    #: None: no plan is seeded (a copy of a real site, rehearsed with its own data).
    plan: Path | None = field(default_factory=default_plan)
    seed: int = 0
    suites: tuple[str, ...] = ("api",)
    expected: Path | None = None
    #: Apply the shipped expected/any-upgrade.yaml (release and version bumps) too.
    default_expected: bool = True
    name: str | None = None
    workers: int = 2
    #: Destroy the sandboxes at the end (the backup is moved into ``out``).
    cleanup: bool = False
    #: The sandbox's database engine (``moodle_regress.sandbox.db.ENGINE_NAMES``).
    db_engine: str = DEFAULT_ENGINE
    #: Go on when the preflight finds a blocker.
    force: bool = False
    #: Plugins left out of the sandbox's copy of code tree B (``--without-plugin``).
    without_plugins: tuple[str, ...] = ()
    #: Load sandboxes from installs kept for their code (``--no-cache``: False, as
    #: ``reuse_installs = false`` for this run only).
    reuse_installs: bool = True
    #: Rehearse a copy of this sandbox (an imported site) instead of a fresh install of
    #: ``code_from`` (which is then its code tree); every course and user is observed.
    from_sandbox: str | None = None


def rehearsal_manager(options: RehearsalOptions, console: Console) -> SandboxManager:
    """The manager of the rehearsal's sandboxes, with the options' own settings."""
    settings = load_settings()
    if not options.reuse_installs:
        settings = replace(settings, reuse_installs=False)
    return SandboxManager(settings, steps=Steps(console, quiet=True))


class Rehearsal:
    """One rehearsal's state between its stages."""

    def __init__(
        self, options: RehearsalOptions, manager: SandboxManager, pipeline: Pipeline, name: str
    ) -> None:
        self.options = options
        self.manager = manager
        self.pipeline = pipeline
        self.name = name
        self.result = pipeline.result
        self.board = pipeline.board
        self.backup: Path | None = None
        self.observer_a: Snapshot | None = None
        self.preflight: PreflightReport | None = None
        self.integrity = IntegrityCheck(
            manager, log=self.result.out / "schema-check.log", engine=options.db_engine
        )
        #: Site A's ``schema`` and ``data`` observations (read at the end of stage 3).
        self.database_a: list[Observation] = []
        #: The sandboxes this rehearsal made: the only ones ``--cleanup`` may destroy.
        self.made: list[str] = []

    def run(self) -> None:
        """Stages 0 to 7; a failure skips the rest; the restore runs whenever it can."""
        try:
            self.run_stages()
        except Exception as exc:
            self.result.fail(exc)
            self.board.skip_pending("an earlier stage failed", keep=("restore",))
        if self.backup is not None and self.observer_a is not None:
            try:
                self.restore()
            except Exception as exc:
                self.result.fail(exc)
        else:
            self.board.skip("restore", "no backup was taken")
        self.result.backup = self.backup

    def run_stages(self) -> None:
        self.check_before_sandbox()
        descriptor = self.up()
        # B's fresh install for the schema check, unless saved, beside stages 2-4.
        self.integrity.prepare(self.options.code_to, self.options.without_plugins)
        self.seed(descriptor)
        seen_a = self.pipeline.observe(
            "observe_a", "A", descriptor, site_ref(descriptor), extra=self.read_database_a
        )
        self.observer_a = seen_a.observer
        self.upgrade()
        descriptor = self.manager.get(self.name).descriptor()
        with self.board.run("adhoc") as stage:
            # As the site's cron would, before anyone looks at the upgraded site.
            tree = self.manager.get(self.name).tree()
            self.result.adhoc = run_queued_tasks(tree, self.result.out / "adhoc-tasks-B.log")
            stage.detail = self.result.adhoc.summary()
        checked_b = self.check_schema_b()
        seen_b = self.pipeline.observe(
            "observe_b",
            "B",
            descriptor,
            site_ref(descriptor),
            baselines=seen_a.recorded,
            extra=lambda: checked_b.observations,
        )
        self.pipeline.report(
            seen_a.snapshot,
            seen_b.snapshot,
            title=f"Upgrade rehearsal {self.result.release_before} -> {self.result.release_after}",
            notes_tree=self.options.code_to,
            preflight=self.preflight,
        )

    def read_database_a(self) -> list[Observation]:
        """Site A's schema and rows: counted last, since the upgrade's backup holds
        these rows; A is a fresh install of its tree, kept as that tree's."""
        self.database_a = self.integrity.check_site(
            "A",
            self.manager.get(self.name).code_dir,
            self.options.code_from,
            fresh_install=self.options.from_sandbox is None,
            save=self.result.out / "A",
        ).observations
        return self.database_a

    def check_schema_b(self) -> CheckedSite:
        """Stage 5: B's database against a fresh install of code tree B, and its rows."""
        with self.board.run("schema") as stage:
            checked = self.integrity.check_site(
                "B",
                self.manager.get(self.name).code_dir,
                self.options.code_to,
                save=self.result.out / "B",
                without=self.options.without_plugins,
            )
            stage.detail = (
                f"{checked.schema_differences} differences from a fresh install of "
                f"{self.result.release_after} ("
                + ("saved before" if checked.fresh_saved_before else "installed now")
                + f"); rows of {len(checked.reading.tables)} tables; {self.integrity.summary()}"
            )
        return checked

    def seed(self, descriptor: SiteDescriptor) -> None:
        if self.options.plan is None:
            self.sample(descriptor)
            return
        with self.board.run("seed") as stage:
            seeded = seed_site(descriptor, self.options.plan, self.options.seed, allow_writes=False)
            stage.detail = seeded.summary
            # B's suites regenerate the plan for the formats A had: B's own (5.1 adds
            # remuiformat in our tree) would make them expect courses A never had.
            self.pipeline.options = replace(self.pipeline.options, formats=seeded.formats)
            # A real site's cron has run what its installation and its users queued;
            # a task left queued whose class the new release dropped would block the
            # whole queue after the upgrade (4.5's tool_moodlenet post_install in 5.0).
            tree = self.manager.get(self.name).tree()
            before = run_queued_tasks(tree, self.result.out / "adhoc-tasks-A.log")
            stage.detail += f"; cron: {before.summary()}"

    def sample(self, descriptor: SiteDescriptor) -> None:
        """Stage 2 without a plan: the site's own courses and users are observed; the
        suites check a sample of them, chosen here, on A, and saved for B's suites."""
        if not self.pipeline.suites:
            self.board.skip("seed", "no plan: the site's own courses and users are observed")
            return
        from moodle_regress.seeding.sample import (
            open_sampled_accounts,
            sample_site,
            save_sample,
        )

        with self.board.run("seed") as stage:
            path = self.result.out / "site-sample.json"
            with descriptor.client() as client:
                data = sample_site(client, self.options.seed)
                opened = open_sampled_accounts(client, data, allow_writes=False)
            save_sample(data, path)
            self.pipeline.options = replace(self.pipeline.options, sample=path)
            formats = sorted({c.format for c in data.courses})
            stage.detail = (
                f"no plan: the suites check {len(data.courses)} of the site's own courses "
                f"({', '.join(formats)}) and {opened} of its teachers and students "
                f"(given a known password), sampled in {path.name}"
            )

    def up(self) -> SiteDescriptor:
        if self.options.from_sandbox is not None:
            return self.copy_sandbox(self.options.from_sandbox)
        with self.board.run("up") as stage:
            engine = self.options.db_engine
            if not self.manager.sandbox(self.name).root.exists():
                self.made.append(self.name)  # up refuses a name in use: not ours then
            descriptor = self.manager.up(self.name, self.options.code_from, engine=engine)
            self.result.release_before = descriptor.release or ""
            stage.detail = f"{self.name}: {descriptor.release} on {engine} at {descriptor.url}"
        return descriptor

    def copy_sandbox(self, source: str) -> SiteDescriptor:
        """Stage 1 for an imported site: its backup restored as this rehearsal's sandbox,
        so that the upgrade never touches ``source`` and it can be rehearsed again."""
        with self.board.run("up") as stage:
            if self.manager.sandbox(self.name).root.exists():
                raise RehearsalError(
                    f"a sandbox named {self.name!r} already exists: give --name another name"
                )
            archive = self.result.out / f".copy-of-{source}.tar.zst"
            try:
                self.manager.get(source).backup(archive)
                self.made.append(self.name)
                restored = self.manager.restore(self.name, archive)
            finally:
                archive.unlink(missing_ok=True)
            descriptor = restored.descriptor
            self.result.release_before = descriptor.release or ""
            stage.detail = (
                f"{self.name}: a copy of {source} ({restored.release}, {restored.counts.users} "
                f"users, {restored.counts.courses} courses) at {descriptor.url}"
            )
        return descriptor

    def check_before_sandbox(self) -> None:
        """Stage 0: a blocker stops the rehearsal before any sandbox, unless ``force``."""
        with self.board.run("preflight") as stage:
            self.preflight = preflight_stage.before_sandbox(
                self.options.code_from,
                self.options.code_to,
                self.result.out,
                engine=self.options.db_engine,
                without=self.options.without_plugins,
            )
            self.result.preflight = self.preflight.to_json()
            stage.detail = self.preflight.summary()
            preflight_stage.stop_if_blocked(self.preflight, force=self.options.force)

    def upgrade(self) -> None:
        """Stage 4: the preflight again on the seeded site, then Moodle's upgrade."""
        with self.board.run("upgrade") as stage:
            self.preflight = preflight_stage.before_upgrade(
                self.manager.get(self.name).descriptor(),
                self.options.code_to,
                self.result.out,
                without=self.options.without_plugins,
            )
            self.result.preflight = self.preflight.to_json()
            preflight_stage.stop_if_blocked(self.preflight, force=self.options.force)
            upgraded = self._upgrade_box(stage)
            self.backup = upgraded.backup
            self.result.release_after = upgraded.new_release
            timings = ", ".join(f"{k} {v:.1f} s" for k, v in upgraded.timings.items())
            stage.detail = (
                f"{upgraded.old_release} -> {upgraded.new_release} in "
                f"{upgraded.seconds:.1f} s ({timings})"
            )
            if upgraded.missing_plugins:
                stage.detail += "; missing plugins: " + ", ".join(upgraded.missing_plugins)

    def _upgrade_box(self, stage: Stage) -> UpgradeResult:
        """The sandbox's upgrade; a failure keeps Moodle's upgrade log and names the plugin."""
        box = self.manager.get(self.name)
        try:
            return box.upgrade(self.options.code_to, without=self.options.without_plugins)
        except UpgradeFailedError as exc:
            self.backup = exc.backup
            kept = preflight_stage.keep_upgrade_log(exc.log, self.result.out)
            self.result.failed_plugin = exc.component
            stage.detail = preflight_stage.failed_upgrade(exc, kept)
            raise RehearsalError(stage.detail) from None
        except Exception as exc:
            self.backup = getattr(exc, "backup", None)
            stage.detail = str(exc)
            raise
        finally:
            preflight_stage.keep_upgrade_log(box.logs / "upgrade.log", self.result.out)

    def restore(self) -> None:
        """Stage 8: the backup into a fresh sandbox, observed: it must equal site A,
        and lack none of A's rows."""
        assert self.backup is not None and self.observer_a is not None
        out = self.result.out
        with self.board.run("restore") as stage:
            self.made.append(f"{self.name}-restored")
            restored = self.manager.restore(f"{self.name}-restored", self.backup)
            # Rows first: observing adds some (logs).
            database_r = self.integrity.check_site(
                "restored",
                self.manager.get(f"{self.name}-restored").code_dir,
                self.options.code_from,
                moodle_check=False,
                save=out / "restored",
            ).observations
            # The same code as A's: its contract is not read again.
            check = observe_site(
                restored.descriptor,
                out / "restored" / "api-observer.json",
                plan=self.options.plan,
                seed=self.options.seed,
                contract=False,
                every_entity=self.pipeline.every_entity,
            )
            same = compare(
                Snapshot(
                    self.observer_a.meta,
                    [*without_area(self.observer_a, CONTRACT_AREA), *schema_of(self.database_a)],
                ),
                Snapshot(check.meta, [*check, *schema_of(database_r)]),
            )
            rows = row_changes(self.database_a, database_r)
            self.result.restored_equal = len(same) == 0 and not rows.lost
            stage.detail = (
                f"{restored.release}; {len(same)} differences from A; rows lost: "
                + ("; ".join(rows.lost) or "none")
                + (f" (grown: {'; '.join(rows.grown)})" if rows.grown else "")
                + ("" if self.result.restored_equal else f" (see {out / 'restored'})")
            )
            if not self.result.restored_equal:
                write_html_report(
                    same, out / "restored" / "report.html", title="Restored site against A"
                )
                raise RehearsalError("the restored site differs from site A")


def rehearse(
    options: RehearsalOptions,
    *,
    manager: SandboxManager | None = None,
    console: Console | None = None,
    live: bool = True,
) -> RehearsalResult:
    """Run the rehearsal (see the package's docstring); never raises for a stage's failure."""
    console = console or Console(stderr=True)
    out = options.out.expanduser().absolute()
    out.mkdir(parents=True, exist_ok=True)
    name = options.name or "rh-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    manager = manager or rehearsal_manager(options, console)
    expected = expected_files(options.expected, defaults=options.default_expected)
    ExpectedChanges.load_all(expected)  # a broken file is found now, not after the upgrade
    board = StageBoard(STAGES, console, live=live and console.is_terminal)
    result = RehearsalResult(out=out, stages=board.stages, db_engine=options.db_engine)
    suite_options = SuiteOptions(
        plan=options.plan,
        seed=options.seed,
        workers=options.workers,
        expected=options.expected,
        allure_dir=out / "allure-results",
    )
    imported = options.from_sandbox is not None
    pipeline = Pipeline(
        board, result, options.suites, suite_options, expected, every_entity=imported
    )
    rehearsal = Rehearsal(options, manager, pipeline, name)
    with board:
        rehearsal.run()
    rehearsal.integrity.close()
    result.schema_seconds = rehearsal.integrity.total_seconds
    result.schema_check = rehearsal.integrity.summary()
    if options.cleanup:
        result.backup = clean_up(manager, rehearsal.made, result.backup, out)
    write_json_atomic(out / "rehearsal.json", result.to_json())
    return result


def clean_up(
    manager: SandboxManager, names: Sequence[str], backup: Path | None, out: Path
) -> Path | None:
    """Destroy the sandboxes the rehearsal made (``names``), keeping the backup (moved
    into ``out``)."""
    kept = None
    if backup is not None and backup.is_file():
        # The name is "before-5.1.3-<time>.tar.zst": its suffixes include ".1", ".3-...".
        kept = out / f"backup-A-{backup.name.removeprefix('before-')}"
        shutil.move(backup, kept)
    for name in names:
        box = manager.sandbox(name)
        if box.exists():
            box.destroy()
    return kept


def without_area(snapshot: Snapshot, area: str) -> Snapshot:
    """The snapshot without one area's observations."""
    return Snapshot(snapshot.meta, [o for o in snapshot if o.area != area])


def schema_of(found: Sequence[Observation]) -> list[Observation]:
    """The ``schema`` area's observations of a site's database check."""
    return [o for o in found if o.area == "schema"]


def site_ref(descriptor: SiteDescriptor) -> str:
    """How a suite subprocess finds the sandbox: its descriptor file."""
    if descriptor.sandbox is not None:
        return str(descriptor.sandbox.root / DESCRIPTOR_NAME)
    raise RehearsalError(f"{descriptor.name} is not a sandbox")
