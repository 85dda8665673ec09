"""``rehearse --from-sandbox``: a copy of a real site, brought in with ``sandbox import``
from a dump and a dataroot made by the standard tools (pg_dump -Fc, tar), rehearsed
from 4.5 to 5.0 with its own data and no plan (and a 4.2 site, from a plain gzipped
pg_dump, to 4.5: the long way): the API suites check a sample of its own
courses, teachers and students.

The site is a 4.5 sandbox of this test's own with the small plan and a course the
tool did not seed (no ``mr-`` idnumber, as every course of a real site): the
rehearsal must observe that one too, and leave the imported sandbox at 4.5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.config import load_settings
from moodle_regress.rehearsal.pipeline import seed_site
from moodle_regress.resources import packaged_plan
from moodle_regress.sandbox.live import moodle_code_tree, skip_reason
from moodle_regress.sandbox.manager import SandboxManager
from moodle_ws.areas.courses import CourseCreate
from tests.live.rehearsals import differences
from tests.live.test_rehearsal_live import assert_content_45_to_50

pytestmark = [pytest.mark.live, pytest.mark.slow]

SOURCE, COPY, REHEARSAL = "imp-rh-source", "imp-rh-copy", "rh-test-imported"
SOURCE_42, COPY_42, REHEARSAL_42 = "imp-rh-source-42", "imp-rh-copy-42", "rh-test-imported-42"
#: A course of the site's own: not seeded by the tool, so no ``mr-`` idnumber.
OWN_COURSE = "HIST-101"


def tree(release: str) -> Path:
    found = moodle_code_tree(release)
    if found is None:
        pytest.skip(skip_reason(release))
    return found


@pytest.fixture(scope="module")
def manager() -> Iterator[SandboxManager]:
    made = SandboxManager(load_settings(), quiet=True)
    names = (
        *(SOURCE, COPY, REHEARSAL, f"{REHEARSAL}-restored"),
        *(SOURCE_42, COPY_42, REHEARSAL_42, f"{REHEARSAL_42}-restored"),
    )
    for name in names:
        if made.sandbox(name).root.exists():
            made.sandbox(name).destroy()  # what a stopped earlier run left
    yield made
    for name in names:
        if made.sandbox(name).root.exists():
            made.sandbox(name).destroy()


def import_a_copy(
    manager: SandboxManager, release: str, source: str, copy: str, folder: Path, *, plain: bool
) -> str:
    """A seeded sandbox of ``release`` with a course of its own, dumped (pg_dump -Fc, or
    plain SQL gzipped), its moodledata tarred, stopped, and imported as ``copy``."""
    site = manager.up(source, tree(release))
    seed_site(site, packaged_plan("small"), 0, allow_writes=False)
    with site.client() as client:
        client.courses.create(
            [CourseCreate(fullname="History of the site", shortname=OWN_COURSE, categoryid=1)]
        )
    box = manager.sandbox(source)
    db = box.state().db
    dump = folder / ("site.sql.gz" if plain else "site.dump")
    dataroot = folder / "moodledata.tar.gz"
    command = ["pg_dump", "-h", db.host, "-p", str(db.port), "-U", db.user, "-d", db.name]
    env = {**os.environ, "PGPASSWORD": db.password}
    if plain:
        with dump.open("wb") as out:
            dumped = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)
            subprocess.run(["gzip", "-c"], stdin=dumped.stdout, stdout=out, check=True)
            assert dumped.wait() == 0
    else:
        subprocess.run([*command, "-Fc", "-f", str(dump)], env=env, check=True)
    subprocess.run(["tar", "-C", str(box.root), "-czf", str(dataroot), "moodledata"], check=True)
    box.stop()  # a production site is elsewhere: its copy must not need it
    manager.import_site(copy, tree(release), dump, dataroot)
    return copy


@pytest.fixture(scope="module")
def imported(manager: SandboxManager, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A seeded 4.5 site with a course of its own, dumped, tarred and imported."""
    folder = tmp_path_factory.mktemp("imported")
    return import_a_copy(manager, "4.5", SOURCE, COPY, folder, plain=False)


