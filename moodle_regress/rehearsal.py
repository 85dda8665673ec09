"""The upgrade rehearsal, end to end, and the comparison of two live sites.

A rehearsal runs these stages, each timed and shown as it goes:

1. ``up``: a sandbox from code tree A;
2. ``seed``: the plan's data;
3. ``observe A``: a snapshot through the web services and of the web-service contract
   (from A's code), and the suites (API and/or browser) recording their observations;
4. ``upgrade``: Moodle's upgrade to code tree B; the sandbox takes a backup first;
5. ``schema``: B's database against a fresh install of code tree B (the ``schema``
   area) and its rows per table (the ``data`` area; A's were read at the end of
   stage 3), see :mod:`moodle_regress.integrity`;
6. ``observe B``: the same, the suites now comparing with A's observations;
7. ``report``: A against B, contract changes classified and every difference matched
   to B's upgrade notes, everything in one HTML report, JSON and allure results;
8. ``restore``: the backup into a fresh sandbox, observed again: it must equal A,
   rows per table included.

Data flows one way: plan -> seed -> observe -> snapshot -> compare -> report.  When
the upgrade fails, the rehearsal still writes what it did, restores the backup and
proves site A is back.

:func:`compare_sites` runs stages 2, 3, 5 and 6 against two live sites.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from moodle_regress.compare import Comparison, compare
from moodle_regress.errors import MoodleRegressError
from moodle_regress.expected import ExpectedChanges
from moodle_regress.files import write_json_atomic
from moodle_regress.integrity import IntegrityCheck, row_changes
from moodle_regress.observation import Observation
from moodle_regress.observe import ApiObserver, prefix_filter
from moodle_regress.observe import plugins as plugins_area
from moodle_regress.observe.contract import AREA as CONTRACT_AREA
from moodle_regress.observe.questions import question_bank_reader
from moodle_regress.plugins import local_plugins, site_code_dir
from moodle_regress.preflight import PreflightReport, preflight_html
from moodle_regress.preflight import stage as preflight_stage
from moodle_regress.report.html import write_html_report
from moodle_regress.report.json_report import write_json_report
from moodle_regress.resources import any_upgrade_expected, default_plan, suite_dir
from moodle_regress.sandbox import SandboxManager
from moodle_regress.sandbox.adhoc import AdhocResult, run_queued_tasks
from moodle_regress.sandbox.db import DEFAULT_ENGINE
from moodle_regress.sandbox.errors import UpgradeFailedError
from moodle_regress.sandbox.progress import Steps
from moodle_regress.site import DESCRIPTOR_NAME, SiteDescriptor
from moodle_regress.snapshot import Snapshot

SUITES = ("api", "browser")

StageStatus = Literal["pending", "running", "done", "failed", "skipped"]


class RehearsalError(MoodleRegressError):
    """A rehearsal could not run (bad arguments, a stage that failed)."""


@dataclass
class Stage:
    name: str
    title: str
    status: StageStatus = "pending"
    seconds: float = 0.0
    detail: str = ""


@dataclass
class SuiteRun:
    """One pytest run of a suite against one site."""

    suite: str
    label: str
    exit_code: int
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    snapshot: Path | None = None
    log: Path | None = None

    @property
    def summary(self) -> str:
        return (
            f"{self.suite} {self.label}: {self.passed} passed, {self.failed} failed, "
            f"{self.skipped} skipped, {self.errors} errors"
        )


@dataclass
class RehearsalResult:
    out: Path
    stages: list[Stage]
    release_before: str = ""
    release_after: str = ""
    unexpected: int = 0
    expected: int = 0
    report: Path | None = None
    restored_equal: bool | None = None
    error: str | None = None
    suites: list[SuiteRun] = field(default_factory=list)
    #: The backup taken before the upgrade.
    backup: Path | None = None
    #: The sandbox's database engine (None for two live sites).
    db_engine: str | None = None
    #: The ad hoc tasks run after the upgrade.
    adhoc: AdhocResult = field(default_factory=AdhocResult)
    #: The preflight's findings (the last one run), as JSON.
    preflight: dict[str, Any] | None = None
    #: The plugin whose install or upgrade step failed the upgrade.
    failed_plugin: str | None = None
    #: What the schema and data check took, and its parts.
    schema_check: str = ""
    schema_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """As ``diff``'s: 0 nothing unexpected, 1 something unexpected, 2 an error."""
        if self.error is not None:
            return 2
        return 1 if self.unexpected else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "release_before": self.release_before,
            "release_after": self.release_after,
            "db_engine": self.db_engine,
            "unexpected": self.unexpected,
            "expected": self.expected,
            "report": str(self.report) if self.report else None,
            "restored_equal": self.restored_equal,
            "backup": str(self.backup) if self.backup else None,
            "error": self.error,
            "failed_plugin": self.failed_plugin,
            "preflight": self.preflight,
            "exit_code": self.exit_code,
            "adhoc_tasks": self.adhoc.to_json(),
            "schema_check": {
                "seconds": round(self.schema_seconds, 2),
                "summary": self.schema_check,
            },
            "stages": [
                {
                    "name": s.name,
                    "status": s.status,
                    "seconds": round(s.seconds, 2),
                    "detail": s.detail,
                }
                for s in self.stages
            ],
            "suites": [
                {
                    "suite": r.suite,
                    "site": r.label,
                    "exit_code": r.exit_code,
                    "passed": r.passed,
                    "failed": r.failed,
                    "skipped": r.skipped,
                    "errors": r.errors,
                }
                for r in self.suites
            ],
        }


