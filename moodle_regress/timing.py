"""Where a run's time goes: Moodle's own work, the database's tools, the suites, and the
rest, which is the tool's own overhead.

- ``moodle``: Moodle's PHP processes (installer, upgrader, CLI scripts: every
  :func:`moodle_regress.phprun.run_php`) and the time the site takes to answer web-service
  and page requests (every client made by :meth:`SiteDescriptor.client`);
- ``database``: the database's own tools (pg_dump, pg_restore, mariadb-dump, psql...);
- ``suites``: the suites' pytest processes (which themselves mostly wait on Moodle).

Each kind is a span of wall time during which at least one such thing was running,
so ten concurrent requests for one second count one second; ``any`` is the span in
which anything of any kind ran.  A stage's own overhead is its time minus ``any``.
One clock per process (:data:`CLOCK`): what runs in threads beside a stage (a fresh
install made in the background) counts where it runs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from moodle_ws.transport import FormFields, RawResponse, Transport, UploadFiles

Kind = Literal["moodle", "database", "suites"]
KINDS: tuple[Kind, ...] = ("moodle", "database", "suites")
ANY = "any"


class BusyClock:
    """Spans of wall time during which work of each kind was in progress."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._active: Counter[str] = Counter()
        self._since: dict[str, float] = {}
        self._totals: dict[str, float] = dict.fromkeys((*KINDS, ANY), 0.0)

    @contextmanager
    def busy(self, kind: Kind) -> Iterator[None]:
        """Count the block's time as ``kind`` (once, however many overlap)."""
        self._start(kind)
        try:
            yield
        finally:
            self._stop(kind)

    def reading(self) -> dict[str, float]:
        """Seconds of each kind and of ``any`` so far, spans still open included."""
        with self._lock:
            now = self._now()
            return {
                name: total + (now - self._since[name] if self._active[name] else 0.0)
                for name, total in self._totals.items()
            }

    def _start(self, kind: Kind) -> None:
        with self._lock:
            now = self._now()
            for name in (kind, ANY):
                if self._active[name] == 0:
                    self._since[name] = now
                self._active[name] += 1

    def _stop(self, kind: Kind) -> None:
        with self._lock:
            now = self._now()
            for name in (kind, ANY):
                self._active[name] -= 1
                if self._active[name] == 0:
                    self._totals[name] += now - self._since[name]


#: The process's clock.
CLOCK = BusyClock()


def since(before: dict[str, float], clock: BusyClock = CLOCK) -> dict[str, float]:
    """Seconds of each kind since ``before`` (an earlier :meth:`BusyClock.reading`)."""
    now = clock.reading()
    return {name: now[name] - before.get(name, 0.0) for name in now}


class TimedTransport:
    """A transport whose requests count as Moodle's time: the site's answer is its work."""

    def __init__(self, inner: Transport, clock: BusyClock = CLOCK) -> None:
        self._inner = inner
        self._clock = clock

    def post(
        self,
        url: str,
        data: FormFields,
        *,
        timeout: float,
        files: UploadFiles | None = None,
    ) -> RawResponse:
        with self._clock.busy("moodle"):
            return self._inner.post(url, data, timeout=timeout, files=files)

    def close(self) -> None:
        self._inner.close()
