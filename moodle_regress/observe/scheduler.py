"""Running observer steps in waves, every call of a wave concurrently.

A wave is every step whose needs have run.  Its calls (and local gathers) go to the
client's thread pool together; then each step of the wave, in registration order,
turns its answers into observations.  A function the site or the token's service
lacks answers None, once noted, rather than failing the whole observation.

On a local site (``ctx.local_reads``), the many calls of one function in a wave, or
of a step's own :meth:`Scheduler.each`, go to PHP in bulk (:mod:`.local_reads`): the
same answers without Moodle's boot for each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from rich.progress import Progress, TaskID

from moodle_regress.observe.registry import (
    ALL,
    Answers,
    Call,
    Collector,
    Context,
    Discard,
    ObserveError,
    Observer,
    OnError,
    Output,
)
from moodle_ws import AccessDeniedError, FunctionNotFoundError, MoodleAPIError, MoodleError

T = TypeVar("T")

#: One unit of work of a wave: a step and one of its calls (None: its local gather).
Job = tuple[Observer, Call | None]


@dataclass
class Scheduler:
    """Runs steps against one site (see the module's docstring)."""

    ctx: Context
    concurrent: bool = True
    max_workers: int | None = None
    progress: Progress | None = None
    calls: int = 0

    def __post_init__(self) -> None:
        self._missing: set[str] = set()
        self._task: TaskID | None = None
        self._total = 0
        self.ctx.reader = _StepReader(self)

    def run(self, steps: Sequence[Observer], kept: set[str], out: Collector) -> None:
        """Run ``steps``; observations of the ``kept`` ones go to ``out``."""
        if self.progress is not None:
            self._task = self.progress.add_task("observing the site", total=0)
        done: set[str] = set()
        pending = [s for s in steps if not self._skipped_local(s)]
        names = {s.name for s in pending}
        while pending:
            wave = [s for s in pending if self._ready(s, done, names)]
            if not wave:
                raise ObserveError(
                    "observer steps wait on each other: " + ", ".join(s.name for s in pending)
                )
            self._run_wave(wave, kept, out)
            done |= {s.name for s in wave}
            pending = [s for s in pending if s.name not in done]

    def _ready(self, step: Observer, done: set[str], names: set[str]) -> bool:
        if ALL in step.needs:
            return names - done <= {step.name}
        # A need that was skipped (a local step on a remote site) is no longer waited on.
        return all(n in done or n not in names for n in step.needs)

    def _skipped_local(self, step: Observer) -> bool:
        if step.local and self.ctx.code_dir is None:
            # Said for a site known to be elsewhere; a bare client tells nothing of where.
            if self.ctx.site is not None:
                note = step.remote_note or f"{step.name}: needs a local site (a sandbox); skipped"
                self.ctx.notes.append(note)
            return True
        return False

    def _run_wave(self, wave: Sequence[Observer], kept: set[str], out: Collector) -> None:
        jobs: list[Job] = []
        for step in wave:
            jobs += [(step, call) for call in step.calls(self.ctx)]
            if step.gather is not None:
                jobs.append((step, None))
        results = self._results(jobs)
        answers = {step.name: Answers() for step in wave}
        for (step, call), result in zip(jobs, results, strict=True):
            if call is None:
                answers[step.name].gathered = result
                continue
            answers[step.name].pairs.append((call, result))
            if call.shape:
                self.ctx.record_shape(call.function, result)
        for step in wave:
            sink: Output = out if step.name in kept else Discard()
            step.observe(self.ctx, answers[step.name], sink)

    def _results(self, jobs: Sequence[Job]) -> list[Any]:
        """Every job's result in order: the many calls of one function in bulk where the
        site is local, the rest (and the gathers) on the pool."""
        by_function: dict[str, list[int]] = {}
        for index, (_step, call) in enumerate(jobs):
            if call is not None:
                by_function.setdefault(call.function, []).append(index)
        local = self.ctx.local_reads
        bulk = {
            function: indexes
            for function, indexes in by_function.items()
            if local is not None and local.worth_it(function, len(indexes))
        }
        taken = {i for indexes in bulk.values() for i in indexes}
        rest = [i for i in range(len(jobs)) if i not in taken]
        results: list[Any] = [None] * len(jobs)
        for i, result in zip(rest, self.map(self._do, [jobs[i] for i in rest]), strict=True):
            results[i] = result
        for function, indexes in bulk.items():
            params = [dict(call.params) for _s, call in (jobs[i] for i in indexes) if call]
            for i, result in zip(indexes, self.each(function, params), strict=True):
                results[i] = result
        return results

    def each(
        self,
        function: str,
        params: Sequence[Mapping[str, Any]],
        *,
        on_error: OnError | None = None,
    ) -> list[Any]:
        """``function(**p)`` for each ``p``, answers in order: in bulk on a local site,
        concurrently on the pool otherwise.  None where the site or the service lacks
        the function; an error Moodle answers a call with goes to ``on_error`` (its
        value used instead), or is raised."""
        local = self.ctx.local_reads
        if local is None or not local.worth_it(function, len(params)):

            def one(p: Mapping[str, Any]) -> Any:
                try:
                    return self.call(function, **p)
                except MoodleAPIError as exc:
                    if on_error is None:
                        raise
                    return on_error(exc)

            return self.map(one, params)
        self._add_to_total(len(params))
        outcomes = local.read(function, params, done=self._advance)
        with self.ctx.lock:
            self.calls += len(params)
        return [self._settled(function, outcome, on_error) for outcome in outcomes]

    def _settled(self, function: str, outcome: Any, on_error: OnError | None) -> Any:
        if not isinstance(outcome, MoodleError):
            return outcome
        if isinstance(outcome, FunctionNotFoundError | AccessDeniedError):
            self._note_missing(function, outcome)
            return None
        if on_error is None or not isinstance(outcome, MoodleAPIError):
            raise outcome
        return on_error(outcome)

    def _add_to_total(self, count: int) -> None:
        if self.progress is not None and self._task is not None:
            with self.ctx.lock:
                self._total += count
                self.progress.update(self._task, total=self._total)

    def _advance(self, count: int) -> None:
        if self.progress is not None and self._task is not None:
            with self.ctx.lock:
                self.progress.advance(self._task, count)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items``, concurrently on the client's pool unless serial."""
        self._add_to_total(len(items))
        if self.concurrent:
            return self.ctx.client.map_concurrently(fn, items, max_workers=self.max_workers)
        return [fn(item) for item in items]

    def _do(self, job: Job) -> Any:
        step, call = job
        try:
            if call is None:
                assert step.gather is not None
                return step.gather(self.ctx)
            return self.call(call.function, **call.params)
        finally:
            self._advance(1)

    def call(self, function: str, **params: Any) -> Any:
        """One read; None when the site or the service lacks the function."""
        if function in self._missing:
            return None
        try:
            return self.ctx.client.call(function, read=True, **params)
        except (FunctionNotFoundError, AccessDeniedError) as exc:
            self._note_missing(function, exc)
            return None
        finally:
            with self.ctx.lock:
                self.calls += 1

    def _note_missing(self, function: str, exc: MoodleError) -> None:
        with self.ctx.lock:
            if function not in self._missing:
                self._missing.add(function)
                self.ctx.notes.append(
                    f"{function} unavailable ({type(exc).__name__}): its facts are left out"
                )


class _StepReader:
    """What a step's own calls go through (see :class:`.registry.Reader`)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

    def call(self, function: str, /, **params: Any) -> Any:
        result = self._scheduler.call(function, **params)
        self._scheduler.ctx.record_shape(function, result)
        return result

    def map(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        return self._scheduler.map(fn, items)

    def each(
        self,
        function: str,
        params: Sequence[Mapping[str, Any]],
        *,
        on_error: OnError | None = None,
    ) -> list[Any]:
        results = self._scheduler.each(function, params, on_error=on_error)
        for result in results:
            self._scheduler.ctx.record_shape(function, result)
        return results
