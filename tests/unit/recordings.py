"""Access to the responses recorded from real Moodle sites (fixtures/recordings)."""

from __future__ import annotations

from pathlib import Path

from moodle_ws import MoodleClient
from moodle_ws.testing import PLACEHOLDER_URL, Recording, ReplayTransport, replay_call

RECORDINGS = Path(__file__).resolve().parent.parent.parent / "fixtures" / "recordings"
RELEASES = ("4.5", "5.0", "5.1")
#: Stands for the token in offline tests (the recorded one was masked).
TOKEN = "feedfacefeedfacefeedfacefeedface"


def recording(release: str, name: str) -> Recording:
    return Recording.load(RECORDINGS / release / f"{name}.json")


def replay_client(release: str, name: str, **kwargs: object) -> MoodleClient:
    """A client replaying a whole recording, in order."""
    transport = ReplayTransport(recording(release, name))
    return MoodleClient(PLACEHOLDER_URL, TOKEN, transport=transport, **kwargs)  # type: ignore[arg-type]


def answering(release: str, name: str, label: str) -> MoodleClient:
    """A client whose every request gets the (first) answer recorded under ``label``."""
    call = recording(release, name).labelled(label)[0]
    return MoodleClient(PLACEHOLDER_URL, TOKEN, transport=replay_call(call), sleep=lambda _s: None)
