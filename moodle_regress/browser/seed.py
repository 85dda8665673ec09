"""The data the browser suites need, made idempotently when no seeding plan provides it.

Everything carries the ``mr-b-`` prefix and is found again by its natural key
(username, course shortname), so running twice changes nothing and the same names
exist on every release a run compares.  Users, courses, hidden sections and manual
enrolments go through the web services; what Moodle offers no web service for
(turning on self-enrolment with a key, guest access) is done as the admin in the
browser, through the same forms an admin would use.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from moodle_regress.browser.session import Credentials, StorageStates
from moodle_regress.browser.waits import goto, settle
from moodle_regress.files import write_json_atomic
from moodle_regress.guard import MARKER_IDNUMBER, ensure_writable
from moodle_regress.plugins import installed_formats, installed_themes, site_code_dir
from moodle_regress.seeding.apply import SeedError
from moodle_ws.areas.courses import CourseCreate, CourseUpdate
from moodle_ws.areas.enrol import ManualEnrolment
from moodle_ws.areas.users import UserCreate
from moodle_ws.redaction import register_secret

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from moodle_regress.site import SiteDescriptor
    from moodle_ws import MoodleClient

PREFIX = "mr-b-"
# A fixed password for test users on a test site: the suites must sign in as them.
# Moodle's default password policy wants digits, cases and a symbol.
USER_PASSWORD = "Mr-b-Pass-2024!"
SELF_ENROL_KEY = "Mr-b-Key-7"
NUMSECTIONS = 3
HIDDEN_SECTION = 2
# Moodle's standard role ids on every fresh install.
ROLE_IDS = {"editingteacher": 3, "student": 5}
# Formats whose course page has no numbered sections to check.
SECTIONLESS_FORMATS = frozenset({"singleactivity", "social"})

register_secret(USER_PASSWORD)
register_secret(SELF_ENROL_KEY)


@dataclass
class SeedUser:
    role: str
    username: str
    password: str = field(repr=False)
    firstname: str
    lastname: str

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.username, self.password)

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass
class SeedCourse:
    shortname: str
    fullname: str
    id: int
    format: str
    theme: str = ""
    numsections: int = NUMSECTIONS
    hidden_section: int | None = None

    @property
    def has_sections(self) -> bool:
        return self.format not in SECTIONLESS_FORMATS


@dataclass
class BrowserSeed:
    """What the browser tests work with, keyed the way tests parametrise."""

    site_url: str
    release: str
    site_names: list[str]
    users: dict[str, SeedUser]
    formats: list[str]
    themes: list[str]
    format_courses: dict[str, SeedCourse]
    theme_courses: dict[str, SeedCourse]
    self_course: SeedCourse
    guest_course: SeedCourse
    self_key: str = field(default=SELF_ENROL_KEY, repr=False)

    def courses_of(self, role: str) -> list[SeedCourse]:
        """Courses where ``role``'s user is enrolled."""
        if role in ("teacher", "student"):
            enrolled = [*self.format_courses.values(), *self.theme_courses.values()]
            if role == "teacher":
                enrolled += [self.self_course, self.guest_course]
            return enrolled
        return []

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BrowserSeed:
        data = dict(data)
        data["users"] = {k: SeedUser(**v) for k, v in data["users"].items()}
        for name in ("format_courses", "theme_courses"):
            data[name] = {k: SeedCourse(**v) for k, v in data[name].items()}
        data["self_course"] = SeedCourse(**data["self_course"])
        data["guest_course"] = SeedCourse(**data["guest_course"])
        return cls(**data)


def seed_users(client: MoodleClient, admin: Credentials) -> dict[str, SeedUser]:
    users = {"admin": SeedUser("admin", admin.username, admin.password, "Admin", "User")}
    for role in ("teacher", "student", "outsider"):
        users[role] = SeedUser(role, f"{PREFIX}{role}", USER_PASSWORD, "Mrb", role.capitalize())
    ensure_users(client, [u for r, u in users.items() if r != "admin"])
    return users


def ensure_users(client: MoodleClient, users: list[SeedUser]) -> dict[str, int]:
    """Create the users Moodle does not have yet; returns username -> id."""
    found = client.users.get_by_field("username", [u.username for u in users])
    ids = {u.username: u.id for u in found if u.username}
    missing = [u for u in users if u.username not in ids]
    if missing:
        created = client.users.create(
            [
                UserCreate(
                    username=u.username,
                    password=u.password,
                    firstname=u.firstname,
                    lastname=u.lastname,
                    email=f"{u.username}@example.invalid",
                    auth="manual",
                )
                for u in missing
            ]
        )
        ids.update({u.username: u.id for u in created})
    return ids


