"""Applying a plan, replaying what Moodle 4.5 answered when the plan was applied twice
(recorded by ``python -m moodle_regress.seeding.record``)."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from moodle_regress.plugins import CORE_FORMATS
from moodle_regress.seeding import ApplyInterrupted, apply_dataset, generate, parse_plan
from moodle_regress.seeding.apply import Summary, chunks, paced_size
from moodle_regress.seeding.generate import Dataset
from moodle_regress.seeding.record import RECORDED_OPTIONS, RECORDED_PLAN, RECORDED_SEED
from moodle_ws import MoodleAPIError, MoodleClient
from moodle_ws.testing import PLACEHOLDER_URL, Recording, ReplayTransport
from tests.unit.recordings import answering

RECORDING = Path(__file__).resolve().parents[2] / "fixtures/recordings/4.5/seeding-apply.json"


def data() -> Dataset:
    plan = parse_plan(RECORDED_PLAN, "recorded")
    return generate(plan, RECORDED_SEED, installed_formats=CORE_FORMATS)


def run_calls(label: str) -> Recording:
    # The recorder's labels are per thread, and the seeder calls from a pool: the
    # runs are told apart by position (the second starts at its first labelled call).
    recording = Recording.load(RECORDING)
    start = next(i for i, c in enumerate(recording.calls) if c.label == "again")
    calls = recording.calls[:start] if label == "first" else recording.calls[start:]
    return recording.model_copy(update={"calls": calls})


def replay(label: str) -> tuple[Summary, ReplayTransport]:
    recording = run_calls(label)
    transport = ReplayTransport(recording)
    client = MoodleClient(PLACEHOLDER_URL, "replayed-token", transport=transport)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The recorded second run shared the first one's client, whose guard
        # answer was cached: it asked nothing about the marker.
        summary = apply_dataset(
            client, data(), options=RECORDED_OPTIONS, allow_writes=label == "again"
        )
    # Every recorded request was made, in order, none other (replay refuses others).
    assert len(transport.requests) == len(recording.calls)
    return summary, transport


def test_first_run_creates_everything_in_batches() -> None:
    summary, transport = replay("first")
    planned = data()
    counts = planned.counts()
    steps = summary.as_dict()
    assert steps["users"]["created"] == counts["users"] == 12
    assert steps["courses"]["created"] == counts["courses"]
    assert steps["enrolments"]["created"] == counts["enrolments"]
    assert steps["group_members"]["created"] == counts["group_members"]
    assert steps["cohort_members"]["created"] == counts["cohort_members"]
    assert summary.existing == 0
    calls = Counter(function for function, _ in transport.requests)
    # Many entities per call: 12 users in batches of 5, all courses in one call.
    assert calls["core_user_create_users"] == 3
    assert calls["core_course_create_courses"] == 1
    assert calls["core_course_create_categories"] == 1
    # One course per enrolment call (see apply: lock order), batches of 4.
    assert calls["enrol_manual_enrol_users"] == sum(
        len(chunks(range(5), 4)) for _ in planned.courses
    )


def test_second_run_creates_nothing() -> None:
    summary, transport = replay("again")
    assert summary.created == 0
    expected = data().counts()
    steps = summary.as_dict()
    for step in ("users", "courses", "enrolments", "groups", "group_members", "cohorts"):
        assert steps[step]["existing"] == expected[step], step
    writes = [f for f, _ in transport.requests if "_create_" in f or "enrol_users" in f]
    assert writes == []


def test_written_users_carry_the_run_tag() -> None:
    _, transport = replay("first")
    sent = [
        value
        for function, params in transport.requests
        if function == "core_user_create_users"
        for key, value in params
        if key.endswith("[idnumber]")
    ]
    assert len(sent) == 12
    assert all(v.startswith("mr-rec-rec-u") for v in sent)


def test_a_before_write_hook_stops_the_run() -> None:
    transport = ReplayTransport(run_calls("first"))
    client = MoodleClient(PLACEHOLDER_URL, "replayed-token", transport=transport)
    steps: list[str] = []

    def stop_at_users(step: str) -> None:
        steps.append(step)
        if step == "users":
            raise ApplyInterrupted(step)

    from dataclasses import replace

    with pytest.raises(ApplyInterrupted):
        apply_dataset(client, data(), options=replace(RECORDED_OPTIONS, before_write=stop_at_users))
    # The first user batch (timed alone, see ApplyOptions pacing) met the hook and
    # stopped the run: no other batch was sent, nothing was created after it.
    assert steps == ["categories", "courses", "users"]
    assert not any(f == "core_user_create_users" for f, _ in transport.requests)


def test_batches_are_paced_to_a_slow_site() -> None:
    # Moodle 4.2 hashed each new user's password with bcrypt: 0.26 s a user on a busy
    # 2-core machine. 250 users a call took over 30 s; the pace keeps calls short.
    assert paced_size(250, 0.26, timeout=180, workers=4) == 43
    assert paced_size(250, 0.26, timeout=30, workers=4) == 7
    assert paced_size(250, 2.0, timeout=30, workers=4) == 1
    # A fast site (Moodle 4.5: 7 ms a user in a batch) keeps the largest batches.
    assert paced_size(250, 0.007, timeout=180, workers=4) == 250
    assert paced_size(250, 0.0, timeout=180, workers=4) == 250


def test_a_step_times_a_small_first_batch_and_sizes_the_rest() -> None:
    from moodle_regress.seeding.apply import PROBE_ITEMS, ApplyOptions, _Applier, _NoProgress

    client = MoodleClient(PLACEHOLDER_URL, "unused-token", timeout=1.0)
    applier = _Applier(client, data(), ApplyOptions(workers=1), _NoProgress(), None)
    calls: list[list[int]] = []

    def slow(batch: Sequence[int]) -> None:
        calls.append(list(batch))
        time.sleep(0.02 * len(batch))  # a site taking 20 ms an item, at least

    applier.batched([list(range(60)), list(range(100, 110))], 250, slow)
    assert calls[0] == list(range(PROBE_ITEMS))
    # 1 s timeout, one worker: about 0.25 s a call, so at most 12 items of 20 ms.
    assert all(0 < len(c) <= 12 for c in calls[1:])
    # Every item once, groups never mixed, each group's order kept.
    seen = [item for call in calls for item in call]
    assert sorted(seen) == [*range(60), *range(100, 110)]
    assert all(max(c) < 60 or min(c) >= 100 for c in calls)
    assert all(c == sorted(c) for c in calls)


def test_a_write_the_database_rolled_back_for_a_deadlock_is_sent_again() -> None:
    # Moodle 4.5 on MariaDB says "Deadlock found when trying to get lock" (PostgreSQL:
    # "deadlock detected"): only PostgreSQL's was sent again, so a rehearsal's seed on
    # MariaDB failed on the first deadlock between two of its concurrent calls.
    from moodle_regress.seeding.apply import ApplyOptions, _Applier, _NoProgress

    deadlocked = answering("4.5", "seeding-deadlock-mariadb", "deadlock_update_cohorts")
    applier = _Applier(deadlocked, data(), ApplyOptions(workers=1), _NoProgress(), None)
    attempts: list[int] = []

    def update() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            deadlocked.call("core_cohort_update_cohorts", cohorts=[])
        return "updated"

    assert applier.write("cohorts", update) == "updated"
    assert len(attempts) == 2
    assert applier.summary.calls == 2


def test_a_write_failing_otherwise_is_not_sent_again() -> None:
    from moodle_regress.seeding.apply import ApplyOptions, _Applier, _NoProgress

    failing = answering("4.5", "errors", "error_function_unknown")
    applier = _Applier(failing, data(), ApplyOptions(workers=1), _NoProgress(), None)
    attempts: list[int] = []

    def update() -> None:
        attempts.append(1)
        failing.call("local_mwsrec_no_such_function")

    with pytest.raises(MoodleAPIError):
        applier.write("cohorts", update)
    assert len(attempts) == 1
