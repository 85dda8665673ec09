"""What a rehearsal (or a comparison of two sites) gives: for people and for machines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from moodle_regress.errors import MoodleRegressError
from moodle_regress.rehearsal.stages import Stage
from moodle_regress.rehearsal.suites import SuiteRun
from moodle_regress.sandbox.adhoc import AdhocResult
from moodle_regress.timing import ANY, KINDS


class RehearsalError(MoodleRegressError):
    """A rehearsal could not run (bad arguments, a stage that failed)."""


@dataclass
class RehearsalResult:
    out: Path
    stages: list[Stage]
    release_before: str = ""
    release_after: str = ""
    unexpected: int = 0
    expected: int = 0
    report: Path | None = None
    restored_equal: bool | None = None
    error: str | None = None
    suites: list[SuiteRun] = field(default_factory=list)
    #: The backup taken before the upgrade.
    backup: Path | None = None
    #: The sandbox's database engine (None for two live sites).
    db_engine: str | None = None
    #: The ad hoc tasks run after the upgrade.
    adhoc: AdhocResult = field(default_factory=AdhocResult)
    #: The preflight's findings (the last one run), as JSON.
    preflight: dict[str, Any] | None = None
    #: The plugin whose install or upgrade step failed the upgrade.
    failed_plugin: str | None = None
    #: What the schema and data check took, and its parts.
    schema_check: str = ""
    schema_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """As ``diff``'s: 0 nothing unexpected, 1 something unexpected, 2 an error."""
        if self.error is not None:
            return 2
        return 1 if self.unexpected else 0

    def fail(self, exc: BaseException) -> None:
        """Record the first error (one line where the text is huge)."""
        text = str(exc).strip() or type(exc).__name__
        self.error = self.error or (text.splitlines()[0] if len(text) > 2000 else text)

    def to_json(self) -> dict[str, Any]:
        return {
            "release_before": self.release_before,
            "release_after": self.release_after,
            "db_engine": self.db_engine,
            "unexpected": self.unexpected,
            "expected": self.expected,
            "report": str(self.report) if self.report else None,
            "restored_equal": self.restored_equal,
            "backup": str(self.backup) if self.backup else None,
            "error": self.error,
            "failed_plugin": self.failed_plugin,
            "preflight": self.preflight,
            "exit_code": self.exit_code,
            "adhoc_tasks": self.adhoc.to_json(),
            "schema_check": {
                "seconds": round(self.schema_seconds, 2),
                "summary": self.schema_check,
            },
            "stages": [
                {
                    "name": s.name,
                    "status": s.status,
                    "seconds": round(s.seconds, 2),
                    "shares": {k: round(v, 2) for k, v in s.shares.items()},
                    "own_seconds": round(s.own_seconds, 2),
                    "detail": s.detail,
                }
                for s in self.stages
            ],
            "suites": [
                {
                    "suite": r.suite,
                    "site": r.label,
                    "exit_code": r.exit_code,
                    "passed": r.passed,
                    "failed": r.failed,
                    "skipped": r.skipped,
                    "errors": r.errors,
                }
                for r in self.suites
            ],
        }


def print_summary(result: RehearsalResult, console: Console) -> None:
    """The final lines: stage times, differences, where the report is."""
    table = Table(title="stages", show_edge=False)
    for name in ("stage", "status"):
        table.add_column(name)
    for name in ("seconds", "Moodle", "database", "suites", "tool's own"):
        table.add_column(name, justify="right")
    for stage in result.stages:
        table.add_row(
            stage.title, stage.status, *_times(stage.seconds, stage.shares, stage.own_seconds)
        )
    total = sum(s.seconds for s in result.stages)
    totals = {k: sum(s.shares.get(k, 0.0) for s in result.stages) for k in (*KINDS, ANY)}
    own = sum(s.own_seconds for s in result.stages)
    table.add_row("total", "", *_times(total, totals, own))
    console.print(table)
    if total > 0:
        console.print(
            f"the tool's own time: {own:.0f} s of {total:.0f} s ({own / total:.0%}); "
            f"Moodle's (its PHP processes, its answers) {totals['moodle']:.0f} s"
        )
    for line in _outcome_lines(result):
        console.print(line)


def _times(seconds: float, shares: dict[str, float], own: float) -> list[str]:
    """A row's seconds: the whole, each kind's share, and the tool's own."""
    if not shares:  # a stage that did not run
        return [f"{seconds:.1f}", "", "", "", ""]
    return [f"{seconds:.1f}", *(f"{shares.get(k, 0.0):.1f}" for k in KINDS), f"{own:.1f}"]


def _outcome_lines(result: RehearsalResult) -> list[str]:
    lines = [f"suite {run.summary}" for run in result.suites]
    if result.preflight is not None:
        lines.append(f"preflight: {result.preflight['summary']} ({result.out / 'preflight.json'})")
    if result.error:
        lines.append(f"[red]error:[/] {result.error}")
    if result.restored_equal is not None:
        verdict = "equals site A" if result.restored_equal else "DIFFERS from site A"
        lines.append(f"restored site: {verdict}")
    if result.schema_check:
        lines.append(result.schema_check)
    if result.backup is not None:
        lines.append(f"backup taken before the upgrade: {result.backup}")
    lines += [
        f"ad hoc task {task['classname']}: {task['complete']} complete, "
        f"{task['failed']} failed, {task['seconds']:.1f} s"
        for task in (result.adhoc.by_class() if result.adhoc.runs else [])
    ]
    if result.report is not None:
        lines.append(
            f"{result.unexpected} unexpected and {result.expected} expected differences "
            f"({result.release_before} -> {result.release_after}); report: {result.report}"
        )
    lines.append(f"everything: {result.out}")
    return lines
