"""Expected-changes files: patterns, conditions, validation errors with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_regress.classify import classify_contract
from moodle_regress.compare import Comparison, compare
from moodle_regress.expected import ExpectedChanges, ExpectedFileError, glob_to_regex
from moodle_regress.notes import explain
from moodle_regress.notes.parse import load_notes, notes_between
from moodle_regress.observation import Observation
from moodle_regress.snapshot import Snapshot
from tests.unit.contract_fixtures import comparison_45_50, notes_tree_50


def _pair() -> tuple[Snapshot, Snapshot]:
    before = Snapshot(
        observations=[
            Observation("site/@site/release", "4.5.6"),
            Observation("webservice/mod_chat_view_chat/version", "2024100700"),
            Observation("webservice/core_course_get_contents/version", "2024100700"),
            Observation("courses/C1/format", "topics"),
            Observation("courses/C2/format", "topics"),
        ]
    )
    after = Snapshot(
        observations=[
            Observation("site/@site/release", "5.0.6"),
            Observation("webservice/core_course_get_contents/version", "2025041400"),
            Observation("webservice/core_ai_set_provider_order/version", "2025041400"),
            Observation("courses/C1/format", "weeks"),
            Observation("courses/C2/format", "social"),
        ]
    )
    return before, after


class TestGlob:
    @pytest.mark.parametrize(
        ("pattern", "key", "hit"),
        [
            ("courses/*/format", "courses/C1/format", True),
            ("courses/*/format", "courses/C1/sections/1/format", False),
            ("courses/**/name", "courses/C1/sections/1/name", True),
            ("courses/**", "courses/C1/x", True),
            ("webservice/mod_chat_*/version", "webservice/mod_chat_view_chat/version", True),
            ("courses/C?/format", "courses/C1/format", True),
            ("courses/C[12]/format", "courses/C3/format", False),
            ("courses/C[!1]/format", "courses/C2/format", True),
            ("site/@site/release", "site/@site/release", True),
            ("site/@site/release", "site/@site/release-notes", False),
            ("a.b/*/c", "axb/x/c", False),
        ],
    )
    def test_patterns(self, pattern: str, key: str, hit: bool) -> None:
        assert bool(glob_to_regex(pattern).match(key)) is hit


class TestApply:
    def test_marks_expected_with_reason_and_leaves_the_rest(self) -> None:
        rules = ExpectedChanges.parse(
            """
