"""Fixtures of the live tests that several modules share."""

from __future__ import annotations

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
