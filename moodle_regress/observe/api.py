"""Observing a site through its web services.

What is observed, and from where (every call is a read; the admin token sees all):

=====================  ==========================================================
key                    source
=====================  ==========================================================
site/@site/*           ``core_webservice_get_site_info``: release, version, site
                       name, language, calendar type
webservice/<fn>/       the same call's ``functions``: every function the token's
version                service offers (the sandbox's service offers them all)
api/<fn>/fields        the field paths found in each answer below (``[]`` marks a
                       list): a field Moodle adds or drops shows here
courses/<C>/*          ``core_course_get_courses`` (format, format options,
                       visibility, group mode...) and ``core_course_get_categories``
                       (the category path); sections and their modules from
                       ``core_course_get_contents``
enrolments/<C>/*       ``core_enrol_get_course_enrolment_methods`` (enabled
                       instances whose plugin offers users enrolment info: self
                       and guest, not manual) and
                       ``core_enrol_get_enrolled_users`` (users with their roles)
users/<U>/*            ``core_user_get_users`` (profile fields) and each user's
                       courses from the enrolled users' ``enrolledcourses``
                       (``core_enrol_get_users_courses`` for users enrolled in no
                       observed course)
groups/<C>/<group>     ``core_group_get_course_groups`` and
                       ``core_group_get_group_members``
themes/*, formats/*    site theme from site info, course themes (``forcetheme``);
                       available themes and formats: no web-service function lists
                       them, so candidate names (the core ones, those in use, and
                       those the caller knows, such as a sandbox's code tree) are
                       checked with ``core_get_string(pluginname)``: a plugin that
                       is not installed answers ``[[pluginname]]``
=====================  ==========================================================

Which entities: those the entity filter accepts (by default, ``idnumber`` starting
``mr-``: everything the seeder made) and the site as a whole.  Calls that do not
depend on each other run concurrently on the client's pool.  A function missing
from the site or the service is noted in the snapshot's metadata and its facts are
left out, rather than failing the whole snapshot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rich.progress import Progress, TaskID

from moodle_regress.errors import MoodleRegressError
from moodle_regress.observation import (
    SITE_ENTITY,
    Normaliser,
    Observation,
    clean_string,
    make_key,
)
from moodle_regress.observe.content import ContentObserver, ContentSources, CourseInput
from moodle_regress.plugins import CORE_FORMATS, CORE_THEMES, display_name, probe_call
from moodle_regress.snapshot import Snapshot, SnapshotMeta, public_url
from moodle_ws import AccessDeniedError, FunctionNotFoundError, MoodleClient, MoodleError

T = TypeVar("T")


class ObserveError(MoodleRegressError):
    """The site cannot be observed at all (a clear cause and fix in the message)."""


#: The web-service functions the observer calls (a site's service must offer them).
OBSERVER_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_course_get_courses",
    "core_course_get_categories",
    "core_course_get_contents",
    "core_user_get_users",
    "core_enrol_get_course_enrolment_methods",
    "core_enrol_get_enrolled_users",
    "core_enrol_get_users_courses",
    "core_group_get_course_groups",
    "core_group_get_group_members",
    "core_get_string",
)


SITE_FIELDS = ("release", "version", "sitename", "lang", "sitecalendartype")
COURSE_FIELDS = (
    "fullname",
    "idnumber",
    "summary",
    "visible",
    "format",
    "groupmode",
    "groupmodeforce",
    "lang",
    "enablecompletion",
    "showgrades",
    "newsitems",
    "maxbytes",
    "showreports",
    "showactivitydates",
    "showcompletionconditions",
)
USER_FIELDS = (
    "firstname",
    "lastname",
    "email",
    "idnumber",
    "auth",
    "suspended",
    "confirmed",
    "lang",
    "theme",
    "timezone",
    "city",
    "country",
    "department",
    "institution",
    "description",
    "mailformat",
)
MODULE_FIELDS = ("name", "modname", "visible", "visibleoncoursepage", "indent", "completion")
SECTION_FIELDS = ("name", "visible", "summary", "component")
ENROLLED_USER_FIELDS = "id,username,roles,enrolledcourses"

#: (kind, record) -> whether to observe the entity.  Kinds: course, user.
EntityFilter = Callable[[str, Mapping[str, Any]], bool]


def prefix_filter(prefix: str = "mr-") -> EntityFilter:
    """Entities whose ``idnumber`` starts with ``prefix`` (``mr-<tag>-`` for one run)."""

    def accept(_kind: str, record: Mapping[str, Any]) -> bool:
        return str(record.get("idnumber") or "").startswith(prefix)

    return accept


def all_entities(kind: str, record: Mapping[str, Any]) -> bool:
    """Every course but the front page, every user but the guest."""
    if kind == "course":
        return record.get("format") != "site"
    if kind == "user":
        return record.get("username") != "guest"
    return True


def field_paths(value: Any, prefix: str = "") -> set[str]:
    """Every field path in a JSON value: ``{"a": [{"b": 1}]}`` -> ``{"a", "a[].b"}``."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for name, item in value.items():
            path = f"{prefix}.{name}" if prefix else name
            paths.add(path)
            paths |= field_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= field_paths(item, f"{prefix}[]")
    return paths


