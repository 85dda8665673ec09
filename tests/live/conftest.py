"""Fixtures of the live tests that several modules share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.live.rehearsals import Rehearsal, rehearse, tree


@pytest.fixture(scope="session")
def rehearsal_45_50(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    """4.5 -> 5.0 on PostgreSQL with both suites, run once: the rehearsal tests check it,
    the MariaDB one compares with it, and the browser-suite tests read its A and B runs
    (the browser suites on 4.5, and on 5.0 against 4.5 as their baseline)."""
    out = tmp_path_factory.mktemp("rehearsal") / "45-50"
    done, summary = rehearse(
        "--from",
        str(tree("4.5")),
        "--to",
        str(tree("5.0")),
        "--suites",
        "api,browser",
        "--name",
        "rh-test-45-50",
        out=out,
    )
    return Rehearsal(done, summary, out)


# --- two live tests at once (pytest -n 2) ---------------------------------------------
# Each module's tests stay on one worker (they share its module-scoped sandboxes), and
# the modules that read the shared 4.5 -> 5.0 rehearsal share a worker with it.  The
# heaviest groups (by their takes marks) go first, so that the two workers end about
# together rather than one of them starting the longest group last.  (A scheduler of
# our own: pytest-xdist's xdist_group marks do not group under pytest 9.)
SHARED_REHEARSAL = ("test_rehearsal_live", "test_browser_suites_live")


def group_of(nodeid: str) -> str:
    """The worker group of a test: its module, or the shared rehearsal's."""
    module = nodeid.split("::", 1)[0].split("@", 1)[0]
    return "rehearsal-45-50" if Path(module).stem in SHARED_REHEARSAL else module


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    # Groups in our order (heaviest first), not xdist's (most tests first: the modules
    # of many quick tests went first and the long rehearsals queued on one worker).
    config.option.loadscopereorder = False

    class ModuleGroups(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return ModuleGroups(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from conftest import test_needs

    weight: dict[str, float] = {}
    for item in items:
        if item.path.parent.name == "live":
            group = group_of(item.nodeid)
            weight[group] = weight.get(group, 0.0) + test_needs(item)
    if weight:
        order = {g: i for i, g in enumerate(sorted(weight, key=lambda g: (-weight[g], g)))}

        def position(item: pytest.Item) -> int:
            live = item.path.parent.name == "live"
            return order.get(group_of(item.nodeid), -1) if live else -1

        items.sort(key=position)
