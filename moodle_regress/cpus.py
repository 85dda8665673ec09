"""Which CPU a PHP run of ours works on.

A Moodle CLI run is a long conversation with its database server: one statement, one
answer, hundreds of thousands of times.  When the PHP process and its database backend
sit on different CPUs, every answer wakes a process on the other CPU; on the virtual
machine this tool is measured on, a read through Moodle's DML took about 140
microseconds so, against about 34 on one CPU (``benchmarks/bench_round_trips.py``).
So a PHP run is pinned to one CPU of this process's own set, the one with the fewest
of this process's runs on it, and a sandbox's ``config.php`` pins the run's database
backend to the same CPU (``render_config_php(pin_backend=True)``).  Runs side by side
get different CPUs, so they still use the whole machine.

Pinning is a hint for speed only: where it cannot be done (one CPU, no ``taskset``, a
database on another machine), everything works as before.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

#: Set to ``0`` to leave PHP runs wherever the kernel puts them (to compare).
PIN_ENV = "MOODLE_REGRESS_PIN_CPUS"


class CpuPool:
    """Hands out the CPU with the fewest claims among those this process may use."""

    def __init__(self, cpus: set[int] | None = None) -> None:
        self._cpus = sorted(cpus if cpus is not None else _allowed())
        self._claims: Counter[int] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def claim(self) -> Iterator[int | None]:
        """One CPU for the length of the block, or ``None`` where pinning gains
        nothing (a single CPU) or is turned off (``MOODLE_REGRESS_PIN_CPUS=0``)."""
        if len(self._cpus) < 2 or os.environ.get(PIN_ENV, "1") == "0":
            yield None
            return
        with self._lock:
            cpu = min(self._cpus, key=lambda c: (self._claims[c], c))
            self._claims[cpu] += 1
        try:
            yield cpu
        finally:
            with self._lock:
                self._claims[cpu] -= 1


def pin(pid: int, cpu: int | None) -> None:
    """Pin process ``pid`` to ``cpu`` (nothing when ``None`` or when it has ended)."""
    if cpu is None:
        return
    # A hint only: where it fails (the process ended, no permission) the run goes on.
    with contextlib.suppress(OSError):
        os.sched_setaffinity(pid, {cpu})


def _allowed() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return {0}


#: The pool every PHP run of this process draws from.
PHP_CPUS = CpuPool()
