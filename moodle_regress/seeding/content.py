"""Turn a plan's content sections into the activities, questions and students' work
to make, deterministically (see :mod:`moodle_regress.seeding.generate`).

The content depends on the modules the site has: ``generate: content:`` cycles
through every installed, enabled module (so that every module type appears across the
courses), keeping the activities that carry students' work (forum, assignment, quiz,
choice, page) on every course.  Random choices are seeded with the plan's seed and the
entity's natural key, never drawn in generation order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from faker import Faker

from moodle_regress.seeding.content_plan import ActivitySpec, GenContent, QuestionSpec
from moodle_regress.seeding.generate import SECTIONLESS_FORMATS, Course, Dataset, stable_seed
from moodle_regress.seeding.plan import Plan

#: Modules whose activities carry students' work: on every generated course first.
WORK_MODULES = ("forum", "assign", "quiz", "choice", "page")
#: The order generated courses take the other modules in: every module of the supported
#: releases, then any other the site has (sorted).  A module a site lacks leaves its
#: slot empty rather than shifting the others, so a plan generates the same activity
#: keys on 4.5 and 5.0 (seeding again after an upgrade makes nothing new).
MODULE_ORDER = (
    "assign",
    "bigbluebuttonbn",
    "book",
    "chat",
    "choice",
    "data",
    "feedback",
    "folder",
    "forum",
    "glossary",
    "h5pactivity",
    "imscp",
    "label",
    "lesson",
    "lti",
    "page",
    "quiz",
    "resource",
    "scorm",
    "subsection",
    "survey",
    "url",
    "wiki",
    "workshop",
)
#: Modules never generated as course activities: the question bank is made with the
#: questions (a qbank activity from 5.0), subsections only inside numbered sections.
NOT_GENERATED = frozenset({"qbank"})
#: Completion: 0 none, 1 manual (the student marks it), 2 automatic.
COMPLETION = {"none": 0, "manual": 1, "automatic": 2}

#: How generated activities of each module are named and completed.
_STYLE: dict[str, tuple[str, str]] = {
    "assign": ("Assignment", "submit"),
    "quiz": ("Quiz", "grade"),
    "forum": ("Discussion forum", "manual"),
    "page": ("Reading", "view"),
    "url": ("Web link", "view"),
    "resource": ("Handout", "view"),
    "folder": ("Folder", "view"),
    "label": ("", "manual"),
    "book": ("Course book", "view"),
    "glossary": ("Glossary", "view"),
    "choice": ("Poll", "submit"),
    "feedback": ("Course feedback", "manual"),
    "lesson": ("Lesson", "view"),
    "data": ("Database", "view"),
    "wiki": ("Class wiki", "view"),
    "workshop": ("Peer assessment", "manual"),
    "h5pactivity": ("Interactive content", "view"),
    "lti": ("External tool", "manual"),
    "chat": ("Chat room", "view"),
    "survey": ("Survey", "manual"),
    "scorm": ("SCORM package", "view"),
    "imscp": ("Content package", "view"),
    "bigbluebuttonbn": ("Live session", "view"),
    "subsection": ("Subsection", "none"),
}
_RULES = {
    "view": {"completionview": 1},
    "submit": {"completionsubmit": 1},
    "grade": {"completionusegrade": 1},
}


@dataclass(frozen=True)
class Activity:
    course: str
    modname: str
    key: str  # the plan's idnumber (site idnumber: mr-<tag>-<key>)
    name: str
    intro: str
    section: int
    visible: bool = True
    completion: int = 0
    completion_rules: Mapping[str, Any] = field(default_factory=dict)
    dates: Mapping[str, float] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: Module content: html, url, files, options, chapters, entries, questions.
    content: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QuestionCategory:
    course: str
    key: str
    name: str
    parent: str | None = None
    info: str = ""


@dataclass(frozen=True)
class Question:
    category: str
    course: str
    qtype: str
    key: str
    name: str
    text: str
    answers: tuple[Any, ...] = ()
    correct: bool = True


@dataclass(frozen=True)
class Discussion:
    forum: str
    course: str
    user: str
    subject: str
    message: str
    replies: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class QuizAttempt:
    quiz: str
    course: str
    user: str
    finished: bool
    #: Per question (slot order): answered right or not.
    right: tuple[bool, ...]


@dataclass(frozen=True)
class Submission:
    assign: str
    course: str
    user: str
    text: str
    submitted: bool = True


@dataclass(frozen=True)
class AssignGrade:
    assign: str
    course: str
    user: str
    grade: float
    feedback: str


@dataclass(frozen=True)
class ChoiceResponse:
    choice: str
    course: str
    user: str
    option: str


@dataclass(frozen=True)
class Completion:
    activity: str
    course: str
    user: str


@dataclass(frozen=True)
class GradeOverride:
    activity: str
    course: str
    user: str
    grade: float
    feedback: str


@dataclass
class Content:
    """All the content a plan asks for on one site."""

    enable_modules: list[str] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    categories: list[QuestionCategory] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    discussions: list[Discussion] = field(default_factory=list)
    attempts: list[QuizAttempt] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    grades: list[AssignGrade] = field(default_factory=list)
    responses: list[ChoiceResponse] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)
    overrides: list[GradeOverride] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "activities": len(self.activities),
            "question_categories": len(self.categories),
            "questions": len(self.questions),
            "forum_posts": sum(1 + len(d.replies) for d in self.discussions),
            "quiz_attempts": len(self.attempts),
            "assign_submissions": len(self.submissions),
            "assign_grades": len(self.grades),
            "choice_responses": len(self.responses),
            "completions": len(self.completions),
            "grade_overrides": len(self.overrides),
        }

    def courses(self) -> list[str]:
        """Shortnames of the courses with content, in plan order."""
        seen: dict[str, None] = {}
        for course in [c.course for c in self.categories] + [a.course for a in self.activities]:
            seen.setdefault(course, None)
        return list(seen)

    def is_empty(self) -> bool:
        return not any(self.counts().values()) and not self.enable_modules


def has_content(plan: Plan) -> bool:
    return bool(
        plan.generate.content is not None
        or plan.activities
        or plan.questions
        or plan.question_categories
        or plan.enable_modules
    )


class _Draw:
    """Seeded random sources, one per natural key."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.fake = Faker("en_US")

    def rng(self, *parts: object) -> random.Random:
        return random.Random(stable_seed(self.seed, "content", *parts))

    def faker(self, *parts: object) -> Faker:
        self.fake.seed_instance(stable_seed(self.seed, "content", *parts))
        return self.fake


