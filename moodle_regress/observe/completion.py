"""Observation area ``completion``: which users completed which activities, and the
courses' completion.

From ``core_completion_get_activities_completion_status`` and
``core_completion_get_course_completion_status`` (one call per course and user: the
students of courses that track completion; the course's own only where it has criteria).

=======================================  ===============================================
``completion/<C>/<A>/users``             state -> sorted usernames (complete,
                                         complete-pass, complete-fail)
``completion/<C>/<A>/tracking``          manual or automatic, and its rules' names
``completion/<C>/<A>/course-criterion``  the course completion criterion on activity A:
                                         its requirement (kept beside the activity, so a
                                         deleted activity's criterion goes with its key)
``completion/<C>/@course/criteria``      aggregation, and the other criteria by type
``completion/<C>/@course/users``         state -> sorted usernames (complete,
                                         in-progress, not-started)
=======================================  ===============================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from moodle_regress.observation import make_key

Fact = tuple[str, Any]

#: Moodle's COMPLETION_* states.
STATES = {0: "incomplete", 1: "complete", 2: "complete-pass", 3: "complete-fail"}
TRACKING = {0: "none", 1: "manual", 2: "automatic"}


def completion_facts(
    course: str,
    answers: Iterable[tuple[str, Mapping[str, Any]]],
    cm_keys: Mapping[int, str],
) -> list[Fact]:
    """``answers``: (username, answer of one user's statuses in the course)."""
    states: dict[str, dict[str, list[str]]] = {}
    tracking: dict[str, dict[str, Any]] = {}
    for username, answer in answers:
        for status in answer.get("statuses") or []:
            key = cm_keys.get(int(status.get("cmid", 0)), f"{status.get('modname')}:?")
            state = STATES.get(int(status.get("state", 0)), str(status.get("state")))
            tracking.setdefault(
                key,
                {
                    "tracking": TRACKING.get(int(status.get("tracking", 0)), "?"),
                    "rules": sorted(str(d.get("rulename")) for d in status.get("details") or []),
                },
            )
            if state != "incomplete":
                states.setdefault(key, {}).setdefault(state, []).append(username)
    facts: list[Fact] = []
    for key in sorted(tracking):
        users = {state: sorted(names) for state, names in states.get(key, {}).items()}
        facts.append((make_key("completion", course, key, "users"), users))
        facts.append((make_key("completion", course, key, "tracking"), tracking[key]))
    return facts


#: The aspect of a course's own completion (``@``: no activity key starts with it).
COURSE = "@course"
#: Moodle's COMPLETION_CRITERIA_TYPE_* and COMPLETION_AGGREGATION_*.
CRITERIA_TYPES = {
    1: "self",
    2: "date",
    3: "unenrol",
    4: "activity",
    5: "duration",
    6: "grade",
    7: "role",
    8: "course",
}
AGGREGATION = {1: "all", 2: "any"}
#: The error of ``core_completion_get_course_completion_status`` for a course without
#: criteria: its other students are not asked.
NO_CRITERIA = "nocriteriaset"
#: Its error for a student whose completion is not tracked (a suspended enrolment...).
NOT_TRACKED = "usernotenroled"
_CMID = re.compile(r"/mod/\w+/view\.php\?id=(\d+)")
_TAG = re.compile(r"<[^>]*>")


def course_criterion(
    row: Mapping[str, Any], cm_keys: Mapping[int, str]
) -> tuple[str | None, dict[str, Any]]:
    """One criterion of a course completion status: the key of the activity it names (read
    from the link Moodle gives, never an id), or None for another type; and its facts."""
    details = row.get("details") or {}
    kind = CRITERIA_TYPES.get(int(row.get("type", 0)), str(row.get("type")))
    text = _TAG.sub("", str(details.get("criteria") or ""))
    requirement = str(details.get("requirement") or "")
    if kind == "activity":
        found = _CMID.search(str(details.get("criteria") or ""))
        activity = cm_keys.get(int(found.group(1))) if found else None
        return activity or f"activity:{text}", {"requirement": requirement}
    return None, {"type": kind, "criteria": text, "requirement": requirement}


def course_state(status: Mapping[str, Any]) -> str:
    if status.get("completed"):
        return "complete"
    if any(row.get("complete") for row in status.get("completions") or []):
        return "in-progress"
    return "not-started"


def _criteria_facts(
    course: str, status: Mapping[str, Any], cm_keys: Mapping[int, str]
) -> list[Fact]:
    by_activity: dict[str, dict[str, Any]] = {}
    others: list[dict[str, Any]] = []
    for row in status.get("completions") or []:
        activity, item = course_criterion(row, cm_keys)
        if activity is None:
            others.append(item)
        else:
            by_activity[make_key("completion", course, activity, "course-criterion")] = item
    criteria = {
        "aggregation": AGGREGATION.get(int(status.get("aggregation", 0)), "?"),
        "criteria": sorted(others, key=lambda r: sorted(r.items())),
    }
    return [
        (make_key("completion", course, COURSE, "criteria"), criteria),
        *sorted(by_activity.items()),
    ]


def course_completion_facts(
    course: str,
    answers: Iterable[tuple[str, Mapping[str, Any]]],
    cm_keys: Mapping[int, str],
) -> list[Fact]:
    """``answers``: (username, one user's course completion status in the course)."""
    criteria: list[Fact] | None = None
    users: dict[str, list[str]] = {}
    for username, answer in answers:
        status = answer.get("completionstatus") or {}
        if criteria is None:
            criteria = _criteria_facts(course, status, cm_keys)
        users.setdefault(course_state(status), []).append(username)
    if criteria is None:
        return []
    return [
        *criteria,
        (
            make_key("completion", course, COURSE, "users"),
            {state: sorted(names) for state, names in sorted(users.items())},
        ),
    ]
