"""The write guard, replaying core_course_get_categories answers recorded from Moodle 4.5."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_regress.guard import MARKER_IDNUMBER, WriteRefusedError, ensure_writable
from moodle_ws import MoodleClient
from moodle_ws.testing import PLACEHOLDER_URL, Recording, ReplayTransport

RECORDING = Path(__file__).resolve().parents[2] / "fixtures/recordings/4.5/seeding-guard.json"


def client_for(label: str) -> tuple[MoodleClient, ReplayTransport]:
    # Replays only if the guard asks exactly what was recorded, once.
    recording = Recording.load(RECORDING)
    transport = ReplayTransport(recording.model_copy(update={"calls": recording.labelled(label)}))
    return MoodleClient(PLACEHOLDER_URL, "replayed-token", transport=transport), transport


def test_marked_site_may_be_written() -> None:
    client, _ = client_for("marked")
    ensure_writable(client, allow_writes=False)


def test_unmarked_site_is_refused_with_cause_and_fix() -> None:
    client, _ = client_for("unmarked")
    with pytest.raises(WriteRefusedError) as caught:
        ensure_writable(client, allow_writes=False)
    text = str(caught.value)
    assert PLACEHOLDER_URL in text
    assert MARKER_IDNUMBER in text  # the cause, and how to mark the site
    assert "--allow-writes" in text  # the other way out


def test_allow_writes_skips_the_check() -> None:
    client, transport = client_for("unmarked")
    ensure_writable(client, allow_writes=True)
    assert transport.requests == []


def test_the_answer_is_cached_per_client() -> None:
    client, transport = client_for("marked")
    ensure_writable(client, allow_writes=False)
    ensure_writable(client, allow_writes=False)
    assert len(transport.requests) == 1
