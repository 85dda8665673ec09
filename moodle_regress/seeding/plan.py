"""The seeding plan: a YAML file describing the data to put on a site.

The vocabulary follows Moodle's Behat data generators ("the following "courses"
exist"): categories, courses, users, course enrolments, groups and group members,
cohorts and cohort members.  Explicit entities and generated ones sit side by side::

    tag: qa                      # run tag: every created entity carries it
    categories:
      - {name: Science, idnumber: sci}
      - {name: Physics, parent: Science}
    courses:
      - shortname: PHYS1
        fullname: Physics one
        category: Science/Physics        # a category path or idnumber
        format: topics
        numsections: 5
        sections:
          - {number: 1, name: Kinematics}
          - {number: 5, visible: false}
        enrolment_methods: [manual, {method: self, key: "Enrol-Key-1"}, guest]
    users:
      - {username: teacher1, firstname: Terry, lastname: Teacher}
    enrolments:
      - {user: teacher1, course: PHYS1, role: editingteacher}
    generate:
      users:
        - {count: 200, role_hint: student, username_pattern: "mr-student{n:04d}"}

Validation errors name the file, the line and the field (``plan.yaml:14:
courses[0].numsections: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from moodle_regress.errors import MoodleRegressError
from moodle_regress.seeding.content_plan import ContentSections, GenContent

ALL_FORMATS = "all"
TAG_RE = re.compile(r"^[a-z0-9]{1,12}$")
USERNAME_RE = re.compile(r"^[a-z0-9_.@-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Count = Annotated[int, Field(ge=0, le=100_000)]


class CategorySpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    #: Key within the plan; on the site it becomes ``mr-<tag>-<idnumber>``.
    idnumber: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,60}$")] | None = None
    #: Path of the parent ("Science" or "Science/Physics"), or a plan idnumber.
    parent: str = ""
    description: str = ""


class SectionSpec(_Strict):
    number: Annotated[int, Field(ge=0, le=500)]
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    visible: bool = True


class EnrolMethodSpec(_Strict):
    method: Literal["manual", "self", "guest"]
    #: Enrolment key of a ``self`` method.
    key: str | None = None
    #: Password of a ``guest`` method.
    password: str | None = None

    @model_validator(mode="after")
    def _fits_method(self) -> EnrolMethodSpec:
        if self.key is not None and self.method != "self":
            raise ValueError("'key' is for the self method only")
        if self.password is not None and self.method != "guest":
            raise ValueError("'password' is for the guest method only")
        return self


def _method_shorthand(value: Any) -> Any:
    # "manual" is short for {method: manual}.
    if isinstance(value, list):
        return [{"method": v} if isinstance(v, str) else v for v in value]
    return value


FormatOption = str | int | bool


class CourseSpec(_Strict):
    shortname: Annotated[str, Field(min_length=1, max_length=80)]
    fullname: str | None = None
    #: A category path ("Science/Physics") or idnumber, from the plan or the site.
    category: str
    format: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "topics"
    numsections: Annotated[int, Field(ge=0, le=100)] = 4
    sections: list[SectionSpec] = []
    format_options: dict[str, FormatOption] = {}
    #: Course theme; Moodle ignores it unless the site allows course themes.
    theme: str | None = None
    visible: bool = True
    summary: str = ""
    enrolment_methods: list[EnrolMethodSpec] = [EnrolMethodSpec(method="manual")]

    @field_validator("enrolment_methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        return _method_shorthand(value)

    @model_validator(mode="after")
    def _sections_fit(self) -> CourseSpec:
        for section in self.sections:
            if section.number > self.numsections:
                raise ValueError(
                    f"section {section.number} is beyond numsections ({self.numsections})"
                )
        return self


class UserSpec(_Strict):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    password: str | None = None
    auth: str = "manual"
    city: str | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    #: Which generated enrolments may pick this user ("student", "editingteacher").
    role_hint: str | None = None

    @field_validator("username")
    @classmethod
    def _moodle_username(cls, value: str) -> str:
        if not USERNAME_RE.match(value):
            raise ValueError("Moodle usernames are lower case letters, digits and _ . @ - only")
        return value


class EnrolmentSpec(_Strict):
    user: str
    course: str
    role: str = "student"
    #: Only manual enrolments can be made for another user through web services.
    method: Literal["manual"] = "manual"


class GroupSpec(_Strict):
    course: str
    name: Annotated[str, Field(min_length=1, max_length=254)]
    description: str = ""
    members: list[str] = []


class CohortSpec(_Strict):
    idnumber: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,60}$")]
    name: Annotated[str, Field(min_length=1, max_length=254)]
    visible: bool = True
    members: list[str] = []


# --- generated entities --------------------------------------------------------


def _check_pattern(value: str) -> str:
    try:
        value.format(n=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"not a pattern with {{n}}: {exc}") from None
    if value.format(n=1) == value.format(n=2):
        raise ValueError("the pattern must contain {n} so that names differ")
    return value


class GenUsers(_Strict):
    count: Count
    role_hint: str = "student"
    username_pattern: str = "user{n:04d}"
    password: str = "Seed-Pass-2024!"
    auth: str = "manual"

    @field_validator("username_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _check_pattern(value)


class GenCategories(_Strict):
    count: Count
    parent: str = ""
    idnumber_pattern: str = "gencat{n:02d}"

    @field_validator("idnumber_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _check_pattern(value)


class GenCourses(_Strict):
    count: Count
    #: ``all`` (every installed format) or a list of format names.
    formats: Literal["all"] | list[str] = "all"
    #: With ``formats: all``, extra courses for each format beyond the core four,
    #: so the first ``count`` courses are the same on every site.
    per_extra_format: Annotated[int, Field(ge=0, le=100)] = 1
    shortname_pattern: str = "course{n:03d}"
    #: Category path or idnumber; default: the generated categories in turn.
    category: str | None = None
    numsections: tuple[int, int] = (3, 8)
    hidden_sections: Annotated[int, Field(ge=0)] = 1
    named_sections: Annotated[int, Field(ge=0)] = 2
    hidden_courses: Annotated[int, Field(ge=0)] = 0
    enrolment_methods: list[EnrolMethodSpec] = [EnrolMethodSpec(method="manual")]
    theme: str | None = None

    @field_validator("shortname_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _check_pattern(value)

    @field_validator("enrolment_methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        return _method_shorthand(value)

    @field_validator("numsections", mode="before")
    @classmethod
    def _range(cls, value: Any) -> Any:
        # A single number means exactly that many.
        return (value, value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _range_order(self) -> GenCourses:
        low, high = self.numsections
        if not 0 <= low <= high <= 100:
            raise ValueError("numsections must be [min, max] with 0 <= min <= max <= 100")
        return self


class GenEnrolments(_Strict):
    #: Total enrolments, spread over the courses; or ``per_course`` each.
    count: Count | None = None
    per_course: Count | None = None
    role: str = "student"
    #: Users generated (or declared) with this role hint are picked.
    users: str = "student"
    #: ``generated`` (the generated courses) or ``all`` (every course in the plan).
    courses: Literal["generated", "all"] = "generated"

    @model_validator(mode="after")
    def _one_amount(self) -> GenEnrolments:
        if (self.count is None) == (self.per_course is None):
            raise ValueError("give exactly one of 'count' and 'per_course'")
        return self


class GenGroups(_Strict):
    per_course: Count
    #: Fraction of each course's enrolled users put into its groups.
    members: Annotated[float, Field(ge=0, le=1)] = 0.8
    courses: Literal["generated", "all"] = "generated"
    name_pattern: str = "Group {n}"

    @field_validator("name_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _check_pattern(value)


class GenCohorts(_Strict):
    count: Count
    members: Count = 50
    users: str = "student"
    idnumber_pattern: str = "cohort{n:02d}"

    @field_validator("idnumber_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _check_pattern(value)


class GenerateSpec(_Strict):
    categories: GenCategories | None = None
    users: list[GenUsers] = []
    courses: list[GenCourses] = []
    enrolments: list[GenEnrolments] = []
    groups: GenGroups | None = None
    cohorts: GenCohorts | None = None
    #: Activities, question banks and students' work on each course.
    content: GenContent | None = None

    @field_validator("users", "courses", "enrolments", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # `users: {count: 200}` is short for a list of one.
        return [value] if isinstance(value, dict) else value


class Plan(ContentSections):
    #: Run tag, a-z0-9 (1-12 characters); the CLI's ``--tag`` overrides it.
    tag: str = "seed"
    #: Role shortname -> id, for sites whose role ids differ from a standard install.
    roles: dict[str, int] = {}
    categories: list[CategorySpec] = []
    courses: list[CourseSpec] = []
    users: list[UserSpec] = []
    enrolments: list[EnrolmentSpec] = []
    groups: list[GroupSpec] = []
    cohorts: list[CohortSpec] = []
    generate: GenerateSpec = GenerateSpec()

    # Where the plan came from, to name lines in errors found after validation.
    _source: str = PrivateAttr("<plan>")
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    def error(self, loc: tuple[str | int, ...], message: str) -> PlanError:
        """A :class:`PlanError` about the field at ``loc``, naming its line."""
        return PlanError(
            self._source, [PlanIssue(_line_for(loc, self._lines), _field_name(loc), message)]
        )

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not TAG_RE.match(value):
            raise ValueError("a tag is 1-12 lower case letters or digits")
        return value

    @model_validator(mode="after")
    def _unique_keys(self) -> Plan:
        _no_duplicates("users", [u.username for u in self.users])
        _no_duplicates("courses", [c.shortname for c in self.courses])
        _no_duplicates("cohorts", [c.idnumber for c in self.cohorts])
        _no_duplicates("groups", [(g.course, g.name) for g in self.groups])
        return self


def _no_duplicates(kind: str, keys: list[Any]) -> None:
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{kind}: {key!r} appears twice")
        seen.add(key)


# --- loading with line numbers ---------------------------------------------------


@dataclass(frozen=True)
class PlanIssue:
    line: int | None
    field: str
    message: str


class PlanError(MoodleRegressError):
    """The plan file cannot be used; ``issues`` say where and why."""

    def __init__(self, source: str, issues: list[PlanIssue]) -> None:
        self.source = source
        self.issues = issues
        lines = [
            f"{source}:{i.line if i.line is not None else '?'}: {i.field}: {i.message}"
            for i in issues
        ]
        super().__init__(
            f"the plan {source} is not valid ({len(issues)} problem(s)):\n" + "\n".join(lines)
        )


Path_ = tuple[str | int, ...]


def _line_map(node: yaml.Node, path: Path_ = ()) -> Iterator[tuple[Path_, int]]:
    # Lines are 1-based for people; PyYAML counts from 0.
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            yield (*path, name), key.start_mark.line + 1
            for sub_path, line in _line_map(value, (*path, name)):
                if sub_path != (*path, name):
                    yield sub_path, line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _line_map(item, (*path, index))


def _field_name(loc: Path_) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def _clean_loc(loc: tuple[Any, ...]) -> Path_:
    # Pydantic adds union branch names ("list[str]", "literal['all']") to locations:
    # keep only the parts that walk the document.
    return tuple(p for p in loc if isinstance(p, int) or "[" not in str(p))


def _line_for(loc: Path_, lines: Mapping[Path_, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    """Parse and validate a plan; raise :class:`PlanError` naming lines and fields."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PlanError(source, [PlanIssue(line, "(YAML)", str(exc.problem))]) from None
    except yaml.YAMLError as exc:
        raise PlanError(source, [PlanIssue(None, "(YAML)", str(exc))]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PlanError(source, [PlanIssue(1, "(top level)", "a plan is a mapping of sections")])
    lines = dict(_line_map(node)) if node is not None else {}
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            loc = _clean_loc(tuple(error["loc"]))
            message = str(error["msg"]).removeprefix("Value error, ")
            issues.append(PlanIssue(_line_for(loc, lines), _field_name(loc), message))
        raise PlanError(source, issues) from None
    plan._source = source
    plan._lines = lines
    return plan


def load_plan(path: Path) -> Plan:
    """Read and validate the plan file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(str(path), [PlanIssue(None, "(file)", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(str(path), [PlanIssue(None, "(file)", str(exc))]) from None
    return parse_plan(text, source=str(path))
