"""The seeding plan: validation errors name line and field; generation is deterministic."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from moodle_regress.plugins import CORE_FORMATS
from moodle_regress.resources import default_plan, packaged_plan
from moodle_regress.seeding.generate import SECTIONLESS_FORMATS, generate
from moodle_regress.seeding.plan import PlanError, load_plan, parse_plan

DEFAULT_PLAN = default_plan()

BAD_PLAN = """\
tag: qa
courses:
  - shortname: A
    category: X
    numsections: five
  - shortname: B
    category: X
    numsections: 2
    sections:
      - {number: 4}
users:
  - {username: Bad User}
  - username: fine
    colour: blue
generate:
  enrolments:
    - {role: student}
"""


def issues(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "plan.yaml")
    return [(i.line, i.field) for i in caught.value.issues]


def test_errors_name_line_and_field() -> None:
    found = issues(BAD_PLAN)
    assert (5, "courses[0].numsections") in found
    assert (6, "courses[1]") in found  # the section beyond numsections
    assert (12, "users[0].username") in found
    assert (14, "users[1].colour") in found  # unknown field
    assert (17, "generate.enrolments[0]") in found  # neither count nor per_course
    assert len(found) == 5


def test_error_message_is_readable() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan("tag: qa\nusers:\n  - {username: Bad User}\n", "p.yaml")
    text = str(caught.value)
    assert "p.yaml:3: users[0].username:" in text
    assert "lower case" in text
    assert "Traceback" not in text


def test_yaml_syntax_error_names_the_line() -> None:
    assert issues("tag: qa\ncourses:\n  - shortname: [unclosed\n")[0][0] == 4


def test_a_plan_must_be_a_mapping() -> None:
    assert issues("- just\n- a list\n") == [(1, "(top level)")]


def test_missing_required_field_points_at_its_entry() -> None:
    found = issues("courses:\n  - shortname: A\n")
    assert found == [(2, "courses[0].category")]


def test_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no such file"):
        load_plan(tmp_path / "absent.yaml")


def test_duplicate_usernames_are_refused() -> None:
    found = issues("users:\n  - {username: a}\n  - {username: a}\n")
    assert found[0][1] == "(top level)"


def test_cross_reference_error_names_the_line() -> None:
    text = "categories:\n  - {name: A}\n  - {name: B, parent: Nowhere}\n"
    plan = parse_plan(text, "p.yaml")
    with pytest.raises(PlanError) as caught:
        generate(plan)
    issue = caught.value.issues[0]
    assert (issue.line, issue.field) == (3, "categories[1].parent")


def test_default_plan_meets_the_issue() -> None:
    plan = load_plan(DEFAULT_PLAN)
    data = generate(plan, 0)
    counts = data.counts()
    assert counts["users"] >= 1000
    assert sum(1 for c in data.courses if c.generated) >= 40
    assert sum(1 for e in data.enrolments if e.role == "student") >= 3000
    assert counts["groups"] > 0 and counts["group_members"] > 0
    assert {c.format for c in data.courses} == set(CORE_FORMATS)
    sections = [s for c in data.courses for s in c.sections]
    assert any(not s.visible for s in sections)
    assert any(s.name for s in sections)
    methods = {(m.method, bool(m.key)) for c in data.courses for m in c.methods}
    assert {("self", True), ("guest", False), ("manual", False)} <= methods


def test_large_plan_is_the_size_of_the_issue() -> None:
    # Issue 20: 20,000 users, 2,000 courses with content, 100,000 enrolments.
    plan = load_plan(packaged_plan("large"))
    counts = generate(plan, 0).counts()
    assert counts["users"] == 20_000
    assert counts["courses"] == 2_000
    assert counts["enrolments"] == 100_000
    assert plan.generate is not None and plan.generate.content is not None
    assert plan.generate.content.courses == "all"


def test_all_installed_formats_adds_extra_courses_and_keeps_the_rest() -> None:
    plan = load_plan(DEFAULT_PLAN)
    core = generate(plan, 3)
    extended = generate(plan, 3, installed_formats=[*CORE_FORMATS, "remuiformat", "tiles"])
    assert {c.format for c in extended.courses} == {*CORE_FORMATS, "remuiformat", "tiles"}
    # The courses every site has are the same; extra formats add courses.
    assert extended.courses[: len(core.courses)] == core.courses
    assert len(extended.courses) == len(core.courses) + 2


def test_same_plan_and_seed_give_the_same_data() -> None:
    plan = load_plan(DEFAULT_PLAN)
    assert asdict(generate(plan, 7)) == asdict(generate(plan, 7))


def test_another_seed_gives_other_data() -> None:
    plan = load_plan(DEFAULT_PLAN)
    one, two = generate(plan, 1), generate(plan, 2)
    assert [u.username for u in one.users] == [u.username for u in two.users]
    assert [u.lastname for u in one.users] != [u.lastname for u in two.users]
    assert one.enrolments != two.enrolments


def test_adding_users_leaves_existing_ones_unchanged() -> None:
    small = parse_plan(
        "generate:\n  users:\n    - {count: 5, username_pattern: 'u{n:02d}'}\n", "a.yaml"
    )
    large = parse_plan(
        "users:\n  - {username: boss}\n"
        "generate:\n  users:\n    - {count: 9, username_pattern: 'u{n:02d}'}\n",
        "b.yaml",
    )
    before = {u.username: u for u in generate(small, 4).users}
    after = {u.username: u for u in generate(large, 4).users}
    assert all(after[name] == user for name, user in before.items())


def test_explicit_entities_are_kept_as_written() -> None:
    plan = load_plan(DEFAULT_PLAN)
    data = generate(plan, 0)
    induction = next(c for c in data.courses if c.shortname == "MR-INDUCTION")
    assert [(s.number, s.name, s.visible) for s in induction.sections] == [
        (1, "Welcome", True),
        (2, "Policies", True),
        (4, "Drafts (hidden)", False),
    ]
    editor = next(u for u in data.users if u.username == "mr-editor")
    assert (editor.firstname, editor.lastname) == ("Eddie", "Editor")


def test_generated_groups_hold_enrolled_users_only() -> None:
    data = generate(load_plan(DEFAULT_PLAN), 5)
    enrolled = {(e.username, e.shortname) for e in data.enrolments}
    for group in data.groups:
        assert all((m, group.shortname) in enrolled for m in group.members)


def test_sectionless_formats_get_no_numbered_sections() -> None:
    data = generate(load_plan(DEFAULT_PLAN), 0)
    for course in data.courses:
        if course.format in SECTIONLESS_FORMATS:
            assert course.numsections == 0 and not course.sections


def test_generated_pattern_collision_is_an_error() -> None:
    plan = parse_plan(
        "users:\n  - {username: u01}\n"
        "generate:\n  users:\n    - {count: 3, username_pattern: 'u{n:02d}'}\n",
        "p.yaml",
    )
    with pytest.raises(PlanError) as caught:
        generate(plan)
    assert caught.value.issues[0].field == "generate.users[0].username_pattern"
    assert caught.value.issues[0].line == 5


def test_one_generator_may_be_given_without_a_list() -> None:
    plan = parse_plan(
        'generate: {users: {count: 3, role_hint: student, username_pattern: "s{n}"}}\n', "p"
    )
    assert [u.username for u in generate(plan).users] == ["s1", "s2", "s3"]
