"""Apply a generated dataset to a site: idempotent, batched, concurrent.

Each step reads what already exists by natural key (username, shortname,
idnumber, course + group name) and creates only what is missing, many entities
per call and independent calls at once.  Running twice creates nothing new; a run
stopped half-way completes on the next run without duplicates, because nothing is
remembered between runs except what is on the site.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from moodle_regress.errors import MoodleRegressError
from moodle_regress.guard import ensure_writable
from moodle_regress.seeding.generate import Course, Dataset
from moodle_regress.seeding.site import LocalSite
from moodle_regress.seeding.tags import group_idnumber, tagged
from moodle_ws import MoodleAPIError, MoodleClient, MoodleError
from moodle_ws.areas.categories import Category as SiteCategory
from moodle_ws.areas.categories import CategoryCreate
from moodle_ws.areas.cohorts import CohortCreate, CohortMember
from moodle_ws.areas.courses import CourseCreate, NameValue
from moodle_ws.areas.enrol import ManualEnrolment
from moodle_ws.areas.groups import GroupCreate, GroupMember
from moodle_ws.areas.users import UserCreate

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Role ids of a fresh Moodle install (no web-service function lists roles);
#: a plan's ``roles:`` overrides them for sites that differ.
STANDARD_ROLE_IDS = {
    "manager": 1,
    "coursecreator": 2,
    "editingteacher": 3,
    "teacher": 4,
    "student": 5,
    "guest": 6,
    "user": 7,
    "frontpage": 8,
}

INPLACE_EDITABLE = "core_update_inplace_editable"
DEADLOCK_ATTEMPTS = 4
#: Client timeout for seeding: one batch call may hold hundreds of writes.
SEED_TIMEOUT = 180.0
STEPS = (
    "categories",
    "courses",
    "users",
    "sections",
    "enrolment_methods",
    "enrolments",
    "groups",
    "group_members",
    "cohorts",
    "cohort_members",
)


class SeedError(MoodleRegressError):
    """Seeding data cannot be made on this site (a reference the site lacks, a page
    that refuses...): the plan's seeder and the browser suites' one alike."""


class ApplyInterrupted(MoodleRegressError):
    """Raised by a ``before_write`` hook to stop a run (tests use it)."""


class Progress(Protocol):
    def begin(self, step: str, total: int) -> None: ...

    def advance(self, step: str, amount: int = 1) -> None: ...


class _NoProgress:
    def begin(self, step: str, total: int) -> None:
        pass

    def advance(self, step: str, amount: int = 1) -> None:
        pass


@dataclass
class StepCount:
    created: int = 0
    existing: int = 0
    #: Asked for but impossible on this site (see ``Summary.notes``).
    unavailable: int = 0
    seconds: float = 0.0


@dataclass
class Summary:
    """Per step: how many entities were created and how many were there already."""

    steps: dict[str, StepCount] = field(default_factory=lambda: {s: StepCount() for s in STEPS})
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    calls: int = 0
    #: CPU seconds of the PHP runs that made the content (on a sandbox).
    php_cpu_seconds: float = 0.0

    @property
    def created(self) -> int:
        return sum(s.created for s in self.steps.values())

    @property
    def existing(self) -> int:
        return sum(s.existing for s in self.steps.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            name: {"created": s.created, "existing": s.existing, "unavailable": s.unavailable}
            for name, s in self.steps.items()
        }


@dataclass
class ApplyOptions:
    user_batch: int = 250
    course_batch: int = 10
    enrol_batch: int = 500
    member_batch: int = 250
    category_batch: int = 100
    group_batch: int = 100
    cohort_batch: int = 100
    lookup_batch: int = 500
    #: Concurrent requests; PHP's built-in server runs one per worker.
    workers: int = 4
    #: Called before every write call with the step's name; raise to stop the run.
    before_write: Callable[[str], None] | None = None


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


#: Items in the first write call of a step, timed alone to learn the site's speed.
PROBE_ITEMS = 5


def paced_size(largest: int, per_item: float, *, timeout: float, workers: int) -> int:
    """Items per write call so that calls running ``workers`` at a time end well
    within ``timeout``: a call timed alone may take twice as long beside others,
    and half the timeout is kept spare.

    A slow site gets small calls (Moodle 4.2 hashes each new user's password with
    bcrypt: about 0.1-0.3 s a user, so 250 users in a call took over 30 s), a fast
    one the largest batches.
    """
    if per_item <= 0:
        return largest
    budget = timeout / (4 * max(1, workers))
    return max(1, min(largest, int(budget / per_item)))


def is_deadlock(exc: MoodleAPIError) -> bool:
    """Whether Moodle's error is the database breaking a deadlock: PostgreSQL says
    "deadlock detected", MariaDB and MySQL "Deadlock found when trying to get lock"."""
    return "deadlock" in str(exc.debuginfo or "").lower()


class _Applier:
    def __init__(
        self,
        client: MoodleClient,
        data: Dataset,
        options: ApplyOptions,
        progress: Progress,
        local: LocalSite | None,
    ) -> None:
        self.client = client
        self.data = data
        self.options = options
        self.progress = progress
        self.local = local
        self.summary = Summary()
        self.roles = {**STANDARD_ROLE_IDS, **data.roles}
        self.category_ids: dict[str, int] = {}  # plan key -> id
        self.course_ids: dict[str, int] = {}  # shortname -> id
        self.course_formats: dict[str, str] = {}
        self.user_ids: dict[str, int] = {}  # username -> id
        self.group_ids: dict[tuple[str, str], int] = {}
        self.cohort_ids: dict[str, int] = {}
        self._lock = threading.Lock()

    # --- helpers -----------------------------------------------------------------

    def write(self, step: str, fn: Callable[[], T]) -> T:
        if self.options.before_write is not None:
            self.options.before_write(step)
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self.summary.calls += 1
            try:
                return fn()
            except MoodleAPIError as exc:
                # The database broke a deadlock by rolling back this call's whole
                # transaction, so sending it again cannot duplicate anything.
                if not is_deadlock(exc) or attempt >= DEADLOCK_ATTEMPTS:
                    raise
                log.info("%s: deadlock, retrying (attempt %d)", step, attempt + 1)
                time.sleep(0.2 * attempt)

    def concurrently(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        return self.client.map_concurrently(fn, items, max_workers=self.options.workers)

    def batched(
        self,
        groups: Iterable[Sequence[T]],
        largest: int,
        run: Callable[[Sequence[T]], object],
    ) -> None:
        """Run ``run`` on batches of ``groups`` (a batch never mixes two groups),
        concurrently, batches sized to the site's speed (see :func:`paced_size`):
        the first, small one is timed alone."""
        pending = [list(group) for group in groups if group]
        if not pending:
            return
        probe = pending[0][: min(largest, PROBE_ITEMS)]
        pending[0] = pending[0][len(probe) :]
        started = time.perf_counter()
        run(probe)
        per_item = (time.perf_counter() - started) / len(probe)
        size = paced_size(
            largest, per_item, timeout=self.client.timeout, workers=self.options.workers
        )
        if size < largest:
            log.info("site answers slowly (%.2f s an item): %d items a call", per_item, size)
        self.concurrently(run, [batch for group in pending for batch in chunks(group, size)])

    def count(self, step: str, *, created: int = 0, existing: int = 0) -> None:
        with self._lock:
            self.summary.steps[step].created += created
            self.summary.steps[step].existing += existing
        self.progress.advance(step, created + existing)

    # --- before any write ------------------------------------------------------

    def check_references(self) -> None:
        """Refuse, before the first write, what the plan refers to that neither the
        plan nor the site has (users, courses, site categories, roles)."""
        problems = [*self._missing_users(), *self._missing_courses(), *self._missing_roles()]
        refs = sorted({c.category_ref for c in self.data.courses if c.category_ref})
        if refs:
            self.site_categories = self.client.categories.get()
            for course in self.data.courses:
                if course.category_ref:
                    try:
                        self._site_category(course.category_ref, course.shortname)
                    except SeedError as exc:
                        problems.append(exc.message)
        if problems:
            raise SeedError(
                "the plan refers to what neither it nor the site has: " + "; ".join(problems),
                "add them to the plan (or create them on the site), or correct the names",
            )

    def _missing_users(self) -> list[str]:
        known = {u.username for u in self.data.users}
        wanted: dict[str, str] = {}
        for e in self.data.enrolments:
            wanted.setdefault(e.username, "enrolments")
        for g in self.data.groups:
            for member in g.members:
                wanted.setdefault(member, f"group {g.name!r}")
        for c in self.data.cohorts:
            for member in c.members:
                wanted.setdefault(member, f"cohort {c.key!r}")
        outside = sorted(set(wanted) - known)

        def lookup(batch: Sequence[str]) -> list[tuple[str, int]]:
            found = self.client.users.get_by_field("username", batch)
            return [(u.username, u.id) for u in found if u.username is not None]

        for pairs in self.concurrently(lookup, chunks(outside, self.options.lookup_batch)):
            self.user_ids.update(pairs)
        return [
            f"{wanted[name]}: user {name!r} is neither in the plan nor on the site"
            for name in outside
            if name not in self.user_ids
        ]

    def _missing_courses(self) -> list[str]:
        known = {c.shortname for c in self.data.courses}
        wanted: dict[str, str] = {}
        for e in self.data.enrolments:
            wanted.setdefault(e.shortname, "enrolments")
        for g in self.data.groups:
            wanted.setdefault(g.shortname, f"group {g.name!r}")
        outside = sorted(set(wanted) - known)

        def lookup(shortname: str) -> tuple[str, int | None]:
            found = self.client.courses.get_by_field("shortname", shortname)
            return shortname, found[0].id if found else None

        missing = []
        for shortname, courseid in self.concurrently(lookup, outside):
            if courseid is None:
                missing.append(
                    f"{wanted[shortname]}: course {shortname!r} is neither in the plan "
                    "nor on the site"
                )
            else:
                self.course_ids[shortname] = courseid
        return missing

    def _missing_roles(self) -> list[str]:
        unknown = sorted({e.role for e in self.data.enrolments} - set(self.roles))
        return [
            f"role {role!r} has no known id (add it to the plan: roles: {{{role}: <id>}})"
            for role in unknown
        ]

    # --- steps -------------------------------------------------------------------

    def categories(self) -> None:
        step = "categories"
        self.progress.begin(step, len(self.data.categories))
        site = self.client.categories.get()
        by_idnumber = {c.idnumber: c.id for c in site if c.idnumber}
        self.site_categories = site
        pending = []
        for category in self.data.categories:
            idnumber = tagged(self.data.tag, category.key)
            if idnumber in by_idnumber:
                self.category_ids[category.key] = by_idnumber[idnumber]
                self.count(step, existing=1)
            else:
                pending.append(category)
        # Parents before children: one call per level of the tree.
        while pending:
            level = [
                c for c in pending if c.parent_key is None or c.parent_key in self.category_ids
            ]
            if not level:
                raise SeedError(f"category parents cannot be resolved: {[c.key for c in pending]}")
            creates = [
                CategoryCreate(
                    name=c.name,
                    parent=self.category_ids[c.parent_key] if c.parent_key else 0,
                    idnumber=tagged(self.data.tag, c.key),
                    description=c.description or None,
                )
                for c in level
            ]
            for batch in chunks(
                list(zip(level, creates, strict=True)), self.options.category_batch
            ):
                created = self.write(
                    step, partial(self.client.categories.create, [c for _, c in batch])
                )
                for (category, _), made in zip(batch, created, strict=True):
                    self.category_ids[category.key] = made.id
            pending = [c for c in pending if c not in level]
            self.count(step, created=len(level))

    def _site_category(self, ref: str, course: str) -> int:
        site: list[SiteCategory] = self.site_categories
        by_id = {c.id: c for c in site}

        def path(c: SiteCategory) -> str:
            parts = [c.name]
            while c.parent and c.parent in by_id:
                c = by_id[c.parent]
                parts.append(c.name)
            return "/".join(reversed(parts))

        for category in site:
            if ref in (category.idnumber, path(category)):
                return category.id
        raise SeedError(
            f"course {course}: category {ref!r} is neither in the plan nor on the site "
            "(give a category path like 'Science/Physics' or a category idnumber)"
        )

    def courses(self) -> None:
        step = "courses"
        self.progress.begin(step, len(self.data.courses))
        existing = {c.shortname: c for c in self.client.courses.get()}
        missing: list[Course] = []
        for course in self.data.courses:
            found = existing.get(course.shortname)
            if found is not None:
                self.course_ids[course.shortname] = found.id
                self.course_formats[course.shortname] = found.format or course.format
                self.count(step, existing=1)
            else:
                missing.append(course)

        def create(batch: Sequence[Course]) -> None:
            items = [self._course_create(c) for c in batch]
            made = self.write(step, lambda: self.client.courses.create(items))
            with self._lock:
                for course, result in zip(batch, made, strict=True):
                    self.course_ids[course.shortname] = result.id
                    self.course_formats[course.shortname] = course.format
            self.count(step, created=len(batch))

        # Creating a course updates its category's row: a call holding courses of
        # several categories can deadlock with another, so each call gets one category.
        by_category: dict[str, list[Course]] = {}
        for course in missing:
            key = course.category_key or f"site:{course.category_ref}"
            by_category.setdefault(key, []).append(course)
        self.batched(by_category.values(), self.options.course_batch, create)

    def _course_create(self, course: Course) -> CourseCreate:
        if course.category_key is not None:
            categoryid = self.category_ids[course.category_key]
        else:
            categoryid = self._site_category(course.category_ref or "", course.shortname)
        options = [NameValue(name="numsections", value=course.numsections)]
        options += [NameValue(name=k, value=v) for k, v in course.format_options]
        return CourseCreate(
            fullname=course.fullname,
            shortname=course.shortname,
            categoryid=categoryid,
            idnumber=tagged(self.data.tag, course.shortname),
            summary=course.summary or None,
            summaryformat=1 if course.summary else None,
            format=course.format,
            visible=course.visible,
            forcetheme=course.theme,
            courseformatoptions=options,
        )

    def users(self) -> None:
        step = "users"
        self.progress.begin(step, len(self.data.users))
        usernames = [u.username for u in self.data.users]

        def lookup(batch: Sequence[str]) -> None:
            for user in self.client.users.get_by_field("username", batch):
                if user.username is not None:
                    with self._lock:
                        self.user_ids[user.username] = user.id

        self.concurrently(lookup, chunks(usernames, self.options.lookup_batch))
        missing = [u for u in self.data.users if u.username not in self.user_ids]
        self.count(step, existing=len(self.data.users) - len(missing))

        def create(batch: Sequence[Any]) -> None:
            items = [
                UserCreate(
                    username=u.username,
                    firstname=u.firstname,
                    lastname=u.lastname,
                    email=u.email,
                    password=u.password,
                    auth=u.auth,
                    idnumber=tagged(self.data.tag, u.username),
                    city=u.city,
                    country=u.country,
                )
                for u in batch
            ]
            made = self.write(step, lambda: self.client.users.create(items))
            with self._lock:
                for result in made:
                    self.user_ids[result.username] = result.id
            self.count(step, created=len(batch))

        self.batched([missing], self.options.user_batch, create)

    def sections(self) -> None:
        step = "sections"
        courses = [c for c in self.data.courses if c.sections]
        self.progress.begin(step, sum(len(c.sections) for c in courses))

        def one(course: Course) -> None:
            courseid = self.course_ids[course.shortname]
            state = {s.section: s for s in self.client.sections.state(courseid).section}
            hide: list[int] = []
            show: list[int] = []
            for spec in course.sections:
                current = state.get(spec.number)
                if current is None:
                    raise SeedError(
                        f"course {course.shortname} has no section {spec.number}; "
                        "it was made with fewer sections than the plan asks for"
                    )
                raw = current.rawtitle if current.rawtitle is not None else current.title
                renamed = spec.name is not None and raw != spec.name
                if renamed:
                    self._rename(course.shortname, current.id, spec.name or "")
                moved = current.visible != spec.visible
                if moved:
                    (show if spec.visible else hide).append(current.id)
                changed = renamed or moved
                self.count(step, created=int(changed), existing=int(not changed))
            if hide:
                self.write(step, lambda: self.client.sections.hide(courseid, hide))
            if show:
                self.write(step, lambda: self.client.sections.show(courseid, show))

        self.concurrently(one, courses)

    def _rename(self, shortname: str, sectionid: int, name: str) -> None:
        # Directly, not client.sections.rename: that reads the course again for its
        # format, which we know.
        params = {
            "component": f"format_{self.course_formats[shortname]}",
            "itemtype": "sectionname",
            "itemid": sectionid,
            "value": name,
        }
        self.write("sections", lambda: self.client.call_params(INPLACE_EDITABLE, params))

    def enrolment_methods(self) -> None:
        step = "enrolment_methods"
        wanted = [(c, m) for c in self.data.courses for m in c.methods if m.method != "manual"]
        self.progress.begin(step, len(wanted))
        courses = sorted({c.shortname for c, _ in wanted})

        def enabled(shortname: str) -> tuple[str, dict[str, Any]]:
            methods = self.client.enrol.get_course_enrolment_methods(self.course_ids[shortname])
            return shortname, {m.type: m for m in methods}

        # core_enrol_get_course_enrolment_methods lists enabled instances only.
        on_site = dict(self.concurrently(enabled, courses))
        todo: dict[int, list[dict[str, Any]]] = {}
        for course, method in wanted:
            instance = on_site[course.shortname].get(method.method)
            needs_secret = bool(method.key if method.method == "self" else method.password)
            if instance is not None and not needs_secret:
                self.count(step, existing=1)
                continue
            # Web services tell whether a key is set, never which: a key changed
            # by hand since is not noticed.
            if instance is not None and needs_secret and method.method == "self":
                info = self.client.enrol.get_self_instance_info(instance.id)
                if info.enrolpassword:
                    self.count(step, existing=1)
                    continue
            if instance is not None and needs_secret and method.method == "guest":
                guest = self.client.enrol.get_guest_instance_info(instance.id)
                if guest.instanceinfo.passwordrequired:
                    self.count(step, existing=1)
                    continue
            todo.setdefault(self.course_ids[course.shortname], []).append(
                {"method": method.method, "key": method.key, "password": method.password}
            )
        amount = sum(len(v) for v in todo.values())
        if not amount:
            return
        if self.local is None:
            self.summary.steps[step].unavailable += amount
            self.summary.notes.append(
                f"{amount} self/guest enrolment method(s) are not enabled: Moodle has no "
                "web-service function to enable them. Enable them on the courses' "
                "Enrolment methods pages, or before seeding set the site defaults "
                "(Site administration > Plugins > Enrolments > Self enrolment / Guest "
                "access: 'Enable' for new courses) so that new courses get them."
            )
            self.progress.advance(step, amount)
            return
        payload = [{"courseid": cid, "methods": methods} for cid, methods in todo.items()]
        result = self.write(step, lambda: self.local.enable_enrol_methods(payload))  # type: ignore[union-attr]
        self.count(step, created=result.get("changed", 0), existing=result.get("unchanged", 0))

    def _role(self, shortname: str) -> int:
        try:
            return self.roles[shortname]
        except KeyError:
            raise SeedError(
                f"role {shortname!r} has no known id; add it to the plan: roles: "
                f"{{{shortname}: <id>}}"
            ) from None

    def _user(self, username: str, where: str) -> int:
        if username not in self.user_ids:
            found = self.client.users.get_by_field("username", [username])
            if not found:
                raise SeedError(
                    f"{where}: user {username!r} is neither in the plan nor on the site"
                )
            self.user_ids[username] = found[0].id
        return self.user_ids[username]

    def _course(self, shortname: str, where: str) -> int:
        if shortname not in self.course_ids:
            found = self.client.courses.get_by_field("shortname", shortname)
            if not found:
                raise SeedError(
                    f"{where}: course {shortname!r} is neither in the plan nor on the site"
                )
            self.course_ids[shortname] = found[0].id
        return self.course_ids[shortname]

    def enrolments(self) -> None:
        step = "enrolments"
        self.progress.begin(step, len(self.data.enrolments))
        for e in self.data.enrolments:
            self._user(e.username, "enrolments")
            self._course(e.shortname, "enrolments")
        courses = sorted({e.shortname for e in self.data.enrolments})

        def enrolled(shortname: str) -> set[tuple[int, str]]:
            users = self.client.enrol.get_enrolled_users(
                self.course_ids[shortname], options={"userfields": "id,roles"}
            )
            return {(u.id, r.shortname or "") for u in users for r in u.roles}

        on_site = dict(zip(courses, self.concurrently(enrolled, courses), strict=True))
        missing = []
        for e in self.data.enrolments:
            userid = self.user_ids[e.username]
            if (userid, e.role) in on_site[e.shortname]:
                self.count(step, existing=1)
            else:
                missing.append(
                    ManualEnrolment(
                        userid=userid,
                        courseid=self.course_ids[e.shortname],
                        roleid=self._role(e.role),
                    )
                )

        def enrol(batch: Sequence[ManualEnrolment]) -> None:
            self.write(step, lambda: self.client.enrol.manual_enrol(batch))
            self.count(step, created=len(batch))

        # Enrolling marks the course context and each user "dirty" (rows of
        # cache_flags). Concurrent calls must lock those rows in one order or
        # PostgreSQL deadlocks: one course per call, users by ascending id.
        by_course: dict[int, list[ManualEnrolment]] = {}
        for item in missing:
            by_course.setdefault(item.courseid, []).append(item)
        ordered = [sorted(items, key=lambda e: e.userid) for items in by_course.values()]
        self.batched(ordered, self.options.enrol_batch, enrol)

    def groups(self) -> None:
        step = "groups"
        self.progress.begin(step, len(self.data.groups))
        courses = sorted({g.shortname for g in self.data.groups})
        for shortname in courses:
            self._course(shortname, "groups")

        def groups_of(shortname: str) -> dict[str, int]:
            found = self.client.groups.get_course_groups(self.course_ids[shortname])
            return {g.name: g.id for g in found}

        on_site = dict(zip(courses, self.concurrently(groups_of, courses), strict=True))
        missing = []
        for group in self.data.groups:
            groupid = on_site[group.shortname].get(group.name)
            if groupid is not None:
                self.group_ids[(group.shortname, group.name)] = groupid
                self.count(step, existing=1)
            else:
                missing.append(group)

        def create(batch: Sequence[Any]) -> None:
            items = [
                GroupCreate(
                    courseid=self.course_ids[g.shortname],
                    name=g.name,
                    description=g.description,
                    idnumber=group_idnumber(self.data.tag, g.name),
                )
                for g in batch
            ]
            made = self.write(step, lambda: self.client.groups.create(items))
            with self._lock:
                for group, result in zip(batch, made, strict=True):
                    self.group_ids[(group.shortname, group.name)] = result.id
            self.count(step, created=len(batch))

        self.batched([missing], self.options.group_batch, create)
        self._group_members()

    def _group_members(self) -> None:
        step = "group_members"
        wanted = [
            (self.group_ids[(g.shortname, g.name)], self._user(m, f"group {g.name}"))
            for g in self.data.groups
            for m in g.members
        ]
        self.progress.begin(step, len(wanted))
        groupids = sorted({g for g, _ in wanted})

        def members(batch: Sequence[int]) -> set[tuple[int, int]]:
            return {
                (m.groupid, u) for m in self.client.groups.get_members(batch) for u in m.userids
            }

        on_site: set[tuple[int, int]] = set()
        for found in self.concurrently(members, chunks(groupids, 100)):
            on_site |= found
        # In one lock order for all calls (see enrolments).
        missing = [GroupMember(groupid=g, userid=u) for g, u in sorted(set(wanted) - on_site)]
        self.count(step, existing=len(wanted) - len(missing))

        def add(batch: Sequence[GroupMember]) -> None:
            self.write(step, lambda: self.client.groups.add_members(batch))
            self.count(step, created=len(batch))

        self.batched([missing], self.options.member_batch, add)

    def cohorts(self) -> None:
        step = "cohorts"
        self.progress.begin(step, len(self.data.cohorts))
        on_site = {c.idnumber: c.id for c in self.client.cohorts.get([]) if c.idnumber}
        missing = []
        for cohort in self.data.cohorts:
            idnumber = tagged(self.data.tag, cohort.key)
            if idnumber in on_site:
                self.cohort_ids[cohort.key] = on_site[idnumber]
                self.count(step, existing=1)
            else:
                missing.append(cohort)
        for batch in chunks(missing, self.options.cohort_batch):
            items = [
                CohortCreate(name=c.name, idnumber=tagged(self.data.tag, c.key), visible=c.visible)
                for c in batch
            ]
            made = self.write(step, partial(self.client.cohorts.create, items))
            for cohort, result in zip(batch, made, strict=True):
                self.cohort_ids[cohort.key] = result.id
            self.count(step, created=len(batch))
        self._cohort_members()

    def _cohort_members(self) -> None:
        step = "cohort_members"
        wanted = [
            (self.cohort_ids[c.key], self._user(m, f"cohort {c.key}"))
            for c in self.data.cohorts
            for m in c.members
        ]
        self.progress.begin(step, len(wanted))
        ids = sorted({c for c, _ in wanted})
        on_site = (
            {(m.cohortid, u) for m in self.client.cohorts.get_members(ids) for u in m.userids}
            if ids
            else set()
        )
        missing = [CohortMember.by_ids(c, u) for c, u in wanted if (c, u) not in on_site]
        self.count(step, existing=len(wanted) - len(missing))

        def add(batch: Sequence[CohortMember]) -> None:
            self.write(step, lambda: self.client.cohorts.add_members(batch))
            self.count(step, created=len(batch))

        self.batched([missing], self.options.member_batch, add)


def apply_dataset(
    client: MoodleClient,
    data: Dataset,
    *,
    allow_writes: bool = False,
    progress: Progress | None = None,
    options: ApplyOptions | None = None,
    local: LocalSite | None = None,
) -> Summary:
    """Create on the site whatever of ``data`` it lacks; return what was done.

    Refuses (:class:`~moodle_regress.guard.WriteRefusedError`) a site not marked as
    a test site unless ``allow_writes``.
    """
    ensure_writable(client, allow_writes)
    started = time.perf_counter()
    applier = _Applier(client, data, options or ApplyOptions(), progress or _NoProgress(), local)
    applier.check_references()
    steps: Iterable[Callable[[], None]] = (
        applier.categories,
        applier.courses,
        applier.users,
        applier.sections,
        applier.enrolment_methods,
        applier.enrolments,
        applier.groups,
        applier.cohorts,
    )
    try:
        for run_step in steps:
            step_started = time.perf_counter()
            run_step()
            name = run_step.__name__
            applier.summary.steps[name].seconds = time.perf_counter() - step_started
        from moodle_regress.seeding.content_apply import apply_content

        apply_content(
            client,
            data,
            applier.summary,
            applier.progress,
            local=local,
            workers=min(2, applier.options.workers),
        )
    except MoodleError:
        log.debug("apply stopped after %d calls", applier.summary.calls)
        raise
    applier.summary.seconds = time.perf_counter() - started
    return applier.summary
