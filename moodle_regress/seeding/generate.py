"""Turn a plan into the full list of entities to seed, deterministically.

Every random choice is drawn from a generator seeded with the plan's seed and the
entity's natural key (a username, a course shortname), never from the order of
generation: the same plan and seed give the same data on any site, and adding
entities to a plan leaves the others unchanged.  (The data is the same for the
same Faker release; Faker may change its word lists between releases.)
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from faker import Faker

from moodle_regress.plugins import CORE_FORMATS
from moodle_regress.seeding.plan import (
    ALL_FORMATS,
    CourseSpec,
    EnrolMethodSpec,
    GenCourses,
    GenEnrolments,
    Plan,
    PlanError,
)

#: Formats whose courses have one section only, so no numbered sections to name or hide.
SECTIONLESS_FORMATS = frozenset({"singleactivity", "social"})
EMAIL_DOMAIN = "example.com"
#: Password of users the plan gives none (Moodle's default policy accepts it).
DEFAULT_PASSWORD = "Seed-Pass-2024!"

_SUBJECTS = (
    "Arts",
    "Biology",
    "Business",
    "Chemistry",
    "Computing",
    "Economics",
    "Engineering",
    "Geography",
    "History",
    "Languages",
    "Law",
    "Mathematics",
    "Medicine",
    "Music",
    "Philosophy",
    "Physics",
    "Psychology",
    "Sociology",
)


@dataclass(frozen=True)
class Category:
    key: str  # the plan's idnumber (site idnumber: mr-<tag>-<key>)
    name: str
    path: str  # "Science/Physics"
    parent_key: str | None
    description: str = ""
    generated: bool = False


@dataclass(frozen=True)
class Section:
    number: int
    name: str | None
    visible: bool


@dataclass(frozen=True)
class EnrolMethod:
    method: str
    key: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Course:
    shortname: str
    fullname: str
    category_key: str | None  # a plan category
    category_ref: str | None  # else: a site category path or idnumber
    format: str
    numsections: int
    sections: tuple[Section, ...]
    format_options: tuple[tuple[str, str], ...]
    theme: str | None
    visible: bool
    summary: str
    methods: tuple[EnrolMethod, ...]
    generated: bool = False


@dataclass(frozen=True)
class User:
    username: str
    firstname: str
    lastname: str
    email: str
    password: str | None
    auth: str
    city: str
    country: str
    role_hint: str | None


@dataclass(frozen=True)
class Enrolment:
    username: str
    shortname: str
    role: str


@dataclass(frozen=True)
class Group:
    shortname: str
    name: str
    description: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Cohort:
    key: str
    name: str
    visible: bool
    members: tuple[str, ...]


@dataclass
class Dataset:
    """Everything a plan asks for, explicit and generated, in creation order."""

    tag: str
    seed: int
    roles: dict[str, int]
    categories: list[Category] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    enrolments: list[Enrolment] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    cohorts: list[Cohort] = field(default_factory=list)
    #: The plan, for its content (activities, questions, students' work), which is
    #: generated once the site's modules are known (see ``seeding.content``).
    plan: Plan | None = None
    #: Set by :func:`namespaced`: the prefix of every course shortname and username.
    namespace: str | None = None
    #: Set for a site's own courses and users (see ``seeding.sample``): the site's URL.
    sampled_from: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "categories": len(self.categories),
            "courses": len(self.courses),
            "users": len(self.users),
            "enrolments": len(self.enrolments),
            "groups": len(self.groups),
            "group_members": sum(len(g.members) for g in self.groups),
            "cohorts": len(self.cohorts),
            "cohort_members": sum(len(c.members) for c in self.cohorts),
        }


def stable_seed(*parts: object) -> int:
    """A seed derived from ``parts`` that is the same in every process."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class _Gen:
    def __init__(self, plan: Plan, seed: int, tag: str) -> None:
        self.plan = plan
        self.seed = seed
        self.tag = tag
        self.fake = Faker("en_US")

    def rng(self, *parts: object) -> random.Random:
        return random.Random(stable_seed(self.seed, *parts))

    def faker(self, *parts: object) -> Faker:
        self.fake.seed_instance(stable_seed(self.seed, *parts))
        return self.fake

    def error(self, field_name: str, message: str) -> PlanError:
        # "generate.courses[0].formats" -> ("generate", "courses", 0, "formats")
        loc: list[str | int] = []
        for part in re.findall(r"[^.\[\]]+", field_name):
            loc.append(int(part) if part.isdigit() else part)
        return self.plan.error(tuple(loc), message)


