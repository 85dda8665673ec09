"""The ``moodle-regress`` command.  Each concern has its own module of subcommands."""

from __future__ import annotations

import logging
import sys

import click
from rich.console import Console
from rich.logging import RichHandler

from moodle_regress import __version__
from moodle_ws import MoodleError
from moodle_ws.redaction import install_log_redaction

console = Console(stderr=True)


class ToolError(click.ClickException):
    """A failure the user can act on: printed as one clear message, exit status 2."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="moodle-regress")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Rehearse Moodle upgrades and show what changed."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )
    install_log_redaction()


def _register() -> None:
    from moodle_regress.cli import sandbox as sandbox_commands

    cli.add_command(sandbox_commands.sandbox)

    from moodle_regress.cli import seed as seed_commands

    cli.add_command(seed_commands.seed)
    cli.add_command(seed_commands.cleanup_command)

    from moodle_regress.cli import diff as diff_commands
    from moodle_regress.cli import snapshot as snapshot_commands

    cli.add_command(snapshot_commands.snapshot)
    cli.add_command(diff_commands.diff)

    from moodle_regress.cli import rehearse as rehearse_commands

    cli.add_command(rehearse_commands.rehearse_command)
    cli.add_command(rehearse_commands.compare_command)


def main() -> None:
    """Entry point: turn every known error into one line and exit status 2."""
    _register()
    try:
        # Outside standalone mode click returns the code of a command's Exit
        # instead of exiting with it: pass it on.
        code = cli.main(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        console.print("aborted")
        sys.exit(130)
    except MoodleError as exc:
        console.print(f"[red]error:[/] {exc}")
        sys.exit(2)
