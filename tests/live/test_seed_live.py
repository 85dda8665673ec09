"""Seeding against real Moodle sites (the shared live-<release> sandboxes).

The shipped small plan (tag ``small``: every course format, hidden and named sections,
three enrolment methods, groups, a cohort, content on every course) is seeded on the
shared sites, as the API suites seed it; the other tests use plans with their own tags
and remove exactly what they created.  The default plan (1,000 users, 40 courses with
content) is checked offline (tests/unit/test_plan.py) and seeded by
``benchmarks/bench_seed.py``: seeding it here would take most of CI's time on each site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from moodle_regress.resources import packaged_plan
from moodle_regress.seeding import (
    ApplyInterrupted,
    ApplyOptions,
    Dataset,
    apply_dataset,
    cleanup,
    generate,
    installed_formats,
    load_plan,
    local_site,
    parse_plan,
)
from moodle_regress.seeding.apply import SEED_TIMEOUT, STEPS, StepCount
from moodle_regress.seeding.tags import is_tagged, tagged
from moodle_regress.site import SiteDescriptor
from moodle_ws import MoodleClient

pytestmark = pytest.mark.live

SHIPPED_PLAN = packaged_plan("small")

SMALL_PLAN = """\
tag: {tag}
categories:
  - {{name: Small {tag}, idnumber: top}}
courses:
  - shortname: {tag}-explicit
    fullname: Explicit course {tag}
    category: top
    format: weeks
    numsections: 3
    theme: classic
    sections: [{{number: 2, name: Second week, visible: false}}]
    enrolment_methods: [manual, {{method: self, key: Small-Key-1}}, guest]
enrolments:
  - {{user: {tag}-u001, course: {tag}-explicit, role: editingteacher}}
cohorts:
  - {{idnumber: c1, name: Cohort {tag}, members: [{tag}-u001, {tag}-u002]}}
generate:
  users:
    - {{count: 30, role_hint: student, username_pattern: "{tag}-u{{n:03d}}"}}
  courses:
    - {{count: 4, category: top, shortname_pattern: "{tag}-c{{n:02d}}", numsections: 3}}
  enrolments:
    - {{count: 60, role: student, users: student}}
  groups: {{per_course: 2, members: 1.0}}
