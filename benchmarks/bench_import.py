"""How long ``sandbox import`` takes for a seeded site's dump, beside loading the same
dump with the database's own tool alone (pg_restore, or the mariadb client).

    .venv/bin/python -m benchmarks.bench_import [--code 4.5] [--plan default]
        [--db postgres|mariadb] [--keep]

Brings up a source sandbox (``bench-import-src``) from the code tree of release
``--code`` (or a path), seeds ``--plan`` (default: the default plan, with its content),
dumps it with the standard tools as an administrator would (``pg_dump -Fc`` or
``mariadb-dump``, and ``tar -czf`` of the moodledata), then times:

- ``sandbox import`` of that dump and archive into ``bench-import-copy``, step by step
  (prerequisites, loading the dump while copying code and files, making it safe,
  serving), as a user sees it;
- the dump alone loaded into an empty database of the source's server by
  ``pg_restore`` / ``mariadb``: what any copy of the site costs at least.

Prints both, their ratio (the import's overhead over a bare restore) and the sizes.
Both sandboxes are destroyed afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from moodle_regress.config import load_settings
from moodle_regress.rehearsal.pipeline import seed_site
from moodle_regress.resources import default_plan, packaged_plan
from moodle_regress.sandbox import moodle
from moodle_regress.sandbox.db import DatabaseConfig, engine_for
from moodle_regress.sandbox.live import moodle_code_tree
from moodle_regress.sandbox.manager import SandboxManager

SOURCE, COPY = "bench-import-src", "bench-import-copy"


def code_tree(given: str) -> Path:
    found = moodle_code_tree(given) if not Path(given).is_dir() else Path(given)
    if found is None:
        raise SystemExit(f"no Moodle {given} code tree configured (see README, Live tests)")
    return found


def plan_path(given: str) -> Path:
    if given == "default":
        return default_plan()
    return Path(given) if Path(given).is_file() else packaged_plan(given)


def dump_site(db: DatabaseConfig, dump: Path) -> None:
    """The dump an administrator makes: pg_dump -Fc, or mariadb-dump's SQL."""
    if db.engine == "postgres":
        subprocess.run(
            ["pg_dump", "-h", db.host, "-p", str(db.port), "-U", db.user, "-d", db.name,
             "-Fc", "-f", str(dump)],
            env={**os.environ, "PGPASSWORD": db.password},
            check=True,
        )  # fmt: skip
        return
    with dump.open("wb") as sink:
        subprocess.run(
            ["mariadb-dump", "--no-defaults", "--protocol=TCP", "-h", db.host,
             "-P", str(db.port), "-u", db.user, "--single-transaction", "--quick", db.name],
            env={**os.environ, "MYSQL_PWD": db.password},
            check=True,
            stdout=sink,
        )  # fmt: skip


def bare_restore(db: DatabaseConfig, dump: Path) -> float:
    """Seconds the database's own tool takes to load ``dump`` into an empty database."""
    engine = engine_for(db)
    target = db.renamed("bench_bare_restore")
    engine.drop_database(target)
    engine.create_database(target)
    try:
        started = time.monotonic()
        engine.restore(target, dump)
        return time.monotonic() - started
    finally:
        engine.drop_database(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default="4.5", help="release or code tree (default 4.5)")
    parser.add_argument("--plan", default="default", help="default, small, or a plan file")
    parser.add_argument("--db", default="postgres", choices=["postgres", "mariadb"])
    parser.add_argument("--keep", action="store_true", help="keep both sandboxes")
    args = parser.parse_args()
    console = Console(stderr=True)
    tree, plan = code_tree(args.code), plan_path(args.plan)
    manager = SandboxManager(load_settings())
    for name in (SOURCE, COPY):
        if manager.sandbox(name).root.exists():
            manager.sandbox(name).destroy()
    try:
        source = manager.up(SOURCE, tree, engine=args.db)
        started = time.monotonic()
        seeded = seed_site(source, plan, 0, allow_writes=False)
        seed_seconds = time.monotonic() - started
        console.print(f"seeded {plan.name} in {seed_seconds:.0f} s: {seeded.summary}")
        box = manager.sandbox(SOURCE)
        db = box.state().db
        with tempfile.TemporaryDirectory(prefix="bench-import-") as work:
            dump = Path(work) / ("site.dump" if args.db == "postgres" else "site.sql")
            archive = Path(work) / "moodledata.tar.gz"
            dump_site(db, dump)
            subprocess.run(
                ["tar", "-C", str(box.root), "-czf", str(archive), "moodledata"], check=True
            )
            bare = bare_restore(db, dump)
            with manager.steps.recording() as steps:
                started = time.monotonic()
                result = manager.import_site(COPY, tree, dump, archive)
                imported = time.monotonic() - started
            sizes = dump.stat().st_size, archive.stat().st_size
        assert result.counts == moodle.count_site(db), "the copy's counts differ"
        table = Table(title=f"sandbox import of {plan.name} on {result.release} ({args.db})")
        table.add_column("what")
        table.add_column("seconds", justify="right")
        table.add_row(
            f"{'pg_restore' if args.db == 'postgres' else 'mariadb'} alone", f"{bare:.1f}"
        )
        table.add_row("sandbox import, whole", f"{imported:.1f}")
        for step, seconds in steps.items():
            table.add_row(f"  {step}", f"{seconds:.1f}")
        table.add_row("ratio import / bare restore", f"{imported / bare:.2f}")
        Console().print(table)
        print(
            f"dump {sizes[0] / 1e6:.1f} MB, moodledata archive {sizes[1] / 1e6:.1f} MB; "
            f"{result.counts.users} users, {result.counts.courses} courses, "
            f"{result.counts.enrolments} enrolments"
        )
    finally:
        if not args.keep:
            for name in (SOURCE, COPY):
                if manager.sandbox(name).root.exists():
                    manager.sandbox(name).destroy()


if __name__ == "__main__":
    main()