def generate(
    plan: Plan,
    seed: int = 0,
    *,
    installed_formats: Sequence[str] = CORE_FORMATS,
    tag: str | None = None,
) -> Dataset:
    """Every entity the plan asks for.

    ``installed_formats`` resolves ``formats: all``; a format the plan names that is
    not among them is refused (:class:`PlanError`), before anything is sent.
    """
    gen = _Gen(plan, seed, tag or plan.tag)
    data = Dataset(tag=gen.tag, seed=seed, roles=dict(plan.roles), plan=plan)
    _categories(gen, data)
    _users(gen, data)
    _courses(gen, data, installed_formats)
    _enrolments(gen, data)
    _groups(gen, data)
    _cohorts(gen, data)
    return data


def _categories(gen: _Gen, data: Dataset) -> None:
    by_ref: dict[str, Category] = {}
    for index, spec in enumerate(gen.plan.categories):
        parent: Category | None = None
        if spec.parent:
            parent = by_ref.get(spec.parent)
            if parent is None:
                raise gen.error(
                    f"categories[{index}].parent",
                    f"{spec.parent!r} is not a category listed above it in the plan",
                )
        path = f"{parent.path}/{spec.name}" if parent else spec.name
        key = spec.idnumber or slug(path)
        category = Category(key, spec.name, path, parent.key if parent else None, spec.description)
        if key in {c.key for c in data.categories}:
            raise gen.error(f"categories[{index}]", f"idnumber {key!r} is used twice")
        data.categories.append(category)
        by_ref[key] = by_ref[path] = category
    spec_gen = gen.plan.generate.categories
    if spec_gen is None:
        return
    parent = by_ref.get(spec_gen.parent) if spec_gen.parent else None
    if spec_gen.parent and parent is None:
        raise gen.error("generate.categories.parent", f"{spec_gen.parent!r} is not in the plan")
    used: set[str] = set()
    for n in range(1, spec_gen.count + 1):
        key = spec_gen.idnumber_pattern.format(n=n)
        name = _SUBJECTS[(n - 1) % len(_SUBJECTS)]
        if name in used:
            name = f"{name} {n}"
        used.add(name)
        path = f"{parent.path}/{name}" if parent else name
        data.categories.append(
            Category(
                key, name, path, parent.key if parent else None, f"Generated category {n}", True
            )
        )


def _user(gen: _Gen, username: str, role_hint: str | None, **given: str | None) -> User:
    fake = gen.faker("user", username)
    first = given.get("firstname") or fake.first_name()
    last = given.get("lastname") or fake.last_name()
    city = given.get("city") or fake.city()
    country = given.get("country") or fake.random_element(("GB", "US", "DE", "FR", "ES", "AU"))
    # The username keeps emails unique (Moodle refuses duplicates by default).
    email = given.get("email") or f"{slug(first)}.{slug(last)}.{username}@{EMAIL_DOMAIN}"
    return User(
        username=username,
        firstname=first,
        lastname=last,
        email=email,
        password=given.get("password") or DEFAULT_PASSWORD,
        auth=given.get("auth") or "manual",
        city=city,
        country=country,
        role_hint=role_hint,
    )


