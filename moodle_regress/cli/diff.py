"""``moodle-regress diff``: compare two snapshots; exit 0 when nothing unexpected."""

from __future__ import annotations

from pathlib import Path

import click

from moodle_regress.classify import classify_contract
from moodle_regress.cli import ToolError, console
from moodle_regress.compare import compare_files
from moodle_regress.expected import ExpectedChanges
from moodle_regress.files import check_writable
from moodle_regress.notes import explain_upgrade
from moodle_regress.report import print_summary, write_html_report, write_json_report
from moodle_regress.resources import resolve_expected

EXIT_UNEXPECTED = 1


class UnexpectedDifferences(click.ClickException):
    """Not a failure of the tool: the verdict, exit status 1."""

    exit_code = EXIT_UNEXPECTED


@click.command("diff")
@click.argument("before", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--expected",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Expected-changes file (YAML) of the differences a reviewer accepted, or a shipped "
    "file's name (4.5-to-5.0).",
)
@click.option(
    "--notes",
    "notes_tree",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The newer release's code tree: its upgrade notes explain the differences.",
)
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Share of changed pixels above which a screenshot counts as changed.",
)
@click.option("--no-visual", is_flag=True, help="Compare observation values only, not screenshots.")
@click.option(
    "--limit", type=int, default=40, show_default=True, help="Unexpected differences listed."
)
def diff(
    *,
    before: Path,
    after: Path,
    expected: Path | None,
    notes_tree: Path | None,
    html_out: Path | None,
    json_out: Path | None,
    threshold: float | None,
    no_visual: bool,
    limit: int,
) -> None:
    """Show what changed from snapshot BEFORE to snapshot AFTER.

    Exit status: 0 when nothing unexpected changed, 1 when something did, 2 on error.
    """
    rules = ExpectedChanges.load(resolve_expected(expected)) if expected is not None else None
    for out in (json_out, html_out):
        if out is not None:
            check_writable(out)
    # Streamed: two snapshots of a large site compare without either held whole.
    comparison = classify_contract(
        compare_files(before, after, visual=not no_visual, threshold=threshold)
    )
    if notes_tree is not None:
        explain_upgrade(comparison, notes_tree)
    if rules is not None:
        rules.apply(comparison)
    print_summary(comparison, console, limit=limit)
    try:
        if json_out is not None:
            write_json_report(comparison, json_out)
            console.print(f"JSON report: {json_out}")
        if html_out is not None:
            write_html_report(comparison, html_out)
            console.print(f"HTML report: {html_out}")
    except OSError as exc:
        raise ToolError(f"cannot write the report: {exc}") from None
    if comparison.unexpected:
        # Raised, not ctx.exit(): the entry point runs click with standalone_mode=False,
        # where an exit code would be returned and lost.
        raise UnexpectedDifferences(
            f"{len(comparison.unexpected)} unexpected difference(s); accept intended ones "
            "in an expected-changes file (--expected)"
        )
