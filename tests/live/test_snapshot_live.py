"""Snapshots of a real site: the same site observed twice has no differences."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from moodle_regress.cli import _register, cli
from moodle_regress.compare import compare
from moodle_regress.observe import ApiObserver, all_entities
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot

pytestmark = pytest.mark.live


@pytest.mark.parametrize("key", ["4.5", "4.5-mariadb"])
def test_snapshot_of_a_site_compared_with_itself(
    key: str, live_site_factory: Callable[[str], SiteDescriptor], tmp_path: Path
) -> None:
    site_45 = live_site_factory(key)
    # Two separate observations (one concurrent, one serial), through the file format.
    with site_45.client() as client:
        first = ApiObserver(client, entity_filter=all_entities).observe().snapshot()
    with site_45.client() as client:
        second = (
            ApiObserver(client, entity_filter=all_entities, concurrent=False).observe().snapshot()
        )
    first.save(tmp_path / "a.json")
    second.save(tmp_path / "b.json")
    result = compare(Snapshot.load(tmp_path / "a.json"), Snapshot.load(tmp_path / "b.json"))
    assert [d.key for d in result] == []
    assert result.unchanged == len(first) == len(second)

    # What a site-wide snapshot holds, whatever the site's data.
    keys = set(first.observations)
    assert first.meta.release.startswith("4.5")
    assert "site/@site/release" in keys
    assert "themes/@site/site-theme" in keys
    assert "webservice/core_course_get_contents/version" in keys
    assert "api/core_webservice_get_site_info/fields" in keys
    formats = first.get("formats/@site/available")
    assert formats is not None and {"topics", "weeks", "singleactivity", "social"} <= set(
        formats.value
    )
    # No host, no timestamps anywhere in the values.
    text = (tmp_path / "a.json").read_text()
    host = site_45.url.split("//", 1)[1]
    observations_text = text[text.index('"observations"') :]
    assert host not in observations_text
    assert '"timemodified":' not in observations_text


def test_snapshot_and_diff_commands(site_45: SiteDescriptor, tmp_path: Path) -> None:
    _register()
    runner = CliRunner()
    site_file = tmp_path / "site.json"
    site_45.save(site_file)
    for name in ("a", "b"):
        result = runner.invoke(
            cli,
            [
                "snapshot",
                "--site",
                str(site_file),
                "--out",
                str(tmp_path / f"{name}.json"),
                "--all",
            ],
        )
        assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        [
            "diff",
            str(tmp_path / "a.json"),
            str(tmp_path / "b.json"),
            "--html",
            str(tmp_path / "r.html"),
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "0 difference(s)" in result.output
    assert "No differences" in (tmp_path / "r.html").read_text()


UPGRADE_PLAN = """\
tag: snapup
categories:
  - {name: Upgrade rehearsal, idnumber: root}
courses:
  - shortname: MR-UP-TOPICS
    fullname: Upgrade topics
    category: root
    format: topics
    numsections: 3
    sections:
      - {number: 1, name: Welcome}
      - {number: 3, name: Hidden, visible: false}
    enrolment_methods:
      - manual
      - {method: self, key: Up-Key-1}
users:
  - {username: mr-up-teacher, firstname: Tess, lastname: Teacher, role_hint: editingteacher,
     password: Seed-Pass-2024!}
enrolments:
  - {user: mr-up-teacher, course: MR-UP-TOPICS, role: editingteacher}
groups:
  - {course: MR-UP-TOPICS, name: Group A, members: [mr-up-teacher]}
generate:
  users:
    - {count: 20, role_hint: student, username_pattern: "mr-up-s{n:02d}"}
  courses:
    - count: 4
      formats: all
      shortname_pattern: "MR-UP{n:02d}"
      category: root
      numsections: [2, 4]
      enrolment_methods: [manual, guest]
  enrolments:
    - {count: 40, role: student, users: student}