def _users(gen: _Gen, data: Dataset) -> None:
    seen: set[str] = set()
    for spec in gen.plan.users:
        data.users.append(
            _user(
                gen,
                spec.username,
                spec.role_hint,
                firstname=spec.firstname,
                lastname=spec.lastname,
                email=spec.email,
                password=spec.password,
                auth=spec.auth,
                city=spec.city,
                country=spec.country,
            )
        )
        seen.add(spec.username)
    for index, spec_gen in enumerate(gen.plan.generate.users):
        for n in range(1, spec_gen.count + 1):
            username = spec_gen.username_pattern.format(n=n)
            if username in seen:
                raise gen.error(
                    f"generate.users[{index}].username_pattern",
                    f"makes {username!r}, which another user already has",
                )
            seen.add(username)
            data.users.append(
                _user(
                    gen,
                    username,
                    spec_gen.role_hint,
                    password=spec_gen.password,
                    auth=spec_gen.auth,
                )
            )


def _methods(specs: Iterable[EnrolMethodSpec]) -> tuple[EnrolMethod, ...]:
    return tuple(EnrolMethod(s.method, s.key, s.password) for s in specs)


def _category_of(data: Dataset, ref: str) -> tuple[str | None, str | None]:
    for category in data.categories:
        if ref in (category.key, category.path):
            return category.key, None
    return None, ref


def _explicit_course(data: Dataset, spec: CourseSpec) -> Course:
    key, external = _category_of(data, spec.category)
    sectionless = spec.format in SECTIONLESS_FORMATS
    return Course(
        shortname=spec.shortname,
        fullname=spec.fullname or spec.shortname,
        category_key=key,
        category_ref=external,
        format=spec.format,
        numsections=0 if sectionless else spec.numsections,
        sections=tuple(Section(s.number, s.name, s.visible) for s in spec.sections),
        format_options=tuple(sorted((k, _option(v)) for k, v in spec.format_options.items())),
        theme=spec.theme,
        visible=spec.visible,
        summary=spec.summary,
        methods=_methods(spec.enrolment_methods),
    )