def generate_content(plan: Plan, data: Dataset, modules: Sequence[str]) -> Content:
    """The plan's content for a site whose usable modules (installed, enabled, with a
    data generator; after the plan's ``enable_modules``) are ``modules``."""
    draw = _Draw(data.seed)
    content = Content(enable_modules=list(plan.enable_modules))
    usable = sorted({m for m in modules if m not in NOT_GENERATED})
    _explicit(plan, _renamer(data.namespace), draw, content)
    if plan.generate.content is not None:
        _Generated(plan.generate.content, draw, content).run(data, usable)
    return content


# --- explicit entries ------------------------------------------------------------------


def _renamer(namespace: str | None) -> Callable[[str], str]:
    # Course shortnames and usernames of a namespaced dataset (the benchmark's) carry a
    # prefix; activity idnumbers need none: the tag sets them apart.
    if namespace is None:
        return lambda name: name
    return lambda name: f"{namespace}-{name}"


def _explicit(plan: Plan, ns: Callable[[str], str], draw: _Draw, content: Content) -> None:
    for category in plan.question_categories:
        content.categories.append(
            QuestionCategory(
                ns(category.course),
                category.idnumber,
                category.name,
                category.parent,
                category.info,
            )
        )
    course_of = {c.key: c.course for c in content.categories}
    for question in plan.questions:
        course = course_of.get(question.questioncategory)
        if course is None:
            raise plan.error(
                ("questions",),
                f"question {question.idnumber}: category {question.questioncategory!r} "
                "is not in the plan",
            )
        content.questions.append(_explicit_question(question, course, draw))
    for activity in plan.activities:
        content.activities.append(_explicit_activity(activity, ns(activity.course), draw))
    _explicit_work(plan, ns, draw, content)