"""

#: Real differences between 4.5 and 5.0, from the 5.0 tree's UPGRADING.md and the
#: two trees' db/services.php, as (key, kind).
REAL_45_TO_50 = [
    # "The core_output_load_fontawesome_icon_map web service has been fully removed"
    ("webservice/core_output_load_fontawesome_icon_map/version", "removed"),
    # "The external function core_grades_get_enrolled_users_for_search_widget has been
    # fully removed" (and ..._groups_for_search_widget)
    ("webservice/core_grades_get_enrolled_users_for_search_widget/version", "removed"),
    ("webservice/core_grades_get_groups_for_search_widget/version", "removed"),
    # "Remove mod_chat from Moodle 5.0", "Remove mod_survey for Moodle 5.0"
    ("webservice/mod_chat_view_chat/version", "removed"),
    ("webservice/mod_survey_view_survey/version", "removed"),
    # "report_insights_set_notuseful_prediction() external function has been fully removed"
    ("webservice/report_insights_set_notuseful_prediction/version", "removed"),
    # New in 5.0: the AI subsystem's provider management, forum "mark posts read".
    ("webservice/core_ai_set_provider_order/version", "added"),
    ("webservice/mod_forum_mark_posts_read/version", "added"),
    # Every core function's version is the new core version.
    ("webservice/core_course_get_contents/version", "changed"),
    ("site/@site/release", "changed"),
    ("site/@site/version", "changed"),
]


@pytest.mark.slow
def test_upgrade_45_to_50_diff_lists_real_differences(tmp_path: Path) -> None:
    """Seed a 4.5 sandbox, snapshot, upgrade it to 5.0, snapshot: the diff shows them."""
    from moodle_regress.config import load_settings
    from moodle_regress.report import write_html_report
    from moodle_regress.sandbox import SandboxManager, live
    from moodle_regress.seeding import apply_dataset, generate, installed_formats, local_site
    from moodle_regress.seeding import load_plan as load_seed_plan

    tree_45, tree_50 = live.moodle_code_tree("4.5"), live.moodle_code_tree("5.0")
    if tree_45 is None or tree_50 is None:
        pytest.skip(live.skip_reason("4.5" if tree_45 is None else "5.0"))
    manager = SandboxManager(load_settings(), quiet=True)
    name = "snapdiff-upgrade"
    if manager.sandbox(name).root.exists():
        manager.sandbox(name).destroy()
    descriptor = manager.up(name, tree_45)
    try:
        plan_file = tmp_path / "plan.yaml"
        plan_file.write_text(UPGRADE_PLAN)
        with descriptor.client() as client:
            local = local_site(descriptor)
            data = generate(
                load_seed_plan(plan_file), 6, installed_formats=installed_formats(client, local)
            )
            apply_dataset(client, data, allow_writes=True, local=local)
            before = (
                ApiObserver(client, plugin_candidates={"theme": ["moove"]}).observe().snapshot()
            )
        manager.sandbox(name).upgrade(tree_50)
        descriptor = manager.sandbox(name).descriptor()
        with descriptor.client() as client:
            after = ApiObserver(client, plugin_candidates={"theme": ["moove"]}).observe().snapshot()
        before.save(tmp_path / "before.json")
        after.save(tmp_path / "after.json")
        result = compare(
            Snapshot.load(tmp_path / "before.json"), Snapshot.load(tmp_path / "after.json")
        )
        write_html_report(result, tmp_path / "report.html")
    finally:
        manager.sandbox(name).destroy()

    kinds = {d.key: d.kind for d in result}
    assert before.meta.release.startswith("4.5") and after.meta.release.startswith("5.0")
    missing = [(key, kind) for key, kind in REAL_45_TO_50 if kinds.get(key) != kind]
    assert missing == [], f"real 4.5 -> 5.0 differences not in the diff: {missing}"
    # theme_moove is in the 4.5 tree only: it is no longer available after the upgrade.
    assert kinds.get("themes/moove/name") == "removed"
    # The seeded data itself survives the upgrade unchanged.
    seeded = [d.key for d in result if d.area in ("enrolments", "groups", "users")]
    assert seeded == [], seeded
    assert any(k.startswith("courses/MR-UP-TOPICS/") for k in after.observations)
    assert after.get("courses/MR-UP-TOPICS/sections/3/visible") is not None
