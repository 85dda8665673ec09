"""Comparing snapshots: added, removed, changed, grouping and counts."""

from __future__ import annotations

from moodle_regress.compare import compare
from moodle_regress.observation import Observation
from moodle_regress.snapshot import Snapshot, SnapshotMeta


def _snap(values: dict[str, object], release: str = "4.5") -> Snapshot:
    return Snapshot(
        SnapshotMeta(release=release),
        [Observation(k, v, release=release) for k, v in values.items()],
    )


def test_identical_snapshots_have_no_differences() -> None:
    a = _snap({"courses/C1/format": "topics", "site/@site/theme": "boost"})
    b = _snap({"courses/C1/format": "topics", "site/@site/theme": "boost"}, release="5.0")
    result = compare(a, b)
    assert result.differences == []
    assert result.unchanged == 2
    assert result.counts().total == 0


def test_added_removed_changed_with_before_and_after() -> None:
    a = _snap({"courses/C1/format": "topics", "webservice/mod_chat_view_chat/version": "1"})
    b = _snap({"courses/C1/format": "weeks", "webservice/core_ai_x/version": "2"})
    result = compare(a, b)
    by_key = {d.key: d for d in result}
    assert by_key["courses/C1/format"].kind == "changed"
    assert (by_key["courses/C1/format"].before_value, by_key["courses/C1/format"].after_value) == (
        "topics",
        "weeks",
    )
    assert by_key["webservice/mod_chat_view_chat/version"].kind == "removed"
    assert by_key["webservice/mod_chat_view_chat/version"].after is None
    assert by_key["webservice/core_ai_x/version"].kind == "added"
    assert by_key["webservice/core_ai_x/version"].before is None
    counts = result.counts()
    assert (counts.added, counts.removed, counts.changed, counts.unexpected) == (1, 1, 1, 3)


def test_type_changes_count_as_changes() -> None:
    a = _snap({"a/b/flag": 1, "a/b/num": 1, "a/b/list": [1]})
    b = _snap({"a/b/flag": True, "a/b/num": 1.0, "a/b/list": [1]})
    assert sorted(d.key for d in compare(a, b)) == ["a/b/flag", "a/b/num"]


def test_nested_value_change_is_detected() -> None:
    a = _snap({"courses/C1/sections/1/modules": [{"name": "Quiz", "visible": 1}]})
    b = _snap({"courses/C1/sections/1/modules": [{"name": "Quiz", "visible": 0}]})
    assert [d.kind for d in compare(a, b)] == ["changed"]


def test_grouped_by_area_then_entity() -> None:
    a = _snap(
        {"courses/C1/format": "topics", "courses/C2/format": "topics", "users/u1/auth": "manual"}
    )
    b = _snap(
        {"courses/C1/format": "weeks", "courses/C2/format": "social", "users/u1/auth": "ldap"}
    )
    grouped = compare(a, b).by_area()
    assert list(grouped) == ["courses", "users"]
    assert list(grouped["courses"]) == ["C1", "C2"]
    assert [d.aspect for d in grouped["courses"]["C1"]] == ["format"]
    assert compare(a, b).counts("users").changed == 1


def test_escaped_entities_group_under_their_real_name() -> None:
    a = _snap({})
    b = _snap({"groups/MR%2FC1/Team A/members": ["u1"]})
    assert list(compare(a, b).by_area()["groups"]) == ["MR/C1"]


def test_json_output() -> None:
    a = _snap({"courses/C1/format": "topics"})
    b = _snap({"courses/C1/format": "weeks"}, release="5.0")
    data = compare(a, b).to_json()
    assert data["counts"]["changed"] == 1
    assert data["after"]["release"] == "5.0"
    assert data["areas"]["courses"]["C1"][0] == {
        "key": "courses/C1/format",
        "area": "courses",
        "entity": "C1",
        "aspect": "format",
        "kind": "changed",
        "source": "api",
        "expected": False,
        "before": "topics",
        "after": "weeks",
        "explanation": "unexplained",
    }
