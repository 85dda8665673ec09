"""RecordingTransport keeps what Moodle said and nothing secret; ReplayTransport serves it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodle_ws import MoodleClient
from moodle_ws.redaction import MASK
from moodle_ws.testing import (
    PLACEHOLDER_HOST,
    Recording,
    RecordingTransport,
    ReplayError,
    ReplayTransport,
)
from moodle_ws.transport import FormFields, RawResponse, UploadFiles
from tests.unit.recordings import TOKEN, recording

SITE = "http://127.0.0.1:8123"


class _Echo:
    """Answers with a recorded body in which the real host and token reappear."""

    def __init__(self, body: str) -> None:
        self.body = body

    def post(
        self, url: str, data: FormFields, *, timeout: float, files: UploadFiles | None = None
    ) -> RawResponse:
        return RawResponse(200, self.body, {"Content-type": "application/json"})

    def close(self) -> None:
        return None


def _recorded_body_as_if_live() -> str:
    # The recorded site_info with the placeholder host swapped back for a real one.
    text = recording("5.1", "typed").call("site_info").text
    return text.replace(PLACEHOLDER_HOST, "127.0.0.1:8123")


def test_recording_masks_the_token_and_replaces_the_host(tmp_path: Path) -> None:
    body = _recorded_body_as_if_live()
    recorder = RecordingTransport(_Echo(body), site_url=SITE, release="5.1")
    client = MoodleClient(SITE, TOKEN, transport=recorder)
    with recorder.label("info"):
        client.site_info()
    target = tmp_path / "r.json"
    recorder.recording.save(target)
    saved = target.read_text()
    assert TOKEN not in saved
    assert "127.0.0.1" not in saved
    (call,) = Recording.load(target).calls
    assert call.label == "info"
    assert ("wstoken", MASK) in call.params
    assert call.headers == {"Content-Type": "application/json"}
    assert call.payload()["siteurl"] == f"http://{PLACEHOLDER_HOST}"


def test_save_refuses_a_recording_that_still_holds_a_secret(tmp_path: Path) -> None:
    rec = recording("5.1", "typed").model_copy(deep=True)
    rec.calls[0].text = rec.calls[0].text.replace("{", '{"wstoken":"abcdef123456",', 1)
    with pytest.raises(ValueError, match="token or password"):
        rec.save(tmp_path / "leak.json")
    assert not (tmp_path / "leak.json").exists()


def test_nested_password_fields_are_masked_and_still_replay() -> None:
    rec = recording("4.5", "typed")
    created = rec.call("users_create")
    assert all(v == MASK for k, v in created.params if k.endswith("[password]"))
    assert "Rec-Passw0rd" not in json.dumps(rec.model_dump())


def test_unordered_replay_matches_by_function_and_params() -> None:
    rec = recording("4.5", "typed")
    transport = ReplayTransport(rec, ordered=False)
    client = MoodleClient("http://moodle.invalid", TOKEN, transport=transport)
    client.site_info()
    members = client.groups.get_members([rec.call("groups_get_members").payload()[0]["groupid"]])
    assert members[0].userids
    with pytest.raises(ReplayError, match="no unused recorded call"):
        client.groups.get_members([424242])