def _explicit_work(plan: Plan, ns: Callable[[str], str], draw: _Draw, content: Content) -> None:
    by_key = {a.key: a for a in content.activities}

    def where(key: str, kind: str) -> str:
        activity = by_key.get(key)
        if activity is None:
            raise plan.error((kind,), f"activity {key!r} is not in the plan's activities")
        return activity.course

    for d in plan.forum_discussions:
        fake = draw.faker("discussion", d.forum, d.name)
        replies = tuple((ns(r.user), r.message or _html(fake.paragraph())) for r in d.replies)
        message = d.message or _html(fake.paragraph())
        content.discussions.append(
            Discussion(
                d.forum, where(d.forum, "forum_discussions"), ns(d.user), d.name, message, replies
            )
        )
    for a in plan.quiz_attempts:
        slots = len(by_key[a.quiz].content.get("questions", ())) if a.quiz in by_key else 0
        right = tuple(i < round(a.right * slots) for i in range(slots))
        course = where(a.quiz, "quiz_attempts")
        content.attempts.append(QuizAttempt(a.quiz, course, ns(a.user), a.finished, right))
    for s in plan.assign_submissions:
        text = s.onlinetext or _html(draw.faker("submission", s.assign, s.user).paragraph())
        course = where(s.assign, "assign_submissions")
        content.submissions.append(Submission(s.assign, course, ns(s.user), text, s.submitted))
    for g in plan.assign_grades:
        course = where(g.assign, "assign_grades")
        content.grades.append(AssignGrade(g.assign, course, ns(g.user), g.grade, g.feedback))
    for r in plan.choice_responses:
        course = where(r.choice, "choice_responses")
        content.responses.append(ChoiceResponse(r.choice, course, ns(r.user), r.option))
    for c in plan.activity_completions:
        course = where(c.activity, "activity_completions")
        content.completions.append(Completion(c.activity, course, ns(c.user)))
    for o in plan.grade_overrides:
        course = where(o.activity, "grade_overrides")
        content.overrides.append(GradeOverride(o.activity, course, ns(o.user), o.grade, o.feedback))


def _explicit_activity(spec: ActivitySpec, course: str, draw: _Draw) -> Activity:
    fake = draw.faker("activity", spec.idnumber)
    modname = spec.activity
    body: dict[str, Any] = {}
    if spec.content is not None:
        body["html"] = spec.content
    if spec.url is not None:
        body["url"] = spec.url
    if spec.files:
        body["files"] = [
            {"name": f.name, "content": f.content if f.content is not None else fake.text(800)}
            for f in spec.files
        ]
    if spec.options:
        body["options"] = list(spec.options)
    if spec.chapters:
        body["chapters"] = [{"title": c.title, "content": c.content} for c in spec.chapters]
    if spec.entries:
        body["entries"] = [{"concept": e.concept, "definition": e.definition} for e in spec.entries]
    if spec.questions:
        body["questions"] = list(spec.questions)
    defaults = _module_content(modname, fake, draw.rng("activity", spec.idnumber))
    return Activity(
        course=course,
        modname=modname,
        key=spec.idnumber,
        name=spec.name or _name(modname, fake),
        intro=spec.intro if spec.intro is not None else _html(fake.paragraph(nb_sentences=2)),
        section=spec.section,
        visible=spec.visible,
        completion=COMPLETION[spec.completion],
        completion_rules=dict(spec.completion_rules),
        dates=dict(spec.dates),
        settings=dict(spec.settings),
        content={**defaults, **body},
    )


def _explicit_question(spec: QuestionSpec, course: str, draw: _Draw) -> Question:
    made = _question(spec.qtype, draw, spec.idnumber)
    answers: tuple[Any, ...] = made.answers
    if spec.answers:
        if spec.qtype == "match":
            answers = tuple(tuple(p.strip() for p in a.split("->", 1)) for a in spec.answers)
        else:
            answers = tuple(spec.answers)
    return Question(
        spec.questioncategory,
        course,
        spec.qtype,
        spec.idnumber,
        spec.name,
        spec.questiontext or made.text,
        answers,
        spec.correct if spec.qtype == "truefalse" else True,
    )


