"""The pipeline ``rehearse`` and ``compare`` share: seed, observe (the web-service
snapshot plus the suites), compare and report.

Data flows one way: plan -> seed -> observe -> snapshot -> compare -> report.  Site B
is observed with each suite comparing against what it recorded on site A.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moodle_regress.compare import Comparison, compare
from moodle_regress.expected import ExpectedChanges
from moodle_regress.observation import Observation
from moodle_regress.observe import (
    OBSERVE_TIMEOUT,
    ApiObserver,
    all_areas_but,
    all_entities,
    prefix_filter,
)
from moodle_regress.observe.contract import AREA as CONTRACT_AREA
from moodle_regress.observe.questions import question_bank_reader
from moodle_regress.plugins import local_plugins, site_code_dir
from moodle_regress.preflight import PreflightReport, preflight_html
from moodle_regress.preflight import stage as preflight_stage
from moodle_regress.rehearsal.result import RehearsalError, RehearsalResult
from moodle_regress.rehearsal.stages import StageBoard
from moodle_regress.rehearsal.suites import SuiteOptions, run_suite
from moodle_regress.report.html import write_html_report
from moodle_regress.report.json_report import write_json_report
from moodle_regress.resources import any_upgrade_expected
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot, SnapshotWriter


@dataclass(frozen=True)
class Seeded:
    """What seeding a site did: a one-line summary, and the course formats the plan
    was generated for (the site's, then)."""

    summary: str
    formats: tuple[str, ...]


def seed_site(descriptor: SiteDescriptor, plan: Path, seed: int, *, allow_writes: bool) -> Seeded:
    """Apply the plan."""
    from moodle_regress.seeding import apply_dataset, generate, installed_formats, load_plan
    from moodle_regress.seeding import local_site as local_of
    from moodle_regress.seeding.apply import SEED_TIMEOUT

    loaded = load_plan(plan)
    local = local_of(descriptor)
    # Writes hold many entities a call: the seeder's own timeout (the batches are
    # sized so that calls end well within it, on slow sites too).
    with descriptor.client(timeout=SEED_TIMEOUT) as client:
        formats = installed_formats(client, local, loaded)
        data = generate(loaded, seed, installed_formats=formats)
        apply_dataset(client, data, allow_writes=allow_writes, local=local)
    counts = data.counts()
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) + f" (tag {data.tag})"
    return Seeded(summary, tuple(formats))


def observe_site(
    descriptor: SiteDescriptor,
    out: Path,
    *,
    plan: Path | None,
    seed: int,
    contract: bool = True,
    code: Path | None = None,
    every_entity: bool = False,
) -> Snapshot:
    """Snapshot the site's seeded entities (``every_entity``: all its courses and users,
    as for a copy of a real site) and site-wide facts through the web services, and
    (``contract``) its web-service contract from its code (``code``, or the sandbox's)."""
    with descriptor.client(timeout=OBSERVE_TIMEOUT) as client:
        observer = ApiObserver(
            client,
            entity_filter=all_entities if every_entity else prefix_filter("mr-"),
            plugin_candidates=local_plugins(descriptor),
            code_dir=site_code_dir(descriptor),
            question_banks=question_bank_reader(descriptor),
            areas=None if contract else all_areas_but(CONTRACT_AREA),
            site=descriptor,
            release_code=code,
            php_log=out.parent / "php.log",
        )
        with SnapshotWriter(out) as writer:
            run = observer.observe(writer)
            run.meta.plan = plan.name if plan is not None else None
            run.meta.seed = seed
            run.meta.database = descriptor.db_engine
    return Snapshot.load(out)


def combine(snapshots: Sequence[Snapshot]) -> Snapshot:
    """One snapshot of several (observer, API suites, browser suites); first key wins."""
    if not snapshots:
        raise RehearsalError("nothing was observed")
    return Snapshot.combine(snapshots)


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
    rules = ExpectedChanges.load_all(expected)
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


@dataclass
class SiteObservation:
    snapshot: Snapshot  # everything: web-service snapshot and the suites' observations
    observer: Snapshot  # the web-service snapshot alone
    recorded: dict[str, Path]  # each suite's own snapshot: the other site's baseline


