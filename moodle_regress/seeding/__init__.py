"""Seeding realistic test data from a declarative plan (see README, "Seeding").

>>> plan = load_plan(default_plan())  # moodle_regress.resources      # doctest: +SKIP
>>> data = generate(plan, seed=1, installed_formats=installed_formats(client))
>>> summary = apply_dataset(client, data)                         # doctest: +SKIP
"""

from __future__ import annotations

from moodle_regress.seeding.apply import (
    ApplyInterrupted,
    ApplyOptions,
    SeedError,
    Summary,
    apply_dataset,
)
from moodle_regress.seeding.cleanup import CleanupSummary, cleanup, find_tagged
from moodle_regress.seeding.generate import Dataset, generate
from moodle_regress.seeding.plan import Plan, PlanError, load_plan, parse_plan
from moodle_regress.seeding.site import LocalSite, installed_formats
from moodle_regress.site import SiteDescriptor


def local_site(descriptor: SiteDescriptor) -> LocalSite | None:
    """The site's code tree when it is a local sandbox, else None."""
    if descriptor.sandbox is None:
        return None
    return LocalSite(
        code_dir=descriptor.sandbox.code_dir,
        webroot=descriptor.sandbox.webroot,
        log=descriptor.sandbox.root / "logs" / "seed.log",
    )


__all__ = [
    "ApplyInterrupted",
    "ApplyOptions",
    "CleanupSummary",
    "Dataset",
    "LocalSite",
    "Plan",
    "PlanError",
    "SeedError",
    "Summary",
    "apply_dataset",
    "cleanup",
    "find_tagged",
    "generate",
    "installed_formats",
    "load_plan",
    "local_site",
    "parse_plan",
]
