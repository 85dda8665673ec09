"""Course content in the browser: a student opens each activity type and sees it; the
teacher sees the gradebook.  What they see is recorded (ARIA and screenshot) for the
comparison with another run.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from moodle_regress.browser.content import ContentCourse, ContentUnavailable, ensure_content_course
from moodle_regress.browser.record import BrowserRecorder
from moodle_regress.browser.seed import BrowserSeed
from moodle_regress.browser.waits import goto
from moodle_regress.pytest_plugin import run_shared_dir
from moodle_regress.seeding.content import MODULE_ORDER
from moodle_regress.site import SiteDescriptor
from moodle_regress.suites.browser.helpers import MoodlePage

#: Modules of the supported code trees (chat and survey until 4.5, qbank from 5.0 is
#: not a course activity), as the seeding knows them; a module the site has beyond
#: these fails test_every_module_is_covered so that it gets added there.
KNOWN_MODULES = MODULE_ORDER
#: Modules whose activity has no page of its own (shown on the course page).
NO_VIEW_PAGE = frozenset({"label", "subsection"})
#: Modules whose view page sends the file or the link instead of a page.
DOWNLOADS = frozenset({"resource", "url"})


@pytest.fixture(scope="session")
def content_course(
    pytestconfig: pytest.Config,
    browser_site: SiteDescriptor,
    browser_seed: BrowserSeed,
    tmp_path_factory: pytest.TempPathFactory,
) -> ContentCourse:
    shared = run_shared_dir(pytestconfig, tmp_path_factory)
    try:
        return ensure_content_course(browser_site, browser_seed, shared)
    except ContentUnavailable as exc:
        pytest.skip(f"content pages: {exc}")


def test_every_module_is_covered(content_course: ContentCourse) -> None:
    missing = sorted(set(content_course.modules) - set(KNOWN_MODULES))
    assert not missing, f"add these modules to MODULE_ORDER (seeding/content.py): {missing}"


@pytest.mark.parametrize("modname", KNOWN_MODULES)
def test_student_sees_each_activity(
    modname: str,
    moodle_page: MoodlePage,
    content_course: ContentCourse,
    browser_recorder: BrowserRecorder,
) -> None:
    module = content_course.modules.get(modname)
    if module is None:
        pytest.skip(f"mod_{modname} is not enabled on this site")
    page = moodle_page("student")
    goto(page, f"course/view.php?id={content_course.id}")
    # The activity is listed on the course page under its name.
    activity = page.locator(f"#module-{module.cmid}")
    expect(activity).to_be_visible()
    if modname in NO_VIEW_PAGE or modname in DOWNLOADS:
        browser_recorder.record(f"content:{modname}@student", "listed", True)
        return
    goto(page, f"mod/{modname}/view.php?id={module.cmid}")
    expect(page.locator("#region-main")).to_be_visible()
    heading = page.locator("#page-header h1, #region-main h1, #region-main h2").first
    expect(heading).to_contain_text(module.name[:40])
    browser_recorder.observe(page, f"content:{modname}@student")


def test_teacher_sees_the_gradebook(
    moodle_page: MoodlePage, content_course: ContentCourse, browser_recorder: BrowserRecorder
) -> None:
    page: Page = moodle_page("teacher")
    goto(page, f"grade/report/grader/index.php?id={content_course.id}")
    table = page.locator("table#user-grades")
    expect(table).to_be_visible()
    graded = [m for m in ("assign", "quiz") if m in content_course.modules]
    for modname in graded:
        expect(table).to_contain_text(content_course.modules[modname].name[:30])
    browser_recorder.observe(page, "content:gradebook@teacher")
