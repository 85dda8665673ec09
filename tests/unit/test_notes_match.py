"""Matching differences to upgrade notes: recorded 4.5.6/5.0.6+ contracts against
excerpts of 5.0.6+'s UPGRADING.md (tests/fixtures)."""

from __future__ import annotations

import pytest

from moodle_regress.classify import classify_contract
from moodle_regress.compare import Comparison, Difference, compare
from moodle_regress.notes import explain, explain_upgrade
from moodle_regress.notes.match import NotesMatcher, Subjects, component_by_prefix, tokens
from moodle_regress.notes.parse import NotesError, load_notes, notes_between
from moodle_regress.observation import Observation
from moodle_regress.snapshot import Snapshot, SnapshotMeta
from tests.unit.contract_fixtures import NOTES_50, comparison_45_50, notes_tree_50


@pytest.fixture(scope="module")
def explained() -> Comparison:
    tree = notes_tree_50()
    entries = notes_between(load_notes(tree), "4.5.6 (Build: 20250811)", tree.release)
    comparison = classify_contract(comparison_45_50())
    components = {name for name, _ in tree.components.values()}
    return explain(comparison, entries, components=components, used={"summary": "test"})


def _diff(comparison: Comparison, key: str) -> Difference:
    return next(d for d in comparison if d.key == key)


def _matches(diff: Difference) -> list[tuple[str | None, str, str]]:
    return [(m.entry.issue, m.rule, m.strength) for m in diff.notes]


def test_a_note_naming_the_function_explains_its_changes(explained: Comparison) -> None:
    courseid = _diff(explained, "contract/core_badges_get_badge/returns/badge/courseid")
    assert _matches(courseid)[0] == ("MDL-83026", "names the function", "explained")
    assert courseid.explanation == "explained"
    assert courseid.notes[0].entry.url == "https://tracker.moodle.org/browse/MDL-83026"
    groupid = _diff(explained, "contract/mod_choice_get_choice_results/params/groupid")
    assert _matches(groupid)[0] == ("MDL-78449", "names the function", "explained")
    deprecated = _diff(explained, "contract/core_course_edit_module/deprecated")
    assert _matches(deprecated) == [("MDL-82342", "names the function", "explained")]


def test_a_note_naming_the_method_in_its_component_explains(explained: Comparison) -> None:
    roleid = _diff(explained, "contract/enrol_manual_unenrol_users/params/enrolments/[]/roleid")
    assert ("MDL-51152", "names the function's method in its component", "explained") in (
        _matches(roleid)
    )


def test_a_removed_plugin_explains_its_functions_and_related_notes_are_weak(
    explained: Comparison,
) -> None:
    chat = _diff(explained, "contract/mod_chat_view_chat/component")
    found = _matches(chat)
    assert found[0] == ("MDL-82457", "removes the plugin", "explained")
    assert chat.notes[0].entry.text == "Remove mod_chat from Moodle 5.0"
    assert ("MDL-82457", "removes a plugin of that name", "possibly related") in found
    mobile = next(m for m in chat.notes if m.rule == "removes a plugin of that name")
    assert mobile.entry.component == "tool_mobile"
    survey = _diff(explained, "contract/mod_survey_view_survey/returns")
    assert survey.notes[0].entry.text == "Remove mod_survey for Moodle 5.0"


def test_what_no_note_names_stays_unexplained(explained: Comparison) -> None:
    moove = _diff(explained, "contract/theme_moove_fontsize/component")
    assert moove.notes == [] and moove.explanation == "unexplained"
    added = _diff(explained, "contract/core_ai_set_provider_order/component")
    assert added.explanation == "unexplained"
    counts = explained.counts()
    assert counts.explained + counts.possibly_related + counts.unexplained == counts.total
    assert counts.unexpected_explained == counts.explained  # no expected rules applied


def test_identifiers_match_whole_words_only() -> None:
    assert "mod_chat" in tokens("Remove mod_chat from Moodle 5.0")
    assert "chat" not in tokens("Remove mod_chat from Moodle 5.0")
    assert "unenrol_users" in tokens("external function `unenrol_users()`")
    assert component_by_prefix("core_course_get_contents", {"core", "core_course"}) == "core_course"
    assert component_by_prefix("local_x_y", {"core"}) is None


def test_a_weak_match_needs_a_named_field_in_the_same_component() -> None:
    entries = [e for e in load_notes(notes_tree_50()) if e.component == "mod_choice"]
    matcher = NotesMatcher(entries)
    subjects = Subjects(
        components=frozenset({"mod_choice"}),
        names=frozenset({"groupid"}),
        leaves=frozenset({"groupid"}),
    )
    assert {m.rule for m in matcher.matches(subjects)} == {"names a field of the component"}
    assert matcher.matches(Subjects(components=frozenset({"mod_choice"}))) == []


def _theme_snapshot(release: str, themes: list[str]) -> Snapshot:
    return Snapshot(
        SnapshotMeta(release=release),
        [Observation("themes/@site/available", themes, "api", release)],
    )