class StageBoard:
    """The live display of the stages with their times (and a plain log when quiet)."""

    def __init__(self, stages: Sequence[tuple[str, str]], console: Console, *, live: bool) -> None:
        self.stages = [Stage(name, title) for name, title in stages]
        self.console = console
        self._live: Live | None = None
        self._use_live = live
        self._started: float | None = None

    def table(self) -> Table:
        table = Table(title="moodle-regress rehearsal", expand=False)
        table.add_column("stage")
        table.add_column("status")
        table.add_column("seconds", justify="right")
        table.add_column("detail", overflow="fold", max_width=70)
        colours = {"done": "green", "failed": "red", "running": "yellow", "skipped": "dim"}
        for stage in self.stages:
            colour = colours.get(stage.status, "white")
            seconds = f"{stage.seconds:.1f}" if stage.status != "pending" else ""
            table.add_row(stage.title, f"[{colour}]{stage.status}[/]", seconds, stage.detail)
        return table

    def __enter__(self) -> StageBoard:
        if self._use_live:
            self._live = Live(Group(self.table()), console=self.console, refresh_per_second=2)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(Group(self.table()))
            self._live.__exit__(None, None, None)

    def get(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    @contextmanager
    def run(self, name: str) -> Iterator[Stage]:
        stage = self.get(name)
        stage.status = "running"
        self._refresh()
        started = time.monotonic()
        try:
            yield stage
        except BaseException:
            stage.status = "failed"
            raise
        else:
            stage.status = "done"
        finally:
            stage.seconds = time.monotonic() - started
            self._refresh()
            if self._live is None:
                self.console.print(
                    f"{stage.title}: {stage.status} ({stage.seconds:.1f} s) {stage.detail}"
                )

    def skip(self, name: str, why: str) -> None:
        stage = self.get(name)
        stage.status, stage.detail = "skipped", why
        self._refresh()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(Group(self.table()))


# --- the parts ----------------------------------------------------------------------


def seed_site(descriptor: SiteDescriptor, plan: Path, seed: int, *, allow_writes: bool) -> str:
    """Apply the plan; returns a one-line summary."""
    from moodle_regress.seeding import apply_dataset, generate, installed_formats, load_plan
    from moodle_regress.seeding import local_site as local_of
    from moodle_regress.seeding.apply import SEED_TIMEOUT

    loaded = load_plan(plan)
    local = local_of(descriptor)
    # Writes hold many entities a call: the seeder's own timeout (the batches are
    # sized so that calls end well within it, on slow sites too).
    with descriptor.client(timeout=SEED_TIMEOUT) as client:
        data = generate(loaded, seed, installed_formats=installed_formats(client, local, loaded))
        apply_dataset(client, data, allow_writes=allow_writes, local=local)
    counts = data.counts()
    return ", ".join(f"{n} {k}" for k, n in counts.items() if n) + f" (tag {data.tag})"


def observe_site(
    descriptor: SiteDescriptor,
    out: Path,
    *,
    plan: Path,
    seed: int,
    contract: bool = True,
    code: Path | None = None,
) -> Snapshot:
    """Snapshot the site's seeded entities and site-wide facts through the web services,
    and (``contract``) its web-service contract from its code (``code``, or the sandbox's)."""
    from moodle_regress.observe.contract_source import observe_contract

    with descriptor.client() as client:
        observer = ApiObserver(
            client,
            entity_filter=prefix_filter("mr-"),
            plugin_candidates=local_plugins(descriptor),
            question_banks=question_bank_reader(descriptor),
        )
        run = observer.observe()
    if contract:
        found, notes = observe_contract(descriptor, code=code, log=out.with_name("contract.log"))
        run.observations.extend(found)
        run.meta.notes.extend(notes)
    code_dir = site_code_dir(descriptor)
    if code_dir is not None:
        run.observations.extend(
            plugins_area.observe_local(
                code_dir, release=run.meta.release, log=out.parent / "php.log"
            )
        )
    else:
        run.meta.notes.append(plugins_area.REMOTE_NOTE)
    run.meta.plan = plan.name
    run.meta.seed = seed
    run.meta.database = descriptor.db_engine
    snapshot = run.snapshot()
    snapshot.save(out)
    return Snapshot.load(out)


def run_suite(
    suite: str,
    site_ref: str,
    out: Path,
    *,
    label: str,
    plan: Path,
    seed: int,
    workers: int,
    baseline: Path | None,
    expected: Path | None,
    allure_dir: Path,
    allow_writes: bool,
) -> SuiteRun:
    """Run one suite in a pytest subprocess, recording its observations under ``out``."""
    # The suite runs in ``out``: paths given relative to this process's folder
    # (``--plan plans/x.yaml``, ``--out run``) would name nothing there.
    out, plan, allure_dir = out.absolute(), plan.absolute(), allure_dir.absolute()
    baseline = baseline.absolute() if baseline is not None else None
    expected = expected.absolute() if expected is not None else None
    out.mkdir(parents=True, exist_ok=True)
    junit = out / f"{suite}-junit.xml"
    log = out / f"{suite}-pytest.log"
    args = [
        sys.executable,
        "-m",
        "pytest",
        str(suite_dir(suite)),
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfE",
        f"--moodle-site={site_ref}",
        f"--moodle-plan={plan}",
        f"--moodle-seed={seed}",
        f"--junitxml={junit}",
        f"--alluredir={allure_dir}",
    ]
    if workers > 1:
        args += ["-n", str(workers)]
    if allow_writes:
        args.append("--allow-writes")
    record: Path | None
    if suite == "browser":
        record = out / "browser" / "snapshot.json"
        args.append(f"--moodle-browser-out={out / 'browser'}")
        if baseline is not None:
            args.append(f"--moodle-browser-baseline={baseline.parent}")
    else:
        record = out / f"{suite}-suite.json"
        args.append(f"--moodle-record={record}")
        if baseline is not None:
            args.append(f"--moodle-baseline={baseline}")
    if expected is not None and suite != "browser":
        args.append(f"--moodle-expected={expected}")
    env = dict(os.environ)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    with log.open("w") as handle:
        completed = subprocess.run(
            args, cwd=out, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False
        )
    result = SuiteRun(suite=suite, label=label, exit_code=completed.returncode, log=log)
    if junit.is_file():
        _count_junit(junit, result)
    result.snapshot = record if record is not None and record.is_file() else None
    return result


def _count_junit(path: Path, result: SuiteRun) -> None:
    root = ET.parse(path).getroot()  # noqa: S314 - our own pytest's output
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for node in suites:
        tests = int(node.get("tests", 0))
        result.failed += int(node.get("failures", 0))
        result.errors += int(node.get("errors", 0))
        result.skipped += int(node.get("skipped", 0))
        result.passed += (
            tests
            - int(node.get("failures", 0))
            - int(node.get("errors", 0))
            - int(node.get("skipped", 0))
        )


def combine(snapshots: Sequence[Snapshot]) -> Snapshot:
    """One snapshot of several (observer, API suites, browser suites); first key wins."""
    if not snapshots:
        raise RehearsalError("nothing was observed")
    combined = Snapshot(snapshots[0].meta)
    for snapshot in snapshots:
        for observation in snapshot:
            if combined.get(observation.key) is None:
                path = {
                    name: str(snapshot.attachment_path(observation, name) or rel)
                    for name, rel in observation.attachments.items()
                }
                combined.add(
                    type(observation)(
                        key=observation.key,
                        value=observation.value,
                        source=observation.source,
                        release=observation.release,
                        attachments=path,
                    )
                )
    return combined


def with_observations(snapshot: Snapshot, extra: Sequence[Observation], path: Path) -> Snapshot:
    """``snapshot`` with ``extra`` observations added, saved to ``path``."""
    combine([snapshot, Snapshot(snapshot.meta, extra)]).save(path)
    return Snapshot.load(path)


def schema_of(found: Sequence[Observation]) -> list[Observation]:
    """The ``schema`` area's observations of a site's database check."""
    return [o for o in found if o.area == "schema"]


def load_expected(files: Sequence[Path]) -> ExpectedChanges | None:
    """The rules of several expected-changes files, in order (the first match explains)."""
    loaded = [ExpectedChanges.load(f) for f in files]
    if not loaded:
        return None
    return ExpectedChanges(
        [rule for e in loaded for rule in e.rules], source=", ".join(e.source for e in loaded)
    )


def expected_files(user_file: Path | None, *, defaults: bool) -> list[Path]:
    """The user's expected-changes file, after the rules every upgrade needs."""
    return [*([any_upgrade_expected()] if defaults else []), *([user_file] if user_file else [])]


def write_reports(
    before: Snapshot,
    after: Snapshot,
    out: Path,
    *,
    expected: Sequence[Path],
    title: str,
    notes_tree: Path | None = None,
    adhoc_tasks: Sequence[Mapping[str, Any]] = (),
    preface: str = "",
    foretold: ExpectedChanges | None = None,
) -> Comparison:
    """Compare, classify contract changes, explain with the upgrade notes of
    ``notes_tree`` (the newer code), apply the expected changes, write the reports."""
    from moodle_regress.classify import classify_contract
    from moodle_regress.notes import explain_upgrade

    comparison = classify_contract(compare(before, after))
    if notes_tree is not None:
        explain_upgrade(comparison, notes_tree)
    rules = load_expected(expected)
    if foretold is not None:
        # The files' rules first: a reviewer's reason wins over the preflight's.
        rules = ExpectedChanges([*(rules.rules if rules else []), *foretold.rules])
    if rules is not None:
        comparison = rules.apply(comparison)
    write_html_report(
        comparison, out / "report.html", title=title, adhoc_tasks=adhoc_tasks, preface=preface
    )
    write_json_report(comparison, out / "report.json")
    return comparison


@dataclass(frozen=True)
class Observing:
    """How a site is observed: the plan it was seeded with and the suites to run."""

    plan: Path
    seed: int
    suites: tuple[str, ...]
    workers: int
    expected: Path | None
    allure_dir: Path
    allow_writes: bool = False


@dataclass
class SiteObservation:
    snapshot: Snapshot  # everything: web-service snapshot and the suites' observations
    observer: Snapshot  # the web-service snapshot alone
    recorded: dict[str, Path]  # each suite's own snapshot: the other site's baseline


def observe_with_suites(
    descriptor: SiteDescriptor,
    site_ref: str,
    site_dir: Path,
    how: Observing,
    *,
    baselines: dict[str, Path],
    runs: list[SuiteRun],
    label: str,
    code: Path | None = None,
) -> SiteObservation:
    """Snapshot a site, run the suites against it, and combine what they observed
    (``code``: the code tree of a site that is not a sandbox, for its contract)."""
    observer = observe_site(
        descriptor, site_dir / "api-observer.json", plan=how.plan, seed=how.seed, code=code
    )
    parts = [observer]
    recorded: dict[str, Path] = {}
    for suite in how.suites:
        run = run_suite(
            suite,
            site_ref,
            site_dir,
            label=label,
            plan=how.plan,
            seed=how.seed,
            workers=how.workers,
            baseline=baselines.get(suite),
            expected=how.expected,
            allure_dir=how.allure_dir,
            allow_writes=how.allow_writes,
        )
        runs.append(run)
        if run.snapshot is not None:
            recorded[suite] = run.snapshot
            parts.append(Snapshot.load(run.snapshot))
    combine(parts).save(site_dir / "snapshot.json")
    return SiteObservation(Snapshot.load(site_dir / "snapshot.json"), observer, recorded)


# --- the rehearsal ------------------------------------------------------------------


@dataclass
class RehearsalOptions:
    code_from: Path
    code_to: Path
    out: Path
    plan: Path = field(default_factory=default_plan)
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


def rehearse(
    options: RehearsalOptions,
    *,
    manager: SandboxManager | None = None,
    console: Console | None = None,
    live: bool = True,
) -> RehearsalResult:
    """Run the rehearsal (see the module docstring); never raises for a stage's failure."""
    console = console or Console(stderr=True)
    out = options.out.expanduser().absolute()
    out.mkdir(parents=True, exist_ok=True)
    name = options.name or "rh-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    manager = manager or SandboxManager(steps=Steps(console, quiet=True))
    stages = [
        ("preflight", "0. preflight: will the upgrade work?"),
        ("up", "1. sandbox from code A"),
        ("seed", "2. seed the plan"),
        ("observe_a", "3. observe A (snapshot + suites)"),
        ("upgrade", "4. back up and upgrade to B"),
        ("adhoc", "4b. ad hoc tasks the upgrade queued"),
        ("schema", "5. schema and rows of B against a fresh install"),
        ("observe_b", "6. observe B against A"),
        ("report", "7. compare and report"),
        ("restore", "8. restore the backup, check it is A"),
    ]
    # A broken expected-changes file is found now, not after the upgrade.
    load_expected(expected_files(options.expected, defaults=options.default_expected))
    result = RehearsalResult(out=out, stages=[], db_engine=options.db_engine)
    board = StageBoard(stages, console, live=live and console.is_terminal)
    result.stages = board.stages
    backup: Path | None = None
    observer_a: Snapshot | None = None
    database_a: list[Observation] = []
    integrity = IntegrityCheck(manager, log=out / "schema-check.log", engine=options.db_engine)
    how = Observing(
        plan=options.plan,
        seed=options.seed,
        suites=options.suites,
        workers=options.workers,
        expected=options.expected,
        allure_dir=out / "allure-results",
    )

    preflight: PreflightReport | None = None
    with board:
        try:
            with board.run("preflight") as stage:
                preflight = preflight_stage.before_sandbox(
                    options.code_from, options.code_to, out, engine=options.db_engine,
                    without=options.without_plugins,
                )  # fmt: skip
                result.preflight = preflight.to_json()
                stage.detail = preflight.summary()
                preflight_stage.stop_if_blocked(preflight, force=options.force)
            with board.run("up") as stage:
                descriptor = manager.up(name, options.code_from, engine=options.db_engine)
                result.release_before = descriptor.release or ""
                stage.detail = (
                    f"{name}: {descriptor.release} on {options.db_engine} at {descriptor.url}"
                )
            # B's fresh install for the schema check, unless saved, beside stages 2-4.
            integrity.prepare(options.code_to, options.without_plugins)
            with board.run("seed") as stage:
                stage.detail = seed_site(descriptor, options.plan, options.seed, allow_writes=False)
                # A real site's cron has run what its installation and its users queued;
                # a task left queued whose class the new release dropped would block the
                # whole queue after the upgrade (4.5's tool_moodlenet post_install in 5.0).
                before = run_queued_tasks(manager.get(name).tree(), out / "adhoc-tasks-A.log")
                stage.detail += f"; cron: {before.summary()}"
            with board.run("observe_a") as stage:
                seen_a = observe_with_suites(
                    descriptor,
                    _site_ref(descriptor),
                    out / "A",
                    how,
                    baselines={},
                    runs=result.suites,
                    label="A",
                )
                # Rows are counted last: the upgrade's backup holds these rows.
                database_a = integrity.check_site(
                    "A",
                    manager.get(name).code_dir,
                    options.code_from,
                    fresh_install=True,
                    save=out / "A",
                ).observations
                snapshot_a = with_observations(
                    seen_a.snapshot, database_a, out / "A" / "snapshot.json"
                )
                observer_a = seen_a.observer
                stage.detail = f"{len(snapshot_a)} observations; " + "; ".join(
                    r.summary for r in result.suites if r.label == "A"
                )
            with board.run("upgrade") as stage:
                preflight = preflight_stage.before_upgrade(
                    descriptor, options.code_to, out, without=options.without_plugins
                )
                result.preflight = preflight.to_json()
                preflight_stage.stop_if_blocked(preflight, force=options.force)
                box = manager.get(name)
                try:
                    upgraded = box.upgrade(options.code_to, without=options.without_plugins)
                except UpgradeFailedError as exc:
                    backup = exc.backup
                    kept = preflight_stage.keep_upgrade_log(exc.log, out)
                    result.failed_plugin = exc.component
                    stage.detail = preflight_stage.failed_upgrade(exc, kept)
                    raise RehearsalError(stage.detail) from None
                except Exception as exc:
                    backup = getattr(exc, "backup", None)
                    stage.detail = str(exc)
                    raise
                finally:
                    preflight_stage.keep_upgrade_log(box.logs / "upgrade.log", out)
                backup = upgraded.backup
                result.release_after = upgraded.new_release
                timings = ", ".join(f"{k} {v:.1f} s" for k, v in upgraded.timings.items())
                stage.detail = (
                    f"{upgraded.old_release} -> {upgraded.new_release} in "
                    f"{upgraded.seconds:.1f} s ({timings})"
                )
                if upgraded.missing_plugins:
                    stage.detail += "; missing plugins: " + ", ".join(upgraded.missing_plugins)
            descriptor = manager.get(name).descriptor()
            with board.run("adhoc") as stage:
                # As the site's cron would, before anyone looks at the upgraded site.
                result.adhoc = run_queued_tasks(manager.get(name).tree(), out / "adhoc-tasks-B.log")
                stage.detail = result.adhoc.summary()
            with board.run("schema") as stage:
                checked_b = integrity.check_site(
                    "B",
                    manager.get(name).code_dir,
                    options.code_to,
                    save=out / "B",
                    without=options.without_plugins,
                )
                stage.detail = (
                    f"{checked_b.schema_differences} differences from a fresh install of "
                    f"{result.release_after} ("
                    + ("saved before" if checked_b.fresh_saved_before else "installed now")
                    + f"); rows of {len(checked_b.reading.tables)} tables; {integrity.summary()}"
                )
            with board.run("observe_b") as stage:
                seen_b = observe_with_suites(
                    descriptor,
                    _site_ref(descriptor),
                    out / "B",
                    how,
                    baselines=seen_a.recorded,
                    runs=result.suites,
                    label="B",
                )
                snapshot_b = with_observations(
                    seen_b.snapshot, checked_b.observations, out / "B" / "snapshot.json"
                )
                stage.detail = f"{len(snapshot_b)} observations; " + "; ".join(
                    r.summary for r in result.suites if r.label == "B"
                )
            with board.run("report") as stage:
                comparison = write_reports(
                    snapshot_a,
                    snapshot_b,
                    out,
                    expected=expected_files(options.expected, defaults=options.default_expected),
                    title=f"Upgrade rehearsal {result.release_before} -> {result.release_after}",
                    notes_tree=options.code_to,
                    adhoc_tasks=result.adhoc.by_class(),
                    preface=preflight_html(preflight) if preflight is not None else "",
                    foretold=preflight_stage.expected_rules(preflight) if preflight else None,
                )
                result.unexpected = len(comparison.unexpected)
                result.expected = len(comparison) - result.unexpected
                result.report = out / "report.html"
                stage.detail = (
                    f"{result.unexpected} unexpected, {result.expected} expected differences"
                )
        except Exception as exc:
            result.error = _plain(exc)
            for stage in board.stages:
                if stage.status == "pending" and stage.name != "restore":
                    stage.status, stage.detail = "skipped", "an earlier stage failed"
        # The restore runs whatever happened, as long as there is a backup to restore.
        if backup is not None and observer_a is not None:
            try:
                with board.run("restore") as stage:
                    restored = manager.restore(f"{name}-restored", backup)
                    # The same code as A's: its contract is not read again.
                    # Rows first: observing adds some (logs).
                    database_r = integrity.check_site(
                        "restored",
                        manager.get(f"{name}-restored").code_dir,
                        options.code_from,
                        moodle_check=False,
                        save=out / "restored",
                    ).observations
                    check = observe_site(
                        restored.descriptor,
                        out / "restored" / "api-observer.json",
                        plan=options.plan,
                        seed=options.seed,
                        contract=False,
                    )
                    same = compare(
                        Snapshot(
                            observer_a.meta,
                            [*without_area(observer_a, CONTRACT_AREA), *schema_of(database_a)],
                        ),
                        Snapshot(check.meta, [*check, *schema_of(database_r)]),
                    )
                    rows = row_changes(database_a, database_r)
                    result.restored_equal = len(same) == 0 and not rows.lost
                    stage.detail = (
                        f"{restored.release}; {len(same)} differences from A; rows lost: "
                        + ("; ".join(rows.lost) or "none")
                        + (f" (grown: {'; '.join(rows.grown)})" if rows.grown else "")
                        + ("" if result.restored_equal else f" (see {out / 'restored'})")
                    )
                    if not result.restored_equal:
                        write_html_report(
                            same, out / "restored" / "report.html", title="Restored site against A"
                        )
                        raise RehearsalError("the restored site differs from site A")
            except Exception as exc:
                result.error = result.error or _plain(exc)
        else:
            board.skip("restore", "no backup was taken")
    result.backup = backup
    integrity.close()
    result.schema_seconds, result.schema_check = integrity.total_seconds, integrity.summary()
    if options.cleanup:
        result.backup = _clean_up(manager, (name, f"{name}-restored"), backup, out)
    write_json_atomic(out / "rehearsal.json", result.to_json())
    return result


def _clean_up(
    manager: SandboxManager, names: Sequence[str], backup: Path | None, out: Path
) -> Path | None:
    """Destroy the rehearsal's sandboxes, keeping the backup (moved into ``out``)."""
    kept = None
    if backup is not None and backup.is_file():
        kept = out / f"backup-A{''.join(backup.suffixes)}"
        shutil.move(backup, kept)
    for name in names:
        box = manager.sandbox(name)
        if box.exists():
            box.destroy()
    return kept


def without_area(snapshot: Snapshot, area: str) -> Snapshot:
    """The snapshot without one area's observations."""
    return Snapshot(snapshot.meta, [o for o in snapshot if o.area != area])


def _code_dir(descriptor: SiteDescriptor) -> Path | None:
    return descriptor.sandbox.code_dir if descriptor.sandbox is not None else None


def _site_ref(descriptor: SiteDescriptor) -> str:
    """How a suite subprocess finds the sandbox: its descriptor file."""
    if descriptor.sandbox is not None:
        return str(descriptor.sandbox.root / DESCRIPTOR_NAME)
    raise RehearsalError(f"{descriptor.name} is not a sandbox")


def _plain(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if len(text) > 2000 else text


# --- two live sites -----------------------------------------------------------------


def compare_sites(
    site_a: SiteDescriptor,
    site_b: SiteDescriptor,
    site_refs: tuple[str, str],
    out: Path,
    *,
    plan: Path | None = None,
    seed: int = 0,
    suites: tuple[str, ...] = ("api",),
    expected: Path | None = None,
    default_expected: bool = True,
    allow_writes: bool = False,
    workers: int = 2,
    console: Console | None = None,
    live: bool = True,
    codes: tuple[Path | None, Path | None] = (None, None),
) -> RehearsalResult:
    """Seed both sites with the same plan, observe both, and report A against B.

    ``codes`` are the sites' code trees, for sites that are not sandboxes: their
    web-service contracts are read from them, and B's upgrade notes explain the
    differences."""
    console = console or Console(stderr=True)
    plan = plan or default_plan()
    out = out.expanduser().absolute()
    out.mkdir(parents=True, exist_ok=True)
    stages = [
        ("seed", "1. seed both sites"),
        ("observe_a", "2. observe A"),
        ("observe_b", "3. observe B against A"),
        ("report", "4. compare and report"),
    ]
    result = RehearsalResult(out=out, stages=[])
    board = StageBoard(stages, console, live=live and console.is_terminal)
    result.stages = board.stages
    how = Observing(
        plan=plan,
        seed=seed,
        suites=suites,
        workers=workers,
        expected=expected,
        allure_dir=out / "allure-results",
        allow_writes=allow_writes,
    )

    with board:
        try:
            with board.run("seed") as stage:
                details = [
                    seed_site(d, plan, seed, allow_writes=allow_writes) for d in (site_a, site_b)
                ]
                stage.detail = details[0]
            with board.run("observe_a") as stage:
                seen_a = observe_with_suites(
                    site_a,
                    site_refs[0],
                    out / "A",
                    how,
                    baselines={},
                    runs=result.suites,
                    label="A",
                    code=codes[0],
                )
                snap_a = seen_a.snapshot
                result.release_before = snap_a.meta.release
                stage.detail = f"{len(snap_a)} observations ({snap_a.meta.release})"
            with board.run("observe_b") as stage:
                snap_b = observe_with_suites(
                    site_b,
                    site_refs[1],
                    out / "B",
                    how,
                    baselines=seen_a.recorded,
                    runs=result.suites,
                    label="B",
                    code=codes[1],
                ).snapshot
                result.release_after = snap_b.meta.release
                stage.detail = f"{len(snap_b)} observations ({snap_b.meta.release})"
            with board.run("report") as stage:
                comparison = write_reports(
                    snap_a,
                    snap_b,
                    out,
                    expected=expected_files(expected, defaults=default_expected),
                    notes_tree=codes[1] or _code_dir(site_b),
                    title=f"{site_a.name} ({result.release_before}) against "
                    f"{site_b.name} ({result.release_after})",
                )
                result.unexpected = len(comparison.unexpected)
                result.expected = len(comparison) - result.unexpected
                result.report = out / "report.html"
                stage.detail = f"{result.unexpected} unexpected, {result.expected} expected"
        except Exception as exc:
            result.error = _plain(exc)
    write_json_atomic(out / "comparison.json", result.to_json())
    return result


def print_summary(result: RehearsalResult, console: Console) -> None:
    """The final lines: stage times, differences, where the report is."""
    table = Table(title="stages", show_edge=False)
    table.add_column("stage")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    for stage in result.stages:
        table.add_row(stage.title, stage.status, f"{stage.seconds:.1f}")
    table.add_row("total", "", f"{sum(s.seconds for s in result.stages):.1f}")
    console.print(table)
    for run in result.suites:
        console.print(f"suite {run.summary}")
    if result.preflight is not None:
        console.print(f"preflight: {result.preflight['summary']} ({result.out / 'preflight.json'})")
    if result.error:
        console.print(f"[red]error:[/] {result.error}")
    if result.restored_equal is not None:
        verdict = "equals site A" if result.restored_equal else "DIFFERS from site A"
        console.print(f"restored site: {verdict}")
    if result.schema_check:
        console.print(result.schema_check)
    if result.backup is not None:
        console.print(f"backup taken before the upgrade: {result.backup}")
    if result.adhoc.runs:
        for task in result.adhoc.by_class():
            console.print(
                f"ad hoc task {task['classname']}: {task['complete']} complete, "
                f"{task['failed']} failed, {task['seconds']:.1f} s"
            )
    if result.report is not None:
        console.print(
            f"{result.unexpected} unexpected and {result.expected} expected differences "
            f"({result.release_before} -> {result.release_after}); report: {result.report}"
        )
    console.print(f"everything: {result.out}")


__all__ = [
    "RehearsalError",
    "RehearsalOptions",
    "RehearsalResult",
    "compare_sites",
    "print_summary",
    "rehearse",
]
