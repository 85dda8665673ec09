"""The schema and data areas, on readings recorded from real sites (PostgreSQL 15).

Fixtures (``tests/fixtures/schema/``, trimmed by ``tests/record_schema_fixtures.py``):

- ``4.5.6-with-mrdrift-1-chat-survey.json``: Moodle 4.5.6 with our fixture plugin
  local_mrdrift at version 1, a chat (3 messages) and a survey activity;
- ``5.0.6-upgraded-from-4.5.6-with-mrdrift-2.json``: that site upgraded to 5.0.6+
  with local_mrdrift 2, whose upgrade step forgets the column ``note``;
- ``5.0.6-fresh-with-mrdrift-2.json``: a fresh install of that same 5.0.6+ tree;
- ``5.0.6-fresh-with-mrdrift-2-altered.json`` and its ``check_database_schema-*.txt``:
  a site installed fresh from that tree, then changed through Moodle's own
  database_manager:
  ``course.format`` default 'weeks' (change_field_default), ``config_log.oldvalue``
  dropped, the unique index on ``user_preferences (userid, name)`` dropped,
  ``user.department`` shortened to 100 (change_field_precision) and a table
  ``mrextra_notes`` created;
- ``check_database_schema-5.0.6-upgraded-from-4.5.6-with-mrdrift-2.txt``: Moodle's
  check on the upgraded site.

Only the tables the record script keeps have definitions; every table has rows.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.compare import compare
from moodle_regress.expected import ExpectedChanges
from moodle_regress.observe.data import row_counts
from moodle_regress.observe.schema import (
    Column,
    SchemaReading,
    declared_drift,
    observations,
    parse_check_output,
    schema_drift,
)
from moodle_regress.resources import any_upgrade_expected, packaged_expected
from moodle_regress.snapshot import Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "schema"


def _load(name: str) -> SchemaReading:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    for table, rows in data["rows"].items():
        data["tables"].setdefault(table, {"columns": {}, "indexes": []})["rows"] = rows
    return SchemaReading.from_json(data)


def _definitions_only(reading: SchemaReading, tables: set[str]) -> SchemaReading:
    """The tables whose definitions were recorded (the others carry rows only)."""
    return replace(reading, tables={n: t for n, t in reading.tables.items() if n in tables})


def _check(name: str) -> dict[str, tuple[str, ...]]:
    return parse_check_output((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def site_a() -> SchemaReading:
    return _load("4.5.6-with-mrdrift-1-chat-survey.json")


@pytest.fixture(scope="module")
def upgraded() -> SchemaReading:
    return _load("5.0.6-upgraded-from-4.5.6-with-mrdrift-2.json")


@pytest.fixture(scope="module")
def fresh() -> SchemaReading:
    return _load("5.0.6-fresh-with-mrdrift-2.json")


def _defined() -> set[str]:
    """The tables whose definitions the fixtures hold."""
    recorded = json.loads((FIXTURES / "5.0.6-fresh-with-mrdrift-2.json").read_text())["tables"]
    return set(recorded)


class TestCheckOutput:
    def test_one_finding(self) -> None:
        found = _check("check_database_schema-5.0.6-upgraded-from-4.5.6-with-mrdrift-2.txt")
        assert found == {"local_mrdrift_items": ("column 'note' is missing",)}

    def test_every_kind_of_finding_and_the_sql_of_a_missing_index(self) -> None:
        found = _check("check_database_schema-5.0.6-fresh-with-mrdrift-2-altered.txt")
        assert found["config_log"] == ("column 'oldvalue' is missing",)
        assert found["course"] == ("column 'format' has default 'weeks', expected 'topics' (C)",)
        assert found["user"] == ("column 'department' length is 100, expected 255 (C)",)
        assert found["mrextra_notes"] == ("table is not expected",)
        (index,) = found["user_preferences"]
        assert index.startswith("Missing index 'userid-name' (unique (userid, name)).")
        assert index.endswith("ON mdl_user_preferences (userid, name);")
        assert len(found) == 5

    def test_a_healthy_database(self) -> None:
        assert parse_check_output("Database structure is ok.\n") == {}


class TestDrift:
    def test_the_forgotten_column_is_the_only_difference(
        self, upgraded: SchemaReading, fresh: SchemaReading
    ) -> None:
        tables = _defined()
        found = {
            o.key: o.value
            for o in observations(
                _definitions_only(upgraded, tables), _definitions_only(fresh, tables)
            )
        }
        assert found == {
            "schema/local_mrdrift/local_mrdrift_items/columns/note": {
                "fresh install": "varchar(255) NOT NULL DEFAULT ''",
                "this site": "missing",
            },
            "schema/local_mrdrift/local_mrdrift_items/check_database_schema": [
                "column 'note' is missing"
            ],
        }

    def test_indexes_match_by_columns_not_names(
        self, upgraded: SchemaReading, fresh: SchemaReading
    ) -> None:
        # The upgrade step added the index on name; the fresh install made it too.
        ours = upgraded.tables["local_mrdrift_items"].index_signatures()
        assert ours == fresh.tables["local_mrdrift_items"].index_signatures() == {"name": "index"}

    def test_every_change_made_through_database_manager_is_found(
        self, fresh: SchemaReading
    ) -> None:
        tables = _defined() | {"mrextra_notes"}
        altered = _load("5.0.6-fresh-with-mrdrift-2-altered.json")
        site = _definitions_only(altered, tables).with_check(
            _check("check_database_schema-5.0.6-fresh-with-mrdrift-2-altered.txt")
        )
        found = {o.key: o.value for o in schema_drift(site, _definitions_only(fresh, tables))}
        assert found["schema/core/course/columns/format"] == {
            "fresh install": "varchar(21) NOT NULL DEFAULT 'topics'",
            "this site": "varchar(21) NOT NULL DEFAULT 'weeks'",
        }
        assert found["schema/core/config_log/columns/oldvalue"]["this site"] == "missing"
        assert found["schema/core/user/columns/department"] == {
            "fresh install": "varchar(255) NOT NULL DEFAULT ''",
            "this site": "varchar(100) NOT NULL DEFAULT ''",
        }
        assert found["schema/core/user_preferences/indexes/userid,name"] == {
            "fresh install": "unique index",
            "this site": "missing",
        }
        assert found["schema/undeclared/mrextra_notes/table"] == {
            "fresh install": "missing",
            "this site": "present",
        }
        assert len(found) == 5
        declared = {o.key for o in declared_drift(site, fresh)}
        assert declared == {
            f"schema/{table}/check_database_schema"
            for table in (
                "core/config_log",
                "core/course",
                "core/user",
                "core/user_preferences",
                "undeclared/mrextra_notes",
            )
        }

    def test_findings_a_fresh_install_has_too_are_not_the_sites(
        self, upgraded: SchemaReading
    ) -> None:
        assert declared_drift(upgraded, upgraded) == []
        site = upgraded.with_check({"x": ("one", "two")})
        (only,) = declared_drift(site, upgraded.with_check({"x": ("one",)}))
        assert only.key == "schema/undeclared/x/check_database_schema"
        assert only.value == ["two"]


class TestColumnText:
    @pytest.mark.parametrize(
        ("table", "column", "text"),
        [
            ("config", "id", "int(18) NOT NULL SEQUENCE PRIMARY KEY"),
            ("config", "value", "text NOT NULL"),
            ("grade_items", "grademax", "numeric(10,5) NOT NULL DEFAULT '100'"),
            ("course_modules", "availability", "text NULL"),
        ],
    )
    def test_reads_like_sql(self, fresh: SchemaReading, table: str, column: str, text: str) -> None:
        assert fresh.tables[table].columns[column].describe() == text

    def test_a_default_of_null(self) -> None:
        column = Column(type="varchar", meta_type="C", max_length=10, has_default=True)
        assert column.describe() == "varchar(10) NULL DEFAULT NULL"


class TestRows:
    def test_rows_per_table(self, site_a: SchemaReading) -> None:
        found = {o.key: o.value for o in row_counts(site_a)}
        assert found["data/mod_chat/chat_messages/rows"] == 3
        assert found["data/local_mrdrift/local_mrdrift_items/rows"] == 3
        assert found["data/core/config/rows"] > 0
        assert len(found) == len(site_a.tables)

    def test_default_rules_leave_only_lost_rows(
        self, site_a: SchemaReading, upgraded: SchemaReading
    ) -> None:
        comparison = compare(
            Snapshot(observations=row_counts(site_a)), Snapshot(observations=row_counts(upgraded))
        )
        ExpectedChanges.load(any_upgrade_expected()).apply(comparison)
        unexpected = {d.key: (d.kind, d.before_value, d.after_value) for d in comparison.unexpected}
        # The chat and the survey went with their rows ...
        assert unexpected["data/mod_chat/chat_messages/rows"] == ("removed", 3, None)
        assert unexpected["data/mod_survey/survey/rows"][0] == "removed"
        assert unexpected["data/core/course_modules/rows"][0] == "changed"
        # ... empty tables dropped, new tables and grown tables are not losses.
        expected = {d.key for d in comparison if d.expected}
        assert "data/editor_atto/editor_atto_autosave/rows" in expected  # dropped, empty
        assert "data/core/ai_providers/rows" in expected  # new in 5.0
        assert "data/logstore_standard/logstore_standard_log/rows" in expected  # grew
        assert all(
            d.kind == "removed" or d.before_value > d.after_value for d in comparison.unexpected
        )

    def test_the_45_to_50_file_explains_every_loss_of_that_upgrade(
        self, site_a: SchemaReading, upgraded: SchemaReading
    ) -> None:
        comparison = compare(
            Snapshot(observations=row_counts(site_a)), Snapshot(observations=row_counts(upgraded))
        )
        rules = ExpectedChanges.load(any_upgrade_expected()).rules
        rules += ExpectedChanges.load(packaged_expected("4.5-to-5.0")).rules
        ExpectedChanges(rules).apply(comparison)
        assert [d.key for d in comparison.unexpected] == []
        chat = next(d for d in comparison if d.key == "data/mod_chat/chat_messages/rows")
        assert chat.reason is not None and "mod_chat" in chat.reason