@dataclass
class ObservationRun:
    """What one observation of a site gave."""

    observations: list[Observation]
    meta: SnapshotMeta
    calls: int
    seconds: float

    def snapshot(self) -> Snapshot:
        return Snapshot(self.meta, self.observations)


@dataclass
class _Collector:
    release: str
    normaliser: Normaliser
    items: list[Observation] = field(default_factory=list)

    def add(self, key: str, value: Any, *, ordered: bool = False) -> None:
        self.items.append(
            self.normaliser.observation(key, value, release=self.release, ordered=ordered)
        )


class ApiObserver:
    """Observes one site through ``client`` (an admin's token sees everything)."""

    def __init__(
        self,
        client: MoodleClient,
        *,
        entity_filter: EntityFilter | None = None,
        concurrent: bool = True,
        max_workers: int | None = None,
        plugin_candidates: Mapping[str, Iterable[str]] | None = None,
        progress: Progress | None = None,
        content: bool = True,
        question_banks: Callable[[list[str]], Mapping[str, Any]] | None = None,
        users_per_course: int | None = None,
    ) -> None:
        self.client = client
        self.entity_filter = entity_filter or prefix_filter()
        self.concurrent = concurrent
        self.max_workers = max_workers
        self.plugin_candidates = {k: set(v) for k, v in (plugin_candidates or {}).items()}
        self.progress = progress
        #: Observe course content too (see ``observe.content``).
        self.content = content
        self.question_banks = question_banks
        self.users_per_course = users_per_course
        self._task: TaskID | None = None
        self._lock = threading.Lock()
        self._calls = 0
        self._total = 0
        self.notes: list[str] = []
        self._missing: set[str] = set()
        self._shapes: dict[str, set[str]] = {}

    # --- calls ----------------------------------------------------------------------

    def _call(self, function: str, **params: Any) -> Any:
        """One read; None when the site or the service lacks the function."""
        if function in self._missing:
            return None
        try:
            result = self.client.call(function, read=True, **params)
        except (FunctionNotFoundError, AccessDeniedError) as exc:
            with self._lock:
                if function not in self._missing:
                    self._missing.add(function)
                    self.notes.append(
                        f"{function} unavailable ({type(exc).__name__}): its facts are left out"
                    )
            return None
        finally:
            with self._lock:
                self._calls += 1
                if self.progress is not None and self._task is not None:
                    self.progress.advance(self._task)
        return result

    def _map(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        if self.progress is not None and self._task is not None:
            self._total += len(items)
            self.progress.update(self._task, total=self._total)
        if self.concurrent:
            return self.client.map_concurrently(fn, items, max_workers=self.max_workers)
        return [fn(item) for item in items]

    def _shape(self, function: str, result: Any) -> None:
        if result is not None:
            self._shapes.setdefault(function, set()).update(field_paths(result))

    # --- the observation --------------------------------------------------------------

    def observe(self) -> ObservationRun:
        started = time.perf_counter()
        if self.progress is not None:
            self._task = self.progress.add_task("observing the site", total=0)

        # Phase 1: the site, all courses, categories and users (independent).
        info, courses_raw, categories_raw, users_raw = self._map(
            lambda job: job(),
            [
                lambda: self._call("core_webservice_get_site_info"),
                lambda: self._call("core_course_get_courses"),
                lambda: self._call("core_course_get_categories"),
                # email LIKE '%': every user that is not deleted, in one answer.
                lambda: self._call(
                    "core_user_get_users", criteria=[{"key": "email", "value": "%"}]
                ),
            ],
        )
        if info is None:
            raise ObserveError(
                "core_webservice_get_site_info is unavailable, so the site cannot be "
                "observed; add it to the token's external service"
            )
        release = str(info.get("release", ""))
        norm = Normaliser(site_root=str(info.get("siteurl") or self.client.url))
        out = _Collector(release, norm)
        for function, result in (
            ("core_webservice_get_site_info", {k: v for k, v in info.items() if k != "functions"}),
            ("core_course_get_courses", courses_raw),
            ("core_course_get_categories", categories_raw),
            ("core_user_get_users", users_raw),
        ):
            self._shape(function, result)

        courses = [c for c in courses_raw or [] if self.entity_filter("course", c)]
        all_courses = {int(c["id"]): c for c in courses_raw or []}
        norm.remember("course", ((cid, str(c["shortname"])) for cid, c in all_courses.items()))
        categories = _category_paths(categories_raw or [])
        norm.remember("category", categories.items())
        users_all = (users_raw or {}).get("users", [])
        norm.remember("user", ((int(u["id"]), str(u["username"])) for u in users_all))
        users = [u for u in users_all if self.entity_filter("user", u)]

        self._observe_site(out, info)
        for course in courses:
            self._observe_course(out, course, categories)

        # Phase 2: per course, four independent reads each.
        per_course = self._map(
            lambda job: (job[0], job[1], self._call(job[1], **job[2])),
            [
                (c, fn, params)
                for c in courses
                for fn, params in (
                    ("core_course_get_contents", {"courseid": c["id"]}),
                    ("core_enrol_get_course_enrolment_methods", {"courseid": c["id"]}),
                    (
                        "core_enrol_get_enrolled_users",
                        {
                            "courseid": c["id"],
                            "options": [{"name": "userfields", "value": ENROLLED_USER_FIELDS}],
                        },
                    ),
                    ("core_group_get_course_groups", {"courseid": c["id"]}),
                )
            ],
        )
        user_courses: dict[str, set[str]] = {}
        groups: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
        contents: dict[str, list[Any]] = {}
        students: dict[str, list[int]] = {}
        for course, function, result in per_course:
            self._shape(function, result)
            if result is None:
                continue
            shortname = str(course["shortname"])
            if function == "core_course_get_contents":
                contents[shortname] = result
                self._observe_sections(out, shortname, result)
            elif function == "core_enrol_get_course_enrolment_methods":
                self._observe_methods(out, shortname, result)
            elif function == "core_enrol_get_enrolled_users":
                self._observe_enrolled(out, shortname, result, user_courses)
                students[shortname] = [
                    int(u["id"])
                    for u in result
                    if any(r.get("shortname") == "student" for r in u.get("roles") or [])
                ]
            else:
                groups.extend((course, g) for g in result)

        # Phase 3: group members, courses of users enrolled in no observed course,
        # and the plugin checks (independent of each other).
        group_ids = [int(g["id"]) for _, g in groups]
        norm.remember("group", ((int(g["id"]), f"{c['shortname']}/{g['name']}") for c, g in groups))
        lonely = [u for u in users if str(u["username"]) not in user_courses]
        candidates = self._plugin_candidates(info, courses_raw or [])
        jobs: list[tuple[str, Any]] = [("members", chunk) for chunk in _chunks(group_ids, 200)]
        jobs += [("usercourses", u) for u in lonely]
        jobs += [("plugin", (kind, name)) for kind, names in candidates.items() for name in names]
        results = self._map(lambda job: (job[0], job[1], self._phase3(job)), jobs)
        members: dict[int, list[str]] = {}
        plugins: dict[str, dict[str, str]] = {"theme": {}, "format": {}}
        for kind, job, result in results:
            if result is None:
                continue
            if kind == "members":
                self._shape("core_group_get_group_members", result)
                for entry in result:
                    members[int(entry["groupid"])] = sorted(
                        norm.natural_key("user", int(uid)) for uid in entry.get("userids", [])
                    )
            elif kind == "usercourses":
                self._shape("core_enrol_get_users_courses", result)
                user_courses[str(job["username"])] = {str(c["shortname"]) for c in result}
            elif (shown := display_name(result)) is not None:
                plugins[job[0]][job[1]] = shown

        for course, group in groups:
            self._observe_group(out, str(course["shortname"]), group, members)
        for user in users:
            self._observe_user(out, user, user_courses)
        for kind, area in (("theme", "themes"), ("format", "formats")):
            for name, display in plugins[kind].items():
                out.add(make_key(area, name, "name"), display)
            out.add(make_key(area, SITE_ENTITY, "available"), sorted(plugins[kind]))
        if self.content:
            self._observe_content(out, info, courses, contents, students)
        for function, paths in self._shapes.items():
            out.add(make_key("api", function, "fields"), sorted(paths))

        meta = SnapshotMeta(
            site_name=str(info.get("sitename", "")),
            site_url=public_url(str(info.get("siteurl") or self.client.url)),
            release=release,
            version=str(info.get("version", "")),
            theme=str(info.get("theme", "")),
            notes=sorted(self.notes),
        )
        return ObservationRun(out.items, meta, self._calls, time.perf_counter() - started)

    def _observe_content(
        self,
        out: _Collector,
        info: Mapping[str, Any],
        courses: Sequence[Mapping[str, Any]],
        contents: Mapping[str, list[Any]],
        students: Mapping[str, list[int]],
    ) -> None:
        """Activities, grades, completion, forums, quizzes, files, question banks."""
        norm = out.normaliser
        sources = ContentSources(
            reader=_Reader(self),
            functions=[str(f["name"]) for f in info.get("functions") or []],
            usernames=norm.idmap.get("user", {}),
            clean=lambda text: clean_string(text, norm.site_root),
            download=self._download,
            banks=self.question_banks,
        )
        inputs = [
            CourseInput(
                id=int(c["id"]),
                shortname=str(c["shortname"]),
                startdate=int(c.get("startdate") or 0),
                enablecompletion=bool(c.get("enablecompletion")),
                sections=contents.get(str(c["shortname"]), []),
                students=students.get(str(c["shortname"]), []),
            )
            for c in courses
        ]
        observer = ContentObserver(sources, users_per_course=self.users_per_course)
        for key, value in observer.observe(inputs):
            out.add(key, value)
        self.notes.extend(sources.notes)

    def _download(self, fileurl: str) -> str | None:
        try:
            raw = self.client.download(fileurl)
        except MoodleError as exc:
            self.notes.append(f"a file could not be read ({type(exc).__name__})")
            return None
        return raw.text if raw.status_code == 200 else None

    def _phase3(self, job: tuple[str, Any]) -> Any:
        kind, arg = job
        if kind == "members":
            return self._call("core_group_get_group_members", groupids=arg)
        if kind == "usercourses":
            return self._call("core_enrol_get_users_courses", userid=arg["id"])
        function, params = probe_call(*arg)
        return self._call(function, **params)

    def _plugin_candidates(
        self, info: Mapping[str, Any], courses: Sequence[Mapping[str, Any]]
    ) -> dict[str, list[str]]:
        themes = set(CORE_THEMES) | self.plugin_candidates.get("theme", set())
        formats = set(CORE_FORMATS) | self.plugin_candidates.get("format", set())
        if info.get("theme"):
            themes.add(str(info["theme"]))
        for course in courses:
            if course.get("forcetheme"):
                themes.add(str(course["forcetheme"]))
            if course.get("format") and course["format"] != "site":
                formats.add(str(course["format"]))
        return {"theme": sorted(themes), "format": sorted(formats)}

    # --- facts ------------------------------------------------------------------------

    def _observe_site(self, out: _Collector, info: Mapping[str, Any]) -> None:
        for name in SITE_FIELDS:
            if name in info:
                out.add(make_key("site", SITE_ENTITY, name), info[name])
        out.add(make_key("themes", SITE_ENTITY, "site-theme"), info.get("theme"))
        for function in info.get("functions") or []:
            out.add(
                make_key("webservice", str(function["name"]), "version"), function.get("version")
            )

    def _observe_course(
        self, out: _Collector, course: Mapping[str, Any], categories: Mapping[int, str]
    ) -> None:
        shortname = str(course["shortname"])
        for name in COURSE_FIELDS:
            if name in course:
                out.add(make_key("courses", shortname, name), course[name])
        out.add(
            make_key("courses", shortname, "category"),
            categories.get(int(course.get("categoryid") or 0), "<category ?>"),
        )
        options = {str(o["name"]): o.get("value") for o in course.get("courseformatoptions") or []}
        out.add(make_key("courses", shortname, "format-options"), options)
        if "forcetheme" in course:
            out.add(make_key("themes", shortname, "course-theme"), course["forcetheme"])

    def _observe_sections(self, out: _Collector, course: str, sections: Sequence[Any]) -> None:
        out.add(make_key("courses", course, "sections", "count"), len(sections))
        out.add(
            make_key("courses", course, "sections", "order"),
            [s.get("section") for s in sections],
            ordered=True,
        )
        for section in sections:
            number = section.get("section")
            for name in SECTION_FIELDS:
                if name in section:
                    out.add(make_key("courses", course, "sections", number, name), section[name])
            modules = [
                {k: m[k] for k in MODULE_FIELDS if k in m} for m in section.get("modules") or []
            ]
            out.add(
                make_key("courses", course, "sections", number, "modules"), modules, ordered=True
            )

    def _observe_methods(self, out: _Collector, course: str, methods: Sequence[Any]) -> None:
        seen: dict[str, int] = {}
        for method in sorted(methods, key=lambda m: int(m.get("id", 0))):
            kind = str(method.get("type"))
            seen[kind] = seen.get(kind, 0) + 1
            value = {k: method[k] for k in ("name", "status", "wsfunction") if k in method}
            out.add(make_key("enrolments", course, "methods", f"{kind}#{seen[kind]}"), value)
        out.add(
            make_key("enrolments", course, "methods", "types"),
            sorted(str(m.get("type")) for m in methods),
        )

    def _observe_enrolled(
        self,
        out: _Collector,
        course: str,
        users: Sequence[Any],
        user_courses: dict[str, set[str]],
    ) -> None:
        out.add(make_key("enrolments", course, "count"), len(users))
        for user in users:
            username = str(user["username"])
            roles = sorted(str(r.get("shortname")) for r in user.get("roles") or [])
            out.add(make_key("enrolments", course, "users", username), roles)
            user_courses.setdefault(username, set()).update(
                str(c["shortname"]) for c in user.get("enrolledcourses") or []
            )

    def _observe_group(
        self,
        out: _Collector,
        course: str,
        group: Mapping[str, Any],
        members: Mapping[int, list[str]],
    ) -> None:
        value = {
            k: group[k]
            for k in ("idnumber", "description", "visibility", "participation")
            if k in group
        }
        value["members"] = members.get(int(group["id"]), [])
        out.add(make_key("groups", course, str(group["name"])), value)

    def _observe_user(
        self, out: _Collector, user: Mapping[str, Any], user_courses: Mapping[str, set[str]]
    ) -> None:
        username = str(user["username"])
        profile = {k: user[k] for k in USER_FIELDS if k in user}
        out.add(make_key("users", username, "profile"), profile)
        out.add(make_key("users", username, "courses"), sorted(user_courses.get(username, ())))


class _Reader:
    """The observer's reads, as the content observer needs them."""

    def __init__(self, observer: ApiObserver) -> None:
        self._observer = observer

    def call(self, function: str, /, **params: Any) -> Any:
        result = self._observer._call(function, **params)
        self._observer._shape(function, result)
        return result

    def map(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        return self._observer._map(fn, items)


def _category_paths(categories: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Category id -> path of names ("Seeded courses/Staff development")."""
    by_id = {int(c["id"]): c for c in categories}
    paths: dict[int, str] = {}
    for cid in by_id:
        names: list[str] = []
        current: int | None = cid
        guard = 0
        while current and current in by_id and guard < 50:
            names.append(str(by_id[current].get("name", "")))
            current = int(by_id[current].get("parent") or 0)
            guard += 1
        paths[cid] = "/".join(reversed(names))
    return paths


def _chunks(items: Sequence[int], size: int) -> list[list[int]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
