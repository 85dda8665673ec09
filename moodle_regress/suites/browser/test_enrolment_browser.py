"""Enrolment in the browser: self-enrolment with the key, guest access, and refusal."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from moodle_regress.browser.record import BrowserRecorder
from moodle_regress.browser.seed import PREFIX, USER_PASSWORD, BrowserSeed, SeedUser, ensure_users
from moodle_regress.browser.session import login
from moodle_regress.browser.waits import goto, guard_against_tours, settle
from moodle_regress.recording import worker_of
from moodle_regress.site import SiteDescriptor
from moodle_regress.suites.browser.helpers import MoodlePage, body_classes

KEY_FIELD = "input[name='enrolpassword']"


def submit_key(page: Page, key: str) -> None:
    """Type the key and submit: in the page's form (4.5) or in a modal form (5.0+)."""
    field = page.locator(KEY_FIELD)
    if not field.is_visible():
        # Since 5.0 "Enrol me" opens the key form in a modal.
        page.get_by_role("button", name="Enrol me").click()
        field.wait_for(state="visible")
    field.fill(key)
    modal = page.locator(".modal.show")
    if modal.count():
        modal.locator("[data-action='save']").click()
    else:
        page.locator(f"form:has({KEY_FIELD}) [type=submit]").first.click()
    page.wait_for_load_state("load")
    settle(page)


@pytest.fixture
def newcomer(browser_site: SiteDescriptor, pytestconfig: pytest.Config) -> SeedUser:
    """A user made for this test alone: self-enrolment cannot be undone through the API."""
    stamp = f"{int(time.time() * 1000)}{worker_of(pytestconfig)}".lower()
    user = SeedUser("newcomer", f"{PREFIX}new-{stamp}", USER_PASSWORD, "Mrb", "Newcomer")
    ensure_users(browser_site.client(), [user])
    return user


def test_self_enrolment_with_the_key(
    newcomer: SeedUser,
    new_context: Callable[..., BrowserContext],
    browser_seed: BrowserSeed,
    browser_recorder: BrowserRecorder,
) -> None:
    context: BrowserContext = new_context()
    guard_against_tours(context)
    page = context.new_page()
    login(page, browser_seed.site_url, newcomer.credentials)
    course = browser_seed.self_course
    goto(page, f"course/view.php?id={course.id}")
    # Not enrolled yet: Moodle sends the user to the course's enrolment options.
    assert "/enrol/index.php" in page.url, page.url
    # A key field on the page (4.5), or a button opening one (5.0+).
    expect(page.locator(f"{KEY_FIELD}, button:has-text('Enrol me')").first).to_be_visible()
    browser_recorder.observe(
        page, "enrol:self@newcomer", replacements={newcomer.fullname: "{user}"}
    )

    submit_key(page, "not-the-key")
    assert "/enrol/index.php" in page.url
    expect(page.locator(f"form:has({KEY_FIELD})")).to_contain_text("Incorrect enrolment key")

    submit_key(page, browser_seed.self_key)
    page.wait_for_url(re.compile(r"/course/view\.php"))
    settle(page)
    assert f"format-{course.format}" in body_classes(page)
    # Enrolled now: the course is reachable directly, without the enrolment page.
    goto(page, f"course/view.php?id={course.id}")
    assert "/course/view.php" in page.url
    browser_recorder.record("enrol:self@newcomer", "enrolled", True)


def test_guest_access_from_the_login_page(
    moodle_page: MoodlePage, browser_seed: BrowserSeed, browser_recorder: BrowserRecorder
) -> None:
    page = moodle_page("anonymous")
    course = browser_seed.guest_course
    goto(page, f"course/view.php?id={course.id}")
    # Not signed in: the login page offers guest access.
    assert "/login/index.php" in page.url, page.url
    guest_button = page.locator("#loginguestbtn")
    expect(guest_button).to_be_visible()
    guest_button.click()
    page.wait_for_load_state("load")
    settle(page)
    assert f"course/view.php?id={course.id}" in page.url, page.url
    assert f"format-{course.format}" in body_classes(page)
    expect(page.locator("body")).to_contain_text("guest access")
    browser_recorder.observe(page, "enrol:guest@anonymous")


def test_signed_in_user_enters_a_guest_course(
    moodle_page: MoodlePage, browser_seed: BrowserSeed, browser_recorder: BrowserRecorder
) -> None:
    page = moodle_page("outsider")
    course = browser_seed.guest_course
    goto(page, f"course/view.php?id={course.id}")
    assert f"course/view.php?id={course.id}" in page.url, page.url
    assert f"format-{course.format}" in body_classes(page)
    outsider = browser_seed.users["outsider"]
    browser_recorder.observe(
        page, "enrol:guest@outsider", replacements={outsider.fullname: "{user}"}
    )


def test_unenrolled_user_is_refused(
    moodle_page: MoodlePage, browser_seed: BrowserSeed, browser_recorder: BrowserRecorder
) -> None:
    page = moodle_page("outsider")
    course = browser_seed.format_courses["topics"]
    goto(page, f"course/view.php?id={course.id}")
    assert "/enrol/index.php" in page.url, f"an unenrolled user reached {page.url}"
    expect(page.locator("#region-main")).to_contain_text("You cannot enrol yourself")
    assert page.locator("#region-main [data-for='section']").count() == 0
    outsider = browser_seed.users["outsider"]
    browser_recorder.observe(
        page, "enrol:refused@outsider", replacements={outsider.fullname: "{user}"}
    )
