"""Observing course content through web services: activities, grades, completion,
forums, quiz attempts, files, and (on a sandbox) question banks.

The pure functions that turn answers into facts live in one module per area
(``observe.activities``, ``grades``, ``completion``, ``forums``, ``quiz``, ``files``,
``questions``); this module makes the calls: concurrently on the client's pool,
courses taken a bounded batch at a time so that a large site is observed in passes of
known size.  Every call is a read; a function the site or the token lacks is noted
and its facts left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from moodle_regress.observation import clean_string, make_key
from moodle_regress.observe import activities, completion, files, forums, grades, questions, quiz
from moodle_regress.observe.courses import CONTENTS
from moodle_regress.observe.enrolments import STUDENTS
from moodle_regress.observe.registry import (
    Answers,
    Context,
    Observer,
    Output,
    Reader,
    register,
)
from moodle_ws import MoodleAPIError, MoodleError

log = logging.getLogger(__name__)

T = TypeVar("T")
Fact = tuple[str, Any]

#: Courses observed per pass: their answers are held until their facts are made (a
#: pass of 50 courses of 50 students is about 7,500 per-student reads).
BATCH_COURSES = 50
#: Web-service functions the content observer calls (besides the base observer's).
CONTENT_FUNCTIONS: tuple[str, ...] = (
    "core_course_get_course_module",
    "core_course_get_course_content_items",
    "gradereport_user_get_grade_items",
    "core_completion_get_activities_completion_status",
    "core_completion_get_course_completion_status",
    "mod_forum_get_forum_discussions",
    "mod_forum_get_discussion_posts",
    "mod_quiz_get_user_attempts",
)


@dataclass
class CourseInput:
    """One observed course, with what the base observer already read."""

    id: int
    shortname: str
    startdate: int
    enablecompletion: bool
    #: ``core_course_get_contents``.
    sections: Sequence[Mapping[str, Any]]
    #: User ids enrolled as students.
    students: Sequence[int]


@dataclass
class ContentSources:
    reader: Reader
    functions: Sequence[str]
    usernames: Mapping[int, str]
    #: Cleans a string of the site's address, session keys... (the normaliser's rule).
    clean: Callable[[str], str]
    #: Downloads a ``fileurl`` (``None`` leaves file contents unhashed).
    download: Callable[[str], bytes | str | None] | None = None
    #: Reads question banks of courses by shortname, and the site's modules (a
    #: sandbox's ``content.php banks``), or None.
    banks: Callable[[list[str]], Mapping[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Module:
    course: CourseInput
    module: Mapping[str, Any]
    section: int
    cm: Mapping[str, Any] | None = None
    key: str = ""


class ContentObserver:
    """``users_per_course`` bounds the per-user reads (completion, quiz attempts) to the
    first students of each course by username, the same on every site; None reads all."""

    def __init__(
        self,
        sources: ContentSources,
        *,
        batch: int = BATCH_COURSES,
        users_per_course: int | None = None,
    ) -> None:
        self.src = sources
        self.batch = max(1, batch)
        self.users_per_course = users_per_course
        self._modules_seen = False

    def observe(self, courses: Sequence[CourseInput]) -> Iterator[Fact]:
        """Facts of every course's content, a batch of courses at a time."""
        if courses:
            items = self.src.reader.call(
                "core_course_get_course_content_items", courseid=courses[0].id
            )
            fact = activities.enabled_modules_fact(items)
            if fact is not None:
                yield fact
        if self.src.banks is None and courses:
            self.src.notes.append(questions.NOTE_REMOTE)
        if self.users_per_course is not None and courses:
            self.src.notes.append(
                f"completion and quiz attempts observed for the first {self.users_per_course} "
                "students of each course (by username)"
            )
        for start in range(0, len(courses), self.batch):
            yield from self._batch(courses[start : start + self.batch])

    def _students(self, course: CourseInput) -> list[int]:
        ordered = sorted(course.students, key=lambda u: self.src.usernames.get(u, ""))
        return ordered if self.users_per_course is None else ordered[: self.users_per_course]

    def _batch(self, courses: Sequence[CourseInput]) -> Iterator[Fact]:
        modules = self._modules(courses)
        cm_keys = {int(m.module["id"]): m.key for m in modules}
        yield from self._activities(courses, modules, cm_keys)
        yield from self._grades(courses, cm_keys)
        yield from self._completion(courses, cm_keys)
        yield from self._course_completion(courses, cm_keys)
        yield from self._forums(modules)
        yield from self._quizzes(modules)
        yield from self._files(modules)
        if self.src.banks is not None:
            found = self.src.banks([c.shortname for c in courses])
            banks = found.get("banks") or {}
            for course in courses:
                yield from questions.bank_facts(course.shortname, banks.get(course.shortname, []))
            if "modules" in found and not self._modules_seen:
                self._modules_seen = True
                yield activities.installed_modules_fact(found["modules"])

    # --- activities ----------------------------------------------------------------------

    def _modules(self, courses: Sequence[CourseInput]) -> list[_Module]:
        modules = [
            _Module(course, module, int(section.get("section", 0)))
            for course in courses
            for section in course.sections
            for module in section.get("modules") or []
        ]
        answers = self.src.reader.each(
            "core_course_get_course_module", [{"cmid": m.module["id"]} for m in modules]
        )
        for item, answer in zip(modules, answers, strict=True):
            item.cm = (answer or {}).get("cm")
            idnumber = str((item.cm or {}).get("idnumber") or "")
            item.key = activities.activity_key(item.module, idnumber)
        return modules

    def _activities(
        self, courses: Sequence[CourseInput], modules: Sequence[_Module], cm_keys: Mapping[int, str]
    ) -> Iterator[Fact]:
        for m in modules:
            yield from activities.module_facts(m.course.shortname, m.key, m.module, m.section, m.cm)
            fact = activities.availability_fact(
                m.course.shortname, m.key, m.module.get("availability"), cm_keys
            )
            if fact is not None:
                yield fact
        by_cmid = {int(m.module["id"]): m for m in modules}
        present = sorted({str(m.module.get("modname")) for m in modules})
        listing = activities.instances_functions(self.src.functions)
        calls = [(listing[mod], mod) for mod in present if mod in listing]
        ids = [c.id for c in courses]
        answers = self.src.reader.map(lambda job: self._instances(job[0], ids), calls)
        for answer in answers:
            for instance in activities.instances_in(answer):
                cmid = activities.instance_cmid(instance)
                found = by_cmid.get(cmid) if cmid is not None else None
                if found is None:
                    continue
                m = found
                yield from activities.settings_facts(
                    m.course.shortname, m.key, instance, m.course.startdate
                )
                rules = activities.completion_settings(instance)
                if rules:
                    key = make_key("activities", m.course.shortname, m.key, "completion-rules")
                    yield key, rules

    def _instances(self, function: str, courseids: list[int]) -> Any:
        if function == "mod_assign_get_assignments":
            # Without the flag it answers only for courses the admin is enrolled in.
            return self.src.reader.call(function, courseids=courseids, includenotenrolledcourses=1)
        return self.src.reader.call(function, courseids=courseids)

    # --- grades and completion --------------------------------------------------------------

    def _grades(self, courses: Sequence[CourseInput], cm_keys: Mapping[int, str]) -> Iterator[Fact]:
        answers = self.src.reader.each(
            "gradereport_user_get_grade_items", [{"courseid": c.id} for c in courses]
        )
        for course, answer in zip(courses, answers, strict=True):
            if answer is not None:
                yield from grades.grade_facts(course.shortname, answer, cm_keys, self.src.usernames)

    def _completion(
        self, courses: Sequence[CourseInput], cm_keys: Mapping[int, str]
    ) -> Iterator[Fact]:
        jobs = [(c, u) for c in courses if c.enablecompletion for u in self._students(c)]
        answers = self.src.reader.each(
            "core_completion_get_activities_completion_status",
            [{"courseid": c.id, "userid": u} for c, u in jobs],
        )
        per_course: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for (course, userid), answer in zip(jobs, answers, strict=True):
            if answer is not None:
                username = self.src.usernames.get(userid, "<user ?>")
                per_course.setdefault(course.shortname, []).append((username, answer))
        for shortname, found in per_course.items():
            yield from completion.completion_facts(shortname, found, cm_keys)

    def _course_statuses(self, jobs: Sequence[tuple[CourseInput, int]]) -> list[Any]:
        return self.src.reader.each(
            "core_completion_get_course_completion_status",
            [{"courseid": c.id, "userid": u} for c, u in jobs],
            on_error=_no_status,
        )

    def _course_completion(
        self, courses: Sequence[CourseInput], cm_keys: Mapping[int, str]
    ) -> Iterator[Fact]:
        # The first student of each course tells whether it has criteria (a course without
        # any answers an error); only then are its other students asked.
        tracked = [(c, self._students(c)) for c in courses if c.enablecompletion]
        firsts = [(c, users[0]) for c, users in tracked if users]
        answers = self._course_statuses(firsts)
        having = {c.shortname for (c, _u), a in zip(firsts, answers, strict=True) if a is not None}
        jobs = [(c, u) for c, users in tracked if c.shortname in having for u in users[1:]]
        answers += self._course_statuses(jobs)
        per_course: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for (course, userid), answer in zip([*firsts, *jobs], answers, strict=True):
            if answer:
                username = self.src.usernames.get(userid, "<user ?>")
                per_course.setdefault(course.shortname, []).append((username, answer))
        for shortname, found in per_course.items():
            yield from completion.course_completion_facts(shortname, found, cm_keys)

    # --- forums, quizzes, files ------------------------------------------------------------

    def _forums(self, modules: Sequence[_Module]) -> Iterator[Fact]:
        forum_list = [m for m in modules if m.module.get("modname") == "forum"]
        answers = self.src.reader.each(
            "mod_forum_get_forum_discussions",
            [{"forumid": m.module["instance"], "perpage": 200} for m in forum_list],
        )
        jobs = []
        for m, answer in zip(forum_list, answers, strict=True):
            found = (answer or {}).get("discussions") or []
            if answer is not None:
                yield forums.count_fact(m.course.shortname, m.key, found)
            jobs += [(m, d) for d in found]
        posts = self.src.reader.each(
            "mod_forum_get_discussion_posts",
            [{"discussionid": d["discussion"]} for _m, d in jobs],
        )
        for (m, discussion), answer in zip(jobs, posts, strict=True):
            yield forums.discussion_fact(
                m.course.shortname,
                m.key,
                discussion,
                (answer or {}).get("posts") or [],
                usernames=self.src.usernames,
                clean=self.src.clean,
            )

    def _quizzes(self, modules: Sequence[_Module]) -> Iterator[Fact]:
        quizzes = [m for m in modules if m.module.get("modname") == "quiz"]
        jobs = [(m, u) for m in quizzes for u in self._students(m.course)]
        answers = self.src.reader.each(
            "mod_quiz_get_user_attempts",
            [
                {"quizid": m.module["instance"], "userid": u, "status": "all", "includepreviews": 0}
                for m, u in jobs
            ],
        )
        per_quiz: dict[int, list[tuple[str, Mapping[str, Any]]]] = {}
        for (m, userid), answer in zip(jobs, answers, strict=True):
            if answer is not None:
                username = self.src.usernames.get(userid, "<user ?>")
                per_quiz.setdefault(int(m.module["id"]), []).append((username, answer))
        for m in quizzes:
            if int(m.module["id"]) in per_quiz:
                yield quiz.attempts_fact(m.course.shortname, m.key, per_quiz[int(m.module["id"])])

    def _files(self, modules: Sequence[_Module]) -> Iterator[Fact]:
        jobs = [
            (m, item)
            for m in modules
            for item in m.module.get("contents") or []
            if files.wanted(item)
        ]

        def fetch(job: tuple[_Module, Mapping[str, Any]]) -> bytes | str | None:
            item = job[1]
            if self.src.download is None or int(item.get("filesize") or 0) > files.MAX_DOWNLOAD:
                return None
            return self.src.download(str(item["fileurl"]))

        contents = self.src.reader.map(fetch, jobs)
        for (m, item), content in zip(jobs, contents, strict=True):
            yield files.file_fact(
                m.course.shortname, m.key, m.module, item, content, clean=self.src.clean
            )