@dataclass
class Pipeline:
    """The stages both jobs share, on one board, filling one result."""

    board: StageBoard
    result: RehearsalResult
    suites: tuple[str, ...]
    options: SuiteOptions
    expected: list[Path] = field(default_factory=list)
    #: Observe every course and user, not only the seeded ones (a copy of a real site).
    every_entity: bool = False

    def observe(
        self,
        stage: str,
        label: str,
        descriptor: SiteDescriptor,
        site_ref: str,
        *,
        baselines: dict[str, Path] | None = None,
        code: Path | None = None,
        extra: Callable[[], Sequence[Observation]] | None = None,
    ) -> SiteObservation:
        """Stage ``stage``: snapshot the site, run the suites, combine what they saw
        (``code``: the code tree of a site that is not a sandbox, for its contract;
        ``extra``: observations read after the suites, such as the database check's)."""
        with self.board.run(stage) as shown:
            seen = self.observe_with_suites(
                descriptor, site_ref, label, baselines or {}, code=code, extra=extra
            )
            runs = [r for r in self.result.suites if r.label == label]
            shown.detail = f"{len(seen.snapshot)} observations ({seen.snapshot.meta.release})"
            shown.detail += "".join(f"; {r.summary}" for r in runs)
            faults = [f for r in runs for f in r.faults]
            if faults:  # each is in the report too, as a check's outcome
                shown.incomplete = True
                shown.detail += f"; checks that failed: {', '.join(sorted(faults)[:5])}"
                shown.detail += f" and {len(faults) - 5} more" if len(faults) > 5 else ""
        return seen

    def observe_with_suites(
        self,
        descriptor: SiteDescriptor,
        site_ref: str,
        label: str,
        baselines: dict[str, Path],
        *,
        code: Path | None = None,
        extra: Callable[[], Sequence[Observation]] | None = None,
    ) -> SiteObservation:
        """Snapshot a site, run the suites against it, and combine what they observed
        with ``extra``'s observations, read last."""
        site_dir = self.result.out / label
        observer = observe_site(
            descriptor,
            site_dir / "api-observer.json",
            plan=self.options.plan,
            seed=self.options.seed,
            code=code,
            every_entity=self.every_entity,
        )
        parts = [observer]
        recorded: dict[str, Path] = {}
        for suite in self.suites:
            run = run_suite(
                suite,
                site_ref,
                site_dir,
                label=label,
                options=self.options,
                baseline=baselines.get(suite),
            )
            self.result.suites.append(run)
            if run.crashed:
                raise RehearsalError(
                    f"the {suite} suite did not run on site {label} (pytest's exit status "
                    f"{run.exit_code}): see {run.log}"
                )
            if run.checks:
                parts.append(Snapshot(observer.meta, run.checks))
            if run.snapshot is not None:
                recorded[suite] = run.snapshot
                parts.append(Snapshot.load(run.snapshot))
        if extra is not None:
            parts.append(Snapshot(observer.meta, list(extra())))
        combine(parts).save(site_dir / "snapshot.json")
        return SiteObservation(Snapshot.load(site_dir / "snapshot.json"), observer, recorded)

    def report(
        self,
        before: Snapshot,
        after: Snapshot,
        *,
        title: str,
        notes_tree: Path | None,
        preflight: PreflightReport | None = None,
    ) -> None:
        """Stage ``report``: A against B, explained by B's upgrade notes (``notes_tree``),
        with the expected changes (and, for an upgrade, the ad hoc tasks run after it and
        the preflight's findings: at the top, and what it foretold as expected)."""
        with self.board.run("report") as shown:
            comparison = write_reports(
                before,
                after,
                self.result.out,
                expected=self.expected,
                title=title,
                notes_tree=notes_tree,
                adhoc_tasks=self.result.adhoc.by_class(),
                preface=preflight_html(preflight) if preflight is not None else "",
                foretold=preflight_stage.expected_rules(preflight) if preflight else None,
            )
            self.result.unexpected = len(comparison.unexpected)
            self.result.expected = len(comparison) - self.result.unexpected
            self.result.report = self.result.out / "report.html"
            shown.detail = (
                f"{self.result.unexpected} unexpected, {self.result.expected} expected differences"
            )
