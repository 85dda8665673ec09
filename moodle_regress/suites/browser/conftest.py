"""Fixtures of the browser suites (pytest-playwright conventions).

Run them with ``pytest --pyargs moodle_regress.suites.browser --moodle-site
<descriptor|sandbox>`` (or by path); add
``-n 2`` for two xdist workers, ``--moodle-browser-baseline <dir>`` to compare with
an earlier run.  pytest-playwright's own options (``--headed``, ``--tracing``,
``--output``) work as usual; a trace is kept for each failing test by default.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from moodle_regress.browser.launch import BrowserNotFoundError, BrowserSelection, select_browser
from moodle_regress.browser.pytest_options import add_options, baseline_path, output_dir
from moodle_regress.browser.record import SNAPSHOT_NAME, BrowserRecorder, merge
from moodle_regress.browser.seed import BrowserSeed, seed_once
from moodle_regress.browser.session import StorageStates
from moodle_regress.browser.waits import guard_against_tours
from moodle_regress.guard import WriteRefusedError
from moodle_regress.pytest_plugin import run_shared_dir
from moodle_regress.recording import clear_parts, load_baseline, load_expected, worker_of
from moodle_regress.site import SiteDescriptor, SiteError, resolve_site
from moodle_regress.suites.browser.helpers import MoodlePage

VIEWPORT = {"width": 1280, "height": 900}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    # The general plugin registers --moodle-site; when it is not loaded (running
    # with -p no:moodle_regress), register it here so the suites still work.
    with contextlib.suppress(ValueError):
        parser.getgroup("moodle-regress").addoption(
            "--moodle-site", default=None, help="site to test (descriptor, sandbox name or URL)"
        )


def pytest_configure(config: pytest.Config) -> None:
    # Keep a Playwright trace for each failing test unless told otherwise.
    args = " ".join(config.invocation_params.args)
    if "--tracing" not in args and hasattr(config.option, "tracing"):
        config.option.tracing = "retain-on-failure"
    if worker_of(config) == "main":
        # The controller clears earlier parts; workers only ever add theirs.
        clear_parts(output_dir(config) / SNAPSHOT_NAME)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if worker_of(session.config) == "main":
        merge(output_dir(session.config))


# --- the site and the browser ------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_site(pytestconfig: pytest.Config) -> SiteDescriptor:
    value = pytestconfig.getoption("moodle_site", default=None)
    if not value:
        pytest.skip("browser suites need a site: pass --moodle-site <descriptor file|sandbox name>")
    try:
        return resolve_site(str(value))
    except SiteError as exc:
        raise pytest.UsageError(f"--moodle-site: {exc}") from None


@pytest.fixture(scope="session")
def browser_selection(pytestconfig: pytest.Config, playwright: Playwright) -> BrowserSelection:
    try:
        return select_browser(pytestconfig.getoption("moodle_browser"), playwright=playwright)
    except BrowserNotFoundError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def browser_type_launch_args(
    pytestconfig: pytest.Config, browser_selection: BrowserSelection
) -> dict[str, Any]:
    """pytest-playwright's launch arguments, with the chosen Chromium and its flags."""
    headed = bool(pytestconfig.getoption("--headed", default=False))
    options = browser_selection.launch_options(headless=not headed)
    slowmo = pytestconfig.getoption("--slowmo", default=0)
    if slowmo:
        options["slow_mo"] = slowmo
    return options


@pytest.fixture(scope="session")
def browser_context_args(browser_site: SiteDescriptor) -> dict[str, Any]:
    """One fixed window size and no motion: screenshots comparable run to run."""
    return {
        "viewport": VIEWPORT,
        "base_url": browser_site.url.rstrip("/") + "/",
        "reduced_motion": "reduce",
        "locale": "en-GB",
    }


# --- data, sign-in, pages ------------------------------------------------------------------


@pytest.fixture(scope="session")
def storage_states(
    pytestconfig: pytest.Config,
    browser_site: SiteDescriptor,
    tmp_path_factory: pytest.TempPathFactory,
) -> StorageStates:
    return StorageStates(
        tmp_path_factory.mktemp("storage-states"),
        browser_site.url,
        worker=worker_of(pytestconfig),
    )


@pytest.fixture(scope="session")
def browser_seed(
    pytestconfig: pytest.Config,
    browser_site: SiteDescriptor,
    browser: Browser,
    storage_states: StorageStates,
    tmp_path_factory: pytest.TempPathFactory,
) -> BrowserSeed:
    """The suites' users and courses, made once per run (whatever the number of workers)."""
    try:
        return seed_once(
            browser_site,
            browser,
            storage_states,
            run_shared_dir(pytestconfig, tmp_path_factory),
            allow_writes=bool(pytestconfig.getoption("allow_writes", default=False)),
        )
    except WriteRefusedError as exc:
        raise pytest.UsageError(f"browser suites: {exc}") from None


@pytest.fixture
def moodle_page(
    new_context: Callable[..., BrowserContext],
    browser: Browser,
    browser_seed: BrowserSeed,
    storage_states: StorageStates,
) -> MoodlePage:
    """``moodle_page(role)``: a new page signed in as ``role`` ("anonymous": not signed in).

    Contexts come from pytest-playwright's ``new_context``, so ``--tracing`` and
    ``--video`` apply to them.
    """

    def make(role: str) -> Page:
        kwargs: dict[str, Any] = {}
        if role != "anonymous":
            user = browser_seed.users.get(role)
            if user is None:
                raise KeyError(
                    f"no seeded user for role {role!r}; have {sorted(browser_seed.users)}"
                )
            kwargs = storage_states.context_args(browser, role, user.credentials)
        context = new_context(**kwargs)
        guard_against_tours(context)
        return context.new_page()

    return make


# --- observations ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_recorder(
    pytestconfig: pytest.Config, browser_site: SiteDescriptor, browser_seed: BrowserSeed
) -> Generator[BrowserRecorder, None, None]:
    path = baseline_path(pytestconfig)
    recorder = BrowserRecorder(
        output_dir(pytestconfig),
        site_url=browser_seed.site_url,
        release=browser_seed.release,
        baseline=load_baseline(str(path) if path else None, "--moodle-browser-baseline"),
        expected=load_expected(pytestconfig.getoption("moodle_expected", default=None)),
        threshold=float(pytestconfig.getoption("moodle_visual_threshold")),
        tolerance=int(pytestconfig.getoption("moodle_visual_tolerance")),
        worker=worker_of(pytestconfig),
        site_names=tuple(browser_seed.site_names),
    )
    yield recorder
    recorder.save_part()
