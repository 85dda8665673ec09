"""The schema and data check of a rehearsal, on real Moodle code trees.

One rehearsal, shared by the tests of this module: Moodle 4.5 with our fixture plugin
``local_mrdrift`` at version 1 upgraded to Moodle 5.0 with the plugin at version 2,
whose upgrade step forgets the column ``note`` that its install.xml declares (see
``tests/fixtures/moodle_plugins/``).  The trees are hard-link copies of the configured
ones with the plugin added; the configured trees are never written to.  The small plan
gives site A a chat and a survey activity, so that the upgrade, which uninstalls
mod_chat and mod_survey, has rows to drop.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from moodle_regress.rehearsal import RehearsalOptions, RehearsalResult, rehearse
from moodle_regress.resources import packaged_expected, packaged_plan
from moodle_regress.sandbox.live import moodle_code_tree, skip_reason
from moodle_regress.sandbox.manager import SandboxManager

pytestmark = [pytest.mark.live, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PLUGIN = "local/mrdrift"
NAME = "rh-schema-45-50"


def tree(release: str) -> Path:
    found = moodle_code_tree(release)
    if found is None:
        pytest.skip(skip_reason(release))
    return found


def tree_with_plugin(source: Path, plugin_version: str, target: Path) -> Path:
    """A hard-link copy of ``source`` with the fixture plugin copied in (new files
    in a new folder: nothing of ``source`` is written to)."""
    subprocess.run(["cp", "-al", str(source), str(target)], check=True)
    (target / "config.php").unlink(missing_ok=True)
    shutil.copytree(FIXTURES / "moodle_plugins" / plugin_version, target / PLUGIN)
    return target


@dataclass
class Rehearsed:
    result: RehearsalResult
    report: dict[str, Any]
    output: str

    def differences(self, area: str) -> dict[str, dict[str, Any]]:
        return {
            diff["key"]: diff
            for diffs in self.report["areas"].get(area, {}).values()
            for diff in diffs
        }


@pytest.fixture(scope="module")
def rehearsed() -> Iterator[Rehearsed]:
    # Not pytest's tmp_path: pytest prunes old temporary folders, other runs' included.
    base = Path(tempfile.mkdtemp(prefix="mr-schema-live-"))
    code_a = tree_with_plugin(tree("4.5"), "mrdrift-v1", base / "moodle-4.5")
    code_b = tree_with_plugin(tree("5.0"), "mrdrift-v2", base / "moodle-5.0")
    manager = SandboxManager(quiet=True)
    console = Console(record=True, width=160, stderr=True)
    options = RehearsalOptions(
        code_from=code_a,
        code_to=code_b,
        out=base / "out",
        plan=packaged_plan("small"),
        suites=(),
        expected=packaged_expected("4.5-to-5.0"),
        name=NAME,
        cleanup=True,
    )
    result = rehearse(options, manager=manager, console=console, live=False)
    from moodle_regress.rehearsal import print_summary

    print_summary(result, console)
    report = json.loads((base / "out" / "report.json").read_text())
    yield Rehearsed(result, report, console.export_text())
    shutil.rmtree(base / "moodle-4.5", ignore_errors=True)
    shutil.rmtree(base / "moodle-5.0", ignore_errors=True)


@pytest.mark.takes(minutes=5)  # its fixture: a rehearsal (201 s in CI)
def test_the_rehearsal_ran_every_stage(rehearsed: Rehearsed) -> None:
    statuses = {s.name: s.status for s in rehearsed.result.stages}
    assert statuses.pop("restore") in ("done", "failed")  # its verdict: the next test
    assert set(statuses.values()) == {"done"}, (statuses, rehearsed.result.error)


def test_the_restored_site_has_every_row_of_site_a(rehearsed: Rehearsed) -> None:
    stage = next(s for s in rehearsed.result.stages if s.name == "restore")
    assert "rows lost: none" in stage.detail, stage.detail


def test_the_forgotten_column_is_a_schema_difference(rehearsed: Rehearsed) -> None:
    found = rehearsed.differences("schema")
    column = found["schema/local_mrdrift/local_mrdrift_items/columns/note"]
    assert column["kind"] == "added"  # drift the upgrade brought
    assert column["expected"] is False
    assert column["after"] == {
        "fresh install": "varchar(255) NOT NULL DEFAULT ''",
        "this site": "missing",
    }
    # Moodle's own check says so too.
    check = found["schema/local_mrdrift/local_mrdrift_items/check_database_schema"]
    assert check["after"] == ["column 'note' is missing"]
    # The index the upgrade step did add is the fresh install's (names aside).
    assert not any("/indexes/" in key for key in found if "local_mrdrift" in key)


def test_stock_45_to_50_has_no_other_schema_difference(rehearsed: Rehearsed) -> None:
    others = {
        key: diff["after"]
        for key, diff in rehearsed.differences("schema").items()
        if not key.startswith("schema/local_mrdrift/")
    }
    assert others == {}


def test_rows_show_chat_and_survey_tables_gone_with_their_rows(rehearsed: Rehearsed) -> None:
    found = rehearsed.differences("data")
    for key, at_least in [
        ("mod_chat/chat", 1),  # the plan's chat activity
        ("mod_survey/survey", 2),  # the templates and the plan's survey
        ("mod_survey/survey_questions", 1),
    ]:
        diff = found[f"data/{key}/rows"]
        assert diff["kind"] == "removed", diff
        assert diff["before"] >= at_least, diff
        # Explained by the 4.5-to-5.0 file (5.0's upgrade uninstalls both).
        assert diff["expected"] is True, diff
    # The fixture plugin's rows came through, and every other loss is explained.
    assert "data/local_mrdrift/local_mrdrift_items/rows" not in found
    assert [k for k, d in found.items() if not d["expected"]] == []


def test_the_rehearsal_prints_what_the_schema_check_took(rehearsed: Rehearsed) -> None:
    assert rehearsed.result.schema_seconds > 0
    assert "schema and data check:" in rehearsed.output
    stage = next(s for s in rehearsed.result.stages if s.name == "schema")
    assert "differences from a fresh install" in stage.detail
    assert "schema and data check:" in stage.detail
