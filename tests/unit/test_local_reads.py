"""Bulk reads on a local site: the calls split across PHP runs and answered in order,
errors typed as through HTTP; and the observer's every per-item read going through
them, observing what it observes through HTTP (the answers replayed from real 4.5,
5.0 and 5.1 sites)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from moodle_regress.observe import ApiObserver, local_reads
from moodle_regress.observe.local_reads import LocalReads
from moodle_ws import (
    AccessDeniedError,
    InvalidParameterError,
    MoodleClient,
    MoodleError,
)
from moodle_ws.testing import PLACEHOLDER_URL, Recording, ReplayTransport
from tests.unit.test_observe_content import RECORDINGS, RELEASES, _accept

FUNCTION = "core_completion_get_activities_completion_status"


class FakeRuns:
    """Stands for ``php/ws_batch.php``: echoes each call's parameters as its answer,
    or answers with a recorded error where asked, and notes each run's payload."""

    def __init__(self, error: Mapping[str, Any] | None = None) -> None:
        self.payloads: list[Mapping[str, Any]] = []
        self.error = error
        self.lock = threading.Lock()

    def __call__(self, code_dir: Path, script: str, payload: Mapping[str, Any], **_: Any) -> Any:
        assert script == "ws_batch.php"
        with self.lock:
            self.payloads.append(payload)
        return [
            {"exception": self.error} if self.error and p.get("fail") else {"data": {"echo": p}}
            for p in payload["calls"]
        ]


def reads(runs: FakeRuns, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> LocalReads:
    monkeypatch.setattr(local_reads, "run_php_script", runs)
    return LocalReads(Path("/site"), "the-token", lambda: {FUNCTION}, **kwargs)


def recorded_error(label: str) -> Mapping[str, Any]:
    recording = Recording.load(RECORDINGS / "4.5" / "errors.json")
    return dict(json.loads(recording.call(label).text))


def test_calls_are_split_across_runs_and_answered_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs = FakeRuns()
    bulk = reads(runs, monkeypatch, chunk=4, processes=2)
    params = [{"courseid": 2, "userid": n} for n in range(10)]
    done: list[int] = []
    answers = bulk.read(FUNCTION, params, done=done.append)
    assert answers == [{"echo": p} for p in params]
    assert sorted(len(p["calls"]) for p in runs.payloads) == [2, 4, 4]
    assert all(p["function"] == FUNCTION and p["token"] == "the-token" for p in runs.payloads)
    assert (bulk.calls, bulk.runs, sum(done)) == (10, 3, 10)


def test_a_few_calls_still_use_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = FakeRuns()
    reads(runs, monkeypatch, processes=2).read(FUNCTION, [{"userid": n} for n in range(6)])
    assert [len(p["calls"]) for p in runs.payloads] == [3, 3]


def test_an_error_answer_is_the_error_http_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    error = recorded_error("error_invalid_parameter")
    answers = reads(FakeRuns(error), monkeypatch).read(FUNCTION, [{"fail": 1}, {"userid": 3}])
    assert isinstance(answers[0], InvalidParameterError)
    assert answers[0].errorcode == "invalidparameter" and answers[0].function == FUNCTION
    assert answers[1] == {"echo": {"userid": 3}}


def test_a_function_the_service_does_not_offer_is_denied_without_running_php(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs = FakeRuns()
    bulk = reads(runs, monkeypatch)
    answers = bulk.read("core_user_get_users", [{}, {}])
    assert all(isinstance(a, AccessDeniedError) for a in answers)
    assert not runs.payloads
    assert not bulk.worth_it("core_user_get_users", 10_000)
    assert not bulk.worth_it(FUNCTION, local_reads.MIN_CALLS - 1)
    assert bulk.worth_it(FUNCTION, local_reads.MIN_CALLS)


class AnsweredOneByOne:
    """Bulk reads answered by the replayed client, call by call, errors as outcomes:
    the observer's bulk path fed the answers real sites gave through HTTP."""

    def __init__(self, client: MoodleClient, offered: Callable[[], set[str]]) -> None:
        self.client = client
        self.offered = offered
        self.functions: Counter[str] = Counter()

    def worth_it(self, function: str, count: int) -> bool:
        return count > 0 and function in self.offered()

    def read(
        self,
        function: str,
        params: Sequence[Mapping[str, Any]],
        *,
        done: Callable[[int], None] | None = None,
    ) -> list[Any]:
        outcomes: list[Any] = []
        for p in params:
            try:
                outcomes.append(self.client.call(function, read=True, **p))
            except MoodleError as exc:
                outcomes.append(exc)
        self.functions[function] += len(params)
        if done is not None:
            done(len(params))
        return outcomes


def observed(release: str, *, bulk: bool) -> tuple[dict[str, Any], Counter[str]]:
    folder = RECORDINGS / release
    banks = json.loads((folder / "question-banks.json").read_text())["answer"]
    client = MoodleClient(
        PLACEHOLDER_URL,
        "replayed-token",
        transport=ReplayTransport(folder / "observe-content.json", ordered=False),
    )
    observer = ApiObserver(client, entity_filter=_accept, question_banks=lambda _n: banks)
    used: Counter[str] = Counter()
    if bulk:
        # Everything offered but the per-course grade report, which stays on HTTP.
        fake = AnsweredOneByOne(
            client, lambda: observer.offered_functions() - {"gradereport_user_get_grade_items"}
        )
        observer.ctx.local_reads = fake  # type: ignore[assignment]
        used = fake.functions
    run = observer.observe()
    return {o.key: o.value for o in run.observations} | {"__notes__": run.meta.notes}, used


@pytest.mark.parametrize("release", RELEASES)
def test_bulk_reads_observe_what_http_observes(release: str) -> None:
    through_http, _ = observed(release, bulk=False)
    in_bulk, functions = observed(release, bulk=True)
    assert in_bulk == through_http
    # Per-student reads, per-activity reads and the base areas' per-course reads.
    for function in (
        FUNCTION,
        "core_completion_get_course_completion_status",
        "mod_quiz_get_user_attempts",
        "core_course_get_course_module",
        "core_enrol_get_enrolled_users",
    ):
        assert functions[function] > 0, function
    assert "gradereport_user_get_grade_items" not in functions
