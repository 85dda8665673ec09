"""``moodle-regress sandbox ...``: local Moodle sites from code trees."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click
from rich import box
from rich.table import Column, Table

from moodle_regress.cli import ToolError, ToolGroup, console
from moodle_regress.config import load_settings
from moodle_regress.sandbox import prereqs
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.db import DEFAULT_ENGINE, ENGINE_NAMES, engine_named
from moodle_regress.sandbox.gitsource import ExportedTree, resolve_code
from moodle_regress.sandbox.installs import KeptInstallBusyError, KeptInstalls
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


NO_CACHE = click.option(
    "--no-cache",
    is_flag=True,
    help="Run Moodle's installer even when an install of this code is kept, and keep "
    "nothing (as MOODLE_REGRESS_REUSE_INSTALLS=0, for this run).",
)


def manager(*, no_cache: bool = False) -> SandboxManager:
    settings = load_settings()
    if no_cache:
        settings = replace(settings, reuse_installs=False)
    return SandboxManager(settings, steps=Steps(console))


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
@NO_CACHE
def up(  # noqa: PLR0917 - click passes options positionally
    name: str,
    code_dir: Path,
    port: int | None,
    engine: str | None,
    db_url: str | None,
    admin_password: str | None,
    install_packages: bool,
    no_cache: bool,
) -> None:
    """Bring up a new sandbox NAME from a Moodle code tree."""
    box = manager(no_cache=no_cache)
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


@sandbox.command("import")
@click.argument("name")
@click.option(
    "--code",
    "code_dir",
    required=True,
    callback=code_tree,
    help="The site's own code tree (with its plugins), of the version the dump holds.",
)
@click.option(
    "--db-dump",
    "dump",
    required=True,
    type=click.Path(path_type=Path),
    help="The site's database: a pg_dump file (custom -Fc or plain SQL) or a mariadb-dump / "
    "mysqldump SQL file; gzip, xz or zstd compressed or not. The sandbox's engine is the "
    "dump's. Only read.",
)
@click.option(
    "--dataroot",
    required=True,
    type=click.Path(path_type=Path),
    help="The site's moodledata: a folder or a tar archive (compressed or not). Only read; "
    "caches, sessions, temp, trashdir and lock are left out.",
)
@click.option("--port", type=int, help="HTTP port (default: a free one).")
@click.option(
    "--old-url", "old_urls", multiple=True,
    help="An address the site had, to replace by the sandbox's (repeatable; the address "
    "its database records is found by itself).",
)  # fmt: skip
@click.option(
    "--anonymise", is_flag=True,
    help="Replace every user but the site administrators and the guest by a fake (names, "
    "username, email, phones, address; the same fake for the same user on every import), "
    "so that reports can be shared.",
)  # fmt: skip
def import_(  # noqa: PLR0917 - click passes options positionally
    name: str,
    code_dir: Path,
    dump: Path,
    dataroot: Path,
    port: int | None,
    old_urls: tuple[str, ...],
    anonymise: bool,
) -> None:
    """Bring a copy of a real site up as sandbox NAME, made safe before it serves: no
    email, no scheduled task, no external login, its addresses rewritten, a new admin
    password."""
    box = manager()
    result = box.import_site(
        name, code_dir, dump, dataroot, port=port, old_urls=old_urls, anonymise=anonymise
    )
    done = result.sanitised
    fakes = f"{result.anonymised} users replaced by fakes; " if anonymise else ""
    console.print(
        f"[bold]{name}[/]: Moodle {result.release} at {result.descriptor.url}: "
        f"{result.counts.users} users, {result.counts.courses} courses; "
        f"{done.scheduled_disabled} scheduled tasks disabled, {done.adhoc_deleted} ad hoc "
        f"tasks deleted, {', '.join(done.replaced) or 'no old address'} replaced, "
        f"external logins off ({', '.join(done.auth_off) or 'none were on'}); {fakes}"
        f"admin {result.descriptor.admin_username}'s password is in "
        f"{box.sandbox(name).descriptor_path} ({result.seconds:.0f} s)",
        soft_wrap=True,
    )
    click.echo(str(box.sandbox(name).descriptor_path))


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


#: The start of a kept install's fingerprint that names it to a reader.
SHORT_FINGERPRINT = 10


@sandbox.group(cls=ToolGroup)
def cache() -> None:
    """The installs kept for reuse (one per code tree and engine): list, clear."""


@cache.command(name="list")
def cache_list() -> None:
    """List the kept installs: engine, release, tree fingerprint, size, dates."""
    kept = KeptInstalls(load_settings())
    entries = kept.entries()
    if not entries:
        console.print(f"no kept installs in {kept.root}", highlight=False)
        return
    table = Table(
        "engine",
        "release",
        "fingerprint",
        Column("size", no_wrap=True),
        Column("created", no_wrap=True),
        Column("last used", no_wrap=True),
        title=str(kept.root),
        caption="times in UTC",
        # No side borders: a row fits 80 columns.
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    total = 0
    for entry in entries:
        size = entry.size()
        total += size
        table.add_row(
            entry.engine.name,
            entry.release,
            entry.fingerprint[:SHORT_FINGERPRINT],
            human_size(size),
            _when(entry.made()) or "?",
            _when(entry.last_used()) or "never",
        )
    console.print(table)
    console.print(f"{len(entries)} kept installs, {human_size(total)}", highlight=False)


@cache.command()
@click.option("--engine", type=click.Choice(ENGINE_NAMES), help="Only this engine's installs.")
@click.option("--release", help="Only installs of this release (4.5 takes in 4.5.6+).")
def clear(engine: str | None, release: str | None) -> None:
    """Delete kept installs (all, or those of --engine and --release).

    Only folders the tool made (with its manifest) are touched; one another run is
    loading or saving is left, and the command then exits with status 2."""
    kept = KeptInstalls(load_settings())
    freed, removed, busy = 0, 0, []
    for entry in kept.entries(engine=engine, release=release):
        label = f"{entry.engine.name} {entry.release} {entry.fingerprint[:SHORT_FINGERPRINT]}"
        try:
            size = kept.remove(entry)
        except KeptInstallBusyError:
            busy.append(label)
            console.print(f"[yellow]left (in use by another run):[/] {label}", highlight=False)
            continue
        freed, removed = freed + size, removed + 1
        console.print(f"removed {label} ({human_size(size)})", highlight=False)
    console.print(f"{removed} kept installs removed, {human_size(freed)} freed", highlight=False)
    if busy:
        raise ToolError(
            f"{len(busy)} kept installs in use by another run were left: {', '.join(busy)}",
            "run `sandbox cache clear` again when that run has made its sandbox",
        )


def _when(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else None


def human_size(size: int) -> str:
    """Bytes in the largest unit that keeps a number of at least one (1024-based)."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