# --- generated content -------------------------------------------------------------------


def _people(data: Dataset, roles: tuple[str, ...]) -> dict[str, list[str]]:
    """Course shortname -> usernames enrolled with one of ``roles``, sorted."""
    found: dict[str, set[str]] = {}
    for e in data.enrolments:
        if e.role in roles:
            found.setdefault(e.shortname, set()).add(e.username)
    return {k: sorted(v) for k, v in found.items()}


class _Generated:
    """``generate: content:`` for the plan's courses."""

    def __init__(self, rule: GenContent, draw: _Draw, content: Content) -> None:
        self.rule = rule
        self.draw = draw
        self.content = content

    def run(self, data: Dataset, modules: Sequence[str]) -> None:
        rule = self.rule
        wanted = modules if rule.modules == "all" else [m for m in rule.modules if m in modules]
        students = _people(data, ("student",))
        teachers = _people(data, ("editingteacher", "teacher"))
        courses = [c for c in data.courses if c.generated or rule.courses == "all"]
        for index, course in enumerate(courses):
            categories, questions = self.bank(course)
            self.content.categories += categories
            self.content.questions += questions
            gradable = [q.key for q in questions if q.qtype != "essay"]
            activities = self.activities(course, index, wanted, gradable)
            self.content.activities += activities
            people = students.get(course.shortname, [])
            teacher = (teachers.get(course.shortname) or people or [""])[0]
            self.work(course, activities, people, teacher)

    # --- the question bank -----------------------------------------------------------------

    def bank(self, course: Course) -> tuple[list[QuestionCategory], list[Question]]:
        rule = self.rule
        if not rule.questions or not rule.question_categories:
            return [], []
        fake = self.draw.faker("bank", course.shortname)
        categories = [
            QuestionCategory(
                course.shortname,
                f"{course.shortname}-qc{n}",
                f"{fake.word().capitalize()} {fake.word()} questions",
                None,
                fake.sentence(),
            )
            for n in range(1, rule.question_categories + 1)
        ]
        questions = []
        for n in range(1, rule.questions + 1):
            qtype = rule.qtypes[(n - 1) % len(rule.qtypes)]
            key = f"{course.shortname}-q{n:03d}"
            made = _question(qtype, self.draw, key)
            category = categories[(n - 1) % len(categories)]
            questions.append(
                replace(
                    made,
                    category=category.key,
                    course=course.shortname,
                    name=f"Q{n:03d} {made.name}",
                )
            )
        return categories, questions

    # --- activities ------------------------------------------------------------------------

    def activities(
        self, course: Course, index: int, modules: Sequence[str], questions: Sequence[str]
    ) -> list[Activity]:
        amount = self.rule.activities
        if not modules or not amount:
            return []
        if course.format == "singleactivity":
            # The format shows one activity, of its activity type (a forum by default).
            chosen = ["forum"] if "forum" in modules else [modules[0]]
        else:
            first = [m for m in WORK_MODULES if m in modules]
            order = [*MODULE_ORDER, *sorted(set(modules) - set(MODULE_ORDER))]
            others = [m for m in order if m not in WORK_MODULES]
            # Each course starts the rotation further on, so every module appears somewhere.
            slots = max(1, amount - len(WORK_MODULES))
            start = (index * slots) % len(others)
            rotated = (others[start:] + others[:start])[:slots]
            chosen = first + [m for m in rotated if m in modules]
        made = []
        counts: dict[str, int] = {}
        for modname in chosen:
            counts[modname] = counts.get(modname, 0) + 1
            key = f"{course.shortname}-{modname}{counts[modname]}"
            # Drawn for this activity alone, so a module the site lacks moves no other.
            section = _section(course, modname, self.draw.rng("section", key))
            if section is not None:
                made.append(self.activity(course, modname, key, section, questions))
        return made

    def activity(
        self, course: Course, modname: str, key: str, section: int, questions: Sequence[str]
    ) -> Activity:
        fake = self.draw.faker("activity", key)
        rng = self.draw.rng("activity", key)
        kind = _STYLE.get(modname, ("", "manual"))[1]
        body = _module_content(modname, fake, rng)
        dates: dict[str, float] = {}
        if modname == "quiz":
            body["questions"] = rng.sample(
                list(questions), min(self.rule.quiz_questions, len(questions))
            )
            dates["timeclose"] = 28
        elif modname == "assign":
            dates = {"allowsubmissionsfromdate": 0, "duedate": 14, "cutoffdate": 21}
        elif modname == "chat":
            dates = {"chattime": 7}
        tracking = "none" if kind == "none" else "manual" if kind == "manual" else "automatic"
        return Activity(
            course=course.shortname,
            modname=modname,
            key=key,
            name=_name(modname, fake),
            intro=_html(fake.paragraph(nb_sentences=2)),
            section=section,
            completion=COMPLETION[tracking],
            completion_rules=dict(_RULES.get(kind, {})),
            dates=dates,
            content=body,
        )

    # --- what students and teachers did -----------------------------------------------------

    def work(
        self, course: Course, activities: Sequence[Activity], students: Sequence[str], teacher: str
    ) -> None:
        if not students:
            return
        rule = self.rule
        for activity in activities:
            rng = self.draw.rng("work", activity.key)
            if activity.modname == "quiz" and activity.content.get("questions"):
                self.attempts(activity, students, rng)
            elif activity.modname == "assign":
                self.submissions(activity, students, rng)
            elif activity.modname == "forum":
                self.discussions(activity, students, teacher, rng)
            elif activity.modname == "choice":
                options = activity.content.get("options") or []
                for user in _share(students, rule.choice_responses, rng):
                    self.content.responses.append(
                        ChoiceResponse(activity.key, course.shortname, user, rng.choice(options))
                    )
        # Activities completed by viewing them or marking them done (the others are
        # completed by the work above).
        viewable = [a for a in activities if a.completion and a.modname not in WORK_MODULES[:4]]
        for activity in viewable[: rule.completion_activities]:
            rng = self.draw.rng("completion", activity.key)
            for user in _share(students, rule.completion, rng):
                self.content.completions.append(Completion(activity.key, course.shortname, user))
        self.overrides(course)

    def attempts(self, quiz: Activity, students: Sequence[str], rng: random.Random) -> None:
        slots = len(quiz.content["questions"])
        takers = _share(students, self.rule.attempts, rng)
        unfinished = set(rng.sample(takers, round(len(takers) * self.rule.in_progress)))
        for user in takers:
            right = tuple(rng.random() < self.rule.right for _ in range(slots))
            self.content.attempts.append(
                QuizAttempt(quiz.key, quiz.course, user, user not in unfinished, right)
            )

    def submissions(self, assign: Activity, students: Sequence[str], rng: random.Random) -> None:
        submitters = _share(students, self.rule.submissions, rng)
        for user in submitters:
            text = _html(self.draw.faker("submission", assign.key, user).paragraph(nb_sentences=4))
            self.content.submissions.append(Submission(assign.key, assign.course, user, text))
        for user in _share(submitters, self.rule.graded, rng):
            grade = float(rng.randint(35, 100))
            feedback = self.draw.faker("feedback", assign.key, user).sentence()
            self.content.grades.append(
                AssignGrade(assign.key, assign.course, user, grade, feedback)
            )

    def discussions(
        self, forum: Activity, students: Sequence[str], teacher: str, rng: random.Random
    ) -> None:
        fake = self.draw.faker("forum", forum.key)
        for n in range(self.rule.discussions):
            author = teacher if n == 0 and teacher else rng.choice(list(students))
            replies = tuple(
                (rng.choice(list(students)), _html(fake.paragraph()))
                for _ in range(self.rule.replies)
            )
            subject = f"{fake.catch_phrase()} ({n + 1})"
            self.content.discussions.append(
                Discussion(
                    forum.key, forum.course, author, subject, _html(fake.paragraph()), replies
                )
            )

    def overrides(self, course: Course) -> None:
        graded = [g for g in self.content.grades if g.course == course.shortname]
        rng = self.draw.rng("overrides", course.shortname)
        for grade in rng.sample(graded, min(self.rule.grade_overrides, len(graded))):
            self.content.overrides.append(
                GradeOverride(
                    grade.assign,
                    course.shortname,
                    grade.user,
                    float(min(100, grade.grade + 5)),
                    "Adjusted after review.",
                )
            )


