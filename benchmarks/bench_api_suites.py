"""Benchmark: wall time of the API suites, serial and with two xdist workers.

    .venv/bin/python -m benchmarks.bench_api_suites [--site live-4.5] [--repeat 1]

Each run is a child ``pytest moodle_regress/suites/api --moodle-site SITE`` as a user would start
it; the site should be seeded already (the suites seed it on first use, which the
first run would then pay for alone), so a warm-up run goes first unless
``--no-warmup``.  Prints the wall time of each mode, the test count and whether
both modes recorded the same observations.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from moodle_regress.site import SiteError, resolve_site

REPO = Path(__file__).resolve().parents[1]
MODES: dict[str, tuple[str, ...]] = {"serial": (), "-n 2": ("-n", "2")}


def run(site: str, record: Path, extra: tuple[str, ...]) -> tuple[float, str, int]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "moodle_regress/suites/api",
            "--moodle-site",
            site,
            "-p",
            "no:cacheprovider",
            "-q",
            f"--moodle-record={record}",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    lines = result.stdout.strip().splitlines()
    return seconds, lines[-1] if lines else result.stderr[-200:], result.returncode


def observations(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    return {o["key"]: o["value"] for o in json.loads(path.read_text())["observations"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="live-4.5", help="descriptor, sandbox name or URL")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args()
    try:
        descriptor = resolve_site(args.site)
    except SiteError as exc:
        print(f"api suites: skipped ({exc})")
        return
    print(f"site {descriptor.url} ({args.site})")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.no_warmup:
            seconds, summary, _ = run(args.site, folder / "warmup.json", ())
            print(f"warm-up (seeding check): {seconds:6.1f} s  {summary}")
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        seen: dict[str, dict[str, object]] = {}
        for _ in range(args.repeat):
            for mode, extra in MODES.items():
                record = folder / f"{mode.replace(' ', '')}.json"
                seconds, summary, code = run(args.site, record, extra)
                times[mode].append(seconds)
                seen[mode] = observations(record)
                print(f"{mode:>7}: {seconds:6.1f} s  exit {code}  {summary}")
        for mode, values in times.items():
            print(f"{mode:>7}: median {statistics.median(values):6.1f} s over {len(values)} run(s)")
        serial, parallel = statistics.median(times["serial"]), statistics.median(times["-n 2"])
        print(f"speed-up with -n 2: {serial / parallel:.2f}x")
        same = seen["serial"] == seen["-n 2"]
        print(f"same observations serial and -n 2: {same} ({len(seen['serial'])} observations)")


if __name__ == "__main__":
    main()
