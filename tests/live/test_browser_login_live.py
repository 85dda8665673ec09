"""Signing in through Moodle 4.5's login form in Chromium: a try whose typed password
is lost is tried again (with a warning), a wrong password is still refused.

The lost password is what the imported-site rehearsal once met in CI: Moodle logged a
failed login with a wrong password for a user signed in with the same password a
moment before and after.  Here a script in the page clears the password as the form
is first submitted, so Moodle sees exactly that.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from moodle_regress.browser.session import Credentials, LoginError, LoginRetriedWarning, login
from moodle_regress.site import SiteDescriptor

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.live

# The first submit of the page's session sends an empty password.
LOSE_THE_FIRST_PASSWORD = """(() => {
    if (sessionStorage.getItem("mr-lost")) { return; }
    document.addEventListener("submit", () => {
        sessionStorage.setItem("mr-lost", "1");
        document.getElementById("password").value = "";
    }, true);
})();"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    from moodle_regress.browser.launch import launch

    with playwright_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def admin(site: SiteDescriptor, password: str | None = None) -> Credentials:
    assert site.admin_password is not None
    return Credentials("admin", password or site.admin_password.get_secret_value())


def test_a_lost_password_is_typed_again_and_said(browser: Browser, site_45: SiteDescriptor) -> None:
    context = browser.new_context()
    try:
        context.add_init_script(LOSE_THE_FIRST_PASSWORD)
        page = context.new_page()
        with pytest.warns(LoginRetriedWarning, match=r"refused 'admin'.*Invalid login"):
            login(page, site_45.url, admin(site_45))
        assert "notloggedin" not in (page.locator("body").get_attribute("class") or "")
    finally:
        context.close()


def test_a_wrong_password_is_refused_after_the_second_try(
    browser: Browser, site_45: SiteDescriptor
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        with pytest.raises(LoginError, match=r"refused 'admin' at .* 2 times: Invalid login"):
            login(page, site_45.url, admin(site_45, "Not-the-password-1!"))
        assert "login/index.php" in page.url
    finally:
        context.close()
    # The failures did not lock the account: the right password still works.
    context = browser.new_context()
    try:
        login(context.new_page(), site_45.url, admin(site_45))
    finally:
        context.close()
