"""``moodle-regress rehearse`` and ``moodle-regress compare``: the main jobs."""

from __future__ import annotations

from pathlib import Path

import click

from moodle_regress.cli import ToolError, console
from moodle_regress.cli.sandbox import DB_ENGINE, NO_CACHE, code_trees
from moodle_regress.config import load_settings
from moodle_regress.rehearsal import (
    SUITES,
    RehearsalOptions,
    compare_sites,
    print_summary,
    rehearse,
)
from moodle_regress.resources import (
    default_plan,
    expected_names,
    plan_names,
    resolve_expected,
    resolve_plan,
)
from moodle_regress.sandbox.db import DEFAULT_ENGINE
from moodle_regress.site import SiteDescriptor, resolve_site


def _suites(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ("api",)
    if value.strip() == "none":  # the web-service snapshot alone
        return ()
    chosen = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SUITES]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {', '.join(SUITES)} (comma-separated), or none")
    return chosen


_plan = click.option(
    "--plan",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    show_default="the default plan",
    help="Seeding plan: a YAML file or a shipped plan's name (small, default).",
)


def _plan_file(value: Path | None) -> Path:
    if value is None:
        return default_plan()
    path = resolve_plan(value)
    if not path.is_file():
        raise ToolError(
            f"--plan {value}: no such file (give a YAML file or one of the shipped plans: "
            f"{', '.join(plan_names())})"
        )
    return path


def _expected_file(value: Path | None) -> Path | None:
    if value is None:
        return None
    path = resolve_expected(value)
    if not path.is_file():
        raise ToolError(
            f"--expected {value}: no such file (give a YAML file or one of the shipped "
            f"expected-changes files: {', '.join(expected_names())})"
        )
    return path


_seed = click.option("--seed", type=int, default=0, show_default=True, help="The plan's seed.")
_suites_option = click.option(
    "--suites",
    default=None,
    show_default="api",
    help="Suites to run: api, browser, api,browser, or none (snapshot only).",
)
_expected = click.option(
    "--expected",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Expected-changes file (YAML) of differences a reviewer accepted, or a shipped "
    "file's name (4.5-to-5.0).",
)
_default_expected = click.option(
    "--default-expected/--no-default-expected",
    default=True,
    show_default=True,
    help="Also accept the changes every upgrade makes (the shipped any-upgrade.yaml).",
)
_workers = click.option(
    "-n",
    "--workers",
    type=click.IntRange(1, 16),
    default=2,
    show_default=True,
    help="pytest-xdist workers for the suites.",
)


@click.command("rehearse")
@click.option(
    "--from",
    "code_from",
    default=None,
    help="The Moodle the site runs now (A): a code folder, or a version (4.5, 4.5.6, "
    "v4.5.6, MOODLE_405_STABLE, a commit) from the configured git repository.",
)
@click.option(
    "--from-sandbox",
    "from_sandbox",
    default=None,
    metavar="NAME",
    help="Rehearse a copy of this sandbox (a site brought in with `sandbox import`) "
    "instead of a fresh install: its own courses, users and activities are observed, "
    "no plan is seeded unless --plan is given, and NAME itself is never upgraded.",
)
@click.option(
    "--to",
    "code_to",
    required=True,
    help="The Moodle to upgrade to (B): a code folder or a version, as --from.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for snapshots, reports, allure results and logs.",
)
@click.option("--name", default=None, help="Sandbox name (default: rh-<timestamp>).")
@DB_ENGINE
@click.option(
    "--cleanup",
    is_flag=True,
    help="Destroy the sandboxes at the end; the backup is moved into --out.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Go on when the preflight finds a blocker (the upgrade will likely fail).",
)
@click.option(
    "--without-plugin",
    "without_plugins",
    multiple=True,
    metavar="COMPONENT",
    help="Leave this plugin (theme_xyz) out of the sandbox's copy of code tree B; repeatable. "
    "The tree itself is not changed.",
)
@_plan
@_seed
@_suites_option
@_expected
@_default_expected
@_workers
@NO_CACHE
def rehearse_command(
    *,
    no_cache: bool,
    force: bool,
    without_plugins: tuple[str, ...],
    code_from: str | None,
    from_sandbox: str | None,
    code_to: str,
    out: Path,
    name: str | None,
    engine: str | None,
    cleanup: bool,
    plan: Path | None,
    seed: int,
    suites: str | None,
    expected: Path | None,
    default_expected: bool,
    workers: int,
) -> None:
    """Rehearse the upgrade from code tree A to B on a sandbox and report what changed.

    A preflight runs first (see `moodle-regress preflight`): a blocker stops the
    rehearsal before any sandbox is made, unless --force.

    Exit status: 0 nothing unexpected changed, 1 something did, 2 an error.
    """
    expected_file = _expected_file(expected)
    if (code_from is None) == (from_sandbox is None):
        raise ToolError(
            "give either --from (a code tree or version: a fresh install) or --from-sandbox "
            "(a sandbox, such as an imported copy of a site), not both and not neither"
        )
    if from_sandbox is not None:
        tree_from, engine, plan_file = _imported_site(from_sandbox, engine, plan)
        (tree_to,) = code_trees(code_to)
    else:
        assert code_from is not None
        plan_file = _plan_file(plan)
        tree_from, tree_to = code_trees(code_from, code_to)
    options = RehearsalOptions(
        code_from=tree_from,
        code_to=tree_to,
        out=out,
        plan=plan_file,
        from_sandbox=from_sandbox,
        seed=seed,
        suites=_suites(suites),
        expected=expected_file,
        default_expected=default_expected,
        name=name,
        workers=workers,
        cleanup=cleanup,
        db_engine=engine or DEFAULT_ENGINE,
        force=force,
        without_plugins=without_plugins,
        reuse_installs=not no_cache,
    )
    result = rehearse(options, console=console)
    print_summary(result, console)
    raise click.exceptions.Exit(result.exit_code)


