"""The course page under each installed theme: landmarks, navigation and body classes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from moodle_regress.browser.record import BrowserRecorder
from moodle_regress.browser.seed import BrowserSeed
from moodle_regress.browser.waits import goto
from moodle_regress.suites.browser.helpers import MoodlePage, body_classes

#: Themes found in the supported code trees (moove is a third-party theme on the
#: 4.5 tree); any other installed theme fails test_every_installed_theme_is_covered.
KNOWN_THEMES = ("boost", "classic", "moove")

LANDMARKS_JS = """() => [...document.querySelectorAll(
    'header, nav, main, footer, aside, [role=main], [role=navigation], [role=banner], '
    + '[role=contentinfo], [role=complementary], [role=search], [role=region][aria-label]')]
  .filter(e => e.offsetParent !== null || getComputedStyle(e).position === 'fixed')
  .map(e => (e.getAttribute('role') || e.tagName.toLowerCase())
            + (e.getAttribute('aria-label') ? ' "' + e.getAttribute('aria-label') + '"' : ''))"""

# Body classes naming ids or the host differ between sites without meaning anything.
_VOLATILE_CLASS = re.compile(r"^(course|context|category|cmid)-\d+$|^\d+-\d+-\d+-\d+-")


def stable_body_classes(page: Page) -> list[str]:
    return sorted(c for c in body_classes(page) if not _VOLATILE_CLASS.match(c))


def test_every_installed_theme_is_covered(browser_seed: BrowserSeed) -> None:
    missing = sorted(set(browser_seed.themes) - set(KNOWN_THEMES))
    assert not missing, f"add these installed themes to KNOWN_THEMES: {missing}"


@pytest.mark.parametrize("theme", KNOWN_THEMES)
def test_course_page_under_theme(
    theme: str,
    moodle_page: MoodlePage,
    browser_seed: BrowserSeed,
    browser_recorder: BrowserRecorder,
) -> None:
    course = browser_seed.theme_courses.get(theme)
    if course is None:
        pytest.skip(f"theme {theme} is not installed on this site")
    page = moodle_page("student")
    goto(page, f"course/view.php?id={course.id}")
    assert f"course/view.php?id={course.id}" in page.url, page.url
    # The course's forced theme is the one Moodle rendered the page with.
    assert page.evaluate("M.cfg.theme") == theme
    classes = stable_body_classes(page)
    assert "pagelayout-course" in classes or "pagelayout-incourse" in classes, classes
    assert f"format-{course.format}" in classes
    # Landmarks every theme must keep: main content, navigation, a skip link to main.
    landmarks: list[str] = page.evaluate(LANDMARKS_JS)
    assert page.get_by_role("main").count() >= 1, landmarks
    assert page.get_by_role("navigation").count() >= 1, landmarks
    skip = page.locator("a[href='#maincontent']")
    assert skip.count() >= 1
    assert page.locator("#maincontent").count() == 1
    # The course name is the page's top heading.
    assert course.fullname in page.locator("h1").first.inner_text()

    entity = f"theme:{theme}@student"
    browser_recorder.record(entity, "body-classes", classes)
    browser_recorder.record(entity, "landmarks", landmarks)
    student = browser_seed.users["student"]
    browser_recorder.observe(page, entity, replacements={student.fullname: "{user}"})
