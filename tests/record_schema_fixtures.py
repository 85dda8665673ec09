"""Trim schema readings recorded from real sites into the offline tests' fixtures.

A reading is what ``moodle_regress/php/schema.php`` answers (with Moodle's check
findings), saved as JSON, e.g. from a sandbox::

    python -c "from pathlib import Path; import json; \\
        from moodle_regress.sandbox.dbschema import read_database; \\
        r = read_database(Path('<sandbox>/code'), log=Path('/tmp/s.log')).reading; \\
        Path('reading.json').write_text(json.dumps(r.to_json()))"

then ``python -m tests.record_schema_fixtures reading.json OUT.json "what it is"``
keeps the definitions of a few tables (:data:`TABLES`) and the row counts of every
table it counted; "what it is" replaces the reading's source (a path of the machine).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: Tables whose definitions the offline tests read: the fixture plugin's, a few of
#: core's with every column type, and those 5.0 drops or adds.
TABLES = (
    "local_mrdrift_items",
    "user_preferences",
    "config",
    "course_modules",
    "grade_items",
    "files",
    "chat_messages",
    "survey_questions",
    "ai_providers",
    "config_log",
    "course",
    "user",
    "mrextra_notes",
)


def trim(reading: dict[str, Any], source: str) -> dict[str, Any]:
    tables = reading["tables"]
    return {
        **{k: v for k, v in reading.items() if k != "tables"},
        "source": source,
        "tables": {name: tables[name] for name in TABLES if name in tables},
        "rows": {
            name: table["rows"]
            for name, table in sorted(tables.items())
            if table["rows"] is not None
        },
    }


def main(argv: list[str]) -> None:
    source, target, label = Path(argv[0]), Path(argv[1]), argv[2]
    target.write_text(dump(trim(json.loads(source.read_text()), label)))


def dump(fixture: dict[str, Any]) -> str:
    """JSON with one line per table: short, and still diffs table by table."""
    lines = ["{"]
    for key, value in fixture.items():
        if key in ("tables", "rows"):
            inner = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
            lines.append(f" {json.dumps(key)}: {{\n" + ",\n".join(inner) + "\n },")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    main(sys.argv[1:])