def _imported_site(
    name: str, engine: str | None, plan: Path | None
) -> tuple[Path, str, Path | None]:
    """For ``--from-sandbox``: the sandbox's code tree, its engine, and the plan (none
    unless given: the site's own data is what is rehearsed, and the suites check a
    sample of its own courses and people)."""
    from moodle_regress.sandbox import SandboxManager

    state = SandboxManager(load_settings(), quiet=True).get(name).state()
    if engine is not None and engine != state.db.engine:
        raise ToolError(
            f"--db {engine}: sandbox {name} runs on {state.db.engine}; leave --db out "
            "(a copy keeps its engine)"
        )
    return state.code_source, state.db.engine, _plan_file(plan) if plan is not None else None


@click.command("compare")
@click.option(
    "--site",
    "sites",
    multiple=True,
    required=True,
    help="A site (descriptor, sandbox name, configured site or URL); twice.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--allow-writes", is_flag=True, help="Seed sites that are not marked as test sites.")
@click.option(
    "--code",
    "codes",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The code tree of each site's release, in the order of --site (for sites that "
    "are not sandboxes): their web-service contracts, and B's upgrade notes.",
)
@_plan
@_seed
@_suites_option
@_expected
@_default_expected
@_workers
def compare_command(
    *,
    sites: tuple[str, ...],
    out: Path,
    allow_writes: bool,
    codes: tuple[Path, ...],
    plan: Path | None,
    seed: int,
    suites: str,
    expected: Path | None,
    default_expected: bool,
    workers: int,
) -> None:
    """Run the same suites against two live sites (seeded alike) and report A against B."""
    if len(sites) != 2:
        raise ToolError("give --site exactly twice: the old site, then the new one")
    if len(codes) not in (0, 2):
        raise ToolError(
            "give --code twice (the old site's code tree, then the new one's) or not at all"
        )
    plan_file, expected_file = _plan_file(plan), _expected_file(expected)
    settings = load_settings()
    descriptors: list[SiteDescriptor] = []
    for value in sites:
        descriptors.append(resolve_site(value, settings))
    result = compare_sites(
        descriptors[0],
        descriptors[1],
        (_absolute(sites[0]), _absolute(sites[1])),
        out,
        plan=plan_file,
        seed=seed,
        suites=_suites(suites),
        expected=expected_file,
        default_expected=default_expected,
        allow_writes=allow_writes,
        workers=workers,
        console=console,
        codes=(codes[0], codes[1]) if codes else (None, None),
    )
    print_summary(result, console)
    raise click.exceptions.Exit(result.exit_code)


def _absolute(value: str) -> str:
    """A --site value the suites' subprocess resolves the same way (files made absolute)."""
    path = Path(value).expanduser()
    return str(path.absolute()) if path.exists() else value
