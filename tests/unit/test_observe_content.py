"""The content observer (activities, grades, completion, forums, quiz attempts, files,
question banks), replaying what real 4.5, 5.0 and 5.1 sandboxes answered about two
courses of the small plan (recorded by ``python -m tests.record_fixtures --content-site``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.observe import ApiObserver
from moodle_regress.resources import packaged_plan
from moodle_regress.seeding.content import generate_content
from moodle_regress.seeding.generate import generate
from moodle_regress.seeding.plan import load_plan
from moodle_ws import MoodleClient
from moodle_ws.testing import PLACEHOLDER_URL, ReplayTransport
from tests.record_fixtures import CONTENT_COURSES, CONTENT_USERS

RECORDINGS = Path(__file__).parents[2] / "fixtures" / "recordings"
RELEASES = [r for r in ("4.5", "5.0", "5.1") if (RECORDINGS / r / "observe-content.json").is_file()]


def _accept(kind: str, record: Mapping[str, Any]) -> bool:
    if kind == "course":
        return record.get("shortname") in CONTENT_COURSES
    return record.get("username") in CONTENT_USERS


def observe(release: str) -> dict[str, Any]:
    folder = RECORDINGS / release
    local = json.loads((folder / "question-banks.json").read_text())["answer"]
    client = MoodleClient(
        PLACEHOLDER_URL,
        "replayed-token",
        transport=ReplayTransport(folder / "observe-content.json", ordered=False),
    )
    run = ApiObserver(client, entity_filter=_accept, question_banks=lambda names: local).observe()
    return {o.key: o.value for o in run.observations} | {"__notes__": run.meta.notes}


@pytest.fixture(scope="module", params=RELEASES)
def observed(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return str(request.param), observe(str(request.param))


def site_modules(release: str) -> list[str]:
    """The enabled modules of the recorded sites (the small plan enables chat and survey)."""
    modules = ["assign", "book", "choice", "data", "feedback", "folder", "forum", "glossary"]
    modules += ["h5pactivity", "imscp", "label", "lesson", "lti", "page", "quiz", "resource"]
    modules += ["scorm", "url", "wiki", "workshop"]
    return modules + (["chat", "survey"] if release == "4.5" else ["subsection"])


def planned_content(release: str) -> Any:
    """The small plan's content as the recorded site's modules made it (an activity of a
    module the site lacks, written out in the plan, is not made)."""
    plan = load_plan(packaged_plan("small"))
    content = generate_content(plan, generate(plan, 0), site_modules(release))
    content.activities = [a for a in content.activities if a.modname in site_modules(release)]
    return content


def test_every_activity_of_the_courses_is_observed(observed: tuple[str, dict[str, Any]]) -> None:
    release, facts = observed
    content = planned_content(release)
    for activity in content.activities:
        if activity.course not in CONTENT_COURSES:
            continue
        key = f"activities/{activity.course}/mr-small-{activity.key}/module"
        assert key in facts, key
        assert facts[key]["modname"] == activity.modname
        assert facts[key]["section"] == activity.section
    # The automatic news forum, without an ID number, is keyed by type and name.
    assert facts["activities/MR-S001/forum:Announcements/settings/type"] == "news"


def test_settings_and_completion_rules(observed: tuple[str, dict[str, Any]]) -> None:
    _, facts = observed
    quiz = next(
        k for k in facts if re.match(r"activities/MR-S001/mr-small-MR-S001-quiz1/module", k)
    )
    assert facts[quiz]["modname"] == "quiz"
    base = "activities/MR-S001/mr-small-MR-S001-quiz1"
    # The quiz closes 28 days after the course starts (the plan's date), whatever the day.
    assert facts[f"{base}/settings/timeclose"] == "start+28d"
    assert facts[f"{base}/completion"]["completion"] == 2
    assign = "activities/MR-S001/mr-small-MR-S001-assign1"
    assert facts[f"{assign}/settings/duedate"] == "start+14d"
    assert facts[f"{assign}/completion-rules"]["completionsubmit"] in (1, True)


def test_enabled_modules_follow_the_release(observed: tuple[str, dict[str, Any]]) -> None:
    release, facts = observed
    enabled = set(facts["activities/@site/modules-enabled"])
    assert {"assign", "quiz", "forum", "page"} <= enabled
    installed = facts["activities/@site/modules-installed"]
    if release == "4.5":
        # The plan enabled chat and survey; 4.5 ships subsections disabled.
        assert {"chat", "survey"} <= enabled
        assert installed["subsection"] == "disabled" and installed["chat"] == "enabled"
    else:
        assert not {"chat", "survey"} & enabled and "chat" not in installed
        # The chooser leaves subsections out: only the site's modules say they are on.
        assert installed["subsection"] == "enabled" and installed["qbank"] == "enabled"


def test_grades_completion_attempts_forums(observed: tuple[str, dict[str, Any]]) -> None:
    _, facts = observed
    quiz_grades = facts["grades/MR-S001/mr-small-MR-S001-quiz1/users"]
    assert quiz_grades and all(g["grade"] is not None for g in quiz_grades.values())
    assert facts["grades/MR-S001/@course/item"]["itemtype"] == "course"
    attempts = facts["quiz/MR-S001/mr-small-MR-S001-quiz1/attempts"]
    states = {a["state"] for user in attempts.values() for a in user}
    assert states <= {"finished", "inprogress"} and "finished" in states
    done = facts["completion/MR-S001/mr-small-MR-S001-assign1/users"]
    assert done.get("complete"), done
    discussions = [k for k in facts if k.startswith("forums/MR-S001/mr-small-MR-S001-forum1/")]
    assert facts["forums/MR-S001/mr-small-MR-S001-forum1/discussions"] == len(discussions) - 1
    posts = next(v for k, v in facts.items() if k in discussions and k.endswith("(1)"))
    assert len(posts["posts"]) == 2  # one discussion, one reply
    assert all(re.fullmatch(r"[0-9a-f]{40}", p["message_sha1"]) for p in posts["posts"])


def test_files_hash_the_content_the_plan_made(observed: tuple[str, dict[str, Any]]) -> None:
    release, facts = observed
    content = planned_content(release)
    checked = 0
    for activity in content.activities:
        if activity.course not in CONTENT_COURSES or activity.modname not in ("folder", "resource"):
            continue
        for file in activity.content["files"]:
            keys = [
                k
                for k in facts
                if k.startswith(f"files/{activity.course}/mr-small-{activity.key}/")
                and k.endswith("%2F" + file["name"])
            ]
            assert len(keys) == 1, (activity.key, file["name"], keys)
            expected = hashlib.sha1(file["content"].encode()).hexdigest()  # noqa: S324
            assert facts[keys[0]]["sha1"] == expected
            checked += 1
    assert checked, "the recorded courses hold no folder or resource"


def test_question_banks_live_where_the_release_keeps_them(
    observed: tuple[str, dict[str, Any]],
) -> None:
    release, facts = observed
    banks = facts["questions/MR-S001/bank"]
    if release == "4.5":
        assert banks == [{"contextlevel": "course"}]
    else:
        (bank,) = [b for b in banks if b.get("modname") == "qbank"]
        assert bank["type"] == "system" and bank["name"] == "MR-S001 shared question bank"
    questions = {
        k: v for k, v in facts.items() if k.startswith("questions/MR-S001/") and "/mr-small-" in k
    }
    assert len(questions) == 8  # the small plan's bank
    assert {v["qtype"] for v in questions.values()} == {
        "multichoice",
        "truefalse",
        "shortanswer",
        "numerical",
        "essay",
        "match",
    }


def test_remote_sites_note_the_question_banks() -> None:
    folder = RECORDINGS / RELEASES[0]
    client = MoodleClient(
        PLACEHOLDER_URL,
        "replayed-token",
        transport=ReplayTransport(folder / "observe-content.json", ordered=False),
    )
    run = ApiObserver(client, entity_filter=_accept).observe()
    assert any("question banks not observed" in note for note in run.meta.notes)
    assert not [o for o in run.observations if o.area == "questions"]


def test_activity_settings_hold_no_database_ids(observed: tuple[str, dict[str, Any]]) -> None:
    # h5pactivity's answer carries its context id and its package's URL (which holds that
    # id): the same activity on two sites differed by them (4.5 on PostgreSQL vs MariaDB).
    _, seen = observed
    h5p = [k for k in seen if k.startswith("activities/") and "h5pactivity" in k]
    assert any("/settings/" in k for k in h5p)
    assert not [k for k in h5p if k.endswith(("/settings/context", "/settings/package"))]


def test_course_completion_criteria_are_the_activities_that_track_completion(
    observed: tuple[str, dict[str, Any]],
) -> None:
    release, facts = observed
    content = planned_content(release)
    for course in CONTENT_COURSES:
        tracked = sorted(
            f"mr-small-{a.key}" for a in content.activities if a.course == course and a.completion
        )
        criteria = facts[f"completion/{course}/@course/criteria"]
        assert criteria == {"aggregation": "all", "criteria": []}  # activity criteria only
        # Each criterion stands beside its activity, by key, never by course module id.
        on_activities = criteria_activities(facts, course)
        assert sorted(on_activities) == tracked
        manual = [a for a in on_activities if a.endswith("forum1")]
        assert on_activities[manual[0]] == {"requirement": "Marking yourself complete"}


def criteria_activities(facts: dict[str, Any], course: str) -> dict[str, Any]:
    """Activity key -> its course completion criterion, for one course."""
    head, tail = f"completion/{course}/", "/course-criterion"
    return {
        key[len(head) : -len(tail)]: value
        for key, value in facts.items()
        if key.startswith(head) and key.endswith(tail)
    }


def test_course_completion_states_follow_the_activities(
    observed: tuple[str, dict[str, Any]],
) -> None:
    _, facts = observed
    for course in CONTENT_COURSES:
        users = facts[f"completion/{course}/@course/users"]
        assert set(users) <= {"complete", "in-progress", "not-started"}
        assert all(names == sorted(names) for names in users.values())
        done: set[str] = set()
        for activity in criteria_activities(facts, course):
            states = facts.get(f"completion/{course}/{activity}/users", {})
            done |= set(states.get("complete", [])) | set(states.get("complete-pass", []))
        # A student who completed one of the criteria's activities has started the course;
        # none completed the forum (manual completion), so none completed the course.
        assert done and done <= set(users["in-progress"])
        assert "complete" not in users


def recorded_course_status(release: str) -> tuple[dict[str, Any], dict[int, str]]:
    """One student's course completion status as the recorded site answered it, and the
    course module keys its links name (by the activity's name in the answer)."""
    calls = json.loads((RECORDINGS / release / "observe-content.json").read_text())["calls"]
    for call in calls:
        if call["function"] == "core_completion_get_course_completion_status":
            answer = json.loads(call["text"])
            if answer.get("completionstatus"):
                rows = answer["completionstatus"]["completions"]
                links = [re.search(r"id=(\d+)", r["details"]["criteria"]) for r in rows]
                return answer, {int(m.group(1)): f"a{m.group(1)}" for m in links if m}
    raise AssertionError("no course completion status recorded")


def test_a_deleted_activity_takes_only_its_own_criterion_with_it() -> None:
    # 5.0 uninstalls mod_chat and mod_survey, and its course completion status then lists
    # the other criteria only (seen live, 4.5.6 -> 5.0.6+): the difference must be keyed
    # by the deleted activity, so that rules and readers see what went, not a whole
    # course's criteria changed.
    from moodle_regress.observe.completion import course_completion_facts

    answer, cm_keys = recorded_course_status("4.5")
    before = dict(course_completion_facts("C", [("s1", answer)], cm_keys))
    gone = answer["completionstatus"]["completions"][0]
    after_answer = json.loads(json.dumps(answer))
    after_answer["completionstatus"]["completions"].remove(gone)
    after = dict(course_completion_facts("C", [("s1", after_answer)], cm_keys))
    deleted = cm_keys[int(re.search(r"id=(\d+)", gone["details"]["criteria"]).group(1))]  # type: ignore[union-attr]
    assert set(before) - set(after) == {f"completion/C/{deleted}/course-criterion"}
    assert {k for k in after if before[k] != after[k]} <= {"completion/C/@course/users"}


def test_a_page_moodle_renders_hashes_alike_at_another_address() -> None:
    # A 4.5 default-plan rehearsal: the induction page's text names the course's
    # assignment, which the activity-names filter links with the site's address; the
    # restored copy (another port) served the same page with another hash.
    from moodle_regress.observation import clean_string
    from moodle_regress.observe.files import file_fact

    module = {"modname": "page"}
    item = {"fileurl": "http://x/webservice/pluginfile.php/5/mod_page/content/index.html",
            "filename": "index.html", "filepath": "/", "filesize": 0, "type": "file"}  # fmt: skip
    served = '<p>Start here: <a href="{}/mod/assign/view.php?id=7">your first week</a></p>'

    def fact(root: str, size: int = 0) -> Any:
        return file_fact(
            "MR-INDUCTION", "ind-welcome", module, {**item, "filesize": size},
            served.format(root), clean=lambda text: clean_string(text, root),
        )[1]["sha1"]  # fmt: skip

    assert fact("http://127.0.0.1:28235") == fact("http://127.0.0.1:29001")
    # The page's own text still counts; a stored file is hashed as it is.
    assert (
        fact("http://127.0.0.1:28235")
        != file_fact("MR-INDUCTION", "ind-welcome", module, item, "<p>Another text</p>")[1]["sha1"]
    )
    assert fact("http://127.0.0.1:28235", 90) != fact("http://127.0.0.1:29001", 90)
