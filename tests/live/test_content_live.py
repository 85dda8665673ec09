"""Course content on real 4.5, 5.0 and 5.1 sites: made once by Moodle's own data
generators through ``php/content.php``, found again on a second run, observed through
web services (and the question bank through the sandbox's code), the same when
observed twice, and removed by cleanup.  The activities that track completion become
the course's completion criteria; the student who completed them all completes it.

The plan enables no module (no site-wide change on the shared sandboxes); a site
where chat or survey is off counts their activities as not possible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moodle_regress.compare import compare
from moodle_regress.observe import ApiObserver, local_reads, prefix_filter
from moodle_regress.observe.local_reads import LocalReads
from moodle_regress.observe.questions import question_bank_reader
from moodle_regress.observe.registry import all_areas_but
from moodle_regress.plugins import site_code_dir
from moodle_regress.seeding import apply_dataset, cleanup, generate, installed_formats, local_site
from moodle_regress.seeding.plan import parse_plan
from moodle_regress.site import SiteDescriptor

pytestmark = [pytest.mark.live]

TAG = "lc"
PLAN = f"""\
tag: {TAG}
categories: [{{name: Content live test, idnumber: lc}}]
courses:
  - {{shortname: MR-LC1, fullname: Content live test, category: lc, numsections: 3}}
users:
  - {{username: mr-lc-teacher, role_hint: editingteacher}}
  - {{username: mr-lc-s1}}
  - {{username: mr-lc-s2}}
  - {{username: mr-lc-s3}}
enrolments:
  - {{user: mr-lc-teacher, course: MR-LC1, role: editingteacher}}
  - {{user: mr-lc-s1, course: MR-LC1}}
  - {{user: mr-lc-s2, course: MR-LC1}}
  - {{user: mr-lc-s3, course: MR-LC1}}
question_categories:
  - {{course: MR-LC1, name: Basics, idnumber: lc-basics}}
questions:
  - {{questioncategory: lc-basics, qtype: truefalse, name: TF, idnumber: lc-q1, correct: true}}
  - {{questioncategory: lc-basics, qtype: numerical, name: Sum, idnumber: lc-q2,
     questiontext: "What is 2 + 2?", answers: ["4"]}}
  - {{questioncategory: lc-basics, qtype: match, name: Pairs, idnumber: lc-q3,
     answers: ["cat -> mammal", "frog -> amphibian"]}}
activities:
  - {{activity: quiz, course: MR-LC1, idnumber: lc-quiz, name: Basics quiz, section: 1,
     questions: [lc-q1, lc-q2, lc-q3], completion: automatic,
     completion_rules: {{completionusegrade: 1}}, dates: {{timeclose: 10}}}}
  - {{activity: assign, course: MR-LC1, idnumber: lc-assign, name: Essay, section: 1,
     completion: automatic, completion_rules: {{completionsubmit: 1}}, dates: {{duedate: 7}}}}
  - {{activity: forum, course: MR-LC1, idnumber: lc-forum, name: Questions, section: 2}}
  - {{activity: choice, course: MR-LC1, idnumber: lc-choice, section: 2, options: [Red, Blue]}}
  - {{activity: folder, course: MR-LC1, idnumber: lc-folder, section: 3,
     files: [{{name: a.txt, content: "first file"}}, {{name: b.txt}}]}}
  - {{activity: page, course: MR-LC1, idnumber: lc-page, section: 3, completion: automatic,
     completion_rules: {{completionview: 1}}}}
  - {{activity: chat, course: MR-LC1, idnumber: lc-chat, section: 3}}
  - {{activity: subsection, course: MR-LC1, idnumber: lc-sub, name: More, section: 2}}
forum_discussions:
  - {{forum: lc-forum, user: mr-lc-teacher, name: Welcome, replies: [{{user: mr-lc-s1}}]}}
quiz_attempts:
  - {{quiz: lc-quiz, user: mr-lc-s1, right: 1.0}}
  - {{quiz: lc-quiz, user: mr-lc-s2, right: 0.34}}
  - {{quiz: lc-quiz, user: mr-lc-s3, finished: false}}
assign_submissions:
  - {{assign: lc-assign, user: mr-lc-s1}}
  - {{assign: lc-assign, user: mr-lc-s2}}
assign_grades:
  - {{assign: lc-assign, user: mr-lc-s1, grade: 81, feedback: Well argued.}}
choice_responses:
  - {{choice: lc-choice, user: mr-lc-s2, option: Blue}}
