"""Reading a local site's database schema and row counts, and Moodle's own check.

Two PHP runs against the site's code, side by side: our ``php/schema.php`` (tables,
columns, indexes and rows through Moodle's ``$DB``, the same on every engine) and
Moodle's ``admin/cli/check_database_schema.php`` (the database against the
``install.xml`` files), whose findings :func:`parse_check_output` reads.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodle_regress.observe.schema import SchemaReading, parse_check_output
from moodle_regress.phprun import last_lines, run_php, run_php_script
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.errors import SandboxError


class SchemaReadError(SandboxError):
    """Moodle's schema check could not run."""


@dataclass(frozen=True)
class TimedReading:
    reading: SchemaReading
    seconds: float


def run_schema_script(code_dir: Path, *, rows: bool, log: Path) -> dict[str, Any]:
    """``php/schema.php`` against the site whose code (with config.php) is ``code_dir``."""
    result: dict[str, Any] = run_php_script(code_dir, "schema.php", {"rows": rows}, log=log)
    return result


def run_schema_check(code_dir: Path, *, log: Path) -> dict[str, tuple[str, ...]]:
    """Moodle's ``admin/cli/check_database_schema.php``: its findings by table.

    It exits 0 when the structure is fine and 1 when it found something; anything
    else (or output it does not end with) is a failure of the check itself.
    """
    tree = inspect_tree(code_dir)
    done = run_php(
        [str(tree.cli("check_database_schema.php"))],
        cwd=tree.root,
        title="admin/cli/check_database_schema.php",
        log=log,
    )
    if done.returncode == 0 and "Database structure is ok" in done.stdout:
        return {}
    findings = parse_check_output(done.stdout)
    if done.returncode == 1 and findings:
        return findings
    raise SchemaReadError(
        "Moodle's check_database_schema.php failed: "
        f"{last_lines(done.stdout + done.stderr)} (exit status {done.returncode})",
        f"see {log}",
    )


def read_database(
    code_dir: Path, *, log: Path, rows: bool = True, check: bool = True, source: str = ""
) -> TimedReading:
    """The site's schema (and rows), with Moodle's check beside it when ``check``."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        checking = pool.submit(run_schema_check, code_dir, log=log) if check else None
        data = run_schema_script(code_dir, rows=rows, log=log)
        findings = checking.result() if checking is not None else None
    reading = SchemaReading.from_json(data, source=source)
    if findings is not None:
        reading = reading.with_check(findings)
    return TimedReading(reading, time.monotonic() - started)