def _no_status(exc: MoodleAPIError) -> Any:
    """A course without criteria answers an error (None: its other students are not
    asked); so does a student whose completion is not tracked ({}: left out)."""
    if exc.errorcode == completion.NO_CRITERIA:
        return None
    if exc.errorcode == completion.NOT_TRACKED:
        return {}
    raise exc


# --- the area's step -------------------------------------------------------------------

#: ``ctx.facts`` keys of the caller's options: a reader of question banks (a sandbox's),
#: and how many students per course to read completion and attempts for.
QUESTION_BANKS = "content.question_banks"
USERS_PER_COURSE = "content.users_per_course"


def gather(ctx: Context) -> tuple[Iterator[Fact], list[str]]:
    """Every observed course's content, read through the scheduler (``ctx.reader``) as
    the facts are taken: a pass of courses at a time, never the whole site held."""
    assert ctx.reader is not None
    norm = ctx.normaliser
    sources = ContentSources(
        reader=ctx.reader,
        functions=[str(f["name"]) for f in ctx.info.get("functions") or []],
        usernames=norm.idmap.get("user", {}),
        clean=lambda text: clean_string(text, norm.site_root),
        download=lambda url: _download(ctx, url, sources.notes),
        banks=ctx.facts.get(QUESTION_BANKS),
    )
    contents = ctx.facts.get(CONTENTS, {})
    students = ctx.facts.get(STUDENTS, {})
    inputs = [
        CourseInput(
            id=int(c["id"]),
            shortname=str(c["shortname"]),
            startdate=int(c.get("startdate") or 0),
            enablecompletion=bool(c.get("enablecompletion")),
            sections=contents.get(str(c["shortname"]), []),
            students=students.get(str(c["shortname"]), []),
        )
        for c in ctx.courses
    ]
    observer = ContentObserver(sources, users_per_course=ctx.facts.get(USERS_PER_COURSE))
    return observer.observe(inputs), sources.notes


def _download(ctx: Context, fileurl: str, notes: list[str]) -> str | None:
    try:
        raw = ctx.client.download(fileurl)
    except MoodleError as exc:
        notes.append(f"a file could not be read ({type(exc).__name__})")
        return None
    return raw.text if raw.status_code == 200 else None


def observe(ctx: Context, answers: Answers, out: Output) -> None:
    facts, notes = answers.gathered
    for key, value in facts:  # each pass read as the one before is written
        out.add(key, value)
    ctx.notes.extend(notes)


CONTENT = register(
    Observer(
        name="content",
        area="content",
        needs=("courses.sections", "enrolments.users", "users.list"),
        functions=CONTENT_FUNCTIONS,
        gather=gather,
        observe=observe,
    )
)
