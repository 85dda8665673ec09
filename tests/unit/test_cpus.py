"""The CPU each PHP run works on: one each, the least claimed first, none where
pinning gains nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from moodle_regress.cpus import PIN_ENV, CpuPool, pin


def test_runs_side_by_side_get_different_cpus_and_give_them_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PIN_ENV, raising=False)
    pool = CpuPool({2, 5})
    with pool.claim() as first, pool.claim() as second:
        assert {first, second} == {2, 5}
        with pool.claim() as third:
            assert third in {2, 5}  # more runs than CPUs: they share
    with pool.claim() as again:
        assert again == 2  # all given back: the lowest CPU first


def test_a_given_back_cpu_is_the_next_one_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PIN_ENV, raising=False)
    pool = CpuPool({0, 1})
    with pool.claim() as kept:
        with pool.claim() as other:
            assert other != kept
        with pool.claim() as after:
            assert after == other


def test_one_cpu_or_pinning_off_means_no_pinning(monkeypatch: pytest.MonkeyPatch) -> None:
    with CpuPool({3}).claim() as cpu:
        assert cpu is None
    monkeypatch.setenv(PIN_ENV, "0")
    with CpuPool({0, 1}).claim() as cpu:
        assert cpu is None


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU")
def test_pin_moves_a_process_to_one_cpu_and_ignores_one_that_ended() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        cpu = max(os.sched_getaffinity(0))
        pin(child.pid, cpu)
        assert os.sched_getaffinity(child.pid) == {cpu}
    finally:
        child.kill()
        child.wait()
    pin(child.pid, 0)  # gone: no error
    pin(os.getpid(), None)  # nothing to do
