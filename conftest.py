"""Fixtures for live tests: real Moodle sites, one shared sandbox per release.

``live_site_factory("4.5")`` returns the descriptor of the running ``live-4.5``
sandbox (brought up on first use, reused afterwards, shared by xdist workers); tests
skip with one line when no code tree is configured for that release.  These sites are
shared: tests that change site-wide settings bring up a sandbox of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from moodle_regress.sandbox import live
from moodle_regress.site import SiteDescriptor

LiveSiteFactory = Callable[[str], SiteDescriptor]


def moodle_code_tree(release: str) -> Path | None:
    """The configured Moodle code tree for ``release`` ("4.5", "5.0", "5.1"), if any."""
    return live.moodle_code_tree(release)


@pytest.fixture(scope="session")
def live_site_factory() -> LiveSiteFactory:
    sites: dict[str, SiteDescriptor] = {}

    def get(release: str) -> SiteDescriptor:
        if release not in sites:
            try:
                sites[release] = live.ensure_live_site(release)
            except LookupError as exc:
                pytest.skip(str(exc))
        return sites[release]

    return get


@pytest.fixture(scope="session")
def site_45(live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory("4.5")


@pytest.fixture(scope="session")
def site_50(live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory("5.0")


@pytest.fixture(scope="session")
def site_51(live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory("5.1")


@pytest.fixture(scope="session", params=live.RELEASES)
def live_site(request: pytest.FixtureRequest, live_site_factory: LiveSiteFactory) -> SiteDescriptor:
    return live_site_factory(str(request.param))
