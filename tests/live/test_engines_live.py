"""One Moodle release on both database engines: the same plan and seed must give the
same site, observation for observation (snapshot metadata aside, which names the
engine and is never compared), but for the site's name, which is the sandbox's.

Uses the shared ``live-4.5`` (PostgreSQL) and ``live-4.5-mariadb`` sites, seeded with
the default plan (tag ``seed``; applying is idempotent, so a site the seeding tests
already seeded gets nothing new).  Only the plan's entities are observed, with the
site-wide facts: other tests' data on the shared sites does not count.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_regress.compare import compare
from moodle_regress.observe import ApiObserver, prefix_filter
from moodle_regress.resources import default_plan
from moodle_regress.seeding import apply_dataset, generate, installed_formats, load_plan
from moodle_regress.seeding import local_site as local_site_of
from moodle_regress.seeding.apply import SEED_TIMEOUT
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot

pytestmark = [pytest.mark.live, pytest.mark.slow]


def seed_and_observe(site: SiteDescriptor, out: Path) -> Snapshot:
    plan = load_plan(default_plan())
    local = local_site_of(site)
    with site.client(timeout=SEED_TIMEOUT) as client:
        data = generate(plan, 0, installed_formats=installed_formats(client, local))
        apply_dataset(client, data, local=local)
        run = ApiObserver(client, entity_filter=prefix_filter(f"mr-{plan.tag}-")).observe()
    run.meta.database = site.db_engine
    run.snapshot().save(out)
    return Snapshot.load(out)


def test_same_plan_and_seed_give_equal_snapshots_on_both_engines(
    site_45: SiteDescriptor, site_45_mariadb: SiteDescriptor, tmp_path: Path
) -> None:
    on_postgres = seed_and_observe(site_45, tmp_path / "postgres.json")
    on_mariadb = seed_and_observe(site_45_mariadb, tmp_path / "mariadb.json")
    assert (on_postgres.meta.database, on_mariadb.meta.database) == ("postgres", "mariadb")
    result = compare(on_postgres, on_mariadb)
    # The one difference is the sandboxes' own names (Moodle's site name), not the engine.
    assert {d.key: (d.before_value, d.after_value) for d in result} == {
        "site/@site/sitename": (
            f"moodle-regress sandbox {site_45.name}",
            f"moodle-regress sandbox {site_45_mariadb.name}",
        )
    }
    # Both hold the whole plan: 40+ courses and 1,000+ users, each seen in detail.
    keys = set(on_mariadb.observations)
    assert sum(1 for k in keys if k.startswith("courses/") and k.endswith("/format")) >= 40
    assert sum(1 for k in keys if k.startswith("users/") and k.endswith("/profile")) >= 1000
    assert result.unchanged + 1 == len(on_postgres) == len(on_mariadb)
