"""Benchmark: snapshot a site with and without concurrency; compare 10,000 observations.

    .venv/bin/python -m benchmarks.bench_snapshot [--site live-4.5] [--repeat 3]

Targets (issue 6): a snapshot of the default seeded site under 10 s and at least
1.5 times faster concurrent than serial; comparing two snapshots of 10,000
observations each under 2 s.  The site is observed as seeded (idnumber ``mr-``)
when it has seeded entities, else as a whole (``--all``); the output says which.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from moodle_regress.compare import compare
from moodle_regress.observation import Observation
from moodle_regress.observe import ApiObserver, all_entities, prefix_filter
from moodle_regress.site import SiteError, resolve_site
from moodle_regress.snapshot import Snapshot, SnapshotMeta


def bench_site(site: str, repeat: int, workers: int) -> None:
    try:
        descriptor = resolve_site(site)
    except SiteError as exc:
        print(f"snapshot: skipped ({exc})")
        return
    with descriptor.client(max_workers=workers) as client:
        probe = ApiObserver(client, entity_filter=prefix_filter("mr-")).observe()
    seeded = any(o.area == "courses" for o in probe.observations)
    entity_filter = prefix_filter("mr-") if seeded else all_entities
    what = "seeded entities (idnumber mr-)" if seeded else "the whole site (not seeded)"
    print(f"site {descriptor.url} ({probe.meta.release}): observing {what}")
    results: dict[str, list[float]] = {"concurrent": [], "serial": []}
    sizes: dict[str, tuple[int, int]] = {}
    for _ in range(repeat):
        for mode in ("concurrent", "serial"):
            with descriptor.client(max_workers=workers) as client:
                run = ApiObserver(
                    client, entity_filter=entity_filter, concurrent=mode == "concurrent"
                ).observe()
            results[mode].append(run.seconds)
            sizes[mode] = (len(run.observations), run.calls)
    for mode, times in results.items():
        count, calls = sizes[mode]
        print(
            f"snapshot {mode:<10}: median {statistics.median(times):6.2f} s "
            f"(min {min(times):.2f}, {count} observations, {calls} calls, {len(times)} runs)"
        )
    speedup = statistics.median(results["serial"]) / statistics.median(results["concurrent"])
    print(f"snapshot speed-up   : {speedup:.2f}x (target >= 1.5x; concurrent target < 10 s)")


def synthetic(count: int, changed: float, rng: random.Random) -> tuple[Snapshot, Snapshot]:
    before: list[Observation] = []
    after: list[Observation] = []
    for n in range(count):
        course = f"MR-C{n // 250:03d}"
        key = f"courses/{course}/sections/{n % 250}/modules"
        value = [{"name": f"Activity {n}-{i}", "modname": "forum", "visible": 1} for i in range(3)]
        before.append(Observation(key, value, release="4.5.6"))
        if rng.random() < changed:
            value = [*value[:2], {"name": f"Activity {n}-2", "modname": "forum", "visible": 0}]
        after.append(Observation(key, value, release="5.0.6"))
    return Snapshot(SnapshotMeta(release="4.5.6"), before), Snapshot(
        SnapshotMeta(release="5.0.6"), after
    )


def bench_compare(count: int, repeat: int) -> None:
    a, b = synthetic(count, 0.05, random.Random(6))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        a.save(Path(tmp) / "a.json")
        b.save(Path(tmp) / "b.json")
        saved = time.perf_counter() - started
        started = time.perf_counter()
        a = Snapshot.load(Path(tmp) / "a.json")
        b = Snapshot.load(Path(tmp) / "b.json")
        loaded = time.perf_counter() - started
    times = []
    differences = 0
    for _ in range(repeat):
        started = time.perf_counter()
        differences = len(compare(a, b))
        times.append(time.perf_counter() - started)
    print(f"save two snapshots  : {saved:6.2f} s ({count} observations each)")
    print(f"load two snapshots  : {loaded:6.2f} s")
    print(
        f"compare             : median {statistics.median(times):6.3f} s "
        f"({count} vs {count} observations, {differences} differences; target < 2 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="live-4.5", help="descriptor, sandbox name or URL")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--observations", type=int, default=10_000)
    args = parser.parse_args()
    bench_site(args.site, args.repeat, args.workers)
    bench_compare(args.observations, args.repeat)


if __name__ == "__main__":
    main()
