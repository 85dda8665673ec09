"""The typed layer replayed against CRUD recorded from real 4.5, 5.0 and 5.1 sites.

tests/record_fixtures.py ran ``scenario_typed`` against each site; replaying it here
makes the typed layer send the very same requests, in the same order, and parse
every recorded answer.  Any change to encoding, function choice or parameters
shows up as a replay mismatch.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import pytest

from moodle_ws import FunctionNotFoundError, MoodleClient, MoodleWarning
from moodle_ws.areas.courses import Section
from moodle_ws.testing import PLACEHOLDER_URL, ReplayError, ReplayTransport
from moodle_ws.transport import FormFields, RawResponse, UploadFiles
from tests.record_fixtures import PREFIX, scenario_typed
from tests.unit.recordings import RELEASES, TOKEN, recording, replay_client


def _no_label(_name: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


@pytest.mark.parametrize("release", RELEASES)
def test_typed_scenario_replays_request_for_request(release: str) -> None:
    client = replay_client(release, "typed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MoodleWarning)
        seen = scenario_typed(client, _no_label)
    transport = client._transport
    assert isinstance(transport, ReplayTransport)
    assert len(transport.requests) == len(transport.recording.calls)

    assert seen["info"].release.startswith(release)
    assert [c.name for c in seen["categories"]] == [f"{PREFIX} category"]
    (course,) = seen["courses"]
    assert course.shortname == f"{PREFIX}-c1"
    assert course.format == "topics"
    assert seen["courses_by_field"][0].id == course.id
    assert seen["search"].total == 1
    contents: list[Section] = seen["contents"]
    assert [s.section for s in contents] == [0, 1, 2]
    sections: list[Section] = seen["sections"]
    # The added section was renamed and moved to just after section 0.
    assert sections[1].name == f"{PREFIX} section"
    assert sections[1].visible is True
    assert {u.username for u in seen["users"]} == {f"{PREFIX}-u1", f"{PREFIX}-u2"}
    assert {u.lastname for u in seen["enrolled"]} == {"Updated", "User"}
    assert all(r.shortname == "student" for u in seen["enrolled"] for r in u.roles)
    assert seen["users_courses"][0].id == course.id
    assert sorted(seen["group_members"][0].userids) == sorted(u.id for u in seen["users"])
    assert [c.idnumber for c in seen["cohort_search"]] == [f"{PREFIX}-co1"]
    assert sorted(seen["cohort_members"][0].userids) == sorted(u.id for u in seen["users"])
    assert seen["uploaded"][0].filename == "notes.txt"
    assert seen["uploaded"][0].filearea == "draft"
    (warning,) = seen["delete_warnings"]
    assert warning.warningcode == "unknowncourseidnumber"
    assert warning.itemid == 999999


def test_replay_notices_a_changed_request() -> None:
    client = replay_client("4.5", "typed")
    client.site_info()
    with pytest.raises(ReplayError, match="core_course_create_categories"):
        client.categories.get({"id": 1})


class _FunctionLog:
    """Answers every request with one recorded body and notes what was asked."""

    def __init__(self, site_info: str, answer: str) -> None:
        self.site_info = site_info
        self.answer = answer
        self.calls: list[tuple[str, dict[str, str]]] = []

    def post(
        self, url: str, data: FormFields, *, timeout: float, files: UploadFiles | None = None
    ) -> RawResponse:
        fields = dict(data)
        function = fields.pop("wsfunction", url)
        self.calls.append((function, fields))
        body = self.site_info if function == "core_webservice_get_site_info" else self.answer
        return RawResponse(200, body)

    def close(self) -> None:
        return None


def _site_without(*functions: str) -> Any:
    # The recorded 4.5 site_info, with functions taken out of the service's list.
    info = recording("4.5", "typed").call("site_info").payload()
    info["functions"] = [f for f in info["functions"] if f["name"] not in functions]
    return info


def test_sections_fall_back_to_edit_section_when_update_course_is_missing() -> None:
    import json

    null_answer = recording("4.5", "typed").call("groups_delete").text  # a recorded "null"
    log = _FunctionLog(json.dumps(_site_without("core_courseformat_update_course")), null_answer)
    client = MoodleClient(PLACEHOLDER_URL, TOKEN, transport=log)
    client.sections.hide(7, [11, 12])
    client.sections.delete(7, [12])
    asked = [(f, p.get("action"), p.get("id")) for f, p in log.calls[1:]]
    assert asked == [
        ("core_course_edit_section", "hide", "11"),
        ("core_course_edit_section", "hide", "12"),
        ("core_course_edit_section", "delete", "12"),
    ]
    with pytest.raises(FunctionNotFoundError, match="core_courseformat_update_course"):
        client.sections.move(7, [11], after=10)


def test_sections_prefer_update_course_where_the_site_has_it() -> None:
    import json

    null_answer = recording("4.5", "typed").call("sections_hide").text
    log = _FunctionLog(json.dumps(_site_without()), null_answer)
    client = MoodleClient(PLACEHOLDER_URL, TOKEN, transport=log)
    client.sections.hide(7, [11, 12])
    function, params = log.calls[1]
    assert function == "core_courseformat_update_course"
    assert params["action"] == "section_hide"
    assert (params["ids[0]"], params["ids[1]"], params["courseid"]) == ("11", "12", "7")
