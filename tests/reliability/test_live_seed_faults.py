"""Seeding faults against a real Moodle 4.5 sandbox (the shared ``live-4.5``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_regress.seeding.tags import tagged
from moodle_regress.site import SiteDescriptor
from moodle_ws import MoodleClient
from moodle_ws.areas.courses import CourseCreate
from moodle_ws.areas.users import UserCreate
from tests.reliability.conftest import RunCli

pytestmark = pytest.mark.live


@pytest.fixture
def client(site_45: SiteDescriptor) -> Iterator[MoodleClient]:
    with site_45.client(timeout=120) as made:
        yield made


def _tag(prefix: str) -> str:
    return prefix + secrets.token_hex(3)


def _mine(client: MoodleClient, tag: str) -> tuple[list[int], list[int], list[int]]:
    prefix = f"mr-{tag}-"
    courses = [c.id for c in client.courses.get() if (c.idnumber or "").startswith(prefix)]
    categories = [c.id for c in client.categories.get() if (c.idnumber or "").startswith(prefix)]
    # idnumber criteria match exactly: list the manual accounts and keep the tagged ones.
    users = client.call("core_user_get_users", criteria=[{"key": "auth", "value": "manual"}])
    mine = [u["id"] for u in users["users"] if str(u.get("idnumber", "")).startswith(prefix)]
    return courses, categories, mine


def test_a_plan_enrolling_an_unknown_user_writes_nothing(
    site_45: SiteDescriptor, client: MoodleClient, run_cli: RunCli, tmp_path: Path
) -> None:
    tag = _tag("gh")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"tag: {tag}\n"
        "categories:\n  - {name: Ghosts, idnumber: ghosts}\n"
        f"courses:\n  - {{shortname: {tag}-c1, category: ghosts}}\n"
        f"users:\n  - {{username: {tag}-u1}}\n"
        "enrolments:\n"
        f"  - {{user: {tag}-u1, course: {tag}-c1}}\n"
        f"  - {{user: {tag}-nobody, course: {tag}-c1}}\n"
    )
    run = run_cli("seed", "--site", site_45.name, "--plan", str(plan))
    run.assert_error(f"user '{tag}-nobody' is neither in the plan nor on the site")
    assert _mine(client, tag) == ([], [], [])


def test_a_plan_naming_a_course_format_that_is_not_installed_sends_nothing(
    site_45: SiteDescriptor, client: MoodleClient, run_cli: RunCli, tmp_path: Path
) -> None:
    tag = _tag("fm")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"tag: {tag}\ncategories:\n  - {{name: F, idnumber: f}}\n"
        f"courses:\n  - {{shortname: {tag}-c1, category: f, format: topcs}}\n"
    )
    run = run_cli("seed", "--site", site_45.name, "--plan", str(plan))
    run.assert_error("plan.yaml:5: courses[0].format", "'topcs' is not installed")
    assert _mine(client, tag) == ([], [], [])


def test_cleanup_of_a_tag_leaves_the_entities_of_a_longer_one(
    site_45: SiteDescriptor, client: MoodleClient, run_cli: RunCli
) -> None:
    tag = _tag("ct")
    # A course and a user as an older version made them for the run tag "<tag>-b"
    # (tags with a hyphen are refused now), beside one course of the tag itself.
    other = f"{tag}-b"
    made = client.courses.create(
        [
            CourseCreate(
                fullname="other", shortname=f"{tag}o1", categoryid=1,
                idnumber=tagged(other, f"{tag}o1"),
            ),
            CourseCreate(
                fullname="own", shortname=f"{tag}m1", categoryid=1,
                idnumber=tagged(tag, f"{tag}m1"),
            ),
        ]
    )  # fmt: skip
    user = client.users.create(
        [
            UserCreate(
                username=f"{tag}u1", firstname="O", lastname="Ther",
                email=f"{tag}u1@example.org", password="Pass-w0rd!x",
                idnumber=tagged(other, f"{tag}u1"),
            )
        ]
    )[0]  # fmt: skip
    try:
        run = run_cli("cleanup", "--site", site_45.name, "--tag", tag)
        assert run.code == 0, run.out + run.err
        left = {c.shortname for c in client.courses.get()}
        assert f"{tag}o1" in left
        assert f"{tag}m1" not in left
        assert client.users.get_by_field("username", [f"{tag}u1"])
    finally:
        client.courses.delete([c.id for c in made if c.shortname == f"{tag}o1"])
        client.users.delete([user.id])