"""


# Sites by key: a release on PostgreSQL, or a release on another engine ("4.5-mariadb").
@pytest.fixture(scope="module", params=["4.5", "5.0", "5.1", "4.5-mariadb"])
def site(
    request: pytest.FixtureRequest, live_site_factory: Callable[[str], SiteDescriptor]
) -> SiteDescriptor:
    return live_site_factory(str(request.param))


@pytest.fixture
def client(site: SiteDescriptor) -> Iterator[MoodleClient]:
    with site.client(timeout=SEED_TIMEOUT) as made:
        yield made


def dataset(client: MoodleClient, site: SiteDescriptor, text: str | None = None) -> Dataset:
    plan = parse_plan(text, "small.yaml") if text else load_plan(SHIPPED_PLAN)
    formats = installed_formats(client, local_site(site))
    return generate(plan, 0, installed_formats=formats)


def expected_steps(data: Dataset) -> dict[str, int]:
    counts = data.counts()
    return {
        "categories": counts["categories"],
        "courses": counts["courses"],
        "users": counts["users"],
        "sections": sum(len(c.sections) for c in data.courses),
        "enrolment_methods": sum(
            1 for c in data.courses for m in c.methods if m.method != "manual"
        ),
        "enrolments": counts["enrolments"],
        "groups": counts["groups"],
        "group_members": counts["group_members"],
        "cohorts": counts["cohorts"],
        "cohort_members": counts["cohort_members"],
    }


def structure(steps: dict[str, StepCount]) -> dict[str, StepCount]:
    """The steps of users, courses, enrolments... (content's are checked in
    tests/live/test_content_live.py)."""
    return {name: count for name, count in steps.items() if name in STEPS}


def test_shipped_plan_twice_gives_the_same_counts(
    client: MoodleClient, site: SiteDescriptor
) -> None:
    data = dataset(client, site)
    local = local_site(site)
    first = apply_dataset(client, data, local=local)
    second = apply_dataset(client, data, local=local)
    expected = expected_steps(data)
    for step, count in structure(first.steps).items():
        assert count.created + count.existing == expected[step], step
    # Nothing at all is made twice, content included.
    assert second.created == 0
    assert {s: c.existing for s, c in structure(second.steps).items()} == expected
    assert data.counts()["courses"] >= 4 and data.counts()["enrolments"] >= 60


def test_shipped_plan_reads_back_as_planned(client: MoodleClient, site: SiteDescriptor) -> None:
    data = dataset(client, site)
    apply_dataset(client, data, local=local_site(site))
    courses = {c.shortname: c for c in client.courses.get()}
    categories = {c.id: c for c in client.categories.get()}
    for course in data.courses:
        found = courses[course.shortname]
        assert found.fullname == course.fullname
        assert found.format == course.format
        assert bool(found.visible) == course.visible
        assert found.categoryid is not None
        assert categories[found.categoryid].idnumber == tagged(data.tag, course.category_key or "")
        if course.sections:
            state = {s.section: s for s in client.sections.state(found.id).section}
            for section in course.sections:
                assert state[section.number].visible == section.visible
                if section.name:
                    assert state[section.number].rawtitle in (section.name, None)
                    assert section.name in state[section.number].title
        types = {m.type for m in client.enrol.get_course_enrolment_methods(found.id)}
        assert {m.method for m in course.methods if m.method != "manual"} <= types
    sample = data.users[:: max(1, len(data.users) // 50)]
    users = {
        u.username: u for u in client.users.get_by_field("username", [u.username for u in sample])
    }
    for user in sample:
        assert (users[user.username].firstname, users[user.username].lastname) == (
            user.firstname,
            user.lastname,
        )
        assert users[user.username].email == user.email
    # Enrolments and groups of three courses, one of each kind.
    for course in [data.courses[0], data.courses[1], data.courses[-1]]:
        enrolled = client.enrol.get_enrolled_users(
            courses[course.shortname].id, options={"userfields": "id,username,roles"}
        )
        pairs = {(u.username, r.shortname) for u in enrolled for r in u.roles}
        planned = {(e.username, e.role) for e in data.enrolments if e.shortname == course.shortname}
        assert planned <= pairs
        groups = {
            g.name: g.id for g in client.groups.get_course_groups(courses[course.shortname].id)
        }
        ids = {u.username: u.id for u in enrolled}
        for group in (g for g in data.groups if g.shortname == course.shortname):
            userids = client.groups.get_members([groups[group.name]])[0].userids
            assert sorted(userids) == sorted(ids[m] for m in group.members)
    cohorts = {c.idnumber: c for c in client.cohorts.get([])}
    for cohort in data.cohorts:
        assert cohorts[tagged(data.tag, cohort.key)].name == cohort.name
        members = client.cohorts.get_members([cohorts[tagged(data.tag, cohort.key)].id])
        assert len(members[0].userids) == len(cohort.members)


def test_interrupted_apply_completes_without_duplicates(
    client: MoodleClient, site: SiteDescriptor
) -> None:
    tag = "intr"
    data = dataset(client, site, SMALL_PLAN.format(tag=tag))
    local = local_site(site)
    cleanup(client, tag)  # leftovers of an earlier failed run
    writes = 0

    def stop_after_five(step: str) -> None:
        nonlocal writes
        writes += 1
        if writes > 5:
            raise ApplyInterrupted(step)

    small = ApplyOptions(user_batch=7, enrol_batch=9, member_batch=5, workers=2)
    try:
        with pytest.raises(ApplyInterrupted):
            apply_dataset(
                client,
                data,
                local=local,
                options=replace(small, before_write=stop_after_five),
            )
        done = apply_dataset(client, data, local=local, options=small)
        assert done.created > 0  # the first run really stopped short
        again = apply_dataset(client, data, local=local, options=small)
        assert again.created == 0
        assert {s: c.existing for s, c in structure(again.steps).items()} == expected_steps(data)
        # No duplicates: exactly one tagged course per planned course, one group per name.
        mine = [c for c in client.courses.get() if is_tagged(c.idnumber, tag)]
        explicit = next(c for c in mine if c.shortname == f"{tag}-explicit")
        # The sandbox allows course themes, so the course keeps the plan's theme.
        assert explicit.extra_fields.get("forcetheme") == "classic"
        assert sorted(c.shortname for c in mine) == sorted(c.shortname for c in data.courses)
        for course in mine:
            names = [g.name for g in client.groups.get_course_groups(course.id)]
            planned = [g.name for g in data.groups if g.shortname == course.shortname]
            assert sorted(names) == sorted(planned)
            enrolled = client.enrol.get_enrolled_users(course.id)
            assert len({u.id for u in enrolled}) == len(enrolled)
    finally:
        cleanup(client, tag, data=data)


def test_cleanup_removes_exactly_the_tagged_entities(
    client: MoodleClient, site: SiteDescriptor
) -> None:
    tag = "clean"
    # The plan also names a user the site already has (the shipped plan's): it
    # is used, never tagged, and stays.
    text = SMALL_PLAN.format(tag=tag) + "users:\n  - {username: mr-student0001}\n"
    text = text.replace(
        "enrolments:\n", "enrolments:\n  - {user: mr-student0001, course: clean-explicit}\n", 1
    )
    apply_dataset(client, dataset(client, site), local=local_site(site))  # the site's own data
    before_courses = {c.id for c in client.courses.get()}
    before_categories = {c.id for c in client.categories.get()}
    before_cohorts = {c.id for c in client.cohorts.get([])}
    own_user = client.users.get_by_field("username", ["mr-student0001"])[0]
    data = dataset(client, site, text)
    apply_dataset(client, data, local=local_site(site))
    result = cleanup(client, tag, data=data)
    assert result.deleted["courses"] == len(data.courses)
    assert result.deleted["users"] == len(data.users) - 1  # not the site's own user
    assert result.deleted["categories"] == len(data.categories)
    after_courses = {c.id: c for c in client.courses.get()}
    after_categories = {c.id: c for c in client.categories.get()}
    after_cohorts = {c.id: c for c in client.cohorts.get([])}
    # Everything that was there before is still there (others may have added more).
    assert before_courses <= set(after_courses)
    assert before_categories <= set(after_categories)
    assert before_cohorts <= set(after_cohorts)
    assert client.users.get_by_field("username", ["mr-student0001"])[0].id == own_user.id
    # And nothing tagged is left.
    assert not [c for c in after_courses.values() if is_tagged(c.idnumber, tag)]
    assert not [c for c in after_categories.values() if is_tagged(c.idnumber, tag)]
    assert not [c for c in after_cohorts.values() if is_tagged(c.idnumber, tag)]
    seeded = [u.username for u in data.users if u.username != "mr-student0001"]
    assert not client.users.get_by_field("username", seeded)