def test_explain_upgrade_needs_a_code_tree_and_leaves_third_party_unexplained() -> None:
    comparison = compare(
        _theme_snapshot("4.5.6 (Build: 20250811)", ["boost", "classic", "moove"]),
        _theme_snapshot("5.0.6+ (Build: 20260403)", ["boost", "classic"]),
    )
    with pytest.raises(NotesError, match="not a Moodle code tree"):
        explain_upgrade(comparison, NOTES_50)  # an excerpt, not a tree inspect_tree accepts
    theme = comparison.differences[0]
    tree = notes_tree_50()
    explain(comparison, load_notes(tree), components={n for n, _ in tree.components.values()})
    assert theme.explanation == "unexplained"  # theme_moove is third-party: no note


def test_a_note_naming_the_external_class_and_method_explains() -> None:
    """qbank_bulkmove's 5.0 note names core_question_external\\move_questions."""
    from moodle_regress.notes.parse import parse_upgrading_md

    text = (
        "# qbank_bulkmove Upgrade notes\n\n## 5.0\n\n### Deprecated\n\n"
        "- qbank_bulkmove/helper::get_displaydata\n\n"
        "  Superceded by a modal and webservice, see "
        "qbank_bulkmove/modal_question_bank_bulkmove and core_question_external\\move_questions\n\n"
        "  For more information see [MDL-71378](https://tracker.moodle.org/browse/MDL-71378)\n"
    )
    matcher = NotesMatcher(parse_upgrading_md(text))
    subjects = Subjects(
        functions=frozenset({"core_question_move_questions"}),
        methods=frozenset({("core_question", "move_questions")}),
        components=frozenset({"core_question"}),
    )
    (found,) = matcher.matches(subjects)
    assert (found.entry.issue, found.rule) == (
        "MDL-71378",
        "names the function's method in its component",
    )


def test_a_note_naming_the_function_but_not_the_field_is_only_possibly_related() -> None:
    """5.1's note on tiny_premium_get_api_key's new usecloud field (MDL-85727) explains
    that field, not the function joining the mobile service (4.5.6 -> 5.0.6+)."""
    from moodle_regress.notes.parse import parse_upgrading_md
    from tests.unit.contract_fixtures import FIXTURES

    text = (FIXTURES / "notes" / "moodle-5.1.3" / "UPGRADING.md").read_text()
    comparison = classify_contract(comparison_45_50())
    explain(comparison, parse_upgrading_md(text))
    services = _diff(comparison, "contract/tiny_premium_get_api_key/services")
    assert _matches(services) == [
        ("MDL-85727", "names the function, not the field", "possibly related")
    ]
    assert services.explanation == "possibly related"
    usecloud = Subjects(
        functions=frozenset({"tiny_premium_get_api_key"}),
        names=frozenset({"usecloud"}),
        whole=False,
    )
    (match,) = NotesMatcher(parse_upgrading_md(text)).matches(usecloud)
    assert match.rule == "names the function" and match.strong


def test_the_components_note_announcing_a_fields_removal_explains_it(
    explained: Comparison,
) -> None:
    """core_badges' 5.0 note names the image author fields it removed, not the functions."""
    for key in (
        "contract/core_badges_get_user_badges/returns/badges/[]/imageauthorname",
        "contract/core_badges_get_user_badges/returns/badges/[]/imageauthoremail",
    ):
        found = _matches(_diff(explained, key))
        assert found[0] == (
            "MDL-83909",
            "announces the field's change in its component",
            "explained",
        )


def test_a_removed_activity_is_explained_by_its_modules_removal() -> None:
    """The content area's chat activity, the list of enabled modules and the plugins area
    go with mod_chat."""
    before = contract_snapshot_with(
        "4.5.6",
        [
            (
                "activities/MR-C001/mr-seed-MR-C001-chat1/module",
                {"modname": "chat", "name": "Chat"},
            ),
            ("activities/@site/modules-enabled", ["chat", "forum", "survey"]),
            ("plugins/mod_chat/version", "2024100700"),
        ],
    )
    after = contract_snapshot_with("5.0.6+", [("activities/@site/modules-enabled", ["forum"])])
    tree = notes_tree_50()
    entries = notes_between(load_notes(tree), "4.5.6", tree.release)
    comparison = explain(classify_contract(compare(before, after)), entries)
    chat = _diff(comparison, "activities/MR-C001/mr-seed-MR-C001-chat1/module")
    assert _matches(chat)[0] == ("MDL-82457", "removes the plugin", "explained")
    assert chat.notes[0].entry.text == "Remove mod_chat from Moodle 5.0"
    plugin = _diff(comparison, "plugins/mod_chat/version")
    assert _matches(plugin)[0] == ("MDL-82457", "removes the plugin", "explained")
    enabled = _diff(comparison, "activities/@site/modules-enabled")
    assert {m.entry.text for m in enabled.notes if m.strong} == {
        "Remove mod_chat from Moodle 5.0",
        "Remove mod_survey for Moodle 5.0",
    }


def contract_snapshot_with(release: str, extra: list[tuple[str, object]]) -> Snapshot:
    from tests.unit.contract_fixtures import contract_snapshot

    snapshot = contract_snapshot(release)
    for key, value in extra:
        snapshot.add(Observation(key, value, "api", snapshot.meta.release))
    return snapshot
