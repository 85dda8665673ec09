"""Fixtures the regression suites are written with (loaded by the plugin).

- ``moodle_client``: an admin client of ``--moodle-site``;
- ``seeded_dataset``: the data the plan put on the site (generated again from the
  plan and seed: the generator is deterministic), after ``seeded_site`` applied it;
- ``user_client``: ``user_client("mr-student0001")`` is a client with that user's own
  token, from ``login/token.php`` for the mobile service (what a student's app uses);
- ``observe``: records this test's observations (see :mod:`.pytest_recording`);
- ``scratch``: a per-test, per-worker prefix for entities a test creates and removes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator

import pytest

from moodle_regress.guard import WriteRefusedError, ensure_writable
from moodle_regress.observation import Normaliser
from moodle_regress.pytest_plugin import SeededSite, sample_path, seeded_formats
from moodle_regress.pytest_recording import RECORDER_KEY, TestObservations
from moodle_regress.recording import worker_of
from moodle_regress.resources import default_plan, resolve_plan
from moodle_regress.seeding import Dataset, generate, installed_formats, load_plan, local_site
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import SnapshotMeta
from moodle_ws import (
    MoodleClient,
    ServiceUnavailableError,
    TokenRequestError,
    WebServicesDisabledError,
)
from moodle_ws.transport import Transport

MOBILE_SERVICE = "moodle_mobile_app"


@pytest.fixture(scope="session")
def moodle_client(moodle_site: SiteDescriptor) -> Generator[MoodleClient, None, None]:
    with moodle_site.client() as client:
        yield client


@pytest.fixture(scope="session")
def seeded_dataset(
    seeded_site: SeededSite, moodle_client: MoodleClient, request: pytest.FixtureRequest
) -> Dataset:
    """The plan's entities (users, courses, enrolments...) as seeded on the site, or
    with ``--moodle-sample`` the site's own, as sampled."""
    sample = sample_path(request.config)
    if sample is not None:
        from moodle_regress.seeding.sample import load_sample

        return load_sample(sample.absolute())
    plan_option = request.config.getoption("--moodle-plan")
    plan = load_plan(resolve_plan(plan_option) if plan_option else default_plan())
    formats = seeded_formats(request.config) or installed_formats(
        moodle_client, local_site(seeded_site.descriptor), plan
    )
    return generate(plan, seeded_site.seed, installed_formats=formats)


@pytest.fixture(scope="session")
def user_client(
    moodle_site: SiteDescriptor,
) -> Generator[Callable[..., MoodleClient], None, None]:
    """A factory of clients holding a user's own token (mobile web service)."""
    from moodle_regress.seeding.generate import DEFAULT_PASSWORD

    made: dict[tuple[str, str], MoodleClient] = {}

    def for_user(username: str, password: str | None = None) -> MoodleClient:
        key = (username, password or DEFAULT_PASSWORD)
        if key not in made:
            made[key] = login_user(moodle_site.url, *key)
        return made[key]

    yield for_user
    for client in made.values():
        client.close()


def login_user(
    url: str, username: str, password: str, *, transport: Transport | None = None
) -> MoodleClient:
    """A client with the user's own mobile-service token.

    Skips the test only when the site does not offer the mobile service (or web
    services at all): that is the site's choice.  A refused login (wrong password,
    suspended account...) fails the test: after an upgrade it is a regression, and
    a skip would hide it.
    """
    try:
        return MoodleClient.login(
            url, username, password, service=MOBILE_SERVICE, transport=transport
        )
    except (ServiceUnavailableError, WebServicesDisabledError) as exc:
        pytest.skip(f"the site offers no {MOBILE_SERVICE} service for {username}: {exc}")
    except TokenRequestError as exc:
        pytest.fail(f"{username} could not log in through {MOBILE_SERVICE}: {exc}")


@pytest.fixture(scope="session")
def site_normaliser(moodle_site: SiteDescriptor) -> Normaliser:
    return Normaliser(site_root=moodle_site.url)


@pytest.fixture
def observe(
    request: pytest.FixtureRequest, moodle_client: MoodleClient, site_normaliser: Normaliser
) -> TestObservations:
    """Record what this test observes; compared with the baseline after the test."""
    info = moodle_client.site_info()
    release = str(info.get("release", ""))
    theme = str(info.get("theme", "") or "")
    recorder = request.config.stash[RECORDER_KEY]
    recorder.start(
        SnapshotMeta(
            site_name=str(info.get("sitename", "")),
            site_url=moodle_client.url,
            release=release,
            version=str(info.get("version", "")),
            theme=theme,
        )
    )
    _allure_parameters(release=release, theme=theme)
    return TestObservations(request.node.nodeid, release=release, normaliser=site_normaliser)


@pytest.fixture
def scratch(request: pytest.FixtureRequest, moodle_client: MoodleClient) -> str:
    """A prefix unique to this test and xdist worker, for entities the test makes.

    Every scratch entity comes through here, so the write guard is checked here: a
    site not marked as a test site is not written to without ``--allow-writes``.
    """
    try:
        ensure_writable(moodle_client, bool(request.config.getoption("--allow-writes")))
    except WriteRefusedError as exc:
        pytest.fail(str(exc), pytrace=False)
    worker = worker_of(request.config).replace("main", "gw")
    name = re.sub(r"[^a-z0-9]+", "", request.node.name.lower())[:12]
    return f"mr-t-{worker}-{name}"


def _allure_parameters(**values: str) -> None:
    try:
        import allure
    except ImportError:
        return
    for name, value in values.items():
        allure.dynamic.parameter(name, value)