def _question(qtype: str, draw: _Draw, key: str) -> Question:
    """Realistic text and answers for one question of ``qtype`` (no category or course yet)."""
    fake = draw.faker("question", key)
    rng = draw.rng("question", key)
    topic = fake.word()

    def made(name: str, text: str, answers: tuple[Any, ...] = (), correct: bool = True) -> Question:
        return Question("", "", qtype, key, name, _html(text), answers, correct)

    if qtype == "multichoice":
        return made(
            f"Which {topic}?",
            f"{fake.sentence()} Which one is right?",
            tuple(fake.words(nb=4, unique=True)),
        )
    if qtype == "truefalse":
        return made(f"True or false: {topic}", fake.sentence(), (), rng.random() < 0.5)
    if qtype == "shortanswer":
        return made(f"Name the {topic}", f"{fake.sentence()} Answer in one word.", (fake.word(),))
    if qtype == "numerical":
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        return made(f"Sum of {a} and {b}", f"What is {a} + {b}?", (str(a + b),))
    if qtype == "match":
        stems = fake.words(nb=3, unique=True)
        pairs = tuple(
            (stem, f"{word}-{i}")
            for i, (stem, word) in enumerate(zip(stems, fake.words(nb=3, unique=True), strict=True))
        )
        return made(f"Match the {topic}s", "Match each term with its pair.", pairs)
    return made(f"Essay on {topic}", fake.paragraph(nb_sentences=2))