def ensure_course(
    client: MoodleClient,
    shortname: str,
    fullname: str,
    *,
    category_id: int,
    course_format: str,
    theme: str = "",
) -> int:
    """The id of the course with ``shortname``, creating it if needed."""
    courses = client.courses.get_by_field("shortname", shortname)
    if courses:
        course = courses[0]
        if theme and course.extra_fields.get("theme") != theme:
            client.courses.update([CourseUpdate(id=course.id, forcetheme=theme)])
        return course.id
    spec = CourseCreate(
        shortname=shortname,
        fullname=fullname,
        categoryid=category_id,
        format=course_format,
        visible=True,
        numsections=None if course_format in SECTIONLESS_FORMATS else NUMSECTIONS,
        forcetheme=theme or None,
    )
    return client.courses.create([spec])[0].id


def hide_section(client: MoodleClient, course_id: int, number: int) -> None:
    """Hide section ``number`` of a course (idempotent)."""
    for section in client.sections.list(course_id):
        if section.section == number:
            if section.visible is not False:
                client.sections.hide(course_id, [section.id])
            return
    raise SeedError(f"course {course_id} has no section {number} to hide")


def enrol(client: MoodleClient, user_ids: dict[str, int], plan: list[tuple[str, int, str]]) -> None:
    """Manual enrolments: (username, course id, role shortname)."""
    if plan:
        client.enrol.manual_enrol(
            [
                ManualEnrolment(
                    userid=user_ids[username], courseid=course_id, roleid=ROLE_IDS[role]
                )
                for username, course_id, role in plan
            ]
        )


# --- admin steps in the browser -------------------------------------------------------


def enable_enrol_instance(
    page: Page, base_url: str, course_id: int, method: str, *, key: str | None = None
) -> None:
    """Enable the course's ``self`` or ``guest`` instance (with a key for self)."""
    goto(page, f"{base_url}/enrol/instances.php?id={course_id}")
    edit = page.locator(f"a[href*='enrol/editinstance.php'][href*='type={method}']").first
    if edit.count() == 0:
        raise SeedError(
            f"course {course_id} has no {method} enrolment instance to edit at {page.url}; "
            f"is enrol_{method} enabled on the site (Site administration > Plugins > Enrolments)?"
        )
    href = edit.get_attribute("href") or ""
    goto(page, href if href.startswith("http") else f"{base_url}/{href.lstrip('/')}")
    page.locator("#id_status").select_option("0")  # ENROL_INSTANCE_ENABLED
    if method == "self":
        new_enrols = page.locator("#id_customint6")
        if new_enrols.count():
            new_enrols.select_option("1")
    if key is not None:
        # A passwordunmask field keeps its input hidden behind an "edit" toggle.
        page.locator("#id_password").evaluate("(el, v) => { el.value = v; }", key)
    page.locator("#id_submitbutton").click()
    page.wait_for_load_state("load")
    settle(page)
    if "editinstance.php" in page.url:
        errors = page.locator(".error, .invalid-feedback:visible").all_inner_texts()
        raise SeedError(f"Moodle refused the {method} enrolment settings: {errors}")


def enabled_methods(client: MoodleClient, course_id: int) -> set[str]:
    """Enrolment methods the course has turned on (Moodle lists only enabled instances)."""
    return {m.type for m in client.enrol.get_course_enrolment_methods(course_id)}


# --- the whole seed --------------------------------------------------------------------


def seed(
    site: SiteDescriptor, browser: Browser, states: StorageStates, *, allow_writes: bool = False
) -> BrowserSeed:
    """Make (or find) everything the browser suites need on ``site``.

    Refuses (:class:`moodle_regress.guard.WriteRefusedError`) a site not marked as a
    test site unless ``allow_writes``.
    """
    admin = admin_credentials(site)
    client = site.client()
    ensure_writable(client, allow_writes)
    users = seed_users(client, admin)
    user_ids = ensure_users(client, [u for r, u in users.items() if r != "admin"])
    category_id = course_category(client)
    code_dir = site_code_dir(site)
    formats = installed_formats(client, code_dir)
    themes = installed_themes(client, code_dir)
    format_courses = {f: format_course(client, f, category_id) for f in formats}
    theme_courses = {t: theme_course(client, t, category_id) for t in themes}
    self_course = plain_course(client, "self", "MRB self enrolment", category_id)
    guest_course = plain_course(client, "guest", "MRB guest access", category_id)
    context = browser.new_context(storage_state=str(states.get(browser, "admin", admin)))
    try:
        page = context.new_page()
        # The first page in each theme makes Moodle build the theme's CSS; do it here,
        # once, rather than inside a timed test.
        for course in theme_courses.values():
            goto(page, f"{client.url}/course/view.php?id={course.id}")
        enable_methods(client, page, self_course.id, guest_course.id)
    finally:
        context.close()
    enrol(
        client,
        user_ids,
        enrolment_plan(
            users, [*format_courses.values(), *theme_courses.values()], self_course, guest_course
        ),
    )
    return BrowserSeed(
        site_url=client.url,
        release=str(client.site_info().get("release", "")),
        site_names=site_names(client),
        users=users,
        formats=formats,
        themes=themes,
        format_courses=format_courses,
        theme_courses=theme_courses,
        self_course=self_course,
        guest_course=guest_course,
    )


