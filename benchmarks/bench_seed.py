"""Seconds and records per second for seeding the default plan, batched and concurrent,
beside the same entities created one call per entity; and the plan's content (activities,
question banks, students' work) timed beside the plan without it.

    .venv/bin/python -m benchmarks.bench_seed [--site SITE] [--plan PLAN] [--keep]
        [--no-baseline] [--no-content]

Without ``--site`` it uses (and, the first time, brings up) its own sandbox
``bench-4.5`` from the configured 4.5 code tree.  Both runs seed the plan under
their own names (``b<n>-...``, tags ``b<n>``) so that they start from nothing even
on a site that already holds the plan's data; both are removed afterwards unless
``--keep``.  Targets (issue 5): the batched run under 45 s, at least 3 times
faster than one call per entity.  Content (issue 12): the whole default plan with
content under 90 s on an idle sandbox; the CPU seconds of the PHP runs that made the
content are printed too (a figure other work on the machine does not inflate).  The
one-call-per-entity run seeds the plan without content (content is made in PHP runs,
not web-service calls).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from moodle_regress.config import load_settings
from moodle_regress.resources import default_plan
from moodle_regress.seeding import (
    ApplyOptions,
    Summary,
    apply_dataset,
    cleanup,
    generate,
    installed_formats,
    load_plan,
    local_site,
)
from moodle_regress.seeding.apply import SEED_TIMEOUT, STEPS
from moodle_regress.seeding.generate import Dataset, namespaced
from moodle_regress.site import SiteDescriptor, resolve_site

DEFAULT_PLAN = default_plan()
BENCH_SANDBOX = "bench-4.5"
#: Issue 12: the whole default plan with its content, on an idle sandbox.
CONTENT_GOAL = 90.0

ONE_PER_CALL = ApplyOptions(
    user_batch=1,
    course_batch=1,
    enrol_batch=1,
    member_batch=1,
    category_batch=1,
    group_batch=1,
    cohort_batch=1,
    workers=1,
)

console = Console()


def bench_site() -> SiteDescriptor:
    settings = load_settings()
    if (settings.sandboxes_dir / BENCH_SANDBOX / "site.json").is_file():
        from moodle_regress.sandbox import SandboxManager

        return SandboxManager(settings, quiet=True).get(BENCH_SANDBOX).start()
    tree = settings.code_tree("4.5")
    if tree is None:
        raise SystemExit(
            "no site given and no 4.5 code tree configured: pass --site, or set "
            'code_trees."4.5" in the config file (see README, "Live tests")'
        )
    from moodle_regress.sandbox import SandboxManager

    console.print(f"bringing up the sandbox {BENCH_SANDBOX} (once)...")
    return SandboxManager(settings, quiet=True).up(BENCH_SANDBOX, tree)


def run(descriptor: SiteDescriptor, data: Dataset, options: ApplyOptions) -> Summary:
    with descriptor.client(timeout=SEED_TIMEOUT) as client:
        return apply_dataset(client, data, local=local_site(descriptor), options=options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", help="site to seed (default: its own sandbox)")
    parser.add_argument("--plan", type=Path, default=DEFAULT_PLAN)
    parser.add_argument("--workers", type=int, default=ApplyOptions().workers)
    parser.add_argument("--keep", action="store_true", help="leave the seeded data")
    parser.add_argument(
        "--no-baseline", action="store_true", help="time the batched run only (quicker)"
    )
    parser.add_argument(
        "--no-content", action="store_true", help="seed the plan without its content"
    )
    args = parser.parse_args()

    descriptor = resolve_site(args.site) if args.site else bench_site()
    run_id = time.strftime("%H%M%S")
    with descriptor.client() as client:
        formats = installed_formats(client, local_site(descriptor))
        release = client.release
    data = generate(load_plan(args.plan), 0, installed_formats=formats)
    batched_data = namespaced(data, f"b{run_id}a")
    single_data = namespaced(data, f"b{run_id}b")
    single_data.plan = None  # content is not made one web-service call at a time
    if args.no_content:
        batched_data.plan = None

    console.print(f"site {descriptor.url} (Moodle {release}), plan {args.plan.name}")
    console.print(f"entities: {data.counts()}")
    runs = [
        (f"batched, {args.workers} concurrent", batched_data, ApplyOptions(workers=args.workers)),
        ("one call per entity", single_data, ONE_PER_CALL),
    ]
    title = f"seeding {args.plan.name} on Moodle {release}"
    timed_runs(descriptor, runs[: 1 if args.no_baseline else 2], keep=args.keep, title=title)


Run = tuple[str, Dataset, ApplyOptions]
Timed = tuple[str, Summary, float]


def timed_runs(
    descriptor: SiteDescriptor, runs: list[Run], *, keep: bool, title: str
) -> list[Timed]:
    """Each run timed and its figures shown; what they seeded removed afterwards
    unless ``keep``."""
    results: list[Timed] = []
    attempted: list[Dataset] = []
    try:
        for label, dataset, options in runs:
            console.print(f"seeding: {label}...")
            attempted.append(dataset)
            started = time.perf_counter()
            summary = run(descriptor, dataset, options)
            results.append((label, summary, time.perf_counter() - started))
        # Before the cleanup: its failure must not lose the figures.
        show(results, title)
    finally:
        if not keep:
            with descriptor.client(timeout=SEED_TIMEOUT) as client:
                for dataset in attempted:
                    console.print(f"removing tag {dataset.tag}...")
                    cleanup(client, dataset.tag, data=dataset)
    return results


def show(results: list[Timed], title: str) -> None:
    table = Table(title=title)
    for column in ("run", "seconds", "records", "calls", "records/s"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for label, summary, seconds in results:
        table.add_row(
            label,
            f"{seconds:.1f}",
            str(summary.created),
            str(summary.calls),
            f"{summary.created / seconds:.0f}",
        )
    console.print(table)
    steps = Table(title="batched run, seconds per step (groups include their members)")
    steps.add_column("step")
    steps.add_column("seconds", justify="right")
    steps.add_column("created", justify="right")
    for name, count in results[0][1].steps.items() if results else []:
        if count.seconds:
            steps.add_row(name, f"{count.seconds:.1f}", str(count.created))
    console.print(steps)
    if results:
        print_content_time(results[0][1], results[0][2])
    if len(results) == 2:
        (_, _, fast), (_, _, slow) = results
        console.print(
            f"batched run: {fast:.1f} s (target < 45 s: {'met' if fast < 45 else 'NOT met'}); "
            f"{slow / fast:.1f}x faster than one call per entity "
            f"(target >= 3x: {'met' if slow / fast >= 3 else 'NOT met'})"
        )


def print_content_time(summary: Summary, seconds: float) -> None:
    """The batched run's content beside the plan without it."""
    base = sum(count.seconds for name, count in summary.steps.items() if name in STEPS)
    content = max(0.0, seconds - base)
    if not any(name not in STEPS for name in summary.steps):
        console.print(f"plan without content: {base:.1f} s (no content seeded)")
        return
    goal = "met" if seconds < CONTENT_GOAL else "NOT met"
    console.print(
        f"plan without content: {base:.1f} s; content: {content:.1f} s "
        f"(PHP CPU {summary.php_cpu_seconds:.1f} s); whole plan: {seconds:.1f} s "
        f"(goal < {CONTENT_GOAL:.0f} s: {goal})"
    )


if __name__ == "__main__":
    main()
