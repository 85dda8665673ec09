"""The sandbox against real Moodle code trees: up 4.5, data, backup, an upgrade to 5.0
failing in a plugin's install step (named, restored), the upgrade to 5.0 without that
plugin (the plugins area shows what went) and to 5.1, downgrade refusal, restore into a
new and into an existing sandbox.

One chain of steps per database engine (the tests' ids name it), on sandboxes of
this module's own (in a private home directory per engine), so that nothing here
touches the shared live-* sites.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from moodle_regress.compare import compare
from moodle_regress.config import Settings, load_settings
from moodle_regress.observe.plugins import observe_local as observe_plugins
from moodle_regress.sandbox import live, moodle
from moodle_regress.sandbox.db import ENGINE_NAMES, engine_named, query
from moodle_regress.sandbox.errors import (
    DowngradeError,
    NotMoodleTreeError,
    PortInUseError,
    UpgradeFailedError,
)
from moodle_regress.sandbox.installs import (
    DATAROOT_DIRECTORY_MODE,
    DATAROOT_MADE_AHEAD,
    kept_installs_root,
)
from moodle_regress.sandbox.manager import SandboxManager, UpgradeResult, read_manifest
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot, SnapshotMeta
from tests.live.upgrade_fixtures import (
    FAILING_MESSAGE,
    FAILING_PLUGIN,
    FAILING_VERSION,
    add_removed_activities,
    tree_with_failing_plugin,
)

pytestmark = [pytest.mark.live, pytest.mark.slow]


def tree(release: str) -> Path:
    path = live.moodle_code_tree(release)
    if path is None:
        pytest.skip(live.skip_reason(release))
    return path


@pytest.fixture(scope="module", params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def settings(engine: str) -> Iterator[Settings]:
    # Not pytest's tmp_path: pytest prunes old numbered temporary directories, and
    # a concurrent pytest run would delete a running server's files.
    home = Path(tempfile.mkdtemp(prefix=f"moodle-regress-sandbox-tests-{engine}-"))
    yield replace(load_settings(), home=home)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def manager(settings: Settings) -> Iterator[SandboxManager]:
    manager = SandboxManager(settings, quiet=True)
    yield manager
    for status in manager.list():
        manager.sandbox(status.name).destroy()


@pytest.fixture(scope="module")
def site(manager: SandboxManager, engine: str) -> SiteDescriptor:
    return manager.up("sbt", tree("4.5"), engine=engine)


@pytest.fixture(scope="module")
def seeded(site: SiteDescriptor) -> dict[str, Any]:
    """A user, a course and an enrolment, so that counts mean something."""
    client = site.client()
    users = client.call(
        "core_user_create_users",
        users=[
            {
                "username": "sbt-student",
                "password": "Sbt-student-1!",
                "firstname": "Sandbox",
                "lastname": "Student",
                "email": "sbt-student@example.invalid",
            }
        ],
    )
    courses = client.call(
        "core_course_create_courses",
        courses=[{"fullname": "Sandbox course", "shortname": "SBT1", "categoryid": 1}],
    )
    client.call(
        "enrol_manual_enrol_users",
        enrolments=[{"roleid": 5, "userid": users[0]["id"], "courseid": courses[0]["id"]}],
    )
    # Activities of modules Moodle 5.0 removes, for the plugins area and the preflight.
    assert site.sandbox is not None
    add_removed_activities(site.sandbox.code_dir, course="SBT1", chats=2, surveys=1)
    return {"user": users[0]["id"], "course": courses[0]["id"]}


@pytest.fixture(scope="module")
def backup_45(manager: SandboxManager, seeded: dict[str, Any], settings: Settings) -> Path:
    return manager.get("sbt").backup(settings.home / "sbt-4.5.tar.zst")


def test_up_brings_up_a_configured_real_site(
    site: SiteDescriptor, manager: SandboxManager, engine: str
) -> None:
    info = site.client().site_info()
    assert info["release"].startswith("4.5")
    assert site.test_site and site.sandbox is not None
    assert site.sandbox.webroot == site.sandbox.code_dir  # 4.5: classic layout
    assert (site.sandbox.root / "site.json").is_file()
    functions = {f["name"] for f in info["functions"]}
    assert {"core_user_create_users", "core_course_get_courses", "enrol_manual_enrol_users"} <= (
        functions
    )
    marker = site.client().call(
        "core_course_get_categories",
        criteria=[{"key": "idnumber", "value": moodle.MARKER_IDNUMBER}],
    )
    assert [c["visible"] for c in marker] == [0]
    state = manager.get("sbt").state()
    assert query(state.db, "SELECT count(*) FROM mdl_tool_usertours_tours WHERE enabled = 1") == [
        ("0",)
    ]
    status = manager.get("sbt").status(probe=True)
    assert status.running and status.answers
    assert site.db_engine == state.db.engine == engine
    assert site.sandbox.db_dir == site.sandbox.root / engine_named(engine).data_dir_name
    # Moodle's own environment check passes on the sandbox's database server.
    environment = moodle.check_environment(manager.get("sbt").tree())
    assert environment.ok and environment.required_failures == [], environment.failed
    if engine == "mariadb":
        assert environment.database == {
            "family": "mysql",
            "version": environment.database["version"],
            "collation": "utf8mb4_unicode_ci",
            "row_format": "Barracuda",
        }


def test_a_second_sandbox_of_the_tree_loads_the_kept_install(
    site: SiteDescriptor, manager: SandboxManager, settings: Settings
) -> None:
    # "sbt" ran Moodle's installer, or loaded the install an earlier sandbox of this code
    # kept: either way there is one to load now, and the new site is a site of its own.
    second = manager.up("sbt-kept", tree("4.5"), engine=site.db_engine)
    try:
        box = manager.get("sbt-kept")
        log = (box.logs / "install.log").read_text()
        assert log.startswith("loaded the install kept in "), log[:300]
        assert str(kept_installs_root(settings)) in log
        # Left out of the kept dataroot, made again before the site answered: Moodle's
        # file storage makes them on first use, racing concurrent requests.
        for name in DATAROOT_MADE_AHEAD:
            assert (box.dataroot / name).is_dir(), name
            assert (box.dataroot / name).stat().st_mode & 0o7777 == DATAROOT_DIRECTORY_MODE
        info = second.client().site_info()
        assert info["sitename"] == "moodle-regress sandbox sbt-kept"
        assert info["release"] == site.client().site_info()["release"]
        assert second.token.get_secret_value() != site.token.get_secret_value()

        def identifier(name: str) -> object:
            sql = "SELECT value FROM mdl_config WHERE name = 'siteidentifier'"
            return query(manager.get(name).state().db, sql)

        assert identifier("sbt-kept") != identifier("sbt")
        # The admin's password is the new sandbox's own.
        assert second.admin_password is not None
        answer = requests.post(
            f"{second.url}/login/token.php",
            data={
                "username": "admin",
                "password": second.admin_password.get_secret_value(),
                "service": "moodle_mobile_app",
            },
            timeout=30,
        ).json()
        assert answer.get("token"), answer
    finally:
        manager.get("sbt-kept").destroy()


def test_students_get_tokens_through_the_mobile_service(
    site: SiteDescriptor, seeded: dict[str, Any]
) -> None:
    answer = requests.get(
        f"{site.url}/login/token.php",
        params={
            "username": "sbt-student",
            "password": "Sbt-student-1!",
            "service": "moodle_mobile_app",
        },
        timeout=30,
    ).json()
    assert answer.get("token"), answer


def test_a_directory_that_is_not_moodle_is_refused(manager: SandboxManager, tmp_path: Path) -> None:
    with pytest.raises(NotMoodleTreeError, match="not a Moodle code tree"):
        manager.up("sbt-notmoodle", tmp_path)
    assert not manager.sandbox("sbt-notmoodle").root.exists()


def test_a_busy_port_is_refused_before_anything_starts(manager: SandboxManager) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError, match=str(port)):
            manager.up("sbt-port", tree("4.5"), port=port)
    assert not manager.sandbox("sbt-port").root.exists()


def test_backup_and_restore_into_a_new_sandbox(
    manager: SandboxManager, backup_45: Path, site: SiteDescriptor, engine: str
) -> None:
    original = moodle.count_site(manager.get("sbt").state().db)
    assert original.users >= 2 and original.courses >= 1 and original.enrolments >= 1
    manifest = read_manifest(backup_45)
    assert manifest["engine"] == engine
    assert str(manifest["server_version"]).startswith(engine_named(engine).label)
    result = manager.restore("sbt-restored", backup_45)
    assert result.counts == original
    assert (manager.get("sbt-restored").dataroot / "trashdir").is_dir()  # left out of backups
    assert manager.get("sbt-restored").state().db.engine == engine
    assert result.descriptor.url != site.url
    assert result.descriptor.client().site_info()["release"] == site.client().site_info()["release"]
    manager.sandbox("sbt-restored").destroy()


@pytest.fixture(scope="module")
def failing_50(settings: Settings) -> Path:
    """The 5.0 tree (hard links) plus a plugin whose install step throws."""
    return tree_with_failing_plugin(tree("5.0"), settings.home / "failing-5.0")


@pytest.fixture(scope="module")
def plugins_45(manager: SandboxManager, seeded: dict[str, Any]) -> Snapshot:
    box = manager.get("sbt")
    return Snapshot(SnapshotMeta(release="4.5"), observe_plugins(box.code_dir))


@pytest.fixture(scope="module")
def failed_upgrade(
    manager: SandboxManager, backup_45: Path, failing_50: Path, plugins_45: Snapshot
) -> UpgradeFailedError:
    """The upgrade to the tree with the failing plugin, then the sandbox restored."""
    with pytest.raises(UpgradeFailedError) as failed:
        manager.get("sbt").upgrade(failing_50)
    manager.restore("sbt", failed.value.backup)
    return failed.value


def test_a_failing_plugin_is_named_with_moodles_error(
    failed_upgrade: UpgradeFailedError, manager: SandboxManager
) -> None:
    assert failed_upgrade.component == FAILING_PLUGIN
    assert failed_upgrade.version == FAILING_VERSION
    assert failed_upgrade.moodle_message == FAILING_MESSAGE
    assert failed_upgrade.debuginfo and "install step on purpose" in failed_upgrade.debuginfo
    assert f"failed in {FAILING_PLUGIN} {FAILING_VERSION}: {FAILING_MESSAGE}" in str(failed_upgrade)
    assert failed_upgrade.log is not None and FAILING_MESSAGE in failed_upgrade.log.read_text()
    # Restored into the same sandbox (its failed upgrade left the old code behind).
    box = manager.get("sbt")
    assert box.descriptor().client().site_info(refresh=True)["release"].startswith("4.5")


@pytest.fixture(scope="module")
def upgraded_50(
    manager: SandboxManager, failed_upgrade: UpgradeFailedError, failing_50: Path
) -> UpgradeResult:
    return manager.get("sbt").upgrade(failing_50, without=[FAILING_PLUGIN])


def test_without_the_failing_plugin_the_upgrade_completes(
    upgraded_50: UpgradeResult, manager: SandboxManager, failing_50: Path
) -> None:
    assert upgraded_50.new_release.startswith("5.0")
    # Left out of the sandbox's copy only: the tree given keeps it.
    assert (failing_50 / "local" / "preflightboom" / "version.php").is_file()
    assert not (manager.get("sbt").code_dir / "local" / "preflightboom").exists()


def test_the_plugins_area_shows_what_the_upgrade_removed(
    upgraded_50: UpgradeResult, manager: SandboxManager, plugins_45: Snapshot
) -> None:
    after = Snapshot(SnapshotMeta(release="5.0"), observe_plugins(manager.get("sbt").code_dir))
    found = {d.key: d for d in compare(plugins_45, after)}
    for plugin in ("mod_chat", "mod_survey", "editor_atto", "atto_bold"):
        assert found[f"plugins/{plugin}/version"].kind == "removed"
    assert found["plugins/mod_forum/version"].kind == "changed"
    if (tree("4.5") / "theme" / "moove").is_dir():
        status = found["plugins/theme_moove/status"]
        assert status.after is not None and status.after.value == "missing"
    assert not any(key.startswith(f"plugins/{FAILING_PLUGIN}/") for key in found)


def test_upgrade_to_50(upgraded_50: UpgradeResult, manager: SandboxManager) -> None:
    assert upgraded_50.old_release.startswith("4.5")
    assert upgraded_50.new_release.startswith("5.0")
    assert upgraded_50.backup.is_file()
    if (tree("4.5") / "theme" / "moove").is_dir():
        assert "theme_moove" in upgraded_50.missing_plugins
    assert not any(p.startswith("atto_") for p in upgraded_50.missing_plugins)
    descriptor = manager.get("sbt").descriptor()
    assert descriptor.client().site_info()["release"].startswith("5.0")
    assert moodle.count_site(manager.get("sbt").state().db).courses >= 1


@pytest.fixture(scope="module")
def upgraded_51(manager: SandboxManager, upgraded_50: UpgradeResult) -> UpgradeResult:
    return manager.get("sbt").upgrade(tree("5.1"))


def test_upgrade_to_51_serves_from_public(
    upgraded_51: UpgradeResult, manager: SandboxManager
) -> None:
    assert upgraded_51.old_release.startswith("5.0")
    assert upgraded_51.new_release.startswith("5.1")
    descriptor = manager.get("sbt").descriptor()
    assert descriptor.sandbox is not None
    assert descriptor.sandbox.webroot == descriptor.sandbox.code_dir / "public"
    assert descriptor.client().site_info()["release"].startswith("5.1")
    # Moodle 5.1 answers from public/ only: the tree's root is not served.
    assert requests.get(f"{descriptor.url}/login/index.php", timeout=30).status_code == 200


def test_a_downgrade_is_refused_before_touching_anything(
    manager: SandboxManager, upgraded_51: UpgradeResult
) -> None:
    box = manager.get("sbt")
    before = box.state()
    code_before = (box.code_dir / "public" / "version.php").stat().st_ino
    with pytest.raises(DowngradeError, match="cannot downgrade"):
        box.upgrade(tree("5.0"))
    assert box.state() == before
    assert (box.code_dir / "public" / "version.php").stat().st_ino == code_before
    assert box.descriptor().client().site_info(refresh=True)["release"].startswith("5.1")


def test_restore_into_an_existing_sandbox_goes_back(
    manager: SandboxManager, upgraded_51: UpgradeResult, backup_45: Path
) -> None:
    result = manager.restore("sbt", backup_45)
    assert result.release.startswith("4.5")
    assert manager.get("sbt").descriptor().client().site_info()["release"].startswith("4.5")
