"""``moodle-regress seed`` and ``moodle-regress cleanup``: realistic test data."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from moodle_regress.cli import console
from moodle_regress.resources import default_plan, resolve_plan
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
from moodle_regress.seeding.apply import SEED_TIMEOUT
from moodle_regress.seeding.tags import check_tag
from moodle_regress.site import resolve_site

SITE_HELP = "Descriptor file, sandbox name, configured site or URL."


class _RichProgress:
    """The seeder's progress as one rich bar per step."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def begin(self, step: str, total: int) -> None:
        self.tasks[step] = self.progress.add_task(step.replace("_", " "), total=total)

    def advance(self, step: str, amount: int = 1) -> None:
        if step in self.tasks:
            self.progress.advance(self.tasks[step], amount)


def summary_table(summary: Summary, title: str) -> Table:
    table = Table(title=title)
    table.add_column("entities")
    table.add_column("created", justify="right")
    table.add_column("already there", justify="right")
    table.add_column("not possible", justify="right")
    table.add_column("seconds", justify="right")
    for name, count in summary.steps.items():
        table.add_row(
            name.replace("_", " "),
            str(count.created),
            str(count.existing),
            str(count.unavailable or ""),
            f"{count.seconds:.1f}" if count.seconds else "",
        )
    return table


@click.command()
@click.option(
    "--site", required=True, help="Descriptor file, sandbox name, configured site or URL."
)
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Seeding plan: a YAML file or a shipped plan's name (small); default: the default plan.",
)
@click.option("--seed", "seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--tag", default=None, help="Run tag (overrides the plan's 'tag').")
@click.option(
    "--allow-writes", is_flag=True, help="Write even if the site is not marked as a test site."
)
@click.option("--workers", type=click.IntRange(1, 32), default=4, show_default=True)
def seed(  # noqa: PLR0917 - one parameter per option
    site: str,
    plan_path: Path | None,
    seed: int,
    tag: str | None,
    allow_writes: bool,
    workers: int,
) -> None:
    """Create the plan's users, courses, enrolments... on SITE (only what is missing)."""
    if tag is not None:
        check_tag(tag)
    plan = load_plan(resolve_plan(plan_path) if plan_path else default_plan())
    descriptor = resolve_site(site)
    with descriptor.client(timeout=SEED_TIMEOUT) as client:
        local = local_site(descriptor)
        formats = installed_formats(client, local, plan)
        data = generate(plan, seed, installed_formats=formats, tag=tag)
        with Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
        ) as bar:
            summary = apply_dataset(
                client,
                data,
                allow_writes=allow_writes,
                progress=_RichProgress(bar),
                options=ApplyOptions(workers=workers),
                local=local,
            )
    console.print(
        summary_table(
            summary,
            f"seeded {descriptor.url} (tag {data.tag}, seed {seed}, {summary.seconds:.1f} s)",
        )
    )
    console.print(f"formats used: {', '.join(sorted({c.format for c in data.courses}))}")
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {note}")


@click.command(name="cleanup")
@click.option(
    "--site", required=True, help="Descriptor file, sandbox name, configured site or URL."
)
@click.option("--tag", default="seed", show_default=True, help="Run tag to remove.")
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The plan that was seeded (a file or a shipped plan's name): its users are found "
    "by username (faster).",
)
@click.option("--seed", "seed", type=int, default=0, show_default=True)
@click.option(
    "--allow-writes", is_flag=True, help="Delete even if the site is not marked as a test site."
)
def cleanup_command(
    site: str, tag: str, plan_path: Path | None, seed: int, allow_writes: bool
) -> None:
    """Delete exactly the entities a seeding run with TAG created."""
    check_tag(tag)
    plan = load_plan(resolve_plan(plan_path)) if plan_path is not None else None
    descriptor = resolve_site(site)
    with descriptor.client(timeout=SEED_TIMEOUT) as client:
        data = None
        if plan is not None:
            formats = installed_formats(client, local_site(descriptor), plan)
            data = generate(plan, seed, installed_formats=formats, tag=tag)
        with console.status(f"removing entities tagged {tag!r}"):
            result = cleanup(
                client, tag, allow_writes=allow_writes, data=data, local=local_site(descriptor)
            )
    table = Table(title=f"removed from {descriptor.url} (tag {tag})")
    table.add_column("entities")
    table.add_column("deleted", justify="right")
    for name, amount in result.deleted.items():
        table.add_row(name, str(amount))
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
