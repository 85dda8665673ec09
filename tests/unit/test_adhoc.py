"""The ad hoc task runner: what ran, read from the output of Moodle's
``admin/cli/adhoc_task.php`` on a real 5.0 site just upgraded from 4.5
(``tests/fixtures/adhoc/``), and the queue run class by class until nothing new is due."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.sandbox import adhoc
from moodle_regress.sandbox.adhoc import QueuedTask, parse_output, run_queued_tasks, runner_error
from moodle_regress.sandbox.codetree import CodeTree

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adhoc"
AFTER_UPGRADE = (FIXTURES / "5.0-after-upgrade.log").read_text()
INVALID = (FIXTURES / "5.0-invalid-task-class.log").read_text()
NO_GHOSTSCRIPT = (FIXTURES / "4.2-editpdf-without-ghostscript.log").read_text()


def runs_of(log: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for run in parse_output(log):
        found.setdefault(run.classname, []).append(run.status)
    return found


def test_the_upgrade_queue_that_moves_question_banks() -> None:
    runs = runs_of(AFTER_UPGRADE)
    assert runs["mod_qbank\\task\\transfer_question_categories"] == ["complete"]
    assert runs["mod_qbank\\task\\transfer_questions"] == ["complete"] * 91
    themes = next(r for r in parse_output(AFTER_UPGRADE) if "build_installed_themes" in r.classname)
    assert themes.seconds == pytest.approx(50.344, abs=0.001)
    assert themes.queries == 8


def test_a_removed_plugins_task_blocks_the_runner() -> None:
    # 4.5's tool_moodlenet queued post_install at install; 5.0 has no such class, and
    # Moodle's runner stops before running anything.
    assert parse_output(INVALID) == []
    assert runner_error(INVALID) == "Invalid task class \\tool_moodlenet\\task\\post_install"


def test_the_queue_runs_class_by_class_until_nothing_new_is_due(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The site's queue as adhoc_tasks.php reported it around the recorded run.
    queues = [
        [QueuedTask("mod_qbank\\task\\transfer_question_categories", "mod_qbank", 1, 1)],
        [QueuedTask("mod_qbank\\task\\transfer_questions", "mod_qbank", 91, 91)],
        [QueuedTask("quiz_statistics\\task\\recalculate", "quiz_statistics", 38, 0)],
        [QueuedTask("quiz_statistics\\task\\recalculate", "quiz_statistics", 38, 0)],
    ]
    outputs = {
        part.split("\n", 1)[0].rsplit("--classname=", 1)[1]: "$ php " + part
        for part in AFTER_UPGRADE.split("$ php ")[1:]
    }
    ran: list[str] = []

    def queued(code_dir: Path, log: Path | None = None) -> list[QueuedTask]:
        return queues.pop(0)

    def run_php(args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        classname = args[-1].removeprefix("--classname=\\")
        ran.append(classname)
        return subprocess.CompletedProcess(args, 0, outputs[classname], "")

    monkeypatch.setattr(adhoc, "queued_tasks", queued)
    monkeypatch.setattr(adhoc, "run_php", run_php)
    tree = CodeTree(
        root=tmp_path,
        dirroot=tmp_path,
        layout="classic",
        version=Decimal("2025041406.11"),
        release="5.0.6+",
        branch="500",
    )
    result = run_queued_tasks(tree, tmp_path / "adhoc.log")
    assert ran == [
        "mod_qbank\\task\\transfer_question_categories",
        "mod_qbank\\task\\transfer_questions",
    ]
    by_class = {t["classname"]: t for t in result.by_class()}
    assert by_class["mod_qbank\\task\\transfer_questions"]["complete"] == 91
    assert result.remaining[0].due == 0 and not result.errors
    assert "92 ad hoc task(s)" in result.summary() and "38 still queued" in result.summary()


def test_a_queue_failing_one_way_names_the_class_and_the_cause_once() -> None:
    # Moodle 4.2.1 without Ghostscript: every assignfeedback_editpdf conversion fails.
    runs = parse_output(NO_GHOSTSCRIPT)
    assert [r.status for r in runs] == ["failed"] * 3 + ["complete"] * 2
    result = adhoc.AdhocResult(runs=runs, seconds=26.5)
    assert result.summary() == (
        "5 ad hoc task(s) in 26.5 s, 3 failed"
        " (3 of assignfeedback_editpdf\\task\\convert_submission:"
        " Error generating image with ghostscript)"
    )
