"""Observation area ``grades``: each course's grade items and every user's grades.

From ``gradereport_user_get_grade_items`` (one call per course answers for all its
users).  An item's natural key is its activity's key (see ``observe.activities``),
``@course`` for the course total, ``category:<name>`` and ``manual:<name>`` for the
others.

=====================================  ==================================================
``grades/<C>/<item>/item``             name, type, module, range, locked, hidden
``grades/<C>/<item>/users``            username -> grade, overridden, hidden, feedback
=====================================  ==================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moodle_regress.observation import make_key

Fact = tuple[str, Any]

ITEM_FIELDS = ("itemname", "itemtype", "itemmodule", "itemnumber", "grademin", "grademax", "locked")


def item_key(item: Mapping[str, Any], cm_keys: Mapping[int, str]) -> str:
    itemtype = item.get("itemtype")
    if itemtype == "course":
        return "@course"
    if itemtype == "mod" and isinstance(item.get("cmid"), int):
        key = cm_keys.get(int(item["cmid"]), f"{item.get('itemmodule')}:{item.get('itemname')}")
        number = int(item.get("itemnumber") or 0)
        return key if number == 0 else f"{key}#{number}"
    return f"{itemtype}:{item.get('itemname') or '?'}"


def grade_facts(
    course: str,
    answer: Mapping[str, Any],
    cm_keys: Mapping[int, str],
    usernames: Mapping[int, str],
) -> list[Fact]:
    """Items and grades of one course from ``gradereport_user_get_grade_items``."""
    items: dict[str, dict[str, Any]] = {}
    grades: dict[str, dict[str, Any]] = {}
    for user in answer.get("usergrades") or []:
        username = usernames.get(int(user.get("userid", 0)), "<user ?>")
        for item in user.get("gradeitems") or []:
            key = item_key(item, cm_keys)
            items.setdefault(key, {name: item.get(name) for name in ITEM_FIELDS})
            grade = _user_grade(item)
            if grade is not None:
                grades.setdefault(key, {})[username] = grade
    facts: list[Fact] = []
    for key, item in sorted(items.items()):
        facts.append((make_key("grades", course, key, "item"), item))
        facts.append((make_key("grades", course, key, "users"), grades.get(key, {})))
    return facts


def _user_grade(item: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = item.get("graderaw")
    feedback = item.get("feedback") or ""
    overridden = bool(item.get("gradeisoverridden"))
    if raw is None and not feedback and not overridden:
        return None  # not graded: left out to keep the fact small
    return {
        "grade": round(float(raw), 5) if raw is not None else None,
        "overridden": overridden,
        "hidden": bool(item.get("gradeishidden")),
        "locked": bool(item.get("gradeislocked")),
        "feedback": feedback,
    }
