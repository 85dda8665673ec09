"""Fixtures for live tests: real Moodle sites, one shared sandbox per release.

``live_site_factory("4.5")`` returns the descriptor of the running ``live-4.5``
sandbox (brought up on first use, reused afterwards, shared by xdist workers);
``live_site_factory("4.5-mariadb")`` the same on MariaDB (``live-4.5-mariadb``).
Tests skip with one line when no code tree is configured for that release.  These
sites are shared: tests that change site-wide settings bring up a sandbox of their own.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from moodle_regress.config import KEPT_INSTALLS_ENV, ConfigError, load_settings
from moodle_regress.sandbox import live
from moodle_regress.sandbox.installs import kept_installs_root
from moodle_regress.site import SiteDescriptor

LiveSiteFactory = Callable[[str], SiteDescriptor]

# Tests bring up sandboxes in homes of their own; all of them (and the tool in child
# processes) load Moodle installs kept in the one folder, so that each code tree is
# installed once per test session at most, not once per home.
with contextlib.suppress(ConfigError):  # tests of a broken configuration say so themselves
    os.environ.setdefault(KEPT_INSTALLS_ENV, str(kept_installs_root(load_settings())))


def moodle_code_tree(release: str) -> Path | None:
    """The configured Moodle code tree for ``release`` ("4.5", "5.0", "5.1"), if any."""
    return live.moodle_code_tree(release)


@pytest.fixture(scope="session")
def live_site_factory() -> LiveSiteFactory:
    sites: dict[str, SiteDescriptor] = {}

    def get(key: str) -> SiteDescriptor:
        if key not in sites:
            try:
                sites[key] = live.ensure_live_site(key)
            except LookupError as exc:
                pytest.skip(str(exc))
        return sites[key]

    return get


@pytest.fixture(scope="session")
def site_45(live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory("4.5")


@pytest.fixture(scope="session")
def site_45_mariadb(live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory("4.5-mariadb")


@pytest.fixture(scope="session")
def site_50(live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory("5.0")


@pytest.fixture(scope="session")
def site_51(live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory("5.1")


@pytest.fixture(scope="session", params=live.RELEASES)
def live_site(request: pytest.FixtureRequest, live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory(str(request.param))


# --- a time budget for live tests ---------------------------------------------------
# CI gives a run a fixed time.  With MOODLE_REGRESS_LIVE_BUDGET=SECONDS, a live test that
# would not end within that many seconds of the session's start skips, saying so,
# instead of the whole run being killed with nothing reported.  How long a test takes
# is its ``takes(minutes=N)`` mark (the heavy ones: a rehearsal, a module's shared
# fixture that the test is the first to use); unmarked tests count as quick.

_SESSION_START = time.monotonic()


def live_budget_exhausted(now: float | None = None, needs: float = 0.0) -> str | None:
    """Why a live test needing ``needs`` seconds cannot run within the time budget, or
    None while it can."""
    budget = os.environ.get("MOODLE_REGRESS_LIVE_BUDGET")
    if not budget:
        return None
    elapsed = (now if now is not None else time.monotonic()) - _SESSION_START
    if elapsed + needs <= float(budget):
        return None
    return (
        f"{BUDGET_SPENT} ({elapsed:.0f} s of MOODLE_REGRESS_LIVE_BUDGET={budget} s, "
        f"the test takes about {needs:.0f} s): not started"
    )


BUDGET_SPENT = "live-test time budget spent"


def test_needs(item: pytest.Item) -> float:
    """The seconds a test's ``takes(minutes=N)`` mark says it needs (0 when unmarked)."""
    mark = item.get_closest_marker("takes")
    return float(mark.kwargs.get("minutes", 0)) * 60 if mark is not None else 0.0


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("live") is not None:
        reason = live_budget_exhausted(needs=test_needs(item))
        if reason is not None:
            pytest.skip(reason)


def skipped_for_budget(reports: Iterable[object]) -> list[str]:
    """The tests of ``reports`` that the time budget kept from running."""
    found = []
    for report in reports:
        longrepr = getattr(report, "longrepr", None)
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
        if BUDGET_SPENT in str(reason):
            found.append(str(getattr(report, "nodeid", "?")))
    return sorted(found)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Under xdist the workers' skip reports reach the controller, which prints this.
    skipped = skipped_for_budget(terminalreporter.stats.get("skipped", []))
    if not skipped:
        return
    terminalreporter.section(f"{len(skipped)} live test(s) not run: {BUDGET_SPENT}", yellow=True)
    for nodeid in skipped:
        terminalreporter.line(nodeid)
    terminalreporter.line(
        "they did not run at all: raise MOODLE_REGRESS_LIVE_BUDGET, or run them on their own"
    )
