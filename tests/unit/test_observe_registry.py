"""Observers by area: selection, the waves, and a new area plugged in by registering a
step (answers replayed from a real Moodle 4.5 site)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from moodle_regress.observation import make_key
from moodle_regress.observe import (
    Answers,
    ApiObserver,
    Call,
    Context,
    ObserveError,
    Observer,
    areas,
    register,
    registry,
)
from moodle_regress.observe.registry import Output
from moodle_regress.site import SiteDescriptor
from moodle_ws import MoodleClient
from moodle_ws.testing import PLACEHOLDER_URL, Recording, ReplayTransport
from tests.unit.test_observe_api import RECORDING, _accept


def _observer(**kwargs: Any) -> ApiObserver:
    recording = Recording.load(RECORDING)
    # Every call twice: an area of a test may ask what another area asks too.
    recording.calls = recording.calls * 2
    client = MoodleClient(
        PLACEHOLDER_URL, "replayed-token", transport=ReplayTransport(recording, ordered=False)
    )
    # Course content has recordings of its own (test_observe_content).
    return ApiObserver(client, entity_filter=_accept, content=False, **kwargs)


def _keys(**kwargs: Any) -> dict[str, Any]:
    return {o.key: o.value for o in _observer(**kwargs).observe().observations}


@pytest.fixture
def extra_area() -> Iterator[list[str]]:
    """A tiny area of the test's own: the number of sections of each observed course."""
    seen: list[str] = []

    def calls(ctx: Context) -> Sequence[Call]:
        return [
            Call("core_course_get_contents", {"courseid": c["id"]}, about=c) for c in ctx.courses
        ]

    def observe(_ctx: Context, answers: Answers, out: Output) -> None:
        for call, sections in answers:
            seen.append(str(call.about["shortname"]))
            out.add(make_key("sizes", call.about["shortname"], "sections"), len(sections or []))

    register(
        Observer(
            name="sizes",
            area="sizes",
            needs=("courses",),
            functions=("core_course_get_contents",),
            calls=calls,
            observe=observe,
        )
    )
    yield seen
    del registry._REGISTRY["sizes"]


def test_the_areas_are_registered() -> None:
    assert sorted(areas()) == [
        "api",
        "content",
        "contract",
        "courses",
        "enrolments",
        "groups",
        "plugins",
        "site",
        "themes",
        "users",
        "webservice",
    ]


def test_a_selection_keeps_only_its_areas_observations() -> None:
    keys = _keys(areas=["groups"])
    assert keys  # the groups step needed courses and users: they ran, silently
    assert {k.split("/")[0] for k in keys} == {"groups"}
    everything = _keys()
    assert {k: v for k, v in everything.items() if k.startswith("groups/")} == keys


def test_the_field_paths_area_runs_after_the_areas_chosen_with_it() -> None:
    keys = _keys(areas=["api", "courses"])
    assert {k.split("/")[0] for k in keys} == {"api", "courses"}
    assert "api/core_course_get_contents/fields" in keys
    assert "api/core_enrol_get_enrolled_users/fields" not in keys  # enrolments did not run


def test_an_unknown_area_is_refused_with_the_choices() -> None:
    with pytest.raises(ObserveError, match="no observed area named bogus") as caught:
        _observer(areas=["bogus"])
    assert caught.value.fix is not None and "courses" in caught.value.fix


def test_a_new_area_plugs_in_by_registering_a_step(extra_area: list[str]) -> None:
    keys = _keys()
    assert sorted(extra_area) == ["MR-C001", "MR-INDUCTION"]
    assert keys["sizes/MR-INDUCTION/sections"] == keys["courses/MR-INDUCTION/sections/count"]
    assert _keys(areas=["sizes"]).keys() == {
        "sizes/MR-C001/sections",
        "sizes/MR-INDUCTION/sections",
    }


def test_a_local_step_is_skipped_on_a_remote_site_with_a_note(tmp_path: Path) -> None:
    gathered: list[Path | None] = []

    def gather(ctx: Context) -> str:
        gathered.append(ctx.code_dir)
        return "from php"

    def observe(_ctx: Context, answers: Answers, out: Output) -> None:
        out.add(make_key("local", "@site", "answer"), answers.gathered)

    register(Observer(name="local", area="local", local=True, gather=gather, observe=observe))
    try:
        site = SiteDescriptor(name="remote", url=PLACEHOLDER_URL, token=SecretStr("x" * 32))
        remote = _observer(areas=["local"], site=site).observe()
        assert remote.observations == []
        assert any("local: needs a local site" in note for note in remote.meta.notes)
        local = _keys(areas=["local"], code_dir=tmp_path)
        assert local == {"local/@site/answer": "from php"} and gathered == [tmp_path]
    finally:
        del registry._REGISTRY["local"]
