"""Benchmark: the same rehearsal twice in a row, in a fresh state folder (issue 20).

    .venv/bin/python -m benchmarks.bench_rehearse_twice [--from 4.5] [--to 5.0]
        [--plan small] [--suites none] [--db postgres] [--keep]

Runs ``moodle-regress rehearse --from A --to B --plan small --suites none`` twice in a
new, empty tool home (its kept installs and fresh-install readings in it too): the
first rehearsal pays Moodle's installer for A (site A) and B (the schema check's fresh
install) and keeps both; the second loads them.  Prints each run's stage times, the
second run's sandbox stage (target: under 15 s) and the ratio of the second run's
total to the first's (target: at most 0.60), from the wall time and from the stages'
sum.  Each run's sandboxes are destroyed after it, outside the timing.  ``--from`` and
``--to`` name configured code trees (config.toml's [code_trees]) or folders.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from moodle_regress.config import load_settings
from moodle_regress.sandbox.installs import KeptInstalls
from moodle_regress.sandbox.manager import SandboxManager

REPO = Path(__file__).resolve().parents[1]
#: Targets of issue 20 (printed beside the figures, not asserted).
SECOND_SANDBOX_TARGET = 15.0
RATIO_TARGET = 0.60


@dataclass
class Run:
    wall: float
    exit_code: int
    stages: list[tuple[str, float, str]]  # name, seconds, status
    schema_seconds: float

    @property
    def stage_sum(self) -> float:
        return sum(seconds for _, seconds, _ in self.stages)

    def seconds(self, stage: str) -> float:
        return next(seconds for name, seconds, _ in self.stages if name == stage)


def code(value: str) -> str:
    """A configured release's tree, else the value as given (a folder)."""
    tree = load_settings().code_tree(value)
    return str(tree) if tree else value


def rehearse(number: int, args: argparse.Namespace, home: Path, env: dict[str, str]) -> Run:
    out = home / f"out-{number}"
    command = [
        sys.executable, "-m", "moodle_regress.cli", "rehearse",
        "--from", code(args.old), "--to", code(args.new), "--out", str(out),
        "--name", f"bench-{number}", "--plan", args.plan, "--suites", args.suites,
        "--db", args.db,
    ]  # fmt: skip
    log = home / f"rehearse-{number}.log"
    started = time.perf_counter()
    with log.open("w") as sink:
        done = subprocess.run(command, cwd=REPO, env=env, stdout=sink, stderr=sink, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise SystemExit(f"rehearsal {number} failed (exit {done.returncode}):\n{tail}")
    data = json.loads((out / "rehearsal.json").read_text())
    stages = [(s["name"], float(s["seconds"]), s["status"]) for s in data["stages"]]
    return Run(wall, done.returncode, stages, float(data["schema_check"]["seconds"]))


def destroy_sandboxes() -> None:
    """The run's sandboxes (sites A and B's backup restore), so the next run starts alone."""
    manager = SandboxManager(load_settings(), quiet=True)
    for status in manager.list():
        manager.sandbox(status.name).destroy()


def report(runs: list[Run]) -> None:
    first, second = runs
    print(f"{'stage':12}{'run 1 (s)':>12}{'run 2 (s)':>12}")
    for (name, one, _), (_, two, status) in zip(first.stages, second.stages, strict=True):
        print(f"{name:12}{one:12.1f}{two:12.1f}" + ("" if status == "done" else f"  ({status})"))
    print(f"{'stages sum':12}{first.stage_sum:12.1f}{second.stage_sum:12.1f}")
    print(f"{'wall time':12}{first.wall:12.1f}{second.wall:12.1f}")
    print(f"{'exit code':12}{first.exit_code:12d}{second.exit_code:12d}")
    schema = f"{first.schema_seconds:.1f} s, {second.schema_seconds:.1f} s"
    print(f"(of which the schema and data check: {schema})")
    up = second.seconds("up")
    met = "met" if up < SECOND_SANDBOX_TARGET else "NOT met"
    print(
        f"\nsecond run, sandbox stage (1): {up:.1f} s "
        f"(target under {SECOND_SANDBOX_TARGET:.0f} s: {met})"
    )
    wall_ratio, sum_ratio = second.wall / first.wall, second.stage_sum / first.stage_sum
    print(
        f"second run / first run: {wall_ratio:.2f} (wall time), {sum_ratio:.2f} (stages) "
        f"(target at most {RATIO_TARGET:.2f}: {'met' if wall_ratio <= RATIO_TARGET else 'NOT met'})"
    )
    kept = KeptInstalls(load_settings())
    entries = kept.entries()
    size = sum(entry.size() for entry in entries)
    print(
        f"kept installs after both runs: {len(entries)} "
        f"({', '.join(f'{e.engine.name} {e.release}' for e in entries)}), {size / 2**20:.0f} MiB"
    )


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="old", default="4.5")
    parser.add_argument("--to", dest="new", default="5.0")
    parser.add_argument("--plan", default="small")
    parser.add_argument("--suites", default="none")
    parser.add_argument("--db", default="postgres")
    parser.add_argument("--keep", action="store_true", help="keep the state folder at the end")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-rehearse-twice-"))
    # This process reads the same home (to destroy the runs' sandboxes, list the kept
    # installs); kept installs from elsewhere, or reuse turned off, would void the test.
    os.environ["MOODLE_REGRESS_HOME"] = str(home)
    for name in ("MOODLE_REGRESS_KEPT_INSTALLS", "MOODLE_REGRESS_REUSE_INSTALLS"):
        os.environ.pop(name, None)
    settings = load_settings()
    if not settings.reuse_installs or settings.kept_installs_dir is not None:
        raise SystemExit(f"{settings.config_file} sets reuse_installs or kept_installs: unset them")
    what = f"--from {args.old} --to {args.new} --plan {args.plan} --suites {args.suites}"
    print(f"fresh state folder {home}; rehearse {what} --db {args.db}, twice", flush=True)
    print(f"{os.cpu_count()} cores, load average {_load()} at the start", flush=True)
    runs: list[Run] = []
    keep = args.keep
    try:
        for number in (1, 2):
            runs.append(rehearse(number, args, home, dict(os.environ)))
            print(f"run {number}: {runs[-1].wall:.1f} s", flush=True)
            destroy_sandboxes()
        report(runs)
        print(f"load average {_load()} at the end (other work on the machine skews the times)")
    except BaseException:
        keep = True  # the logs say what went wrong
        raise
    finally:
        destroy_sandboxes()
        if keep:
            print(f"state folder, logs and outputs kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
