"""Running the ad hoc tasks a site has queued, as its cron would.

An upgrade queues work for cron: Moodle 5.0's mod_qbank, for one, moves every course's
question bank into a question-bank activity in the ad hoc task
``mod_qbank\\task\\transfer_question_categories`` (which queues a
``transfer_questions`` task per category).  A rehearsal that stopped at the upgrade
would show a state no real site stays in, so it runs them: Moodle's own
``admin/cli/adhoc_task.php --execute``, again while tasks that ran queued more, within
a time limit, the output kept in a log.  What ran (class, outcome, seconds, queries)
is read from that output.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moodle_regress.phprun import PhpScriptError, last_lines, run_php, run_php_script
from moodle_regress.sandbox.codetree import CodeTree

#: Seconds the rehearsal gives the queued tasks (cron would get to them eventually).
DEFAULT_TIME_LIMIT = 900.0
#: Runs of the CLI at most: tasks that ran may queue more (transfer_questions).
MAX_ROUNDS = 10

_EXECUTE = re.compile(r"^Execute adhoc task: \\?(?P<classname>\S+)")
_SECONDS = re.compile(r"^\.\.\. used (?P<seconds>[0-9.eE+-]+) seconds")
_QUERIES = re.compile(r"^\.\.\. used (?P<queries>\d+) dbqueries")
_COMPLETE = re.compile(r"^Adhoc task complete: \\?(?P<classname>\S+)")
_FAILED = re.compile(r"^Adhoc task failed: \\?(?P<classname>[^,\s]+),?(?P<message>.*)")


@dataclass
class TaskRun:
    """One ad hoc task that ran."""

    classname: str
    status: str = "running"  # complete, failed, or running when the output stopped
    seconds: float = 0.0
    queries: int = 0
    message: str = ""


@dataclass
class QueuedTask:
    classname: str
    component: str
    count: int
    due: int
    failing: int = 0


@dataclass
class AdhocResult:
    """What running the queue did."""

    runs: list[TaskRun] = field(default_factory=list)
    #: Queued before the first run.
    queued: list[QueuedTask] = field(default_factory=list)
    #: Still queued at the end (failed, not due yet, or out of time).
    remaining: list[QueuedTask] = field(default_factory=list)
    seconds: float = 0.0
    rounds: int = 0
    timed_out: bool = False
    log: Path | None = None
    #: Classes Moodle's runner could not run at all, with its last line.
    errors: list[str] = field(default_factory=list)

    def by_class(self) -> list[dict[str, Any]]:
        """Per task class: how many ran, completed and failed, and their seconds."""
        summary: dict[str, dict[str, Any]] = {}
        for run in self.runs:
            entry = summary.setdefault(
                run.classname,
                {"classname": run.classname, "ran": 0, "complete": 0, "failed": 0, "seconds": 0.0},
            )
            entry["ran"] += 1
            entry[run.status if run.status in ("complete", "failed") else "failed"] += 1
            entry["seconds"] = round(entry["seconds"] + run.seconds, 3)
        return sorted(summary.values(), key=lambda e: str(e["classname"]))

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.by_class(),
            "remaining": [vars(t) for t in self.remaining],
            "seconds": round(self.seconds, 2),
            "rounds": self.rounds,
            "timed_out": self.timed_out,
            "errors": self.errors,
            "log": str(self.log) if self.log else None,
        }

    def most_failed(self) -> str:
        """The class that failed most, how often, and the first line of its first
        failure: a whole queue failing the same way (no Ghostscript for
        assignfeedback_editpdf on 4.2) is one cause to name, not thousands."""
        failures = [r for r in self.runs if r.status != "complete"]
        classname, count = Counter(r.classname for r in failures).most_common(1)[0]
        message = next(r.message for r in failures if r.classname == classname)
        reason = message.splitlines()[0].split(", debugging info:")[0].strip() if message else ""
        return f"{count} of {classname}" + (f": {reason[:120]}" if reason else "")

    def summary(self) -> str:
        if not self.runs and not self.queued:
            return "no ad hoc tasks were queued"
        if not self.runs:
            due = sum(t.due for t in self.queued)
            why = f": {'; '.join(self.errors)}" if self.errors else ""
            return f"{due} ad hoc task(s) due, none ran{why}"
        failed = sum(1 for r in self.runs if r.status != "complete")
        text = f"{len(self.runs)} ad hoc task(s) in {self.seconds:.1f} s"
        text += f", {failed} failed ({self.most_failed()})" if failed else ""
        left = sum(t.count for t in self.remaining)
        text += f", {left} still queued" if left else ""
        return text + ("; time limit reached" if self.timed_out else "")


def parse_output(output: str) -> list[TaskRun]:
    """The tasks ``adhoc_task.php`` ran, from its output."""
    runs: list[TaskRun] = []
    current: TaskRun | None = None
    for raw in output.splitlines():
        line = raw.strip()
        if match := _EXECUTE.match(line):
            current = TaskRun(match["classname"])
            runs.append(current)
        elif current is None:
            continue
        elif match := _SECONDS.match(line):
            current.seconds = float(match["seconds"])
        elif match := _QUERIES.match(line):
            current.queries = int(match["queries"])
        elif _COMPLETE.match(line):
            current.status = "complete"
        elif match := _FAILED.match(line):
            current.status, current.message = "failed", match["message"].strip()
    return runs


def queued_tasks(code_dir: Path, log: Path | None = None) -> list[QueuedTask]:
    """The site's queued ad hoc tasks, grouped by class."""
    found = run_php_script(code_dir, "adhoc_tasks.php", {}, log=log)
    return [QueuedTask(**t) for t in found.get("tasks") or []]


