"""Signing in as each seeded role; the dashboard and My courses show that user's courses."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from moodle_regress.browser.record import BrowserRecorder
from moodle_regress.browser.seed import BrowserSeed
from moodle_regress.browser.waits import goto, wait_for_moodle
from moodle_regress.suites.browser.helpers import ROLES, MoodlePage, body_classes
from moodle_ws import MoodleClient

COURSE_CARDS = "[data-region='courses-view'] [data-region='course-content'][data-course-id]"
NO_COURSES = (
    "[data-region='courses-view'] .empty-placeholder-image-lg, [data-region='empty-message']"
)


def site_courses_of(client: MoodleClient, username: str, role: str) -> dict[int, str]:
    """Course id -> shortname of the courses the site enrols ``username`` in that the
    user can see (a student does not see hidden courses)."""
    found = client.users.get_by_field("username", [username])
    if not found:
        return {}
    courses = client.enrol.get_users_courses(found[0].id)
    return {c.id: c.shortname for c in courses if role != "student" or c.visible is not False}


def shown_course_ids(page: Page) -> set[int]:
    """Course ids the My courses overview shows once it has loaded (cards load by AJAX)."""
    page.locator(f"{COURSE_CARDS}, {NO_COURSES}").first.wait_for(state="attached")
    wait_for_moodle(page)
    ids = page.locator(COURSE_CARDS).evaluate_all(
        "els => els.map(e => e.getAttribute('data-course-id'))"
    )
    return {int(i) for i in ids}


@pytest.mark.parametrize("role", ROLES)
def test_dashboard_after_login(
    role: str, moodle_page: MoodlePage, browser_seed: BrowserSeed, browser_recorder: BrowserRecorder
) -> None:
    page = moodle_page(role)
    goto(page, "my/")
    assert page.locator("body").get_attribute("id") == "page-my-index", page.url
    assert "notloggedin" not in body_classes(page)
    # Every release names the signed-in user in the user menu's accessible name or text.
    user = browser_seed.users[role]
    menu = page.locator("#user-menu-toggle, .usermenu").first
    assert menu.count() == 1
    if role != "admin":  # the admin's name is whatever the site was installed with
        assert user.fullname in menu.aria_snapshot()
    # The primary navigation leads to My courses (a link, or a menu item of a menubar).
    assert page.locator("a:visible", has_text="My courses").count() >= 1
    browser_recorder.observe(page, f"dashboard@{role}", replacements={user.fullname: "{user}"})
    browser_recorder.record(f"dashboard@{role}", "signed-in", True)


@pytest.mark.parametrize("role", ROLES)
def test_my_courses_lists_the_users_courses(
    role: str,
    moodle_page: MoodlePage,
    moodle_client: MoodleClient,
    browser_seed: BrowserSeed,
    browser_recorder: BrowserRecorder,
) -> None:
    page = moodle_page(role)
    goto(page, "my/courses.php")
    shown = shown_course_ids(page)
    # What the site says the user is enrolled in, not what this run's seed made: an
    # upgrade that removes a theme leaves its course (and the enrolments) in place.
    enrolled = site_courses_of(moodle_client, browser_seed.users[role].username, role)
    ours = {c.id for c in browser_seed.format_courses.values()} | {
        c.id for c in browser_seed.theme_courses.values()
    }
    if role == "admin":
        # The admin manages every course but is enrolled in none of the suites' courses.
        assert not (shown & ours)
    else:
        assert enrolled, f"the site enrols {role} in no course"
        # At most 12 cards show on the first page; the suites' users have fewer courses.
        assert shown == set(enrolled), (
            f"My courses for {role} shows {sorted(shown)}, the site enrols the user in "
            f"{sorted(enrolled)}"
        )
    browser_recorder.record(
        f"my-courses@{role}", "courses", sorted(enrolled.get(i, "<other>") for i in shown)
    )
    user = browser_seed.users[role]
    browser_recorder.observe(page, f"my-courses@{role}", replacements={user.fullname: "{user}"})
