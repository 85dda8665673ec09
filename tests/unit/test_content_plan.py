"""Content in plans: the Behat-style vocabulary, its validation, and deterministic
generation of activities, question banks and students' work."""

from __future__ import annotations

from collections import Counter

import pytest

from moodle_regress.resources import default_plan, packaged_plan
from moodle_regress.seeding.content import generate_content
from moodle_regress.seeding.content_apply import content_payload
from moodle_regress.seeding.generate import generate, namespaced
from moodle_regress.seeding.plan import PlanError, load_plan, parse_plan

DEFAULT_PLAN = default_plan()
SMALL_PLAN = packaged_plan("small")

#: The modules a 4.5 site has enabled once the default plan enabled chat and survey.
MODULES_45 = [
    *("assign", "book", "chat", "choice", "data", "feedback", "folder", "forum", "glossary"),
    *("h5pactivity", "imscp", "label", "lesson", "lti", "page", "quiz", "resource", "scorm"),
    *("survey", "url", "wiki", "workshop"),
]

EXPLICIT = """\
tag: qa
categories: [{name: Science, idnumber: sci}]
courses:
  - {shortname: PHYS1, category: sci, numsections: 3}
users:
  - {username: teacher1, role_hint: editingteacher}
  - {username: student1}
  - {username: student2}
enrolments:
  - {user: teacher1, course: PHYS1, role: editingteacher}
  - {user: student1, course: PHYS1}
  - {user: student2, course: PHYS1}
question_categories:
  - {course: PHYS1, name: Kinematics, idnumber: kin}
questions:
  - {questioncategory: kin, qtype: truefalse, name: Vector, idnumber: q1, correct: false}
  - {questioncategory: kin, qtype: match, name: Units, idnumber: q2,
     answers: ["speed -> m/s", "force -> N"]}
activities:
  - {activity: quiz, course: PHYS1, idnumber: quiz1, section: 1, questions: [q1, q2],
     completion: automatic, completion_rules: {completionusegrade: 1}, dates: {timeclose: 7}}
  - {activity: forum, course: PHYS1, idnumber: forum1, name: Questions}
  - {activity: choice, course: PHYS1, idnumber: poll1, options: ["Yes", "No"]}
forum_discussions:
  - {forum: forum1, user: teacher1, name: Welcome, replies: [{user: student1}]}
quiz_attempts:
  - {quiz: quiz1, user: student1, right: 0.5}
  - {quiz: quiz1, user: student2, finished: false}
choice_responses:
  - {choice: poll1, user: student2, option: "No"}
"""


def issues(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "plan.yaml")
    return [(i.line, i.field, i.message) for i in caught.value.issues]


def test_explicit_content_is_generated_as_written() -> None:
    plan = parse_plan(EXPLICIT, "plan.yaml")
    content = generate_content(plan, generate(plan, 0), MODULES_45)
    quiz = next(a for a in content.activities if a.key == "quiz1")
    assert (quiz.course, quiz.section, quiz.completion) == ("PHYS1", 1, 2)
    assert quiz.content["questions"] == ["q1", "q2"]
    assert quiz.dates == {"timeclose": 7}
    assert quiz.name  # a Faker name where the plan gives none
    match = next(q for q in content.questions if q.key == "q2")
    assert match.answers == (("speed", "m/s"), ("force", "N"))
    assert next(q for q in content.questions if q.key == "q1").correct is False
    attempts = {a.user: a for a in content.attempts}
    assert attempts["student1"].right == (True, False)
    assert attempts["student2"].finished is False
    (discussion,) = content.discussions
    assert [user for user, _ in discussion.replies] == ["student1"]
    assert content.responses[0].option == "No"
    assert content.courses() == ["PHYS1"]


def test_content_fields_must_fit_the_activity() -> None:
    text = EXPLICIT.replace(
        "{activity: forum, course: PHYS1, idnumber: forum1, name: Questions}",
        "{activity: forum, course: PHYS1, idnumber: forum1, options: [a]}",
    )
    (found,) = issues(text)
    assert found[1] == "activities[1]"
    assert "'options' is for choice activities, not forum" in found[2]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'answers: ["speed -> m/s", "force -> N"]',
            'answers: ["speed", "force"]',
            "match answers read 'stem -> answer'",
        ),
        (
            "idnumber: forum1, name: Questions",
            "idnumber: quiz1, name: Questions",
            "activities: idnumber 'quiz1' appears twice",
        ),
        ("qtype: truefalse", "qtype: calculated", "Input should be"),
    ],
)
def test_content_errors_name_the_problem(old: str, new: str, message: str) -> None:
    assert old in EXPLICIT
    found = issues(EXPLICIT.replace(old, new))
    assert any(message in text for _, _, text in found), found


