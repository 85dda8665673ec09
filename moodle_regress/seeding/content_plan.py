"""The content sections of a seeding plan: activities, question banks and what
students and teachers did in them.

The vocabulary is that of Moodle's Behat data generators: "the following
"activities" exist" (activity, course, idnumber, name, intro, section), "question
categories" and "questions" (questioncategory, qtype, name, questiontext), "mod_forum >
discussions", "mod_assign > submissions", "mod_choice > responses" and so on.
Explicit entries and ``generate: content:`` rules sit side by side::

    enable_modules: [chat, survey]          # installed but off on new 4.3+ sites
    activities:
      - {activity: quiz, course: PHYS1, idnumber: phys-quiz1, name: Kinematics quiz,
         section: 1, completion: automatic, questions: [phys-q1, phys-q2]}
      - {activity: page, course: PHYS1, idnumber: phys-notes, name: Notes, content: "<p>...</p>"}
    question_categories:
      - {course: PHYS1, name: Kinematics, idnumber: phys-kin}
    questions:
      - {questioncategory: phys-kin, qtype: truefalse, name: Q1, idnumber: phys-q1,
         questiontext: "Speed is a vector.", correct: false}
    quiz_attempts:
      - {quiz: phys-quiz1, user: student1, finished: true, right: 0.5}
    generate:
      content: {activities: 10, questions: 40, attempts: 0.8}

Activity idnumbers are unique in the plan; on the site they become ``mr-<tag>-<idnumber>``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Question types the seeder makes (the common ones, in every Moodle release).
QType = Literal["multichoice", "truefalse", "shortanswer", "numerical", "essay", "match"]
QTYPES: tuple[QType, ...] = (
    "multichoice",
    "truefalse",
    "shortanswer",
    "numerical",
    "essay",
    "match",
)

IdNumber = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,60}$")]
ModName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*$")]
Share = Annotated[float, Field(ge=0, le=1)]
Small = Annotated[int, Field(ge=0, le=500)]
Setting = str | int | float | bool

#: Which content fields each module type takes (others refuse them).
CONTENT_FIELDS: dict[str, frozenset[str]] = {
    "content": frozenset({"page", "wiki", "lesson", "label"}),
    "url": frozenset({"url", "lti"}),
    "files": frozenset({"resource", "folder"}),
    "options": frozenset({"choice"}),
    "chapters": frozenset({"book"}),
    "entries": frozenset({"glossary", "data"}),
    "questions": frozenset({"quiz"}),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileSpec(_Strict):
    name: Annotated[str, Field(pattern=r"^[^/\\]{1,200}$")]
    #: The file's text; Faker paragraphs when left out.
    content: str | None = None


class ChapterSpec(_Strict):
    title: Annotated[str, Field(min_length=1, max_length=255)]
    content: str = ""


class EntrySpec(_Strict):
    concept: Annotated[str, Field(min_length=1, max_length=255)]
    definition: str = ""


class ActivitySpec(_Strict):
    """One activity ("the following "activities" exist")."""

    activity: ModName
    course: str
    idnumber: IdNumber
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    intro: str | None = None
    section: Annotated[int, Field(ge=0, le=100)] = 0
    visible: bool = True
    completion: Literal["none", "manual", "automatic"] = "none"
    #: Completion rules of the activity's form (``completionview: 1``, ``completionsubmit: 1``).
    completion_rules: dict[str, Setting] = {}
    #: Date fields, in days after the course start (``duedate: 14``).
    dates: dict[str, float] = {}
    #: Any other field of the activity's form (``grade: 50``, ``attempts: 2``).
    settings: dict[str, Setting] = {}
    content: str | None = None
    url: str | None = None
    files: list[FileSpec] = []
    options: list[str] = []
    chapters: list[ChapterSpec] = []
    entries: list[EntrySpec] = []
    #: Quiz questions by question idnumber, one per page, in order.
    questions: list[IdNumber] = []

    @model_validator(mode="after")
    def _content_fits(self) -> ActivitySpec:
        for name, modules in CONTENT_FIELDS.items():
            value = getattr(self, name)
            if value and self.activity not in modules:
                raise ValueError(
                    f"'{name}' is for {', '.join(sorted(modules))} activities, not {self.activity}"
                )
        return self


class QuestionCategorySpec(_Strict):
    course: str
    name: Annotated[str, Field(min_length=1, max_length=255)]
    idnumber: IdNumber
    #: The idnumber of a category listed above it.
    parent: str | None = None
    info: str = ""


class QuestionSpec(_Strict):
    questioncategory: str
    qtype: QType
    name: Annotated[str, Field(min_length=1, max_length=255)]
    idnumber: IdNumber
    questiontext: str | None = None
    #: multichoice: the right answer first, then wrong ones; shortanswer and
    #: numerical: the right answer; match: "stem -> answer" pairs.
    answers: list[str] = []
    #: truefalse: the right answer.
    correct: bool = True

    @model_validator(mode="after")
    def _answers_fit(self) -> QuestionSpec:
        needs = {"multichoice": 2, "shortanswer": 1, "numerical": 1, "match": 2}
        least = needs.get(self.qtype, 0)
        if self.answers and len(self.answers) < least:
            raise ValueError(f"a {self.qtype} question needs at least {least} answers")
        if self.qtype == "numerical":
            for answer in self.answers:
                try:
                    float(answer)
                except ValueError:
                    raise ValueError(f"numerical answer {answer!r} is not a number") from None
        if self.qtype == "match" and any("->" not in a for a in self.answers):
            raise ValueError("match answers read 'stem -> answer'")
        if self.answers and self.qtype in ("truefalse", "essay"):
            raise ValueError(f"a {self.qtype} question takes no answers")
        return self


class ReplySpec(_Strict):
    user: str
    message: str | None = None


class DiscussionSpec(_Strict):
    """A forum discussion ("mod_forum > discussions") with its replies."""

    forum: str
    user: str
    name: Annotated[str, Field(min_length=1, max_length=255)]
    message: str | None = None
    replies: list[ReplySpec] = []


class QuizAttemptSpec(_Strict):
    quiz: str
    user: str
    #: A finished attempt (graded), or one left in progress.
    finished: bool = True
    #: Share of the questions answered right.
    right: Share = 1.0


class SubmissionSpec(_Strict):
    """An assignment submission ("mod_assign > submissions") as online text."""

    assign: str
    user: str
    onlinetext: str | None = None
    #: Submitted for grading, or left as a draft.
    submitted: bool = True


class AssignGradeSpec(_Strict):
    assign: str
    user: str
    grade: Annotated[float, Field(ge=0)]
    feedback: str = ""


class ChoiceResponseSpec(_Strict):
    """A choice answer ("mod_choice > responses")."""

    choice: str
    user: str
    option: str


class CompletionSpec(_Strict):
    """The user completed the activity (marked it, or viewed it where viewing completes it)."""

    activity: str
    user: str


class GradeOverrideSpec(_Strict):
    """A teacher's override of the activity's grade in the gradebook."""

    activity: str
    user: str
    grade: Annotated[float, Field(ge=0)]
    feedback: str = ""


class GenContent(_Strict):
    """Content on each course: activities, a question bank and students' work."""

    #: ``all`` (every course of the plan) or ``generated`` (the generated ones).
    courses: Literal["generated", "all"] = "all"
    #: Activities per course (courses in single-activity format get one).
    activities: Annotated[int, Field(ge=0, le=60)] = 10
    #: ``all`` (every installed, enabled module in turn) or a list of module names.
    modules: Literal["all"] | list[ModName] = "all"
    question_categories: Annotated[int, Field(ge=0, le=20)] = 2
    #: Questions in each course's bank.
    questions: Small = 40
    qtypes: list[QType] = list(QTYPES)
    quiz_questions: Annotated[int, Field(ge=0, le=50)] = 5
    #: Shares of each course's students who attempt each quiz, submit each
    #: assignment, answer each choice...
    attempts: Share = 0.8
    #: Share of attempts left in progress.
    in_progress: Share = 0.1
    #: Chance of each quiz answer being right.
    right: Share = 0.7
    submissions: Share = 0.8
    #: Share of submissions graded (with feedback).
    graded: Share = 0.75
    discussions: Annotated[int, Field(ge=0, le=50)] = 2
    replies: Annotated[int, Field(ge=0, le=50)] = 2
    choice_responses: Share = 0.7
    #: Share of students completing the activities completed by viewing or marking.
    completion: Share = 0.6
    #: How many such activities per course they complete.
    completion_activities: Annotated[int, Field(ge=0, le=20)] = 2
    #: Gradebook overrides per course.
    grade_overrides: Annotated[int, Field(ge=0, le=100)] = 2

    @field_validator("qtypes")
    @classmethod
    def _some_qtypes(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one question type")
        return value


class ContentSections(_Strict):
    """The plan's content sections (the plan model inherits them)."""

    #: Modules to enable on a sandbox before making content (4.3+ installs chat and
    #: survey disabled; sites upgraded from older releases have them on).
    enable_modules: list[ModName] = []
    activities: list[ActivitySpec] = []
    question_categories: list[QuestionCategorySpec] = []
    questions: list[QuestionSpec] = []
    forum_discussions: list[DiscussionSpec] = []
    quiz_attempts: list[QuizAttemptSpec] = []
    assign_submissions: list[SubmissionSpec] = []
    assign_grades: list[AssignGradeSpec] = []
    choice_responses: list[ChoiceResponseSpec] = []
    activity_completions: list[CompletionSpec] = []
    grade_overrides: list[GradeOverrideSpec] = []

    @model_validator(mode="after")
    def _content_keys(self) -> ContentSections:
        _unique("activities", [a.idnumber for a in self.activities])
        _unique("question_categories", [c.idnumber for c in self.question_categories])
        _unique("questions", [q.idnumber for q in self.questions])
        return self


def _unique(kind: str, keys: list[Any]) -> None:
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{kind}: idnumber {key!r} appears twice")
        seen.add(key)
