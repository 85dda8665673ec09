"""The live tests' time budget (MOODLE_REGRESS_LIVE_BUDGET) in the top-level conftest."""

from __future__ import annotations

import pytest

import conftest


def test_no_budget_never_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOODLE_REGRESS_LIVE_BUDGET", raising=False)
    assert conftest.live_budget_exhausted(now=conftest._SESSION_START + 10**6) is None


def test_the_budget_lasts_until_it_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_LIVE_BUDGET", "600")
    start = conftest._SESSION_START
    assert conftest.live_budget_exhausted(now=start + 599) is None
    reason = conftest.live_budget_exhausted(now=start + 601)
    assert reason is not None
    assert "MOODLE_REGRESS_LIVE_BUDGET=600" in reason
