"""Comparing two live sites (say, the old and the new staging): both seeded with the same
plan, both observed with the same suites, B against A in one report."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from moodle_regress.files import write_json_atomic
from moodle_regress.plugins import site_code_dir
from moodle_regress.rehearsal.pipeline import Pipeline, expected_files, seed_site
from moodle_regress.rehearsal.result import RehearsalResult
from moodle_regress.rehearsal.stages import StageBoard
from moodle_regress.rehearsal.suites import SuiteOptions
from moodle_regress.resources import default_plan
from moodle_regress.site import SiteDescriptor

STAGES = (
    ("seed", "1. seed both sites"),
    ("observe_a", "2. observe A"),
    ("observe_b", "3. observe B against A"),
    ("report", "4. compare and report"),
)


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
    board = StageBoard(STAGES, console, live=live and console.is_terminal)
    result = RehearsalResult(out=out, stages=board.stages)
    options = SuiteOptions(
        plan=plan,
        seed=seed,
        workers=workers,
        expected=expected,
        allure_dir=out / "allure-results",
        allow_writes=allow_writes,
    )
    pipeline = Pipeline(
        board, result, suites, options, expected_files(expected, defaults=default_expected)
    )
    with board:
        try:
            _run(pipeline, (site_a, site_b), site_refs, codes)
        except Exception as exc:
            result.fail(exc)
    write_json_atomic(out / "comparison.json", result.to_json())
    return result


def _run(
    pipeline: Pipeline,
    sites: tuple[SiteDescriptor, SiteDescriptor],
    refs: tuple[str, str],
    codes: tuple[Path | None, Path | None],
) -> None:
    options, result = pipeline.options, pipeline.result
    plan = options.plan
    assert plan is not None  # compare_sites always has one: both sites are seeded alike
    with pipeline.board.run("seed") as stage:
        details = [
            seed_site(s, plan, options.seed, allow_writes=options.allow_writes).summary
            for s in sites
        ]
        stage.detail = details[0]
    seen_a = pipeline.observe("observe_a", "A", sites[0], refs[0], code=codes[0])
    result.release_before = seen_a.snapshot.meta.release
    seen_b = pipeline.observe(
        "observe_b", "B", sites[1], refs[1], baselines=seen_a.recorded, code=codes[1]
    )
    result.release_after = seen_b.snapshot.meta.release
    pipeline.report(
        seen_a.snapshot,
        seen_b.snapshot,
        title=f"{sites[0].name} ({result.release_before}) against "
        f"{sites[1].name} ({result.release_after})",
        notes_tree=codes[1] or site_code_dir(sites[1]),
    )