activity_completions:
  - {{activity: lc-page, user: mr-lc-s3}}
  - {{activity: lc-page, user: mr-lc-s1}}
grade_overrides:
  - {{activity: lc-assign, user: mr-lc-s2, grade: 64}}
"""


def facts(site: SiteDescriptor) -> Any:
    with site.client(timeout=300) as client:
        return ApiObserver(
            client,
            entity_filter=prefix_filter(f"mr-{TAG}-"),
            question_banks=question_bank_reader(site),
        ).observe()


def assert_bulk_reads_observe_the_same(
    site: SiteDescriptor, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Read in bulk, Moodle's answers are those of HTTP: so are the observations."""
    monkeypatch.setattr(local_reads, "MIN_CALLS", 2)  # the few calls of a small plan
    http, bulk, reads = read_both_ways(site, tmp_path)
    assert reads.calls > 20 and reads.runs > 5
    assert len(compare(http.snapshot(), bulk.snapshot())) == 0
    assert http.count == bulk.count and http.areas == bulk.areas


def read_both_ways(site: SiteDescriptor, tmp_path: Path) -> tuple[Any, Any, LocalReads]:
    """The seeded courses observed on the sandbox through HTTP, then with every read of
    which there are several in bulk through ``php/ws_batch.php``."""
    runs = []
    for bulk in (False, True):
        with site.client(timeout=300) as client:
            observer = ApiObserver(
                client,
                entity_filter=prefix_filter(f"mr-{TAG}-"),
                question_banks=question_bank_reader(site),
                areas=all_areas_but("contract", "plugins"),
                code_dir=site_code_dir(site),
                site=site,
                php_log=tmp_path / "php.log",
                local_reads=bulk,
            )
            runs.append(observer.observe())
    assert observer.ctx.local_reads is not None
    return runs[0], runs[1], observer.ctx.local_reads


def assert_course_completion(seen: dict[str, Any], course: str) -> None:
    assert seen[f"completion/{course}/@course/criteria"] == {"aggregation": "all", "criteria": []}
    head, tail = f"completion/{course}/", "/course-criterion"
    on_activities = sorted(
        k[len(head) : -len(tail)] for k in seen if k.startswith(head) and k.endswith(tail)
    )
    assert on_activities == ["mr-lc-lc-assign", "mr-lc-lc-page", "mr-lc-lc-quiz"]
    # s1 did all three; s2 the quiz and the essay; s3 the page and an unfinished attempt.
    assert seen[f"completion/{course}/@course/users"] == {
        "complete": ["mr-lc-s1"],
        "in-progress": ["mr-lc-s2", "mr-lc-s3"],
    }


