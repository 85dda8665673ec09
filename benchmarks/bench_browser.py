"""Seconds per page check of the browser suites, serial and with two xdist workers.

    .venv/bin/python benchmarks/bench_browser.py --site live-4.5 [--workers 2] [-k EXPR]

Runs ``pytest moodle_regress/suites/browser`` against the site twice, once serially and once with
``-n <workers>``, and prints the wall time, the number of pages checked (pages the
suites observed: ARIA snapshot plus screenshot) and seconds per page check.  The
first run also makes the suites' data on the site if it is not there yet; run the
benchmark twice to see steady-state figures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(site: str, out: Path, workers: int, expr: str | None) -> tuple[float, int, int, int]:
    """(seconds, tests passed, tests failed, pages observed) for one run."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "moodle_regress/suites/browser",
        "--moodle-site",
        site,
        "--moodle-browser-out",
        str(out / "browser"),
        "--output",
        str(out / "traces"),
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    if workers > 1:
        cmd += ["-n", str(workers)]
    if expr:
        cmd += ["-k", expr]
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    passed = _count(result.stdout, "passed")
    failed = _count(result.stdout, "failed") + _count(result.stdout, "error")
    if result.returncode not in (0, 1):
        sys.exit(
            f"pytest could not run the suites:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    snapshot = out / "browser" / "snapshot.json"
    pages = 0
    if snapshot.is_file():
        keys = [o["key"] for o in json.loads(snapshot.read_text())["observations"]]
        pages = sum(1 for k in keys if k.endswith("/visual"))
    return seconds, passed, failed, pages


def _count(text: str, word: str) -> int:
    match = re.search(rf"(\d+) {word}", text)
    return int(match.group(1)) if match else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", required=True, help="descriptor file or sandbox name")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("-k", dest="expr", default=None, help="only tests matching this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        print(f"browser suites on {args.site}")
        print(f"{'mode':<10} {'seconds':>8} {'passed':>7} {'failed':>7} {'pages':>6} {'s/page':>7}")
        for label, workers in (("serial", 1), (f"-n {args.workers}", args.workers)):
            seconds, passed, failed, pages = run(
                args.site, Path(tmp) / label.replace(" ", ""), workers, args.expr
            )
            per_page = seconds / pages if pages else float("nan")
            print(f"{label:<10} {seconds:8.1f} {passed:7d} {failed:7d} {pages:6d} {per_page:7.2f}")


if __name__ == "__main__":
    main()
