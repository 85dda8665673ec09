"""What one database round trip costs a PHP run of ours, with the run and its
database backend on one CPU (as every PHP run is, see ``moodle_regress/cpus.py``) and
left wherever the kernel puts them.

    .venv/bin/python -m benchmarks.bench_round_trips [--sandbox NAME] [--count N]
        [--rounds R]

On a running sandbox (default ``bench-4.5``, which ``bench_seed`` brings up), runs
``benchmarks/php/round_trips.php`` ``R`` times each way, alternating: ``N`` reads
through Moodle's DML, then ``N`` writes inside a transaction (each followed by the
savepoint Moodle's PostgreSQL driver adds).  Prints the median microseconds per read
and per write, and PHP's CPU seconds, side by side.  Changes nothing on the site.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from moodle_regress.cpus import PIN_ENV
from moodle_regress.phprun import parse_output, run_php
from moodle_regress.sandbox.manager import SandboxManager

SCRIPT = Path(__file__).with_name("php") / "round_trips.php"


def one_run(code_dir: Path, count: int, *, pinned: bool) -> dict[str, Any]:
    os.environ[PIN_ENV] = "1" if pinned else "0"
    payload = json.dumps({"config": str(code_dir / "config.php"), "count": count})
    result = run_php([str(SCRIPT)], cwd=code_dir, title=SCRIPT.name, stdin=payload)
    found: dict[str, Any] = parse_output(SCRIPT.name, result.stdout, result.stderr)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", default="bench-4.5")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    box = SandboxManager().get(args.sandbox)
    box.start()
    code_dir = box.tree().root
    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for _ in range(args.rounds):
        for pinned in (True, False):
            runs[pinned].append(one_run(code_dir, args.count, pinned=pinned))
    os.environ.pop(PIN_ENV, None)
    table = Table(title=f"{args.count} round trips per run, median of {args.rounds} runs")
    for column in ("PHP and backend", "µs per read", "µs per write", "PHP CPU s"):
        table.add_column(column, justify="right")
    for pinned, label in ((True, "one CPU"), (False, "anywhere")):
        found = runs[pinned]
        table.add_row(
            f"{label} ({found[0]['cpus']})",
            *(f"{statistics.median(r[key] for r in found):.1f}" for key in ("read_us", "write_us")),
            f"{statistics.median(r['php_cpu'] for r in found):.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