@pytest.mark.parametrize("release", ["4.5", "5.0", "5.1"])
def test_content_made_once_observed_and_removed(
    release: str, live_site_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = live_site_factory(release)
    plan = parse_plan(PLAN, "content live plan")
    local = local_site(site)
    with site.client(timeout=600) as client:
        data = generate(plan, 0, installed_formats=installed_formats(client, local))
        cleanup(client, TAG, data=data, local=local)
        first = apply_dataset(client, data, local=local)
        again = apply_dataset(client, data, local=local)
    made = {name: count.created for name, count in first.steps.items()}
    unavailable = first.steps["activities"].unavailable
    assert made["activities"] + unavailable == 8
    if release == "4.5":
        # Subsections are off on 4.5; chat too, unless a plan (the default one) enabled it.
        assert unavailable in (1, 2)
    else:
        assert unavailable == 1  # chat left core in 5.0
    assert made["questions"] == 3 and made["question_categories"] == 1
    assert made["quiz_attempts"] == 3 and made["assign_submissions"] == 2
    assert made["assign_grades"] == 1 and made["choice_responses"] == 1
    assert made["forum_posts"] == 2 and made["completions"] == 2 and made["grade_overrides"] == 1
    # The quiz, the assignment and the page track completion: the course's criteria.
    assert made["course_criteria"] == 3 and made["course_completions"] == 1
    assert any("mod_chat" in note or "mod_subsection" in note for note in first.notes), first.notes
    # A second run finds everything by its natural key and makes nothing.
    assert all(again.steps[s].created == 0 for s in made if s in again.steps)

    one, two = facts(site), facts(site)
    assert len(compare(one.snapshot(), two.snapshot())) == 0
    assert_bulk_reads_observe_the_same(site, monkeypatch, tmp_path)
    seen = {o.key: o.value for o in one.observations}
    course = "MR-LC1"
    quiz = f"quiz/{course}/mr-lc-lc-quiz/attempts"
    states = {user: [a["state"] for a in attempts] for user, attempts in seen[quiz].items()}
    assert states == {
        "mr-lc-s1": ["finished"],
        "mr-lc-s2": ["finished"],
        "mr-lc-s3": ["inprogress"],
    }
    grades = seen[f"grades/{course}/mr-lc-lc-assign/users"]
    assert grades["mr-lc-s1"]["grade"] == 81.0 and grades["mr-lc-s1"]["feedback"]
    assert grades["mr-lc-s2"] == {**grades["mr-lc-s2"], "grade": 64.0, "overridden": True}
    assert seen[f"activities/{course}/mr-lc-lc-quiz/settings/timeclose"] == "start+10d"
    completed = seen[f"completion/{course}/mr-lc-lc-page/users"]
    assert completed == {"complete": ["mr-lc-s1", "mr-lc-s3"]}
    assert_course_completion(seen, course)
    files = {k: v for k, v in seen.items() if k.startswith(f"files/{course}/mr-lc-lc-folder/")}
    assert len(files) == 2
    banks = seen[f"questions/{course}/bank"]
    if release == "4.5":
        assert banks == [{"contextlevel": "course"}]
    else:
        assert any(b.get("modname") == "qbank" for b in banks)
        assert seen[f"activities/{course}/mr-lc-lc-sub/module"]["modname"] == "subsection"
    assert seen[f"questions/{course}/Basics/mr-lc-lc-q3"]["qtype"] == "match"

    with site.client(timeout=600) as client:
        removed = cleanup(client, TAG, data=data, local=local)
        assert removed.deleted["courses"] == 1
        assert not client.courses.get_by_field("shortname", course)


def test_students_work_through_web_services_where_activities_exist(
    live_site_factory: Any,
) -> None:
    # The activities made on the sandbox (through its code), then the same plan applied
    # as to a site whose code the tool cannot run: the work goes through web services.
    site = live_site_factory("5.0")
    text = PLAN.replace(f"tag: {TAG}", "tag: lw").replace("MR-LC1", "MR-LW1")
    text = text.replace("mr-lc-", "mr-lw-").replace("idnumber: lc}", "idnumber: lw}")
    text = text.replace("category: lc,", "category: lw,")
    plan = parse_plan(text, "remote work plan")
    bare = parse_plan(text[: text.index("forum_discussions:")], "activities only")
    local = local_site(site)
    with site.client(timeout=600) as client:
        formats = installed_formats(client, local)
        data = generate(plan, 0, installed_formats=formats)
        cleanup(client, "lw", data=data, local=local)
        apply_dataset(client, generate(bare, 0, installed_formats=formats), local=local)
        remote = apply_dataset(client, data, local=None)
        again = apply_dataset(client, data, local=None)
    steps = remote.steps
    assert steps["activities"].existing == 7 and steps["activities"].unavailable == 1  # chat
    assert steps["forum_posts"].created == 2 and steps["assign_submissions"].created == 2
    assert steps["assign_grades"].created == 1 and steps["choice_responses"].created == 1
    assert steps["completions"].created == 2
    # Not possible through web services, and said so.
    assert steps["quiz_attempts"].unavailable == 3 and steps["grade_overrides"].unavailable == 1
    assert any("quiz attempts are not made" in n for n in remote.notes)
    assert steps["questions"].unavailable == 3
    assert again.steps["forum_posts"].existing == 2 and again.steps["forum_posts"].created == 0
    assert again.steps["assign_grades"].existing == 1

    with site.client(timeout=300) as client:
        seen = {
            o.key: o.value
            for o in ApiObserver(client, entity_filter=prefix_filter("mr-lw-"))
            .observe()
            .observations
        }
        grades = seen["grades/MR-LW1/mr-lw-lc-assign/users"]
        assert grades["mr-lw-s1"]["grade"] == 81.0
        posts = seen["forums/MR-LW1/mr-lw-lc-forum/Welcome"]["posts"]
        assert sorted(p["author"] for p in posts) == ["mr-lw-s1", "mr-lw-teacher"]
        assert seen["completion/MR-LW1/mr-lw-lc-page/users"] == {
            "complete": ["mr-lw-s1", "mr-lw-s3"]
        }
        cleanup(client, "lw", data=data, local=local)
