"""``moodle-regress snapshot``: observe a site through its web services into one file."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from moodle_regress.cli import console
from moodle_regress.observe import (
    OBSERVE_TIMEOUT,
    ApiObserver,
    EntityFilter,
    ObservationRun,
    all_areas_but,
    all_entities,
    areas,
    prefix_filter,
)
from moodle_regress.observe.contract import AREA as CONTRACT_AREA
from moodle_regress.observe.questions import question_bank_reader
from moodle_regress.plugins import local_plugins, site_code_dir
from moodle_regress.seeding.tags import check_tag
from moodle_regress.site import SiteDescriptor, resolve_site
from moodle_regress.snapshot import SnapshotWriter


def parse_areas(value: str | None, *, contract: bool = True) -> list[str] | None:
    """``--areas courses,users`` -> the names (checked by the observer); None: all.
    Without ``contract``, the ``contract`` area is left out."""
    chosen = None if value is None else [n.strip() for n in value.split(",") if n.strip()]
    if contract:
        return chosen
    return [n for n in chosen or all_areas_but() if n != CONTRACT_AREA]


def observe_with_progress(
    descriptor: SiteDescriptor,
    *,
    entity_filter: EntityFilter,
    areas: list[str] | None = None,
    serial: bool = False,
    workers: int = 8,
    code: Path | None = None,
    into: SnapshotWriter | None = None,
) -> ObservationRun:
    """Observe the site through its web services (and its code: the contract), showing
    progress; ``code`` is a code tree of the release of a site that is not a sandbox;
    ``into``: the snapshot file the observations stream to."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with (
        descriptor.client(timeout=OBSERVE_TIMEOUT, max_workers=workers) as client,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        observer = ApiObserver(
            client,
            entity_filter=entity_filter,
            concurrent=not serial,
            max_workers=workers,
            plugin_candidates=local_plugins(descriptor),
            code_dir=site_code_dir(descriptor),
            progress=progress,
            areas=areas,
            question_banks=question_bank_reader(descriptor),
            site=descriptor,
            release_code=code,
        )
        return observer.observe(into)


@click.command("snapshot")
@click.option(
    "--site",
    "site_ref",
    required=True,
    help="Descriptor file, sandbox name, configured site or URL.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The snapshot file to write (JSON).",
)
@click.option(
    "--prefix",
    default="mr-",
    show_default=True,
    help="Observe courses and users whose idnumber starts with this (the seeder's mark).",
)
@click.option("--tag", default=None, help="Only the entities of this seeding run tag (mr-TAG-).")
@click.option("--all", "all_", is_flag=True, help="Observe every course and user, seeded or not.")
@click.option(
    "--areas",
    "area_names",
    default=None,
    help=f"Only these areas, comma-separated (default: all): {', '.join(areas())}.",
)
@click.option("--plan", default=None, help="Name of the seeding plan, recorded in the metadata.")
@click.option("--seed", type=int, default=None, help="The plan's seed, recorded in the metadata.")
@click.option(
    "--code",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The code tree of the site's release, to read its web-service contract from "
    "(a sandbox's own code is used without it).",
)
@click.option("--no-contract", is_flag=True, help="Leave the web-service contract out.")
@click.option("--serial", is_flag=True, help="One request at a time (no concurrency).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True)
def snapshot(
    *,
    site_ref: str,
    out: Path,
    prefix: str,
    tag: str | None,
    all_: bool,
    area_names: str | None,
    plan: str | None,
    seed: int | None,
    code: Path | None,
    no_contract: bool,
    serial: bool,
    workers: int,
) -> None:
    """Observe SITE's seeded entities and the site as a whole into a snapshot file."""
    if tag is not None:
        check_tag(tag)
    descriptor = resolve_site(site_ref)
    wanted = prefix_filter(f"mr-{tag}-" if tag else prefix)
    # Streamed to the file as observed: a large site is never held whole.
    with SnapshotWriter(out) as writer:
        run = observe_with_progress(
            descriptor,
            entity_filter=all_entities if all_ else wanted,
            areas=parse_areas(area_names, contract=not no_contract),
            serial=serial,
            workers=workers,
            code=code,
            into=writer,
        )
        writer.meta.plan = plan
        writer.meta.seed = seed
        writer.meta.run_tag = tag
        writer.meta.database = descriptor.db_engine
    seeded = bool(run.areas & {"courses", "users"})
    if writer.count and not seeded and not all_ and area_names is None:
        console.print(
            f"[yellow]note:[/] no course or user has an idnumber starting "
            f"{(f'mr-{tag}-' if tag else prefix)!r}; only site-wide facts were observed "
            "(seed the site first, or pass --all)"
        )
    for note in run.meta.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(
        f"{writer.count} observations of {run.meta.site_name or descriptor.url} "
        f"({run.meta.release}) in {run.seconds:.1f} s, {run.calls} calls -> {out}"
    )
