"""The web-service contract read from real Moodle code, and a report of an older release
explained by its upgrade.txt notes.

- A sandbox's contract comes from its own code (one PHP run) and covers every function
  the site offers.
- A site that is not a sandbox is read from a code tree of its release (``--code``): the
  tree's code runs on the database of a sandbox of the same version; the result equals
  the sandbox's own.
- From 4.2 (no UPGRADING.md: upgrade.txt files only) to 4.5: the 4.2 contract is read
  from the 4.2 tree alone (no 4.2 sandbox exists, so one is brought up for it in a
  private state directory and destroyed afterwards), compared with the live 4.5 site's,
  and explained by the 4.5 tree's notes, 4.3 and 4.4 coming from upgrade.txt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.compare import compare
from moodle_regress.config import load_settings
from moodle_regress.observe.contract_source import observe_contract
from moodle_regress.sandbox.live import moodle_code_tree, skip_reason
from moodle_regress.sandbox.manager import SandboxManager
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot, SnapshotMeta

pytestmark = [pytest.mark.live]


def tree(release: str) -> Path:
    found = moodle_code_tree(release)
    if found is None:
        pytest.skip(skip_reason(release))
    return found


def contract_snapshot(descriptor: SiteDescriptor, code: Path | None = None) -> Snapshot:
    found, _ = observe_contract(descriptor, code=code)
    release = found[0].release if found else ""
    return Snapshot(SnapshotMeta(site_name=descriptor.name, release=release), found)


def test_a_sandbox_contract_covers_every_function_the_site_offers(
    site_50: SiteDescriptor,
) -> None:
    started = time.monotonic()
    found, notes = observe_contract(site_50)
    seconds = time.monotonic() - started
    print(f"contract of {site_50.name}: {len(found)} observations in {seconds:.1f} s")
    assert notes == []
    values = {o.key: o.value for o in found}
    functions = {o.entity for o in found}
    with site_50.client() as client:
        offered = client.site.info().function_names
    assert offered and offered <= functions
    assert values["contract/core_course_edit_module/deprecated"] is True
    assert values["contract/core_course_edit_section/deprecated"] is True
    assert values["contract/core_course_get_contents/deprecated"] is False
    assert values["contract/mod_choice_get_choice_results/params/groupid"] == {
        "type": "int",
        "required": "default",
        "default": None,
        "allownull": True,
    }
    assert values["contract/core_badges_get_badge/returns/badge/courseid"]["type"] == "int"
    assert "moodle_mobile_app" in values["contract/core_webservice_get_site_info/services"]
    assert not [o.key for o in found if o.aspect == "error"]  # Moodle described them all


def test_a_site_that_is_not_a_sandbox_is_read_from_its_code_tree(
    site_50: SiteDescriptor,
) -> None:
    remote = site_50.model_copy(update={"sandbox": None})
    found, notes = observe_contract(remote)
    assert found == [] and "give the code tree" in notes[0]
    from_tree = contract_snapshot(remote, code=tree("5.0"))
    from_sandbox = contract_snapshot(site_50)
    assert len(from_tree) > 20000
    assert len(compare(from_sandbox, from_tree)) == 0


@pytest.fixture(scope="module")
def private_home() -> Iterator[Path]:
    """A state directory of the test's own: no sandbox of 4.2 exists there."""
    base = Path(tempfile.mkdtemp(prefix="mr-contract-home-"))
    old = os.environ.get("MOODLE_REGRESS_HOME")
    os.environ["MOODLE_REGRESS_HOME"] = str(base)
    try:
        yield base
    finally:
        manager = SandboxManager(load_settings(), quiet=True)
        for status in manager.list():
            manager.sandbox(status.name).destroy()
        shutil.rmtree(base, ignore_errors=True)
        if old is None:
            os.environ.pop("MOODLE_REGRESS_HOME", None)
        else:
            os.environ["MOODLE_REGRESS_HOME"] = old


@pytest.fixture(scope="module")
def report_42_45(
    site_45: SiteDescriptor, private_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """``moodle-regress diff`` of the 4.2 contract (from its code tree alone) against
    the live 4.5 site's, explained by the 4.5 tree's notes."""
    remote_42 = SiteDescriptor(name="a 4.2 site", url="http://127.0.0.1:9", token="x")
    started = time.monotonic()
    before = contract_snapshot(remote_42, code=tree("4.2"))
    print(f"4.2 contract from its code tree alone: {time.monotonic() - started:.1f} s")
    manager = SandboxManager(load_settings(), quiet=True)
    (made,) = manager.list()
    assert made.name.startswith("contract-402-")
    assert not made.server_running and not made.db_running  # left stopped for next time
    out = tmp_path_factory.mktemp("report-42-45")
    before.save(out / "before.json")
    contract_snapshot(site_45).save(out / "after.json")
    command = [
        sys.executable,
        "-m",
        "moodle_regress.cli",
        "diff",
        str(out / "before.json"),
        str(out / "after.json"),
        "--notes",
        str(tree("4.5")),
        "--json",
        str(out / "report.json"),
        "--html",
        str(out / "report.html"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)
    assert done.returncode == 1, done.stderr[-2000:]  # unexpected differences, no error
    assert "upgrade notes (" in done.stderr
    print(f"report: {out / 'report.html'}")
    data: dict[str, Any] = json.loads((out / "report.json").read_text())
    return data


@pytest.mark.slow
def test_an_older_release_is_explained_by_upgrade_txt_notes(report_42_45: dict[str, Any]) -> None:
    used = report_42_45["notes"]
    assert used["files"].get("upgrade.txt", 0) > 0  # 4.3 and 4.4
    assert used["files"].get("UPGRADING.md", 0) > 0  # 4.5
    assert {"4.3", "4.4", "4.5"} <= set(used["releases"])
    notes = [
        note
        for entities in report_42_45["areas"].values()
        for diffs in entities.values()
        for diff in diffs
        for note in diff.get("notes", [])
    ]
    from_txt = [
        n for n in notes if n["strength"] == "explained" and n["source"].endswith("upgrade.txt")
    ]
    assert from_txt, "no difference explained by an upgrade.txt entry"
    counts = report_42_45["counts"]
    assert counts["breaking"] > 0 and counts["non_breaking"] > 0
    assert counts["explained"] > 0
    print(
        f"4.2 -> 4.5 contract: {counts['total']} differences, {counts['explained']} explained "
        f"({len(from_txt)} by upgrade.txt entries)"
    )