def admin_credentials(site: SiteDescriptor) -> Credentials:
    if not site.admin_username or site.admin_password is None:
        raise SeedError(
            f"the site descriptor for {site.url} has no admin_username/admin_password: "
            "the browser suites sign in as the admin to set up courses"
        )
    return Credentials(site.admin_username, site.admin_password.get_secret_value())


def site_names(client: MoodleClient) -> list[str]:
    """The site's full and short names (both show in the navbar), longest first."""
    names = [str(client.site_info().get("sitename", ""))]
    # The front page course (id 1) holds the site's short name.
    names += [c.shortname for c in client.courses.get_by_field("id", 1)]
    # Longest first, so a short name inside the full name does not break it up.
    return sorted(names, key=len, reverse=True)


def course_category(client: MoodleClient) -> int:
    """The category for the suites' courses: the first one people can see."""
    categories = client.categories.get()
    if not categories:
        raise SeedError(f"{client.url} has no course category to put the suites' courses in")
    # Not the hidden category that marks a test site: people would not see the courses.
    usable = [c for c in categories if c.idnumber != MARKER_IDNUMBER] or categories
    return min(c.id for c in usable)


def format_course(client: MoodleClient, fmt: str, category_id: int) -> SeedCourse:
    """The course in format ``fmt``, with a hidden section where the format has sections."""
    shortname, fullname = f"{PREFIX}fmt-{fmt}", f"MRB format {fmt}"
    cid = ensure_course(client, shortname, fullname, category_id=category_id, course_format=fmt)
    course = SeedCourse(shortname, fullname, cid, fmt)
    if course.has_sections:
        hide_section(client, cid, HIDDEN_SECTION)
        course.hidden_section = HIDDEN_SECTION
    return course


def theme_course(client: MoodleClient, theme: str, category_id: int) -> SeedCourse:
    """A topics course forcing ``theme``."""
    shortname, fullname = f"{PREFIX}theme-{theme}", f"MRB theme {theme}"
    cid = ensure_course(
        client,
        shortname,
        fullname,
        category_id=category_id,
        course_format="topics",
        theme=theme,
    )
    return SeedCourse(shortname, fullname, cid, "topics", theme)


def plain_course(client: MoodleClient, name: str, fullname: str, category_id: int) -> SeedCourse:
    shortname = f"{PREFIX}{name}"
    cid = ensure_course(
        client, shortname, fullname, category_id=category_id, course_format="topics"
    )
    return SeedCourse(shortname, fullname, cid, "topics")


def enable_methods(client: MoodleClient, page: Page, self_id: int, guest_id: int) -> None:
    """Self enrolment (with its key) and guest access, through the admin's forms."""
    if "self" not in enabled_methods(client, self_id):
        enable_enrol_instance(page, client.url, self_id, "self", key=SELF_ENROL_KEY)
    if "guest" not in enabled_methods(client, guest_id):
        enable_enrol_instance(page, client.url, guest_id, "guest")


def enrolment_plan(
    users: dict[str, SeedUser],
    courses: list[SeedCourse],
    self_course: SeedCourse,
    guest_course: SeedCourse,
) -> list[tuple[str, int, str]]:
    """Teacher and student in every format and theme course; the teacher in the others."""
    teacher, student = users["teacher"].username, users["student"].username
    plan: list[tuple[str, int, str]] = []
    for course in courses:
        plan += [(teacher, course.id, "editingteacher"), (student, course.id, "student")]
    plan += [(teacher, c.id, "editingteacher") for c in (self_course, guest_course)]
    return plan


def seed_once(
    site: SiteDescriptor,
    browser: Browser,
    states: StorageStates,
    shared_dir: Path,
    *,
    allow_writes: bool = False,
) -> BrowserSeed:
    """:func:`seed` once per run, however many xdist workers ask; the rest read the result."""
    key = re.sub(r"[^A-Za-z0-9]+", "_", site.url)
    result = shared_dir / f"browser-seed-{key}.json"
    with FileLock(str(shared_dir / f"browser-seed-{key}.lock")):
        if result.is_file():
            return BrowserSeed.from_json(json.loads(result.read_text()))
        data = seed(site, browser, states, allow_writes=allow_writes)
        write_json_atomic(result, data.to_json(), mode=0o600)
        return data
