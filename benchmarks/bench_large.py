"""Benchmark: a large site seeded, snapshotted and compared with itself (issue 20).

    .venv/bin/python -m benchmarks.bench_large [--code 4.5] [--plan large] [--keep]
        [--reuse]

Brings up the sandbox ``bench-large`` from the code tree of release ``--code``, seeds
``--plan`` (default: the packaged ``large`` plan: 20,000 users, 2,000 courses, about
100,000 enrolments, a little content on every course), then runs, each as its own
process so that its peak memory is its own:

- ``moodle-regress snapshot --site bench-large`` (observations streamed to the file);
- ``moodle-regress diff`` of that snapshot with itself (the files read side by side).

Prints the seeding time and rate per step, and the time and peak resident memory of
the snapshot and of the compare, beside the goal (under 1 GiB each).  ``--reuse``
keeps a ``bench-large`` sandbox seeded by an earlier run (``--keep``) and skips the
seeding; otherwise it is destroyed afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from moodle_regress.config import load_settings
from moodle_regress.resources import packaged_plan
from moodle_regress.sandbox.live import moodle_code_tree
from moodle_regress.sandbox.manager import SandboxManager

SANDBOX = "bench-large"
MEMORY_GOAL_MIB = 1024.0
TOOL = [sys.executable, "-m", "moodle_regress.cli"]


def measured(command: list[str]) -> tuple[float, float, int]:
    """Seconds, peak resident MiB and exit status of ``command``, run on its own."""
    started = time.monotonic()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default="4.5", help="release or code tree (default 4.5)")
    parser.add_argument("--plan", default="large", help="a packaged plan's name or a file")
    parser.add_argument("--keep", action="store_true", help="keep the seeded sandbox")
    parser.add_argument("--reuse", action="store_true", help="use a kept seeded sandbox")
    args = parser.parse_args()
    console = Console()
    tree = moodle_code_tree(args.code) if not Path(args.code).is_dir() else Path(args.code)
    if tree is None:
        raise SystemExit(f"no Moodle {args.code} code tree configured (see README, Live tests)")
    plan = Path(args.plan) if Path(args.plan).is_file() else packaged_plan(args.plan)
    manager = SandboxManager(load_settings())
    box = manager.sandbox(SANDBOX)
    if box.root.exists() and not args.reuse:
        box.destroy()
    try:
        if args.reuse and box.root.exists():
            manager.get(SANDBOX).start()
            console.print(f"reusing the seeded sandbox {SANDBOX}")
        else:
            manager.up(SANDBOX, tree)
            # The seed command prints its own table of seconds and counts per step.
            seconds, _, status = measured([*TOOL, "seed", "--site", SANDBOX, "--plan", str(plan)])
            console.print(f"seeded {plan.name} in {seconds:.0f} s (exit {status})")
            if status != 0:
                raise SystemExit(status)
        with tempfile.TemporaryDirectory(prefix="bench-large-") as work:
            snapshot = Path(work) / "large.json"
            snap = measured([*TOOL, "snapshot", "--site", SANDBOX, "--out", str(snapshot)])
            diff = measured([*TOOL, "diff", str(snapshot), str(snapshot)])
            size = snapshot.stat().st_size if snapshot.is_file() else 0
        table = Table(title=f"{plan.name} on {tree.name}: snapshot {size / 1e6:.0f} MB")
        for column in ("step", "seconds", "peak MiB", f"goal < {MEMORY_GOAL_MIB:.0f} MiB"):
            table.add_column(column, justify="left" if column == "step" else "right")
        for name, (seconds, peak, status) in (("snapshot", snap), ("compare", diff)):
            verdict = "met" if peak < MEMORY_GOAL_MIB else "NOT met"
            label = name if status == 0 else f"{name} (exit {status})"
            table.add_row(label, f"{seconds:.1f}", f"{peak:.0f}", verdict)
        console.print(table)
    finally:
        if not args.keep and box.root.exists():
            box.destroy()


if __name__ == "__main__":
    main()
