"""``moodle-regress sandbox ...``: local Moodle sites from code trees."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from moodle_regress.cli import ToolError, ToolGroup, console
from moodle_regress.config import load_settings
from moodle_regress.sandbox import prereqs
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.db import DEFAULT_ENGINE, ENGINE_NAMES, engine_named
from moodle_regress.sandbox.gitsource import ExportedTree, resolve_code
from moodle_regress.sandbox.manager import SandboxManager
from moodle_regress.sandbox.progress import Steps


def code_trees(*values: str) -> list[Path]:
    """Code folders as given; versions exported from the Moodle git repository."""
    settings = load_settings()
    trees: list[Path] = []
    for value in values:
        with console.status(f"Moodle code for {value}…"):
            trees.append(resolve_code(value, settings, report=_show_export))
    return trees


def _show_export(tree: ExportedTree) -> None:
    if tree.note:
        console.print(f"[yellow]note:[/] {tree.note}", soft_wrap=True)
    console.print(tree.describe(), soft_wrap=True, highlight=False)


def code_tree(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """--code: a Moodle code folder, or a version exported from the git repository."""
    if value is None:
        return None
    (tree,) = code_trees(value)
    return tree


CODE_HELP = (
    "A Moodle code folder (any release from 4.x; 5.1's public/ layout too), or a version "
    "(4.5, 4.5.6, v4.5.6, MOODLE_405_STABLE, a commit) from the configured git repository."
)
CODE = click.option("--code", "code_dir", required=True, callback=code_tree, help=CODE_HELP)


DB_ENGINE = click.option(
    "--db",
    "engine",
    type=click.Choice(ENGINE_NAMES),
    default=None,
    help=f"Database engine of the private server (default: {DEFAULT_ENGINE}).",
)


def manager() -> SandboxManager:
    return SandboxManager(steps=Steps(console))


@click.group(cls=ToolGroup)
def sandbox() -> None:
    """Bring up, upgrade, back up and restore local Moodle sites."""


@sandbox.command()
@click.argument("name")
@CODE
@click.option("--port", type=int, help="HTTP port (default: a free one).")
@DB_ENGINE
@click.option(
    "--db-url",
    help="Use this empty database instead of a private server "
    "(postgresql://USER:PASSWORD@HOST:PORT/DBNAME; the scheme names the engine).",
)
@click.option("--admin-password", help="The admin's password (default: generated).")
@click.option(
    "--install-packages", is_flag=True, help="Install missing Debian packages with apt-get."
)
def up(  # noqa: PLR0917 - click passes options positionally
    name: str,
    code_dir: Path,
    port: int | None,
    engine: str | None,
    db_url: str | None,
    admin_password: str | None,
    install_packages: bool,
) -> None:
    """Bring up a new sandbox NAME from a Moodle code tree."""
    box = manager()
    descriptor = box.up(
        name,
        code_dir,
        port=port,
        engine=engine,
        db_url=db_url,
        admin_password=admin_password,
        install_packages=install_packages,
    )
    console.print(
        f"[bold]{name}[/]: Moodle {descriptor.release} at {descriptor.url} "
        f"(admin: {descriptor.admin_username}; descriptor: {box.sandbox(name).descriptor_path})"
    )
    click.echo(str(box.sandbox(name).descriptor_path))


@sandbox.command()
@CODE
@DB_ENGINE
def check(code_dir: Path, engine: str | None) -> None:
    """Say what this machine lacks for a sandbox of that code tree."""
    tree = inspect_tree(code_dir)
    report = prereqs.check(tree, engine=engine_named(engine or DEFAULT_ENGINE))
    if report.ok:
        console.print(f"everything Moodle {tree.short_release} needs is there")
        return
    for item in report.missing:
        console.print(f"[red]missing:[/] {item}")
    raise ToolError(f"install them: {report.apt_command} (or `up --install-packages`)")


@sandbox.command()
@click.argument("name")
@CODE
def upgrade(name: str, code_dir: Path) -> None:
    """Upgrade sandbox NAME to the code in --code (a backup is taken first)."""
    result = manager().get(name).upgrade(code_dir)
    if result.missing_plugins:
        console.print(
            "[yellow]plugins the site had but the new code lacks:[/] "
            + ", ".join(result.missing_plugins)
        )
    if result.added_functions:
        console.print(f"{len(result.added_functions)} new functions added to the service")
    console.print(
        f"[bold]{name}[/]: upgraded from {result.old_release} to {result.new_release} "
        f"in {result.seconds:.0f} s (backup before: {result.backup})"
    )


@sandbox.command()
@click.argument("name")
@click.argument("file", type=click.Path(path_type=Path))
def backup(name: str, file: Path) -> None:
    """Back up sandbox NAME (database, dataroot, code tree, config) to FILE."""
    path = manager().get(name).backup(file)
    click.echo(str(path))


@sandbox.command()
@click.argument("name")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--code", "code_dir", callback=code_tree, help="Code to use: " + CODE_HELP)
@click.option("--port", type=int, help="HTTP port for a new sandbox.")
@click.option(
    "--db",
    "engine",
    type=click.Choice(ENGINE_NAMES),
    default=None,
    help="Refuse unless the backup holds this engine's database (default: the backup's).",
)
def restore(
    name: str, file: Path, code_dir: Path | None, port: int | None, engine: str | None
) -> None:
    """Restore FILE into sandbox NAME (new or existing) and check the result."""
    result = manager().restore(name, file, code_dir=code_dir, port=port, engine=engine)
    console.print(
        f"[bold]{name}[/]: restored Moodle {result.release} at {result.descriptor.url}: "
        f"{result.counts.users} users, {result.counts.courses} courses, "
        f"{result.counts.enrolments} enrolments, as at backup time"
    )


@sandbox.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(name: str, as_json: bool) -> None:
    """Show whether sandbox NAME runs and answers."""
    st = manager().get(name).status(probe=True)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "name": st.name,
                    "url": st.url,
                    "release": st.release,
                    "code_source": str(st.code_source),
                    "path": str(st.path),
                    "server_running": st.server_running,
                    "db_running": st.db_running,
                    "answers": st.answers,
                    "unusable": st.unusable,
                }
            )
        )
        return
    answers = {True: ", answers", False: ", does NOT answer", None: ""}[st.answers]
    click.echo(
        f"{st.name}: {st.state}{answers}; Moodle {st.release} at {st.url}; code {st.code_source}"
    )


@sandbox.command(name="list")
def list_() -> None:
    """List the sandboxes."""
    table = Table("name", "state", "release", "url", "code")
    for st in manager().list():
        table.add_row(st.name, st.state, st.release, st.url, str(st.code_source))
    console.print(table)


@sandbox.command()
@click.argument("name")
def stop(name: str) -> None:
    """Stop sandbox NAME's web server and database."""
    manager().get(name).stop()


@sandbox.command()
@click.argument("name")
def start(name: str) -> None:
    """Start sandbox NAME again."""
    descriptor = manager().get(name).start()
    console.print(f"[bold]{name}[/]: Moodle {descriptor.release} at {descriptor.url}")


@sandbox.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
def destroy(name: str, yes: bool) -> None:
    """Stop sandbox NAME and delete it with all its data."""
    box = manager().sandbox(name)
    if not box.root.exists():
        raise ToolError(f"no sandbox named {name!r}")
    if not yes:
        click.confirm(f"delete {box.root} and everything in it?", abort=True)
    box.destroy()
