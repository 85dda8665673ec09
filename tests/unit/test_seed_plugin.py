"""The pytest plugin's seed-once logic: one seeding per run, whoever asks first."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from moodle_regress import seeding
from moodle_regress.pytest_plugin import seed_once
from moodle_regress.resources import default_plan
from moodle_regress.seeding.apply import Summary
from moodle_regress.site import SiteDescriptor


def test_concurrent_workers_seed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[int] = []

    def fake_apply(client: Any, data: Any, **kwargs: Any) -> Summary:
        applied.append(len(data.users))
        time.sleep(0.3)  # long enough for the other workers to queue on the lock
        summary = Summary()
        summary.steps["users"].created = len(data.users)
        return summary

    # No site is reached: the seeding itself is what the live tests cover.
    monkeypatch.setattr(seeding, "apply_dataset", fake_apply)
    monkeypatch.setattr(
        seeding, "installed_formats", lambda client, local=None, plan=None: ["topics"]
    )
    site = SiteDescriptor(name="s", url="http://moodle.invalid", token=SecretStr("x" * 32))
    results: list[dict[str, Any]] = []

    def worker() -> None:
        results.append(seed_once(site, default_plan(), 0, allow_writes=False, shared_dir=tmp_path))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(applied) == 1
    assert len(results) == 4
    assert all(r == results[0] for r in results)
    assert results[0]["summary"]["users"]["created"] == applied[0] >= 1000
    # A later session of the same run reads the result too.
    again = seed_once(site, default_plan(), 0, allow_writes=False, shared_dir=tmp_path)
    assert again == results[0] and len(applied) == 1