expected:
  - key: site/@site/release
    reason: the upgrade
  - key: "webservice/mod_chat_*/**"
    change: removed
    reason: mod_chat left core in 5.0
  - key: "webservice/*/version"
    change: [changed]
    after: {regex: "^2025"}
    reason: core version bump
  - key: courses/*/format
    before: {equals: topics}
    after: {equals: weeks}
    reason: C1 moved to weeks on purpose
  - key: users/**
    reason: never matches
"""
        )
        result = rules.apply(compare(*_pair()))
        verdict = {d.key: (d.expected, d.reason) for d in result}
        assert verdict == {
            "site/@site/release": (True, "the upgrade"),
            "webservice/mod_chat_view_chat/version": (True, "mod_chat left core in 5.0"),
            "webservice/core_course_get_contents/version": (True, "core version bump"),
            "webservice/core_ai_set_provider_order/version": (False, None),
            "courses/C1/format": (True, "C1 moved to weeks on purpose"),
            "courses/C2/format": (False, None),
        }
        assert result.counts().unexpected == 2
        assert result.unused_rules == ["line 16: users/**"]

    def test_condition_on_a_missing_side_does_not_match(self) -> None:
        rules = ExpectedChanges.parse(
            "expected:\n  - key: '**'\n    before: {regex: '.'}\n    reason: r\n"
        )
        result = rules.apply(compare(*_pair()))
        added = [d for d in result if d.kind == "added"]
        assert added and not any(d.expected for d in added)

    def test_first_matching_rule_wins(self) -> None:
        rules = ExpectedChanges.parse(
            "expected:\n  - {key: 'courses/**', reason: first}\n  - {key: '**', reason: second}\n"
        )
        result = rules.apply(compare(*_pair()))
        reasons = {d.key: d.reason for d in result}
        assert reasons["courses/C2/format"] == "first"
        assert reasons["site/@site/release"] == "second"

    def test_bare_list_and_empty_file(self) -> None:
        assert len(ExpectedChanges.parse("- {key: a/b/c, reason: r}\n")) == 1
        assert len(ExpectedChanges.parse("")) == 0
        assert len(ExpectedChanges.parse("expected:\n")) == 0

    def test_load_from_file(self, tmp_path: Path) -> None:
        path = tmp_path / "expected.yaml"
        path.write_text("expected:\n  - {key: 'courses/**', reason: r}\n")
        assert ExpectedChanges.load(path).source == str(path)


class TestValidation:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("expected: [", r"x.yaml:1: not valid YAML"),
            ("expected:\n  - key: a/b/c\n", r"x.yaml:2: expected\[0\]: reason: missing"),
            ("expected:\n  - reason: r\n", r"x.yaml:2: expected\[0\]: key: missing"),
            (
                "expected:\n  - key: a/b/c\n    reason: r\n    chnage: added\n",
                r"x.yaml:4: expected\[0\]: unknown field 'chnage'",
            ),
            (
                "expected:\n  - key: a/b/c\n    reason: r\n    change: moved\n",
                r"x.yaml:4: expected\[0\]: change: 'moved' is not one of added, removed, changed",
            ),
            (
                "expected:\n  - key: a/b/c\n    reason: r\n    after: {regex: '('}\n",
                r"x.yaml:4: expected\[0\]: after.regex: '\(' is not a regular expression",
            ),
            (
                "expected:\n  - key: a/b/c\n    reason: r\n    after: topics\n",
                r"x.yaml:4: expected\[0\]: after: must be a mapping with `equals:`, `regex:`",
            ),
            (
                "expected:\n  - key: a/b/c\n    reason: r\n    before:\n      equal: 1\n",
                r"x.yaml:5: before.equal: unknown condition",
            ),
            (
                "expected:\n  - key: 'a/[b'\n    reason: r\n",
                r"x.yaml:2: expected\[0\]: key: bad pattern",
            ),
            (
                "expected:\n  - key: a/b/c\n    reason: ''\n",
                r"x.yaml:3: expected\[0\]: reason: empty",
            ),
            ("expected:\n  - key: [a]\n    reason: r\n", r"key: must be a text, not a list"),
            ("rules: []\n", r"x.yaml:1: unknown top-level field 'rules'"),
            ("version: 2\nexpected: []\n", r"x.yaml:1: version"),
            ("expected: 3\n", r"x.yaml:1: expected: must be a list"),
            (
                "expected:\n  - just a string\n",
                r"x.yaml:2: expected\[0\]: a rule must be a mapping",
            ),
            ("42\n", r"x.yaml:1: the file must be a mapping"),
        ],
    )
    def test_errors_name_line_and_field(self, text: str, message: str) -> None:
        with pytest.raises(ExpectedFileError, match=message):
            ExpectedChanges.parse(text, source="x.yaml")

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ExpectedFileError, match="no expected-changes file"):
            ExpectedChanges.load(tmp_path / "nope.yaml")


def _explained_comparison() -> Comparison:
    tree = notes_tree_50()
    entries = notes_between(load_notes(tree), "4.5.6", tree.release)
    return explain(classify_contract(comparison_45_50()), entries)


def test_one_rule_accepts_every_difference_an_upgrade_note_explains() -> None:
    comparison = _explained_comparison()
    rules = ExpectedChanges.parse(
        'expected:\n  - key: "**"\n    explained: true\n'
        "    reason: Announced in Moodle's upgrade notes.\n"
    )
    rules.apply(comparison)
    for diff in comparison:
        assert diff.expected == (diff.explanation == "explained"), diff.key
    chat = next(d for d in comparison if d.key == "contract/mod_chat_view_chat/component")
    assert chat.reason == "Announced in Moodle's upgrade notes. (MDL-82457)"
    moove = next(d for d in comparison if d.entity == "theme_moove_fontsize")
    assert not moove.expected
    assert comparison.counts().unexpected_explained == 0


def test_rules_by_contract_severity_and_unexplained() -> None:
    comparison = _explained_comparison()
    rules = ExpectedChanges.parse(
        "expected:\n"
        '  - {key: "contract/**", contract: [non-breaking, deprecation], reason: additions}\n'
        '  - {key: "contract/theme_moove_*/**", explained: false, reason: third-party theme}\n'
    )
    rules.apply(comparison)
    left = {d.contract.severity for d in comparison.unexpected if d.contract is not None}
    assert left == {"breaking"}
    assert all(d.expected for d in comparison if d.entity.startswith("theme_moove_"))
    assert any(d.entity == "mod_chat_view_chat" and not d.expected for d in comparison)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{key: '**', explained: yes please, reason: r}", "explained: 'yes please' must be true"),
        ("{key: '**', contract: harmless, reason: r}", "contract: 'harmless' is not one of"),
    ],
)
def test_bad_explained_and_contract_conditions(rule: str, message: str) -> None:
    with pytest.raises(ExpectedFileError, match=message):
        ExpectedChanges.parse(f"expected:\n  - {rule}\n", source="x.yaml")