def test_work_must_name_a_planned_activity() -> None:
    plan = parse_plan(
        EXPLICIT.replace("{quiz: quiz1, user: student1", "{quiz: nope, user: student1")
    )
    with pytest.raises(PlanError, match="activity 'nope' is not in the plan's activities"):
        generate_content(plan, generate(plan, 0), MODULES_45)


def test_default_plan_has_content_on_every_course() -> None:
    plan = load_plan(DEFAULT_PLAN)
    data = generate(plan, 0)
    content = generate_content(plan, data, MODULES_45)
    courses = {c.shortname for c in data.courses}
    assert set(content.courses()) == courses
    by_course = Counter(a.course for a in content.activities)
    multi = [c for c in data.courses if c.format != "singleactivity" and c.generated]
    # About 10: a slot of a module the site lacks (bigbluebuttonbn here) stays empty.
    assert all(9 <= by_course[c.shortname] <= 10 for c in multi)
    # Every enabled module appears somewhere, chat and survey included.
    assert {a.modname for a in content.activities} == set(MODULES_45)
    questions = Counter(q.course for q in content.questions)
    assert min(questions[c.shortname] for c in data.courses if c.generated) >= 40
    # Most students attempt each quiz and submit each assignment.
    students = Counter(e.shortname for e in data.enrolments if e.role == "student")
    quiz = next(a for a in content.activities if a.modname == "quiz" and a.course == "MR-C001")
    takers = [a for a in content.attempts if a.quiz == quiz.key]
    assert len(takers) == round(0.8 * students["MR-C001"])
    assert any(not a.finished for a in takers) and any(a.finished for a in takers)


def test_generation_is_deterministic_and_follows_the_site() -> None:
    plan = load_plan(SMALL_PLAN)
    data = generate(plan, 3)
    first = generate_content(plan, data, MODULES_45)
    again = generate_content(plan, generate(plan, 3), MODULES_45)
    assert first == again
    # Without chat and survey (Moodle 5.0) their activities are left out and every other
    # activity keeps its key: seeding again after an upgrade makes nothing new.
    # (The plan's written-out chat and survey stay: the site refuses them, not the plan.)
    without = [m for m in MODULES_45 if m not in ("chat", "survey")]
    on_50 = generate_content(plan, data, without)
    explicit = {a.idnumber for a in plan.activities}
    generated_50 = [a for a in on_50.activities if a.key not in explicit]
    assert not {a.modname for a in generated_50} & {"chat", "survey"}
    kept = [a for a in first.activities if a.key in explicit or a.modname not in ("chat", "survey")]
    assert kept == on_50.activities
    assert any(a.modname == "chat" and a.key not in explicit for a in first.activities)


def test_course_formats_shape_the_activities() -> None:
    plan = load_plan(SMALL_PLAN)
    data = generate(plan, 0)
    content = generate_content(plan, data, [*MODULES_45, "subsection"])
    formats = {c.shortname: c.format for c in data.courses}
    for course, fmt in formats.items():
        mine = [a for a in content.activities if a.course == course]
        if fmt == "singleactivity":
            assert [a.modname for a in mine] == ["forum"]
        if fmt in ("singleactivity", "social"):
            assert {a.section for a in mine} == {0}
            assert "subsection" not in {a.modname for a in mine}


def test_payload_tags_every_idnumber() -> None:
    plan = parse_plan(EXPLICIT)
    content = generate_content(plan, generate(plan, 0), MODULES_45)
    (course,) = content_payload(content, "qa")
    assert course["shortname"] == "PHYS1"
    assert [c["idnumber"] for c in course["bank"]] == ["mr-qa-kin"]
    assert [q["idnumber"] for q in course["bank"][0]["questions"]] == ["mr-qa-q1", "mr-qa-q2"]
    quiz = next(a for a in course["activities"] if a["modname"] == "quiz")
    assert quiz["idnumber"] == "mr-qa-quiz1"
    assert quiz["content"]["questions"] == ["mr-qa-q1", "mr-qa-q2"]
    assert {a["quiz"] for a in course["work"]["attempts"]} == {"mr-qa-quiz1"}


def test_namespaced_datasets_rename_explicit_content() -> None:
    plan = parse_plan(EXPLICIT)
    data = namespaced(generate(plan, 0), "b1")
    content = generate_content(plan, data, MODULES_45)
    assert content.courses() == ["b1-PHYS1"]
    assert {a.user for a in content.attempts} == {"b1-student1", "b1-student2"}
