"""Classifying contract changes, on the contracts of real 4.5.6 and 5.0.6+ sites."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from moodle_regress.classify import classify_contract
from moodle_regress.compare import Comparison, Difference, compare
from moodle_regress.observe.contract import contract_observations
from moodle_regress.snapshot import Snapshot, SnapshotMeta
from tests.unit.contract_fixtures import answer, comparison_45_50


@pytest.fixture(scope="module")
def classified() -> Comparison:
    return classify_contract(comparison_45_50())


def _diff(comparison: Comparison, key: str) -> Difference:
    return next(d for d in comparison if d.key == key)


def _of(comparison: Comparison, function: str) -> set[tuple[str, str]]:
    return {
        (d.contract.severity, d.contract.change)
        for d in comparison
        if d.entity == function and d.contract is not None
    }


def test_new_return_field_and_optional_parameter_are_non_breaking(classified: Comparison) -> None:
    courseid = _diff(classified, "contract/core_badges_get_badge/returns/badge/courseid")
    assert courseid.contract is not None
    assert courseid.contract.to_json() == {
        "severity": "non-breaking",
        "change": "return field added",
    }
    groupid = _diff(classified, "contract/mod_choice_get_choice_results/params/groupid")
    assert groupid.contract is not None
    assert groupid.contract.to_json() == {
        "severity": "non-breaking",
        "change": "optional parameter added",
    }


def test_removed_functions_and_parameters_break(classified: Comparison) -> None:
    assert _of(classified, "mod_chat_view_chat") == {("breaking", "function removed")}
    assert _of(classified, "mod_survey_view_survey") == {("breaking", "function removed")}
    assert _of(classified, "theme_moove_fontsize") == {("breaking", "function removed")}
    roleid = _diff(classified, "contract/enrol_manual_unenrol_users/params/enrolments/[]/roleid")
    assert roleid.contract is not None and roleid.contract.severity == "breaking"
    assert roleid.contract.change == "parameter removed"


def test_deprecations_and_added_functions(classified: Comparison) -> None:
    assert _of(classified, "core_course_edit_module") == {("deprecation", "deprecation announced")}
    assert _of(classified, "core_course_edit_section") == {("deprecation", "deprecation announced")}
    assert _of(classified, "core_ai_set_provider_order") == {("non-breaking", "function added")}
    assert _of(classified, "tiny_premium_get_api_key") == {
        ("non-breaking", "added to service moodle_mobile_app")
    }
    # Nothing outside the contract area is classified; unchanged keys are no differences.
    assert all(d.contract is not None for d in classified if d.area == "contract")
    assert not _of(classified, "core_calendar_create_calendar_events")


def _changed(function: str, edit: Any) -> Comparison:
    """The 5.0.6+ contract of ``function`` against a copy changed by ``edit``."""
    data = answer("5.0.6+")
    before = copy.deepcopy(data)
    after = copy.deepcopy(data)
    edit(after["functions"][function])
    snaps = [
        Snapshot(SnapshotMeta(release=d["release"]), contract_observations(d, d["release"]))
        for d in (before, after)
    ]
    return classify_contract(compare(*snaps))


def _severities(comparison: Comparison) -> list[tuple[str, str, str]]:
    return [
        (d.aspect, d.contract.severity, d.contract.change)
        for d in comparison
        if d.contract is not None
    ]


def test_required_parameter_added_breaks_but_not_inside_a_new_one() -> None:
    def add(info: dict[str, Any]) -> None:
        keys = info["params"]["keys"]
        keys["mode"] = {"type": "alpha", "required": "required", "allownull": False}
        keys["filter"] = {
            "type": "object",
            "required": "optional",
            "allownull": False,
            "keys": {"name": {"type": "text", "required": "required", "allownull": False}},
        }

    assert _severities(_changed("mod_choice_get_choice_results", add)) == [
        ("params/filter", "non-breaking", "optional parameter added"),
        ("params/filter/name", "non-breaking", "inside a new parameter"),
        ("params/mode", "breaking", "required parameter added"),
    ]


@pytest.mark.parametrize(
    ("field", "old", "new", "severity", "change"),
    [
        ("type", "int", "text", "breaking", "parameter retyped (int -> text)"),
        ("type", "int", "float", "non-breaking", "parameter type widened (int -> float)"),
        ("required", "default", "required", "breaking", "optional parameter made required"),
        ("allownull", True, False, "breaking", "parameter no longer accepts null"),
        ("default", None, 5, "non-breaking", "default changed"),
    ],
)
def test_parameter_changes(field: str, old: Any, new: Any, severity: str, change: str) -> None:
    def edit(info: dict[str, Any]) -> None:
        node = info["params"]["keys"]["groupid"]
        assert node[field] == old  # the recorded 5.0.6+ value
        node[field] = new

    assert _severities(_changed("mod_choice_get_choice_results", edit)) == [
        ("params/groupid", severity, change)
    ]


@pytest.mark.parametrize(
    ("field", "new", "severity", "change"),
    [
        ("type", "int", "breaking", "return field retyped (raw -> int)"),
        ("type", "text", "non-breaking", "return field type narrowed (raw -> text)"),
        ("required", "optional", "breaking", "return field made optional (it may be missing)"),
        ("allownull", True, "breaking", "return field may be null"),
    ],
)
def test_return_changes(field: str, new: Any, severity: str, change: str) -> None:
    def edit(info: dict[str, Any]) -> None:
        info["returns"]["keys"]["badge"]["keys"]["name"][field] = new

    assert _severities(_changed("core_badges_get_badge", edit)) == [
        ("returns/badge/name", severity, change)
    ]


def test_ajax_and_services_withdrawn_break() -> None:
    def edit(info: dict[str, Any]) -> None:
        info["ajax"] = False
        info["services"] = []

    changes = _severities(_changed("core_course_edit_module", edit))
    assert ("ajax", "breaking", "no longer allowed from AJAX") in changes
    assert all(severity == "breaking" for _, severity, _ in changes)
    assert _severities(
        _changed("core_course_edit_module", lambda info: info.update(deprecated=False))
    )[0] == ("deprecated", "non-breaking", "no longer deprecated")


def test_a_change_no_rule_names_is_still_classified() -> None:
    def edit(info: dict[str, Any]) -> None:
        del info["params"]["keys"]["groupid"]["allownull"]

    assert _severities(_changed("mod_choice_get_choice_results", edit)) == [
        ("params/groupid", "non-breaking", "description changed (allownull)")
    ]
