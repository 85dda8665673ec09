"""The course page in each installed course format, as a teacher and as a student."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from moodle_regress.browser.record import BrowserRecorder
from moodle_regress.browser.seed import NUMSECTIONS, BrowserSeed, SeedCourse
from moodle_regress.browser.waits import goto, wait_for_moodle
from moodle_regress.suites.browser.helpers import MoodlePage, body_classes

#: Formats found in the supported code trees; any other installed format fails
#: test_every_installed_format_is_covered so that it gets added here.
KNOWN_FORMATS = ("topics", "weeks", "singleactivity", "social", "remuiformat")
#: Formats whose markup is Moodle's own course format templates.
CORE_SECTIONED = frozenset({"topics", "weeks"})

SECTIONS = "#region-main [data-for='section'][data-number]"
INDEX_SECTIONS = "#courseindex [data-for='section'][data-number]"


def course_for(seed: BrowserSeed, fmt: str) -> SeedCourse:
    course = seed.format_courses.get(fmt)
    if course is None:
        pytest.skip(f"course format {fmt} is not installed on this site")
    return course


def open_course(page: Page, course: SeedCourse) -> None:
    goto(page, f"course/view.php?id={course.id}")
    assert f"format-{course.format}" in body_classes(page), (
        f"{page.url} is not a {course.format} course page: body {body_classes(page)}"
    )


def section_numbers(page: Page, selector: str) -> list[int]:
    return [
        int(n)
        for n in page.locator(selector).evaluate_all(
            "els => els.map(e => e.getAttribute('data-number'))"
        )
    ]


def section_headings(page: Page) -> list[str]:
    return [
        t.strip() for t in page.locator(f"{SECTIONS} .sectionname").all_inner_texts() if t.strip()
    ]


def test_every_installed_format_is_covered(browser_seed: BrowserSeed) -> None:
    missing = sorted(set(browser_seed.formats) - set(KNOWN_FORMATS))
    assert not missing, f"add these installed course formats to KNOWN_FORMATS: {missing}"


@pytest.mark.parametrize("fmt", KNOWN_FORMATS)
def test_course_page_as_teacher(
    fmt: str, moodle_page: MoodlePage, browser_seed: BrowserSeed, browser_recorder: BrowserRecorder
) -> None:
    course = course_for(browser_seed, fmt)
    page = moodle_page("teacher")
    open_course(page, course)
    entity = f"course:{fmt}@teacher"
    if fmt in CORE_SECTIONED:
        # Every section, in order, with a heading; the hidden one too, marked hidden.
        numbers = section_numbers(page, SECTIONS)
        assert numbers == list(range(NUMSECTIONS + 1))
        headings = section_headings(page)
        assert len(headings) >= NUMSECTIONS, headings
        hidden = page.locator(f"{SECTIONS}[data-number='{course.hidden_section}']")
        assert "hidden" in (hidden.get_attribute("class") or "").split()
        # The course index lists the same sections in the same order.
        assert section_numbers(page, INDEX_SECTIONS) == numbers
        browser_recorder.record(entity, "sections", headings)
    browser_recorder.observe(page, entity)


@pytest.mark.parametrize("fmt", KNOWN_FORMATS)
def test_course_page_as_student(
    fmt: str, moodle_page: MoodlePage, browser_seed: BrowserSeed, browser_recorder: BrowserRecorder
) -> None:
    course = course_for(browser_seed, fmt)
    if fmt == "singleactivity":
        pytest.skip("a single-activity course without its activity has no page for students")
    page = moodle_page("student")
    open_course(page, course)
    entity = f"course:{fmt}@student"
    if fmt in CORE_SECTIONED:
        numbers = section_numbers(page, SECTIONS)
        hidden = course.hidden_section
        assert hidden is not None
        if hidden in numbers:
            # Course setting "hidden sections shown as not available": no content.
            section = page.locator(f"{SECTIONS}[data-number='{hidden}']")
            expect(section).to_contain_text("Not available")
        visible = [n for n in numbers if n != hidden]
        assert visible == [n for n in range(NUMSECTIONS + 1) if n != hidden]
        assert hidden not in section_numbers(page, INDEX_SECTIONS)
        browser_recorder.record(entity, "sections", section_headings(page))
    browser_recorder.observe(page, entity)


@pytest.mark.parametrize("fmt", sorted(CORE_SECTIONED))
def test_sections_collapse_and_expand(
    fmt: str, moodle_page: MoodlePage, browser_seed: BrowserSeed, browser_recorder: BrowserRecorder
) -> None:
    course = course_for(browser_seed, fmt)
    page = moodle_page("student")
    open_course(page, course)
    toggler = page.locator(f"{SECTIONS}[data-number='1'] [data-for='sectiontoggler']").first
    content = page.locator(f"#{toggler.get_attribute('aria-controls')}")
    # An empty section has no height: "shown" is Bootstrap's collapse class, not visibility.
    shown = re.compile(r"(^|\s)show(\s|$)")
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(content).to_have_class(shown)
    try:
        toggler.click()
        expect(toggler).to_have_attribute("aria-expanded", "false")
        expect(content).not_to_have_class(shown)
        wait_for_moodle(page)
        browser_recorder.observe(page, f"course:{fmt}@student/section-1-collapsed")
        # Moodle remembers the collapsed state for the user: it survives a reload.
        goto(page, f"course/view.php?id={course.id}")
        expect(toggler).to_have_attribute("aria-expanded", "false")
    finally:
        # Leave the section expanded for the other tests (the state is a user preference).
        if toggler.get_attribute("aria-expanded") == "false":
            toggler.click()
            expect(toggler).to_have_attribute("aria-expanded", "true")
            wait_for_moodle(page)
    expect(content).to_have_class(shown)
