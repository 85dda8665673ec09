"""Small helpers shared by the browser test modules."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

#: The seeded roles every suite signs in as.
ROLES = ("admin", "teacher", "student")

#: ``moodle_page(role)`` returns a page signed in as that role.
MoodlePage = Callable[[str], Page]


def body_classes(page: Page) -> list[str]:
    return (page.locator("body").get_attribute("class") or "").split()