def _section(course: Course, modname: str, rng: random.Random) -> int | None:
    if course.format in SECTIONLESS_FORMATS or course.numsections == 0:
        # Subsections live in numbered sections only.
        return None if modname == "subsection" else 0
    return rng.randint(1, course.numsections)


def _name(modname: str, fake: Faker) -> str:
    prefix = _STYLE.get(modname, (modname.capitalize(), ""))[0]
    if not prefix:
        return ""
    return f"{prefix}: {fake.catch_phrase()}"[:250]


def _module_content(modname: str, fake: Faker, rng: random.Random) -> dict[str, Any]:
    """Realistic content for one activity of ``modname`` (empty for modules without any)."""
    if modname in ("page", "wiki", "lesson"):
        return {"html": "".join(_html(p) for p in fake.paragraphs(nb=3))}
    if modname == "label":
        return {"html": _html(fake.sentence())}
    if modname == "url":
        return {"url": f"https://{fake.domain_name()}/{fake.uri_path()}"}
    if modname == "lti":
        return {"url": f"https://lti.{fake.domain_name()}/launch"}
    if modname == "resource":
        return {"files": [{"name": f"{fake.word()}-notes.txt", "content": fake.text(1500)}]}
    if modname == "folder":
        return {
            "files": [{"name": f"{fake.word()}-{n}.txt", "content": fake.text(600)} for n in (1, 2)]
        }
    if modname == "choice":
        return {"options": fake.words(nb=rng.randint(3, 4), unique=True)}
    if modname == "book":
        return {
            "chapters": [
                {"title": fake.catch_phrase(), "content": _html(fake.paragraph())} for _ in range(3)
            ]
        }
    if modname in ("glossary", "data"):
        return {
            "entries": [
                {"concept": w.capitalize(), "definition": fake.sentence()}
                for w in fake.words(nb=4, unique=True)
            ]
        }
    return {}


def _share(people: Sequence[str], share: float, rng: random.Random) -> list[str]:
    return sorted(rng.sample(list(people), round(len(people) * share)))


def _html(text: str) -> str:
    return f"<p>{text}</p>"


def by_course(items: Iterable[Any]) -> dict[str, list[Any]]:
    """Content items grouped by their course shortname, in order."""
    grouped: dict[str, list[Any]] = {}
    for item in items:
        grouped.setdefault(item.course, []).append(item)
    return grouped