def test_empty_brackets_in_a_pattern_stand_for_a_list_item() -> None:
    regex = glob_to_regex("contract/*/params/courses/[]/visible")
    assert regex.match("contract/core_course_create_courses/params/courses/[]/visible")
    assert not regex.match("contract/x/params/courses/visible")
    assert glob_to_regex("users/[ab]*/x").match("users/anne/x")


class TestAtLeast:
    """``at_least``: a number, or the other side's value (row counts that grew)."""

    RULES = """
expected:
  - key: data/*/rows
    change: changed
    after: {at_least: before}
    reason: grew
  - key: data/*/rows
    change: removed
    before: {equals: 0}
    reason: empty
  - key: data/big/rows
    after: {at_least: 1000}
    reason: big enough
"""

    def _diffs(self) -> dict[str, tuple[bool, str | None]]:
        before = Snapshot(
            observations=[
                Observation("data/grew/rows", 10),
                Observation("data/same/rows", 10),
                Observation("data/lost/rows", 10),
                Observation("data/empty_dropped/rows", 0),
                Observation("data/full_dropped/rows", 7),
                Observation("data/big/rows", 2000),
                Observation("data/text/rows", "ten"),
            ]
        )
        after = Snapshot(
            observations=[
                Observation("data/grew/rows", 11),
                Observation("data/same/rows", 10),
                Observation("data/lost/rows", 9),
                Observation("data/big/rows", 1500),
                Observation("data/text/rows", "eleven"),
            ]
        )
        comparison = ExpectedChanges.parse(self.RULES).apply(compare(before, after))
        return {d.key: (d.expected, d.reason) for d in comparison}

    def test_growth_and_empty_drops_are_expected_losses_are_not(self) -> None:
        found = self._diffs()
        assert found["data/grew/rows"] == (True, "grew")
        assert "data/same/rows" not in found
        assert found["data/lost/rows"] == (False, None)
        assert found["data/empty_dropped/rows"] == (True, "empty")
        assert found["data/full_dropped/rows"] == (False, None)
        assert found["data/big/rows"] == (True, "big enough")
        # Not numbers: no order, so the condition does not hold.
        assert found["data/text/rows"] == (False, None)

    def test_at_least_names_the_other_side_or_a_number(self) -> None:
        with pytest.raises(ExpectedFileError, match=r"after.at_least: 'after' is neither"):
            ExpectedChanges.parse(
                "expected:\n  - key: a/b/c\n    after: {at_least: after}\n    reason: x\n"
            )
        with pytest.raises(ExpectedFileError, match=r":4: .*before.at_least: 'many'"):
            ExpectedChanges.parse(
                "expected:\n  - key: a/b/c\n    reason: x\n    before: {at_least: many}\n"
            )
