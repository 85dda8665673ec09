"""Waiting the way Moodle's own Behat does, and keeping user tours out of the way.

Moodle's JavaScript registers every pending piece of work in ``M.util.pending_js``
(AMD modules loading, AJAX calls, animations); Behat waits for it to be empty after
the document is complete.  Waiting on that signal rather than on timeouts or
network idleness is what makes a page check both fast and stable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moodle_regress.errors import MoodleRegressError

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response

# Generous: a wait ends as soon as the page settles, and the first page in a theme
# makes Moodle compile that theme's CSS, which takes long on a busy machine.
DEFAULT_TIMEOUT_MS = 90_000

#: True once the document is complete and Moodle has no pending JavaScript.  Pages
#: without Moodle's JavaScript (``M`` undefined) count as settled.
PAGE_SETTLED_JS = """() => {
    if (document.readyState !== "complete") { return false; }
    if (typeof M !== "object" || typeof M.util !== "object"
            || typeof M.util.pending_js === "undefined") { return true; }
    return M.util.pending_js.length === 0;
}"""

PENDING_JS = """() => (typeof M === "object" && M.util && M.util.pending_js)
    ? M.util.pending_js.join(":") : ""
"""

# A tour step is a ``span[data-flexitour="container"]`` with an "End tour" button
# (``[data-role="end"]``); ending it records the tour as done for the user, so it
# does not come back on later pages or sessions sharing the stored sign-in.
END_TOURS_JS = """() => {
    let ended = 0;
    for (const button of document.querySelectorAll(
            '[data-flexitour="container"] [data-role="end"]')) {
        button.click();
        ended++;
    }
    return ended;
}"""

# Installed in every page of a context, before Moodle's scripts run: ends any tour
# the moment its first step appears, so it cannot cover what a test looks at.
TOUR_GUARD_SCRIPT = """(() => {
    const end = () => {
        for (const button of document.querySelectorAll(
                '[data-flexitour="container"] [data-role="end"]')) {
            button.click();
        }
    };
    const watch = () => new MutationObserver(end).observe(
        document.documentElement, {childList: true, subtree: true});
    if (document.documentElement) { watch(); }
    else { document.addEventListener("DOMContentLoaded", watch); }
})();"""


class PageNotSettledError(MoodleRegressError):
    """The page kept JavaScript pending past the timeout."""


# Errors meaning the page navigated while we looked: look again at the new page.
_NAVIGATED = ("Execution context was destroyed", "navigation", "Target page, context")
_NAVIGATION_RETRIES = 5


def wait_for_moodle(page: Page, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Wait until the document is complete and ``M.util.pending_js`` is empty.

    A click that submits a form (or a modal form that redirects) may start a
    navigation after this began; the wait then starts again on the new page.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        for attempt in range(_NAVIGATION_RETRIES):
            try:
                page.wait_for_load_state("load", timeout=timeout_ms)
                page.wait_for_function(PAGE_SETTLED_JS, timeout=timeout_ms, polling=50)
                return
            except PlaywrightTimeoutError:
                raise
            except PlaywrightError as exc:
                if attempt == _NAVIGATION_RETRIES - 1 or not any(
                    marker in str(exc) for marker in _NAVIGATED
                ):
                    raise
    except PlaywrightTimeoutError:
        try:
            pending = str(page.evaluate(PENDING_JS))
        except Exception:  # the page may have gone away: report what we know
            pending = "unknown"
        raise PageNotSettledError(
            f"{page.url} still had JavaScript pending after {timeout_ms / 1000:.0f} s "
            f"(M.util.pending_js: {pending or 'empty, document not complete'}); "
            "a slow site may need a longer timeout"
        ) from None


def end_tours(page: Page, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> int:
    """End any user tour showing on the page; returns how many steps were ended."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        ended = int(page.evaluate(END_TOURS_JS))
    except PlaywrightError as exc:
        if not any(marker in str(exc) for marker in _NAVIGATED):
            raise
        wait_for_moodle(page, timeout_ms=timeout_ms)
        ended = int(page.evaluate(END_TOURS_JS))
    if ended:
        page.locator('[data-flexitour="container"]').first.wait_for(
            state="detached", timeout=timeout_ms
        )
        wait_for_moodle(page, timeout_ms=timeout_ms)
    return ended


def guard_against_tours(context: BrowserContext) -> None:
    """Make every page of ``context`` end user tours as soon as they appear."""
    context.add_init_script(TOUR_GUARD_SCRIPT)


def settle(page: Page, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
    """Wait for Moodle, then clear any tour that still made it onto the page."""
    wait_for_moodle(page, timeout_ms=timeout_ms)
    end_tours(page, timeout_ms=timeout_ms)


def goto(page: Page, url: str, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> Response | None:
    """Navigate, then wait for Moodle to settle (see :func:`settle`)."""
    response = page.goto(url, wait_until="load", timeout=timeout_ms)
    settle(page, timeout_ms=timeout_ms)
    return response
