"""The API suites' content checks pick activities a student can see: recorded
``core_course_get_contents`` answers of the small plan's MR-S001 (4.5.6 and 5.0.6+)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moodle_regress.suites.api.test_content import modules_students_see, one_of_each_type

RECORDED = Path(__file__).parents[1] / "fixtures" / "suites" / "course-contents-MR-S001.json"


def sections(release: str) -> list[dict[str, Any]]:
    answers: dict[str, Any] = json.loads(RECORDED.read_text())["answers"]
    found: list[dict[str, Any]] = answers[release]["sections"]
    return found


def test_activities_of_a_hidden_section_are_not_sampled() -> None:
    # The plan hid section 5, which holds the course's only assignment and choice: a
    # student does not see them (the check failed on every release when it took them).
    sampled = one_of_each_type({"MR-S001": sections("4.5")})
    assert set(sampled) == {"book", "chat", "forum", "page", "quiz", "resource", "survey"}
    assert all(module["visible"] for _, module in sampled.values())


def test_hidden_modules_and_subsections_on_50() -> None:
    seen = {m["modname"] for m in modules_students_see(sections("5.0"))}
    # The course's question bank (qbank, hidden) is no activity a student sees; the
    # subsection module sits in a visible section.
    assert "qbank" not in seen
    assert "subsection" in seen
    assert not {"assign", "choice"} & seen
