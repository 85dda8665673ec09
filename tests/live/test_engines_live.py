"""One Moodle release on both database engines: the same plan and seed must give the
same site, observation for observation (snapshot metadata aside, which names the
engine and is never compared), but for the site's name, which is the sandbox's.

Uses the shared ``live-4.5`` (PostgreSQL) and ``live-4.5-mariadb`` sites, seeded with
the small plan under this test's own names (``engines-...``, tag ``engines``): other
tests seed the shipped plans' own names on these sites and change what they made (the
API and browser suites enrol, suspend, log in, attempt), so only entities no other
test touches can be equal on both.  Only those are observed, with the site-wide facts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_regress.compare import compare
from moodle_regress.observe import ApiObserver, prefix_filter
from moodle_regress.plugins import local_plugins
from moodle_regress.resources import packaged_plan
from moodle_regress.seeding import apply_dataset, generate, installed_formats, load_plan
from moodle_regress.seeding import local_site as local_site_of
from moodle_regress.seeding.apply import SEED_TIMEOUT
from moodle_regress.seeding.generate import Dataset, namespaced
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot

pytestmark = [pytest.mark.live, pytest.mark.slow]


#: This test's own names on the shared sites.
NAMESPACE = "engines"


def seed_and_observe(site: SiteDescriptor, out: Path) -> tuple[Snapshot, Dataset]:
    plan = load_plan(packaged_plan("small"))
    local = local_site_of(site)
    with site.client(timeout=SEED_TIMEOUT) as client:
        made = generate(plan, 0, installed_formats=installed_formats(client, local))
        data = namespaced(made, NAMESPACE)
        apply_dataset(client, data, local=local)
        # The plugins probed are the code tree's (the same on both sites), not those that
        # other tests' courses on the shared site happen to force (a course's theme).
        run = ApiObserver(
            client,
            entity_filter=prefix_filter(f"mr-{NAMESPACE}-"),
            plugin_candidates=local_plugins(site),
        ).observe()
    run.meta.database = site.db_engine
    run.snapshot().save(out)
    return Snapshot.load(out), data


def test_same_plan_and_seed_give_equal_snapshots_on_both_engines(
    site_45: SiteDescriptor, site_45_mariadb: SiteDescriptor, tmp_path: Path
) -> None:
    on_postgres, data = seed_and_observe(site_45, tmp_path / "postgres.json")
    on_mariadb, _ = seed_and_observe(site_45_mariadb, tmp_path / "mariadb.json")
    assert (on_postgres.meta.database, on_mariadb.meta.database) == ("postgres", "mariadb")
    result = compare(on_postgres, on_mariadb)
    # The one difference is the sandboxes' own names (Moodle's site name), not the engine.
    assert {d.key: (d.before_value, d.after_value) for d in result} == {
        "site/@site/sitename": (
            f"moodle-regress sandbox {site_45.name}",
            f"moodle-regress sandbox {site_45_mariadb.name}",
        )
    }
    # Both hold what this test made, and only that: each course and user seen in detail,
    # with the plan's content.
    for snapshot in (on_postgres, on_mariadb):
        keys = set(snapshot.observations)
        courses = {
            k.split("/")[1] for k in keys if k.startswith("courses/") and k.endswith("/format")
        }
        users = {k.split("/")[1] for k in keys if k.startswith("users/") and k.endswith("/profile")}
        assert courses == {c.shortname for c in data.courses}
        assert len(users) == len(data.users)
        assert any(k.startswith(("quiz/", "forums/", "grades/")) for k in keys)
    assert result.unchanged + 1 == len(on_postgres) == len(on_mariadb)
