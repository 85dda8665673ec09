"""``moodle-regress preflight``: will the upgrade work, and what will it take away."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from moodle_regress.cli import ToolError, console
from moodle_regress.cli.sandbox import DB_ENGINE, code_tree
from moodle_regress.files import write_json_atomic
from moodle_regress.preflight import preflight_code, preflight_site, print_preflight
from moodle_regress.sandbox.db import DEFAULT_ENGINE
from moodle_regress.site import resolve_site


@click.command("preflight")
@click.option("--site", default=None, help="The site to upgrade: a sandbox or an imported site.")
@click.option(
    "--code",
    default=None,
    callback=code_tree,
    help="Or the Moodle a fresh site would start from: a code folder or a version, as --to.",
)
@click.option(
    "--to",
    "target",
    required=True,
    callback=code_tree,
    help="The Moodle to upgrade to: a code folder, or a version (4.5, 4.5.6, v4.5.6, "
    "MOODLE_405_STABLE, a commit) from the configured git repository.",
)
@DB_ENGINE
@click.option(
    "--json", "json_out", default=None, help="Write the result as JSON to this file (- for stdout)."
)
@click.option("--all", "all_checks", is_flag=True, help="Show the checks that passed too.")
@click.option("--force", is_flag=True, help="Exit 0 even when a check finds a blocker.")
def preflight_command(
    *,
    site: str | None,
    code: Path | None,
    target: Path,
    engine: str | None,
    json_out: str | None,
    all_checks: bool,
    force: bool,
) -> None:
    """Check an upgrade to the code tree --to before anything is touched: the server and
    database against its environment.xml, the direction, every plugin; and count what
    the upgrade removes.

    Exit status: 0 no blocker, 2 a blocker (or an error).
    """
    if (site is None) == (code is None):
        raise ToolError("give --site (a site on this machine) or --code (a code tree), not both")
    if site is not None:
        report = preflight_site(resolve_site(site), target)
    else:
        assert code is not None
        report = preflight_code(code, target, engine=engine or DEFAULT_ENGINE)
    print_preflight(report, console, all_checks=all_checks)
    if json_out == "-":
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif json_out:
        write_json_atomic(Path(json_out), report.to_json())
    if not force:
        report.raise_if_blocked()
