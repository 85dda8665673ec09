"""Showing long sandbox steps as they happen, and timing them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class Steps:
    """``with steps.step("Installing Moodle"):`` shows a spinner while the step runs,
    then one line with its duration; ``timings`` keeps every step's seconds."""

    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self.timings: dict[str, float] = {}
        self._recordings: list[dict[str, float]] = []

    @contextmanager
    def recording(self) -> Iterator[dict[str, float]]:
        """The timings of the steps run inside this block only (``timings`` keeps
        those of every step this object ever ran)."""
        found: dict[str, float] = {}
        self._recordings.append(found)
        try:
            yield found
        finally:
            self._recordings.remove(found)

    @contextmanager
    def step(self, title: str, key: str | None = None) -> Iterator[None]:
        started = time.monotonic()
        try:
            if self.quiet:
                yield
            else:
                with self.console.status(f"{title}…"):
                    yield
        except BaseException:
            if not self.quiet:
                self.console.print(f"[red]✗[/] {title}")
            raise
        finally:
            self.timings[key or title] = time.monotonic() - started
            for recording in self._recordings:
                recording[key or title] = self.timings[key or title]
        if not self.quiet:
            self.console.print(f"[green]✓[/] {title} [dim]({self.timings[key or title]:.1f} s)[/]")

    def note(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message)
