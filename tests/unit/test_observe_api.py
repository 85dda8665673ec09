"""The web-service observer, replaying answers recorded from a real Moodle 4.5 site."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from moodle_regress.cli.snapshot import observe_with_progress
from moodle_regress.compare import compare
from moodle_regress.observe import OBSERVE_TIMEOUT, ApiObserver
from moodle_regress.observe.api import field_paths
from moodle_regress.rehearsal.pipeline import observe_site
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import SnapshotWriter
from moodle_ws import MoodleClient
from moodle_ws.testing import PLACEHOLDER_URL, ReplayTransport

RECORDING = Path(__file__).parents[2] / "fixtures" / "recordings" / "4.5" / "observe-api.json"
COURSES = {"MR-INDUCTION", "MR-C001"}
USERS = {"mr-editor", "mr-manager", "mr-student0001", "mr-student0002"}


def _accept(kind: str, record: Mapping[str, Any]) -> bool:
    if kind == "course":
        return record.get("shortname") in COURSES
    return record.get("username") in USERS


def _observe(*, concurrent: bool) -> ApiObserver:
    client = MoodleClient(
        PLACEHOLDER_URL, "replayed-token", transport=ReplayTransport(RECORDING, ordered=False)
    )
    # Content facts have recordings of their own (test_observe_content).
    return ApiObserver(client, entity_filter=_accept, concurrent=concurrent, content=False)


@pytest.fixture(scope="module")
def observed() -> dict[str, Any]:
    run = _observe(concurrent=True).observe()
    return {o.key: o.value for o in run.observations} | {"__meta__": run.meta}


def test_seeded_course_facts(observed: dict[str, Any]) -> None:
    assert observed["courses/MR-INDUCTION/format"] == "topics"
    assert observed["courses/MR-INDUCTION/category"] == "Seeded courses/Staff development"
    assert observed["courses/MR-INDUCTION/sections/1/name"] == "Welcome"
    assert observed["courses/MR-INDUCTION/sections/4/visible"] == 0
    options = observed["courses/MR-INDUCTION/format-options"]
    assert options["coursedisplay"] == 1 and options["hiddensections"] == 1
    assert observed["courses/MR-INDUCTION/sections/order"] == [0, 1, 2, 3, 4]


def test_enrolments_groups_users(observed: dict[str, Any]) -> None:
    assert observed["enrolments/MR-INDUCTION/users/mr-editor"] == ["editingteacher"]
    assert "self#1" in " ".join(k for k in observed if k.startswith("enrolments/MR-INDUCTION/"))
    # Moodle lists only methods with enrolment info for users (self, guest), not manual.
    assert observed["enrolments/MR-INDUCTION/methods/types"] == ["self"]
    group = observed["groups/MR-INDUCTION/Induction cohort A"]
    assert group["members"] == ["mr-editor"]
    assert "MR-INDUCTION" in observed["users/mr-editor/courses"]
    assert observed["users/mr-editor/profile"]["firstname"] == "Eddie"


def test_site_surface_themes_formats(observed: dict[str, Any]) -> None:
    assert str(observed["site/@site/release"]).startswith("4.5")
    assert observed["webservice/core_course_get_contents/version"] == observed["site/@site/version"]
    assert {"topics", "weeks", "singleactivity", "social"} <= set(
        observed["formats/@site/available"]
    )
    assert observed["themes/@site/site-theme"] == "boost"
    assert "[].sections" not in observed["api/core_course_get_contents/fields"]
    assert "[].modules" in observed["api/core_course_get_contents/fields"]


def test_values_are_normalised(observed: dict[str, Any]) -> None:
    text = repr({k: v for k, v in observed.items() if k != "__meta__"})
    assert "moodle.invalid" not in text  # hosts stripped
    for key, value in observed.items():
        if isinstance(value, dict):
            assert "timemodified" not in value and "id" not in value, key
    assert observed["__meta__"].release.startswith("4.5")


def test_concurrent_and_serial_observe_the_same() -> None:
    a = _observe(concurrent=True).observe().snapshot()
    b = _observe(concurrent=False).observe().snapshot()
    assert len(compare(a, b)) == 0 and len(a) > 100


def test_field_paths() -> None:
    assert field_paths([{"a": [{"b": 1}], "c": None}]) == {"[].a", "[].a[].b", "[].c"}


def test_observed_into_a_snapshot_file_as_made_the_file_is_what_save_writes(
    tmp_path: Path,
) -> None:
    # Replayed from 4.5.6: the streamed path holds nothing and writes the same file.
    held = _observe(concurrent=False).observe()
    held.snapshot().save(tmp_path / "held.json")
    with SnapshotWriter(tmp_path / "streamed.json", spill_at=50) as writer:
        streamed = _observe(concurrent=False).observe(writer)
        writer.meta.created_at = held.meta.created_at
    assert streamed.observations == [] and streamed.count == held.count > 100
    assert streamed.areas == held.areas and "courses" in streamed.areas
    assert (tmp_path / "streamed.json").read_text() == (tmp_path / "held.json").read_text()


class _Opened(Exception):
    """Raised by the spy in place of opening a client."""


@pytest.mark.parametrize("path", ["snapshot command", "rehearsal"])
def test_observing_waits_for_the_slow_site_wide_reads_of_a_large_site(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by benchmarks/bench_large.py: on a site of 20,000 users the read of every
    # user outlasted the client's 30 s, and the snapshot failed.
    opened: dict[str, Any] = {}

    def client(_self: SiteDescriptor, **options: Any) -> MoodleClient:
        opened.update(options)
        raise _Opened

    monkeypatch.setattr(SiteDescriptor, "client", client)
    site = SiteDescriptor(name="s", url="http://moodle.invalid", token=SecretStr("x" * 32))
    with pytest.raises(_Opened):
        if path == "rehearsal":
            observe_site(site, tmp_path / "s.json", plan=None, seed=0)
        else:
            observe_with_progress(site, entity_filter=_accept)
    assert opened["timeout"] == OBSERVE_TIMEOUT >= 180
