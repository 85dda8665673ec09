"""The ``moodle-regress`` command.  Each concern has its own module of subcommands.

Every failure is translated once, here (:class:`ToolGroup`): a
:class:`~moodle_regress.errors.MoodleRegressError` or a client error becomes one line
``error: <message> (fix: ...)`` and exit status 2; ``-v`` prints the traceback too.
Exit status 1 means "unexpected differences" and nothing else.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import IO, Any

import click
from rich.console import Console
from rich.logging import RichHandler

from moodle_regress import __version__
from moodle_regress.errors import MoodleRegressError, one_line
from moodle_ws import MoodleError
from moodle_ws.redaction import install_log_redaction, redact

console = Console(stderr=True)

#: The exit status of every failure of the tool (usage errors included).
EXIT_ERROR = 2


class ToolError(MoodleRegressError):
    """A failure a command finds itself (options that do not fit together...)."""


class OneLineError(click.ClickException):
    """What the user sees of any failure: one line, exit status 2."""

    exit_code = EXIT_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file or sys.stderr)


def describe(exc: BaseException) -> str:
    """One line naming the failure (and its fix, for the tool's own errors)."""
    if isinstance(exc, MoodleRegressError):
        return exc.one_line()
    if isinstance(exc, (MoodleError, OSError)):
        return one_line(redact(str(exc)))
    return (
        f"unexpected {type(exc).__name__}: {one_line(redact(str(exc)))} "
        "(a bug: run with -v for the traceback, and report it)"
    )


class ToolGroup(click.Group):
    """A command group that translates every failure of its commands (see the module)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if _verbosity(ctx):
                text = "".join(traceback.format_exception(exc))
                click.echo(redact(text), file=sys.stderr, nl=False)
            raise OneLineError(describe(exc)) from exc


def _verbosity(ctx: click.Context) -> int:
    return int(ctx.find_root().params.get("verbose") or 0)


@click.group(cls=ToolGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="moodle-regress")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug); tracebacks.")
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

    from moodle_regress.cli import preflight as preflight_commands

    cli.add_command(preflight_commands.preflight_command)


def main() -> None:
    """Entry point: exit statuses reach the shell; failures are one line (see the module)."""
    _register()
    try:
        # Outside standalone mode click returns the code of a command's Exit
        # instead of exiting with it: pass it on.
        code = cli.main(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # click prints usage, a hint and the error on four lines: one is enough.
        where = exc.ctx.command_path if exc.ctx is not None else "moodle-regress"
        message = one_line(exc.format_message())
        click.echo(f"error: {message} (see `{where} --help`)", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        console.print("aborted")
        sys.exit(130)