def _option(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _check_format(gen: _Gen, field_name: str, name: str, installed: Sequence[str]) -> None:
    # Moodle quietly gives a course with an unknown format the site's default one.
    if name not in installed:
        raise gen.error(
            field_name,
            f"course format {name!r} is not installed on the site "
            f"(installed: {', '.join(installed)})",
        )


def _courses(gen: _Gen, data: Dataset, installed: Sequence[str]) -> None:
    for index, spec in enumerate(gen.plan.courses):
        _check_format(gen, f"courses[{index}].format", spec.format, installed)
        course = _explicit_course(data, spec)
        if spec.format in SECTIONLESS_FORMATS and spec.sections:
            raise gen.error(
                f"courses[{index}].sections", f"the {spec.format} format has no numbered sections"
            )
        data.courses.append(course)
    shortnames = {c.shortname for c in data.courses}
    for index, spec_gen in enumerate(gen.plan.generate.courses):
        formats = _course_formats(gen, index, spec_gen, installed)
        if spec_gen.category is None and not any(c.generated for c in data.categories):
            raise gen.error(
                f"generate.courses[{index}].category",
                "give a category, or generate categories for the courses to go in",
            )
        for n, course_format in enumerate(formats, start=1):
            shortname = spec_gen.shortname_pattern.format(n=n)
            if shortname in shortnames:
                raise gen.error(
                    f"generate.courses[{index}].shortname_pattern",
                    f"makes {shortname!r}, which another course already has",
                )
            shortnames.add(shortname)
            data.courses.append(
                _generated_course(
                    gen, data, spec_gen, n=n, shortname=shortname, course_format=course_format
                )
            )


def _course_formats(
    gen: _Gen, index: int, spec_gen: GenCourses, installed: Sequence[str]
) -> list[str]:
    """The format of each generated course, in order.

    The first ``count`` courses use the core formats (or the plan's) in turn, the
    same on every site; each further installed format gets ``per_extra_format`` more.
    """
    if spec_gen.formats == ALL_FORMATS:
        base = list(CORE_FORMATS)
        extras = sorted(f for f in installed if f not in CORE_FORMATS)
    else:
        base, extras = list(spec_gen.formats), []
        for name in base:
            _check_format(gen, f"generate.courses[{index}].formats", name, installed)
    if not base:
        raise gen.error(f"generate.courses[{index}].formats", "no formats to use")
    formats = [base[(n - 1) % len(base)] for n in range(1, spec_gen.count + 1)]
    for extra in extras:
        formats += [extra] * spec_gen.per_extra_format
    return formats


def _generated_course(
    gen: _Gen, data: Dataset, spec_gen: GenCourses, *, n: int, shortname: str, course_format: str
) -> Course:
    if spec_gen.category is not None:
        key, external = _category_of(data, spec_gen.category)
    else:
        generated_categories = [c for c in data.categories if c.generated]
        key, external = generated_categories[(n - 1) % len(generated_categories)].key, None
    rng = gen.rng("course", shortname)
    fake = gen.faker("course", shortname)
    sectionless = course_format in SECTIONLESS_FORMATS
    numsections = 0 if sectionless else rng.randint(*spec_gen.numsections)
    sections = _generated_sections(rng, fake, spec_gen, numsections)
    subject = fake.bs().capitalize()
    return Course(
        shortname=shortname,
        fullname=f"{subject} ({shortname})",
        category_key=key,
        category_ref=external,
        format=course_format,
        numsections=numsections,
        sections=sections,
        format_options=(),
        theme=spec_gen.theme,
        visible=n > spec_gen.hidden_courses,
        summary=fake.paragraph(nb_sentences=3),
        methods=_methods(spec_gen.enrolment_methods),
        generated=True,
    )


def _generated_sections(
    rng: random.Random, fake: Faker, spec_gen: GenCourses, numsections: int
) -> tuple[Section, ...]:
    """Some sections hidden, some named (the rest keep the format's defaults)."""
    numbers = list(range(1, numsections + 1))
    hidden = set(rng.sample(numbers, min(spec_gen.hidden_sections, len(numbers))))
    named = set(rng.sample(numbers, min(spec_gen.named_sections, len(numbers))))
    return tuple(
        Section(number, fake.catch_phrase() if number in named else None, number not in hidden)
        for number in numbers
        if number in hidden or number in named
    )


def _pool(data: Dataset, hint: str) -> list[str]:
    return [u.username for u in data.users if u.role_hint == hint]


def _enrolments(gen: _Gen, data: Dataset) -> None:
    seen: set[tuple[str, str, str]] = set()

    def add(triple: tuple[str, str, str]) -> None:
        if triple not in seen:
            seen.add(triple)
            data.enrolments.append(Enrolment(*triple))

    for spec in gen.plan.enrolments:
        add((spec.user, spec.course, spec.role))
    for index, spec_gen in enumerate(gen.plan.generate.enrolments):
        pool = _pool(data, spec_gen.users)
        courses = [c for c in data.courses if c.generated or spec_gen.courses == "all"]
        if not courses:
            continue
        if not pool:
            raise gen.error(
                f"generate.enrolments[{index}].users",
                f"no users have role_hint {spec_gen.users!r}",
            )
        for course, amount in zip(courses, _amounts(spec_gen, len(courses)), strict=True):
            if amount > len(pool):
                raise gen.error(
                    f"generate.enrolments[{index}]",
                    f"asks for {amount} {spec_gen.users} users in {course.shortname} "
                    f"but only {len(pool)} have that role hint",
                )
            rng = gen.rng("enrol", spec_gen.role, spec_gen.users, course.shortname)
            for username in sorted(rng.sample(pool, amount)):
                add((username, course.shortname, spec_gen.role))


def _amounts(spec_gen: GenEnrolments, courses: int) -> list[int]:
    """Enrolments per course: ``per_course`` each, or ``count`` spread evenly."""
    if spec_gen.per_course is not None:
        return [spec_gen.per_course] * courses
    total = spec_gen.count or 0
    return [total // courses + (1 if i < total % courses else 0) for i in range(courses)]


def _groups(gen: _Gen, data: Dataset) -> None:
    for spec in gen.plan.groups:
        data.groups.append(Group(spec.course, spec.name, spec.description, tuple(spec.members)))
    spec_gen = gen.plan.generate.groups
    if spec_gen is None or spec_gen.per_course == 0:
        return
    explicit = {(g.shortname, g.name) for g in data.groups}
    enrolled: dict[str, list[str]] = {}
    for enrolment in data.enrolments:
        course_users = enrolled.setdefault(enrolment.shortname, [])
        if enrolment.username not in course_users:
            course_users.append(enrolment.username)
    for course in data.courses:
        if not (course.generated or spec_gen.courses == "all"):
            continue
        rng = gen.rng("groups", course.shortname)
        people = sorted(enrolled.get(course.shortname, []))
        rng.shuffle(people)
        people = people[: int(len(people) * spec_gen.members)]
        for n in range(1, spec_gen.per_course + 1):
            name = spec_gen.name_pattern.format(n=n)
            if (course.shortname, name) in explicit:
                continue
            members = tuple(sorted(people[n - 1 :: spec_gen.per_course]))
            data.groups.append(
                Group(course.shortname, name, f"{name} of {course.fullname}", members)
            )


def _cohorts(gen: _Gen, data: Dataset) -> None:
    for spec in gen.plan.cohorts:
        data.cohorts.append(Cohort(spec.idnumber, spec.name, spec.visible, tuple(spec.members)))
    spec_gen = gen.plan.generate.cohorts
    if spec_gen is None:
        return
    pool = _pool(data, spec_gen.users)
    keys = {c.key for c in data.cohorts}
    for n in range(1, spec_gen.count + 1):
        key = spec_gen.idnumber_pattern.format(n=n)
        if key in keys:
            raise gen.error("generate.cohorts.idnumber_pattern", f"makes {key!r} twice")
        keys.add(key)
        rng = gen.rng("cohort", key)
        fake = gen.faker("cohort", key)
        members = tuple(sorted(rng.sample(pool, min(spec_gen.members, len(pool)))))
        data.cohorts.append(Cohort(key, f"{fake.city()} intake {n}", True, members))


def namespaced(data: Dataset, namespace: str) -> Dataset:
    """The same data under other natural keys, ``<namespace>-`` before each one,
    tagged ``namespace``: to seed one plan twice on a site (the benchmark does)."""

    def key(value: str) -> str:
        return f"{namespace}-{value}"

    return Dataset(
        tag=namespace,
        seed=data.seed,
        roles=dict(data.roles),
        plan=data.plan,
        namespace=namespace,
        categories=[
            replace(
                c,
                key=key(c.key),
                name=f"{c.name} ({namespace})" if c.parent_key is None else c.name,
                parent_key=key(c.parent_key) if c.parent_key else None,
            )
            for c in data.categories
        ],
        courses=[
            replace(
                c,
                shortname=key(c.shortname),
                category_key=key(c.category_key) if c.category_key else None,
            )
            for c in data.courses
        ],
        users=[
            replace(u, username=key(u.username), email=f"{namespace}.{u.email}") for u in data.users
        ],
        enrolments=[Enrolment(key(e.username), key(e.shortname), e.role) for e in data.enrolments],
        groups=[
            replace(g, shortname=key(g.shortname), members=tuple(key(m) for m in g.members))
            for g in data.groups
        ],
        cohorts=[
            replace(c, key=key(c.key), members=tuple(key(m) for m in c.members))
            for c in data.cohorts
        ],
    )
