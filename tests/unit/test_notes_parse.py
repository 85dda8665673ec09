"""Parsing Moodle's upgrade notes: excerpts of real files (tests/fixtures/notes)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from moodle_regress.notes.parse import (
    NoteEntry,
    infer_kind,
    load_notes,
    notes_between,
    parse_upgrade_txt,
    parse_upgrading_md,
    release_key,
    releases_in,
)
from moodle_regress.sandbox.codetree import CodeTree

FIXTURES = Path(__file__).parents[1] / "fixtures" / "notes"
NOTES_50 = FIXTURES / "moodle-5.0.6+"
NOTES_45 = FIXTURES / "moodle-4.5.6"


def _tree(root: Path, release: str) -> CodeTree:
    return CodeTree(root, root, "classic", Decimal(1), release, "500")


def _by_issue(entries: list[NoteEntry], issue: str) -> list[NoteEntry]:
    return [e for e in entries if e.issue == issue]


def test_release_keys_order_point_releases_and_weekly_builds() -> None:
    assert release_key("5.0.6+ (Build: 20260403)") == (5, 0, 6, 1)
    assert release_key("4.5") == (4, 5, 0, 0)
    assert release_key("4.5") < release_key("4.5.6") < release_key("5.0") < release_key("5.0.6")
    assert release_key("5.0.6") < release_key("5.0.6+")
    assert releases_in("4.0.2, 4.1") == ((4, 0, 2, 0), (4, 1, 0, 0))
    with pytest.raises(ValueError, match="not a Moodle release"):
        release_key("Onwards")


def test_root_upgrading_md_gives_release_component_kind_text_and_issue() -> None:
    text = (NOTES_50 / "UPGRADING.md").read_text()
    entries = parse_upgrading_md(text)
    (badge,) = _by_issue(entries, "MDL-83026")
    assert (badge.release, badge.component, badge.kind) == ("5.0", "core_badges", "added")
    assert badge.text.startswith("Added fields `courseid` and `coursefullname`")
    assert "For more information" not in badge.text
    assert badge.url == "https://tracker.moodle.org/browse/MDL-83026"
    (deprecated,) = _by_issue(entries, "MDL-82342")
    assert (deprecated.component, deprecated.kind) == ("core_course", "deprecated")
    removals = _by_issue(entries, "MDL-82457")
    assert [(e.component, e.kind, e.text) for e in removals] == [
        ("mod", "removed", "Remove mod_survey for Moodle 5.0"),
        ("mod", "removed", "Remove mod_chat from Moodle 5.0"),
        ("tool_mobile", "removed", "Remove chat and survey support from tool_mobile."),
    ]
    (roleid,) = _by_issue(entries, "MDL-51152")
    assert (roleid.release, roleid.component, roleid.kind) == ("5.0.6+", "enrol_manual", "removed")
    # A release heading with no entries (5.0.5 in the excerpt) gives none.
    assert not [e for e in entries if e.release == "5.0.5"]
    assert {e.release for e in entries} == {"5.0.6+", "5.0", "4.5"}


def test_component_upgrading_md_takes_its_component_from_the_title() -> None:
    text = (NOTES_50 / "mod" / "choice" / "UPGRADING.md").read_text()
    entries = parse_upgrading_md(text, source="mod/choice/UPGRADING.md")
    assert [(e.release, e.component, e.kind, e.issue) for e in entries] == [
        ("5.0", "mod_choice", "changed", "MDL-78449"),
        ("5.0", "mod_choice", "changed", "MDL-78449"),
    ]
    assert "`groupid`" in entries[0].text


def test_upgrade_txt_entries_with_continuation_lines_and_inferred_kinds() -> None:
    text = (NOTES_45 / "lib" / "upgrade.txt").read_text()
    entries = parse_upgrade_txt(text, component="core")
    assert {e.release for e in entries} == {"4.4", "4.3"}  # not "4.5 Onwards"
    first = entries[0]
    assert first.release == "4.4"
    assert first.text.startswith("New modinfo methods related to delegated sections")
    assert "section_info::get_component_instance" in first.text  # indented sub-list kept
    assert first.kind == "added" and first.kind_inferred
    sortable = next(e for e in entries if "sortable_list" in e.text)
    assert "drag/drop" in sortable.text
    removed = next(e for e in entries if e.release == "4.3")
    assert removed.kind == "removed"
    assert not any("This file has been replaced" in e.text for e in entries)


def test_upgrade_txt_headings_naming_two_releases() -> None:
    text = (NOTES_45 / "mod" / "quiz" / "upgrade.txt").read_text()
    entries = parse_upgrade_txt(text, component="mod_quiz")
    backported = [e for e in entries if e.release == "4.0.2, 4.1"]
    assert len(backported) == 2
    assert backported[0].first_release == (4, 0, 2, 0)
    sequential = next(e for e in entries if e.release == "4.0.3, 4.1")
    assert sequential.issue == "MDL-75210"  # named inside the text
    assert "out of sequence question" in sequential.text  # unindented continuation line
    assert next(e for e in entries if e.release == "4.1").kind == "deprecated"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("The following previously deprecated methods have been removed", "removed"),
        ("quiz_has_question_use is now deprecated.", "deprecated"),
        ("Deprecated functions will be removed in 4.6", "deprecated"),
        ("A new method core_user::get_initials", "added"),
        ("Fixed the order of results", "fixed"),
        ("The API changed slightly", "changed"),
    ],
)
def test_infer_kind(text: str, kind: str) -> None:
    assert infer_kind(text) == kind


def test_load_notes_reads_component_dirs_once_per_entry() -> None:
    entries = load_notes(_tree(NOTES_50, "5.0.6+ (Build: 20260403)"))
    choice = [e for e in entries if e.component == "mod_choice"]
    assert len(choice) == 2  # the root file and mod/choice/UPGRADING.md hold the same two
    old = load_notes(_tree(NOTES_45, "4.5.6 (Build: 20250811)"))
    assert {e.component for e in old} == {"core", "mod_quiz", "mod_choice"}
    assert {e.source for e in old if e.component == "mod_quiz"} == {"mod/quiz/upgrade.txt"}


def test_notes_between_takes_releases_after_a_up_to_b() -> None:
    entries = load_notes(_tree(NOTES_50, "5.0.6+"))
    between = notes_between(entries, "4.5.6 (Build: 20250811)", "5.0.6+ (Build: 20260403)")
    assert {e.release for e in between} == {"5.0", "5.0.6+"}
    assert {e.release for e in notes_between(entries, "4.5.6", "5.0.1")} == {"5.0"}
    old = load_notes(_tree(NOTES_45, "4.5.6"))
    assert {e.release for e in notes_between(old, "4.0.1", "4.2")} == {
        "4.1",
        "4.0.2, 4.1",
        "4.0.3, 4.1",
    }
    # A site on 4.0.5 already had what 4.0.2 and 4.0.3 backported.
    assert {e.release for e in notes_between(old, "4.0.5", "4.2")} == {"4.1"}


def test_a_subsystems_title_names_its_component() -> None:
    text = (NOTES_50 / "badges" / "UPGRADING.md").read_text()
    (entry,) = parse_upgrading_md(text)
    assert (entry.release, entry.component, entry.kind, entry.issue) == (
        "5.0",
        "core_badges",
        "removed",
        "MDL-83909",
    )
