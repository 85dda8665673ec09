"""The contract as observations: answers recorded from real 4.5.6 and 5.0.6+ sites."""

from __future__ import annotations

from moodle_regress.observe.contract import NOW, contract_observations, node_value
from tests.unit.contract_fixtures import answer, contract_snapshot


def test_parameters_are_observed_with_type_requirement_default_and_null() -> None:
    snap = contract_snapshot("5.0.6+")
    groupid = snap.get("contract/mod_choice_get_choice_results/params/groupid")
    assert groupid is not None
    assert groupid.value == {
        "type": "int",
        "required": "default",
        "default": None,
        "allownull": True,
    }
    choiceid = snap.get("contract/mod_choice_get_choice_results/params/choiceid")
    assert choiceid is not None and choiceid.value["required"] == "required"
    assert snap.get("contract/mod_choice_get_choice_results/params/groupid") is not None
    assert (
        contract_snapshot("4.5.6").get("contract/mod_choice_get_choice_results/params/groupid")
        is None
    )


def test_nesting_lists_and_objects_of_the_answer() -> None:
    snap = contract_snapshot("5.0.6+")
    base = "contract/mod_choice_get_choice_results/returns"
    assert snap.get(base).value["type"] == "object"  # type: ignore[union-attr]
    assert snap.get(f"{base}/options").value["type"] == "list"  # type: ignore[union-attr]
    assert snap.get(f"{base}/options/[]").value["type"] == "object"  # type: ignore[union-attr]
    userid = snap.get(f"{base}/options/[]/userresponses/[]/userid")
    assert userid is not None and userid.value["type"] == "int"
    courseid = snap.get("contract/core_badges_get_badge/returns/badge/courseid")
    assert courseid is not None


def test_function_facts() -> None:
    snap = contract_snapshot("5.0.6+")
    facts = {
        o.aspect: o.value
        for o in snap
        if o.entity == "core_course_edit_module" and "/" not in o.aspect
    }
    assert facts["component"] == "core_course"
    assert facts["deprecated"] is True
    assert facts["type"] == "write"
    assert facts["ajax"] is True and facts["loginrequired"] is True
    assert facts["services"] == []
    services = snap.get("contract/mod_choice_get_choice_results/services")
    assert services is not None and services.value == ["moodle_mobile_app"]
    old = contract_snapshot("4.5.6").get("contract/core_course_edit_module/deprecated")
    assert old is not None and old.value is False


def test_a_default_that_is_the_time_of_the_run_is_not_a_fact() -> None:
    key = "contract/core_calendar_create_calendar_events/params/events/[]/timestart"
    for release in ("4.5.6", "5.0.6+"):
        timestart = contract_snapshot(release).get(key)
        assert timestart is not None and timestart.value["default"] == NOW
    assert node_value({"type": "int", "required": "default", "default": 0}, now=1796081616) == {
        "type": "int",
        "required": "default",
        "default": 0,
    }


def test_a_function_moodle_cannot_describe_keeps_its_error() -> None:
    data = answer("5.0.6+")
    data["functions"] = {"mod_x_broken": {"component": "mod_x", "error": "coding_exception: x"}}
    keys = {o.key: o.value for o in contract_observations(data, data["release"])}
    assert keys == {
        "contract/mod_x_broken/component": "mod_x",
        "contract/mod_x_broken/error": "coding_exception: x",
    }
