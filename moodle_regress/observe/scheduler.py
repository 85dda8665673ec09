"""Running observer steps in waves, every call of a wave concurrently.

A wave is every step whose needs have run.  Its calls (and local gathers) go to the
client's thread pool together; then each step of the wave, in registration order,
turns its answers into observations.  A function the site or the token's service
lacks answers None, once noted, rather than failing the whole observation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    Output,
)
from moodle_ws import AccessDeniedError, FunctionNotFoundError

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
        results = self.map(self._do, jobs)
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

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items``, concurrently on the client's pool unless serial."""
        if self.progress is not None and self._task is not None:
            self._total += len(items)
            self.progress.update(self._task, total=self._total)
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
            with self.ctx.lock:
                if self.progress is not None and self._task is not None:
                    self.progress.advance(self._task)

    def call(self, function: str, **params: Any) -> Any:
        """One read; None when the site or the service lacks the function."""
        if function in self._missing:
            return None
        try:
            return self.ctx.client.call(function, read=True, **params)
        except (FunctionNotFoundError, AccessDeniedError) as exc:
            with self.ctx.lock:
                if function not in self._missing:
                    self._missing.add(function)
                    self.ctx.notes.append(
                        f"{function} unavailable ({type(exc).__name__}): its facts are left out"
                    )
            return None
        finally:
            with self.ctx.lock:
                self.calls += 1


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
