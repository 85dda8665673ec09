"""The site's own courses in the browser, where the suites check a sample of the site's
own data (``--moodle-sample``, as a rehearsal of an imported copy without a plan
does): each sampled course's page as its sampled teacher and as its sampled student,
and each sampled person's My courses, recorded for comparison after the upgrade.

The sample is read, not made, here: the rehearsal (or an API-suite run) makes it.
Without one these tests skip; the suites' own courses cover the rest.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from moodle_regress.browser.record import BrowserRecorder
from moodle_regress.browser.session import Credentials, StorageStates
from moodle_regress.browser.waits import goto, guard_against_tours
from moodle_regress.pytest_plugin import sample_path
from moodle_regress.seeding import Dataset
from moodle_regress.seeding.generate import Course
from moodle_regress.suites.browser.helpers import body_classes
from moodle_regress.suites.browser.test_login_dashboard import shown_course_ids
from moodle_ws import MoodleClient

#: The roles a sampled course is seen as, and the role each is sampled for.
AS = {"teacher": "editingteacher", "student": "student"}
SECTIONS = "#region-main [data-for='section'][data-number]"

PageAs = Callable[[str], Page]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sampled_course" not in metafunc.fixturenames:
        return
    from moodle_regress.seeding.sample import load_sample

    path = sample_path(metafunc.config)
    courses = load_sample(path.absolute()).courses if path and path.is_file() else []
    if not courses:
        none = pytest.mark.skip(reason="no site sample (--moodle-sample): the suites' own courses")
        metafunc.parametrize("sampled_course", [pytest.param(None, marks=none)], ids=["none"])
        return
    metafunc.parametrize("sampled_course", courses, ids=[c.shortname for c in courses])


@pytest.fixture(scope="session")
def site_sample(pytestconfig: pytest.Config) -> Dataset:
    from moodle_regress.seeding.sample import load_sample

    path = sample_path(pytestconfig)
    assert path is not None  # only collected with a sample
    return load_sample(path.absolute())


@pytest.fixture
def page_as(
    new_context: Callable[..., BrowserContext],
    browser: Browser,
    storage_states: StorageStates,
    site_sample: Dataset,
) -> PageAs:
    """``page_as(username)``: a page signed in as that sampled person."""
    passwords = {u.username: u.password or "" for u in site_sample.users}

    def make(username: str) -> Page:
        credentials = Credentials(username, passwords[username])
        context = new_context(**storage_states.context_args(browser, username, credentials))
        guard_against_tours(context)
        return context.new_page()

    return make


def sampled_person(sample: Dataset, course: Course, role: str) -> str:
    """The first sampled person holding ``role`` in the course (skip if none)."""
    known = {u.username for u in sample.users}
    holders = sorted(
        e.username
        for e in sample.enrolments
        if e.shortname == course.shortname and e.role == role and e.username in known
    )
    if not holders:
        pytest.skip(f"{course.shortname}: the sample has no {role} of it")
    return holders[0]


@pytest.mark.parametrize("seen_as", sorted(AS))
def test_a_sampled_course_page(
    *,
    seen_as: str,
    sampled_course: Course,
    site_sample: Dataset,
    page_as: PageAs,
    moodle_client: MoodleClient,
    browser_recorder: BrowserRecorder,
) -> None:
    course = sampled_course
    if seen_as == "student" and not course.visible:
        pytest.skip(f"{course.shortname} is hidden from students")
    username = sampled_person(site_sample, course, AS[seen_as])
    (found,) = moodle_client.courses.get_by_field("shortname", course.shortname)
    page = page_as(username)
    goto(page, f"course/view.php?id={found.id}")
    classes = body_classes(page)
    assert f"format-{course.format}" in classes, (course.shortname, page.url, classes)
    if seen_as == "student" and course.format in ("topics", "weeks"):
        # A hidden section is left out, or listed as not available (a course setting).
        numbers = page.locator(SECTIONS).evaluate_all(
            "els => els.map(e => Number(e.getAttribute('data-number')))"
        )
        for number in sorted({s.number for s in course.sections if not s.visible} & set(numbers)):
            expect(page.locator(f"{SECTIONS}[data-number='{number}']")).to_contain_text(
                "Not available"
            )
    entity = f"site-course:{course.shortname}@{seen_as}"
    browser_recorder.record(entity, "format", course.format)
    browser_recorder.observe(page, entity)


@pytest.mark.parametrize("seen_as", sorted(AS))
def test_a_sampled_persons_courses(
    *,
    seen_as: str,
    sampled_course: Course,
    site_sample: Dataset,
    page_as: PageAs,
    moodle_client: MoodleClient,
    browser_recorder: BrowserRecorder,
) -> None:
    username = sampled_person(site_sample, sampled_course, AS[seen_as])
    (user,) = moodle_client.users.get_by_field("username", [username])
    theirs = moodle_client.enrol.get_users_courses(user.id)
    visible = {c.id: c.shortname for c in theirs if seen_as != "student" or c.visible is not False}
    page = page_as(username)
    goto(page, "my/courses.php")
    shown = shown_course_ids(page)
    # At most 12 cards show on the first page: a person with more is checked in part.
    assert shown <= set(visible) and (shown or not visible), (username, shown, visible)
    if len(visible) <= 12:
        assert shown == set(visible), (username, sorted(shown), sorted(visible))
    browser_recorder.record(
        f"site-my-courses:{sampled_course.shortname}@{seen_as}",
        "courses",
        sorted(visible[i] for i in shown),
    )