def run_queued_tasks(
    tree: CodeTree,
    log: Path,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    clock: Callable[[], float] = time.monotonic,
) -> AdhocResult:
    """Run the due ad hoc tasks, one class at a time, again while running them queued
    more that are due, until none is due, the same ones stay (failing), or
    ``time_limit`` is spent.

    One class at a time (``--classname``): Moodle's runner stops at the first queued
    task whose class no longer exists (a task a removed plugin queued and cron never
    ran), which would keep every other task from running.
    """
    started = clock()
    result = AdhocResult(log=log)
    result.queued = queued_tasks(tree.root, log)
    pending = _due(result.queued)
    tried: set[tuple[str, int]] = set()
    while pending and result.rounds < MAX_ROUNDS:
        result.rounds += 1
        for classname, due in sorted(pending.items()):
            if (classname, due) in tried:
                continue  # ran before and left the same number queued: failing
            tried.add((classname, due))
            left = time_limit - (clock() - started)
            if left <= 0:
                result.timed_out = True
                break
            result.runs += _run_class(tree, log, classname, left, result)
        if result.timed_out:
            break
        again = _due(queued_tasks(tree.root, log))
        if all((c, n) in tried for c, n in again.items()):
            break  # nothing new is due: the rest keeps failing or waits
        pending = again
    result.remaining = queued_tasks(tree.root, log)
    result.seconds = clock() - started
    return result


def _run_class(
    tree: CodeTree, log: Path, classname: str, timeout: float, result: AdhocResult
) -> list[TaskRun]:
    title = f"admin/cli/adhoc_task.php --execute --ignorelimits --force --classname={classname}"
    try:
        done = run_php(
            [str(tree.cli("adhoc_task.php")), "--execute", "--ignorelimits", "--force",
             f"--classname=\\{classname}"],
            cwd=tree.root,
            title=title,
            log=log,
            timeout=timeout,
        )  # fmt: skip
    except PhpScriptError:  # the runner's timeout: what ran is in the log
        result.timed_out = True
        return parse_output(log.read_text(errors="replace").split("$ php ")[-1])
    runs = parse_output(done.stdout)
    if done.returncode != 0 and not runs:
        result.errors.append(f"{classname}: {runner_error(done.stdout + done.stderr)}")
    return runs


def runner_error(output: str) -> str:
    """Why ``adhoc_task.php`` ran nothing: the reason Moodle frames in "!!! ... !!!", or
    its last line."""
    framed = [line.strip(" !") for line in output.splitlines() if line.startswith("!!!")]
    return framed[0] if framed else last_lines(output, 1)


def _due(tasks: Sequence[QueuedTask]) -> dict[str, int]:
    return {t.classname: t.due for t in tasks if t.due}
