"""Where a rehearsal's time goes: Moodle's work, the database's tools, the suites, and
the tool's own, each a span of wall time counted once however much overlaps in it."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from rich.console import Console

from moodle_regress.phprun import run_php
from moodle_regress.rehearsal.result import RehearsalResult, print_summary
from moodle_regress.rehearsal.stages import StageBoard
from moodle_regress.timing import ANY, CLOCK, BusyClock, TimedTransport, since
from moodle_ws.transport import RawResponse


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_overlapping_work_of_one_kind_counts_once() -> None:
    time = FakeTime()
    clock = BusyClock(time)
    with clock.busy("moodle"):
        time.now = 1.0
        with clock.busy("moodle"):  # a second request while the first is out
            time.now = 3.0
        time.now = 4.0
    time.now = 10.0  # nothing runs: the tool's own time
    assert clock.reading()["moodle"] == 4.0
    assert clock.reading()[ANY] == 4.0


def test_kinds_are_apart_and_any_is_their_union() -> None:
    time = FakeTime()
    clock = BusyClock(time)
    with clock.busy("suites"):
        time.now = 2.0
        with clock.busy("moodle"):
            time.now = 5.0
    with clock.busy("database"):
        time.now = 6.0
    reading = clock.reading()
    assert (reading["suites"], reading["moodle"], reading["database"]) == (5.0, 3.0, 1.0)
    assert reading[ANY] == 6.0


def test_a_span_still_open_is_read_as_far_as_it_went() -> None:
    time = FakeTime()
    clock = BusyClock(time)
    before = clock.reading()
    with clock.busy("moodle"):
        time.now = 2.5
        assert since(before, clock)["moodle"] == 2.5
    time.now = 7.0
    assert since(before, clock) == {"moodle": 2.5, "database": 0.0, "suites": 0.0, ANY: 2.5}


def test_an_exception_closes_the_span() -> None:
    time = FakeTime()
    clock = BusyClock(time)
    with pytest.raises(RuntimeError), clock.busy("database"):
        time.now = 1.0
        raise RuntimeError("pg_restore failed")
    time.now = 9.0
    assert clock.reading()["database"] == 1.0


def test_requests_through_a_timed_transport_are_moodles_time() -> None:
    time = FakeTime()
    clock = BusyClock(time)

    class SlowSite:
        def post(
            self, url: str, data: object, *, timeout: float, files: object = None
        ) -> RawResponse:
            time.now += 0.5  # the site's answer takes half a second
            return RawResponse(200, "{}")

        def close(self) -> None:
            pass

    transport = TimedTransport(SlowSite(), clock)
    for _ in range(4):
        transport.post("http://moodle.invalid/webservice/rest/server.php", [], timeout=1)
    assert clock.reading()["moodle"] == 2.0


@pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")
def test_php_runs_are_moodles_time(tmp_path: Path) -> None:
    before = CLOCK.reading()
    run_php(["-r", "usleep(300000);"], cwd=tmp_path, title="-r usleep")
    assert since(before)["moodle"] >= 0.3


def test_the_summary_shows_each_stages_shares_and_the_tools_own() -> None:
    console = Console(record=True, width=160)
    board = StageBoard([("up", "1. sandbox"), ("seed", "2. seed")], console, live=False)
    with board.run("up"):
        done = threading.Event()
        with CLOCK.busy("moodle"):
            done.wait(0.2)
    board.skip("seed", "no plan")
    up = board.get("up")
    assert up.shares["moodle"] >= 0.2
    assert up.own_seconds == pytest.approx(up.seconds - up.shares[ANY])
    print_summary(RehearsalResult(out=Path("out"), stages=board.stages), console)
    text = console.export_text()
    assert "Moodle" in text and "tool's own" in text
    assert "the tool's own time:" in text
