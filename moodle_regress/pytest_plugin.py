"""The pytest plugin (entry point ``pytest11``): options and fixtures for suites.

Options: ``--moodle-site`` (the site under test), ``--moodle-plan`` (a seeding
plan; default: the default plan), ``--moodle-seed`` (its seed), ``--allow-writes``
(seed a site not marked as a test site), ``--moodle-sample`` (the site's own courses
and users in place of a plan's, for a copy of a real site).

Fixtures: ``moodle_site`` (the descriptor) and ``seeded_site`` (the descriptor,
after the plan was applied once per test run).  Under pytest-xdist the first
worker seeds while the others wait on a file lock, then read its result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from moodle_regress.browser.pytest_options import add_options as add_browser_options
from moodle_regress.files import write_json_atomic
from moodle_regress.recording import worker_of
from moodle_regress.resources import default_plan, resolve_plan
from moodle_regress.site import SiteDescriptor, SiteError, resolve_site

# The suites' recorder (baseline comparison) and fixtures live in their own modules.
pytest_plugins = ["moodle_regress.pytest_recording", "moodle_regress.pytest_suites"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_browser_options(parser)
    group = parser.getgroup("moodle-regress")
    group.addoption(
        "--moodle-site",
        default=None,
        help="site to test: a descriptor file, a sandbox name, a configured site or a URL",
    )
    group.addoption(
        "--moodle-plan",
        default=None,
        help="seeding plan for the seeded_site fixture (default: the default plan)",
    )
    group.addoption(
        "--moodle-seed", type=int, default=0, help="random seed of the seeding plan (default 0)"
    )
    group.addoption(
        "--moodle-sample",
        default=None,
        help="check the site's own courses and users, not a plan's: a sample of them read "
        "from this file, or chosen on the site and written to it when it does not exist "
        "(the sampled users get a known password: test sites only); give the same file "
        "after the upgrade",
    )
    group.addoption(
        "--moodle-formats",
        default=None,
        help="the course formats the site had when the plan was first seeded, comma-separated "
        "(default: those installed now); after an upgrade that adds or removes formats, the "
        "plan then means the same courses it meant before",
    )
    group.addoption(
        "--allow-writes",
        action="store_true",
        default=False,
        help="seed the site even if it is not marked as a test site",
    )


@dataclass(frozen=True)
class SeededSite:
    """A site after seeding: its descriptor and what the seeding run reported."""

    descriptor: SiteDescriptor
    tag: str
    seed: int
    counts: dict[str, int]
    summary: dict[str, dict[str, int]]
    notes: list[str]


def seed_once(
    descriptor: SiteDescriptor,
    plan_path: Path,
    seed: int,
    *,
    allow_writes: bool,
    shared_dir: Path,
    formats: list[str] | None = None,
) -> dict[str, Any]:
    """Apply the plan unless another process of this run already did; return its result.

    The result file lives in ``shared_dir`` (the same for every xdist worker of a
    run): whoever holds the lock first seeds and writes it, the rest read it.
    """
    from moodle_regress.seeding import (
        apply_dataset,
        generate,
        installed_formats,
        load_plan,
        local_site,
    )
    from moodle_regress.seeding.apply import SEED_TIMEOUT

    key = f"seed-{descriptor.name}-{plan_path.stem}-{seed}".replace("/", "_")
    result_file = shared_dir / f"{key}.json"
    with FileLock(str(shared_dir / f"{key}.lock")):
        if result_file.is_file():
            loaded: dict[str, Any] = json.loads(result_file.read_text())
            return loaded
        plan = load_plan(plan_path)
        with descriptor.client(timeout=SEED_TIMEOUT) as client:
            local = local_site(descriptor)
            if formats is None:
                formats = installed_formats(client, local, plan)
            data = generate(plan, seed, installed_formats=formats)
            summary = apply_dataset(client, data, allow_writes=allow_writes, local=local)
        result = {
            "tag": data.tag,
            "seed": seed,
            "counts": data.counts(),
            "summary": summary.as_dict(),
            "notes": summary.notes,
        }
        write_json_atomic(result_file, result)
        return result


def sample_once(
    descriptor: SiteDescriptor, path: Path, seed: int, *, allow_writes: bool
) -> dict[str, Any]:
    """The site's sample in ``path``: read, or chosen now and written (once per run,
    whatever the number of workers); returns what ``seed_once`` returns."""
    from moodle_regress.seeding.sample import (
        load_sample,
        open_sampled_accounts,
        sample_site,
        save_sample,
    )

    path = path.absolute()
    with FileLock(str(path.with_name(path.name + ".lock"))):
        if path.is_file():
            data = load_sample(path)
        else:
            with descriptor.client() as client:
                data = sample_site(client, seed)
                open_sampled_accounts(client, data, allow_writes=allow_writes)
            save_sample(data, path)
    return {"tag": data.tag, "seed": data.seed, "counts": data.counts(), "summary": {},
            "notes": [f"sampled from {data.sampled_from}"]}  # fmt: skip


def sample_path(config: pytest.Config) -> Path | None:
    value = config.getoption("--moodle-sample", None)
    return Path(str(value)) if value else None


def seeded_formats(config: pytest.Config) -> list[str] | None:
    """The formats ``--moodle-formats`` names, or None to read the site's."""
    value = config.getoption("--moodle-formats", None)
    return [f.strip() for f in str(value).split(",") if f.strip()] if value else None


def run_shared_dir(config: pytest.Config, factory: pytest.TempPathFactory) -> Path:
    """A folder every process of this test run shares (xdist workers included)."""
    base = factory.getbasetemp()
    # Under xdist each worker's basetemp is <run dir>/popen-gwN: share the parent.
    return base.parent if worker_of(config) != "main" else base


@pytest.fixture(scope="session")
def moodle_site(request: pytest.FixtureRequest) -> SiteDescriptor:
    value = request.config.getoption("--moodle-site")
    if not value:
        pytest.skip("no site to test: pass --moodle-site (a descriptor, sandbox name or URL)")
    try:
        return resolve_site(str(value))
    except SiteError as exc:
        raise pytest.UsageError(f"--moodle-site {value}: {exc}") from None


@pytest.fixture(scope="session")
def seeded_site(
    request: pytest.FixtureRequest,
    moodle_site: SiteDescriptor,
    tmp_path_factory: pytest.TempPathFactory,
) -> SeededSite:
    plan_option = request.config.getoption("--moodle-plan")
    plan_path = resolve_plan(plan_option) if plan_option else default_plan()
    seed = int(request.config.getoption("--moodle-seed"))
    allow_writes = bool(request.config.getoption("--allow-writes"))
    sample = sample_path(request.config)
    if sample is not None:
        from moodle_regress.errors import MoodleRegressError

        try:
            sampled = sample_once(moodle_site, sample, seed, allow_writes=allow_writes)
        except MoodleRegressError as exc:
            raise pytest.UsageError(f"--moodle-sample {sample}: {exc}") from None
        return _seeded(moodle_site, sampled)
    shared = run_shared_dir(request.config, tmp_path_factory)
    result = seed_once(
        moodle_site,
        plan_path,
        seed,
        allow_writes=allow_writes,
        shared_dir=shared,
        formats=seeded_formats(request.config),
    )
    return _seeded(moodle_site, result)


def _seeded(moodle_site: SiteDescriptor, result: dict[str, Any]) -> SeededSite:
    return SeededSite(
        descriptor=moodle_site,
        tag=str(result["tag"]),
        seed=int(result["seed"]),
        counts=dict(result["counts"]),
        summary=dict(result["summary"]),
        notes=list(result["notes"]),
    )
