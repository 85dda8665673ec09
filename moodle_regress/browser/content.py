"""A course with one activity of each module the site has, for the browser suites.

The suites' student opens each activity and their teacher opens the gradebook, so the
course holds what they need: one activity per enabled module, a small question bank
behind the quiz, and the student's own work (an attempt, a graded submission, a forum
post, a choice answer).  Activities can only be made through a sandbox's code (no
web-service function creates one), so on other sites the content tests skip.

The course has no ``mr-`` ID number: the API observer leaves it out, as it leaves out
the suites' other courses, so a suite run between two snapshots changes neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from moodle_regress.browser.seed import PREFIX, BrowserSeed, enrol, ensure_course
from moodle_regress.errors import MoodleRegressError
from moodle_regress.seeding.content import generate_content
from moodle_regress.seeding.content_apply import ContentResult, LocalContent
from moodle_regress.seeding.generate import generate
from moodle_regress.seeding.plan import parse_plan
from moodle_regress.site import SiteDescriptor

SHORTNAME = f"{PREFIX}content"
#: Activity ID numbers read ``mr-b-<course>-<module><n>``.
TAG = "b"

_PLAN = f"""\
tag: {TAG}
courses:
  - {{shortname: {SHORTNAME}, fullname: MRB content, category: any, numsections: 3}}
users:
  - {{username: {{teacher}}}}
  - {{username: {{student}}}}
enrolments:
  - {{user: {{teacher}}, course: {SHORTNAME}, role: editingteacher}}
  - {{user: {{student}}, course: {SHORTNAME}, role: student}}
generate:
  content:
    activities: 60
    question_categories: 1
    questions: 4
    quiz_questions: 3
    attempts: 1.0
    in_progress: 0
    right: 1.0
    submissions: 1.0
    graded: 1.0
    discussions: 1
    replies: 1
    choice_responses: 1.0
    completion: 1.0
    grade_overrides: 0
"""


class ContentUnavailable(MoodleRegressError):
    """The site cannot have the content course (it is not a sandbox)."""


@dataclass(frozen=True)
class ContentModule:
    cmid: int
    name: str


@dataclass
class ContentCourse:
    id: int
    shortname: str
    #: modname -> the course's activity of that module.
    modules: dict[str, ContentModule] = field(default_factory=dict)


def ensure_content_course(
    site: SiteDescriptor, seed: BrowserSeed, shared_dir: Path
) -> ContentCourse:
    """The content course, made once (under a lock shared by xdist workers)."""
    if site.sandbox is None:
        raise ContentUnavailable(
            "activities can only be made on a sandbox: no web-service function creates one"
        )
    teacher, student = seed.users["teacher"], seed.users["student"]
    with FileLock(str(shared_dir / "browser-content.lock")), site.client(timeout=600) as client:
        category = _category_of(client, seed)
        course_id = ensure_course(
            client, SHORTNAME, "MRB content", category_id=category, course_format="topics"
        )
        enrolled = client.call("core_enrol_get_enrolled_users", courseid=course_id)
        there = {str(u["username"]) for u in enrolled}
        found = client.call(
            "core_user_get_users_by_field",
            field="username",
            values=[teacher.username, student.username],
        )
        ids = {str(u["username"]): int(u["id"]) for u in found}
        enrol(
            client,
            ids,
            [
                (u.username, course_id, role)
                for u, role in ((teacher, "editingteacher"), (student, "student"))
                if u.username not in there
            ],
        )
        text = _PLAN.replace("{teacher}", teacher.username).replace("{student}", student.username)
        plan = parse_plan(text, "browser content plan")
        runner = LocalContent(site.sandbox.code_dir, log=site.sandbox.root / "logs" / "content.log")
        modules, result = runner.prepare([])
        content = generate_content(plan, generate(plan, 0), modules.usable)
        runner.apply(content, TAG, result or ContentResult())
        sections = client.call("core_course_get_contents", courseid=course_id)
    return ContentCourse(course_id, SHORTNAME, _modules(sections))


def _category_of(client: Any, seed: BrowserSeed) -> int:
    course = next(iter(seed.format_courses.values()))
    found = client.call("core_course_get_courses_by_field", field="id", value=course.id)
    return int(found["courses"][0]["categoryid"])


def _modules(sections: list[dict[str, Any]]) -> dict[str, ContentModule]:
    found: dict[str, ContentModule] = {}
    for section in sections:
        for module in section.get("modules") or []:
            # The news forum is the course's own; a question bank is no activity on the
            # course page (5.0 and later).
            ours = str(module.get("name") or "") != "Announcements" and module["modname"] != "qbank"
            if ours and module["modname"] not in found:
                found[str(module["modname"])] = ContentModule(
                    int(module["id"]), str(module["name"])
                )
    return found
