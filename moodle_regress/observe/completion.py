"""Observation area ``completion``: which users completed which activities.

From ``core_completion_get_activities_completion_status`` (one call per course and
user: the students of courses that track completion).

=======================================  ===============================================
``completion/<C>/<A>/users``             state -> sorted usernames (complete,
                                         complete-pass, complete-fail)
``completion/<C>/<A>/tracking``          manual or automatic, and its rules' names
=======================================  ===============================================
"""

from __future__ import annotations

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
