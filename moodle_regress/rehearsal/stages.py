"""The stages of a run and their live display (a table that updates as they go)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from moodle_regress.timing import ANY, CLOCK, since

#: ``incomplete``: the stage ran to its end, but what it ran found faults of its own
#: (a suite check that failed or errored), said in its detail.
StageStatus = Literal["pending", "running", "done", "incomplete", "failed", "skipped"]

_COLOURS = {
    "done": "green",
    "incomplete": "yellow",
    "failed": "red",
    "running": "yellow",
    "skipped": "dim",
}


@dataclass
class Stage:
    name: str
    title: str
    status: StageStatus = "pending"
    seconds: float = 0.0
    detail: str = ""
    #: Set by the stage's work: it ends ``incomplete`` rather than ``done``.
    incomplete: bool = False
    #: Seconds of the stage spent on Moodle's work, the database's tools and the
    #: suites, and on anything of those (see :mod:`moodle_regress.timing`).
    shares: dict[str, float] = field(default_factory=dict)

    @property
    def own_seconds(self) -> float:
        """The tool's own time in the stage: all but Moodle's, the database's and the
        suites' work."""
        return max(0.0, self.seconds - self.shares.get(ANY, 0.0))


class StageBoard:
    """The live display of the stages with their times (and a plain log when quiet)."""

    def __init__(self, stages: Sequence[tuple[str, str]], console: Console, *, live: bool) -> None:
        self.stages = [Stage(name, title) for name, title in stages]
        self.console = console
        self._live: Live | None = None
        self._use_live = live

    def table(self) -> Table:
        table = Table(title="moodle-regress rehearsal", expand=False)
        table.add_column("stage")
        table.add_column("status")
        table.add_column("seconds", justify="right")
        table.add_column("detail", overflow="fold", max_width=70)
        for stage in self.stages:
            colour = _COLOURS.get(stage.status, "white")
            seconds = f"{stage.seconds:.1f}" if stage.status != "pending" else ""
            table.add_row(stage.title, f"[{colour}]{stage.status}[/]", seconds, stage.detail)
        return table

    def __enter__(self) -> StageBoard:
        if self._use_live:
            self._live = Live(Group(self.table()), console=self.console, refresh_per_second=2)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(Group(self.table()))
            self._live.__exit__(None, None, None)

    def get(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    @contextmanager
    def run(self, name: str) -> Iterator[Stage]:
        """Time the stage ``name``; it fails if the block raises."""
        stage = self.get(name)
        stage.status, stage.incomplete = "running", False
        self._refresh()
        started, busy = time.monotonic(), CLOCK.reading()
        try:
            yield stage
        except BaseException:
            stage.status = "failed"
            raise
        else:
            stage.status = "incomplete" if stage.incomplete else "done"
        finally:
            stage.seconds = time.monotonic() - started
            stage.shares = since(busy)
            self._refresh()
            if self._live is None:
                self.console.print(
                    f"{stage.title}: {stage.status} ({stage.seconds:.1f} s) {stage.detail}"
                )

    def skip(self, name: str, why: str) -> None:
        stage = self.get(name)
        stage.status, stage.detail = "skipped", why
        self._refresh()

    def skip_pending(self, why: str, *, keep: Sequence[str] = ()) -> None:
        """Every stage not yet run, but those in ``keep``, is skipped."""
        for stage in self.stages:
            if stage.status == "pending" and stage.name not in keep:
                stage.status, stage.detail = "skipped", why
        self._refresh()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(Group(self.table()))
