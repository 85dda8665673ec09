"""Checks of a rehearsal's report on the web-service contract and the upgrade notes,
shared by the rehearsal tests (one rehearsal serves many assertions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRACKER = "https://tracker.moodle.org/browse/"


def report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text())
    return data


def by_key(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        diff["key"]: diff
        for entities in data["areas"].values()
        for diffs in entities.values()
        for diff in diffs
    }


def contract_change(found: dict[str, dict[str, Any]], key: str) -> tuple[str, str]:
    change = found[key]["contract"]
    return change["severity"], change["change"]


def first_note(found: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    notes = found[key].get("notes") or []
    assert notes, f"{key} carries no upgrade note"
    note: dict[str, Any] = notes[0]
    return note


def assert_explained_share(data: dict[str, Any], share: float) -> float:
    counts = data["counts"]
    unexpected = counts["unexpected"]
    explained = counts["unexpected_explained"] / unexpected if unexpected else 1.0
    assert explained >= share, (counts, data["notes"])
    return explained


def assert_note_in_html(out: Path, issue: str, text: str) -> None:
    html = (out / "report.html").read_text()
    assert f"href='{TRACKER}{issue}'" in html
    assert text in html


def assert_contract_45_to_50(out: Path) -> dict[str, Any]:
    """What a 4.5 -> 5.0 report must show (see the 5.0 tree's UPGRADING.md)."""
    data = report(out)
    found = by_key(data)
    assert contract_change(found, "contract/core_badges_get_badge/returns/badge/courseid") == (
        "non-breaking",
        "return field added",
    )
    groupid = "contract/mod_choice_get_choice_results/params/groupid"
    assert contract_change(found, groupid) == ("non-breaking", "optional parameter added")
    assert first_note(found, groupid)["issue"] == "MDL-78449"
    for function in ("mod_chat_view_chat", "mod_survey_view_survey"):
        key = f"contract/{function}/component"
        assert contract_change(found, key) == ("breaking", "function removed")
        note = first_note(found, key)
        assert (note["issue"], note["url"], note["strength"]) == (
            "MDL-82457",
            TRACKER + "MDL-82457",
            "explained",
        )
        assert note["text"].startswith("Remove mod_")
    assert first_note(found, "webservice/mod_chat_view_chat/version")["issue"] == "MDL-82457"
    for function in ("core_course_edit_module", "core_course_edit_section"):
        key = f"contract/{function}/deprecated"
        assert contract_change(found, key) == ("deprecation", "deprecation announced")
        assert first_note(found, key)["issue"] == "MDL-82342"
    assert data["counts"]["breaking"] > 0 and data["counts"]["deprecation"] >= 2
    assert_note_in_html(out, "MDL-82457", "Remove mod_chat from Moodle 5.0")
    return data


def assert_contract_50_to_51(out: Path) -> dict[str, Any]:
    """What a 5.0 -> 5.1 report must show (see the 5.1 tree's UPGRADING.md)."""
    data = report(out)
    found = by_key(data)
    deprecated = "contract/core_course_get_course_content_items/deprecated"
    assert contract_change(found, deprecated) == ("deprecation", "deprecation announced")
    assert first_note(found, deprecated)["issue"] == "MDL-80295"
    usecloud = "contract/tiny_premium_get_api_key/returns/usecloud"
    assert contract_change(found, usecloud) == ("non-breaking", "return field added")
    note = first_note(found, usecloud)
    assert (note["issue"], note["strength"]) == ("MDL-85727", "explained")
    added = "contract/mod_forum_set_forum_subscription/component"
    assert contract_change(found, added) == ("non-breaking", "function added")
    assert_note_in_html(out, "MDL-85727", "usecloud")
    assert data["notes"]["tree_release"].startswith("5.1")
    return data