def run_rehearsal(
    name: str, out: Path, *args: str, to: str = "5.0", rehearsal: str = REHEARSAL
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    command = [
        sys.executable, "-m", "moodle_regress.cli", "rehearse",
        "--from-sandbox", name, "--to", str(tree(to)), "--out", str(out),
        "--name", rehearsal, "--cleanup", *args,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)
    summary_file = out / "rehearsal.json"
    assert summary_file.is_file(), done.stdout + done.stderr
    return done, json.loads(summary_file.read_text())


def assert_suites_checked_the_sample(summary: dict[str, Any], out: Path) -> None:
    """No plan: the API suites (the default) checked a sample of the site's own courses
    and people, chosen on A and checked again on B, with no failure on either."""
    stages = {s["name"]: s for s in summary["stages"]}
    assert "the suites check" in stages["seed"]["detail"], stages["seed"]
    sample = json.loads((out / "site-sample.json").read_text())["dataset"]
    sampled = {c["shortname"] for c in sample["courses"]}
    assert sampled and all(not name.startswith("mr-b-") for name in sampled)
    assert {u["role_hint"] for u in sample["users"]} == {"editingteacher", "student"}
    runs = {r["site"]: r for r in summary["suites"] if r["suite"] == "api"}
    assert set(runs) == {"A", "B"}
    # Every check ran on both sites, and none failed for a reason of its own (a test
    # whose only fault is a difference from A's baseline counts as passed: that
    # difference is in the report, like any other).
    for label in ("A", "B"):
        observed = json.loads((out / label / "snapshot.json").read_text())["observations"]
        checks = {o["key"]: str(o["value"]) for o in observed if o["key"].startswith("checks/api/")}
        faults = {k: v for k, v in checks.items() if v.startswith(("failed", "error"))}
        assert not faults, (label, faults)
        assert sum(v == "passed" for v in checks.values()) >= 20, (label, checks)
        # Among them: the sampled courses' enrolments, as the site had them on A.
        assert checks["checks/api/test_enrolments::test_enrolled_users_of_seeded_courses"] == (
            "passed"
        )
    # What the suites made for themselves is not taken for the site's own.
    after = json.loads((out / "B" / "api-observer.json").read_text())
    assert not any("/mr-t-" in o["key"] or "/mr-b-" in o["key"] for o in after["observations"])


# Its fixture: up (kept install), the small plan, pg_dump and tar, the import (~2 min);
# the rehearsal itself about 5 minutes, the API suites on A and B about 3 more and the
# browser suites about 8.
@pytest.mark.takes(minutes=18)
def test_rehearse_an_imported_site_from_45_to_50_with_its_own_data(
    manager: SandboxManager, imported: str, tmp_path: Path
) -> None:
    out = tmp_path / "rehearsal"
    done, summary = run_rehearsal(
        imported, out, "--expected", "4.5-to-5.0", "--suites", "api,browser"
    )
    statuses = {s["name"]: s["status"] for s in summary["stages"]}
    assert set(statuses.values()) == {"done"}, (statuses, done.stderr[-3000:])
    assert_suites_checked_the_sample(summary, out)
    # The browser suites opened the sampled courses as their own teachers and students.
    for label in ("A", "B"):
        observed = json.loads((out / label / "snapshot.json").read_text())["observations"]
        pages = {
            o["key"]: str(o["value"])
            for o in observed
            if o["key"].startswith("checks/browser/test_site_courses::test_a_sampled_course_page")
        }
        assert any(v == "passed" for v in pages.values()), (label, pages)
        assert not [v for v in pages.values() if v.startswith(("failed", "error"))], pages
    assert summary["restored_equal"] is True
    assert summary["release_before"].startswith("4.5")
    assert summary["release_after"].startswith("5.0")
    # Every course of the site is observed, the one the tool did not seed too.
    before = json.loads((out / "A" / "api-observer.json").read_text())
    keys = {o["key"] for o in before["observations"]}
    assert any(k.startswith(f"courses/{OWN_COURSE}/") for k in keys)
    assert before["meta"]["plan"] is None
    # What 5.0 did to the site's real courses: the same as on a fresh rehearsal.
    found = differences(out)
    assert_content_45_to_50(found, summary)
    # The imported sandbox itself was not upgraded: it can be rehearsed again.
    state = manager.get(imported).state()
    assert state.release.startswith("4.5")
    assert not manager.sandbox(REHEARSAL).root.exists()  # --cleanup took the copy's copy


# Up (Moodle 4.2's installer: no kept install of it in CI), the small plan, a plain
# gzipped dump, the import: ~4 min; the rehearsal with its upgrade from 4.2, about 8.
@pytest.mark.takes(minutes=12)
def test_rehearse_an_imported_42_site_to_45_the_long_way(
    manager: SandboxManager, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    folder = tmp_path_factory.mktemp("imported-42")
    copy = import_a_copy(manager, "4.2", SOURCE_42, COPY_42, folder, plain=True)
    out = tmp_path / "rehearsal"
    done, summary = run_rehearsal(copy, out, to="4.5", rehearsal=REHEARSAL_42)
    statuses = {s["name"]: s["status"] for s in summary["stages"]}
    assert set(statuses.values()) == {"done"}, (statuses, done.stderr[-3000:])
    assert summary["release_before"].startswith("4.2")
    assert summary["release_after"].startswith("4.5")
    assert summary["restored_equal"] is True
    assert_suites_checked_the_sample(summary, out)
    found = differences(out)
    own = {k: d for k, d in found.items() if k.startswith(f"courses/{OWN_COURSE}/")}
    assert own, "the site's own course is compared"
    assert summary["unexpected"] == len([d for d in found.values() if not d.get("expected")])
    # No expected-changes file covers 4.2 -> 4.5: what changed is unexpected, and said.
    assert done.returncode == 1, done.stderr[-3000:]
    assert manager.get(copy).state().release.startswith("4.2")
