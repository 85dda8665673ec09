"""Observation area ``quiz``: every student's attempts at each quiz.

From ``mod_quiz_get_user_attempts`` (per quiz and student, previews left out).

=====================================  ===============================================
``quiz/<C>/<A>/attempts``              username -> [attempt number, state, sum of
                                       grades]
=====================================  ===============================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from moodle_regress.observation import make_key

Fact = tuple[str, Any]


def attempts_fact(course: str, quiz: str, answers: Iterable[tuple[str, Mapping[str, Any]]]) -> Fact:
    """``answers``: (username, ``mod_quiz_get_user_attempts`` answer)."""
    attempts: dict[str, list[dict[str, Any]]] = {}
    for username, answer in answers:
        mine = [
            {
                "attempt": a.get("attempt"),
                "state": a.get("state"),
                "sumgrades": round(float(a["sumgrades"]), 5)
                if a.get("sumgrades") is not None
                else None,
            }
            for a in sorted(answer.get("attempts") or [], key=lambda a: int(a.get("attempt", 0)))
        ]
        if mine:
            attempts[username] = mine
    return make_key("quiz", course, quiz, "attempts"), attempts
