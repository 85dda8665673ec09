"""Many reads of one web-service function on a local site (a sandbox), in bulk.

Through HTTP every call boots Moodle: about 25 ms of the 35 ms of CPU a per-student
read costs on a 2-core machine, so a site of 100,000 enrolments spends hours in
Moodle's bootstrap.  On a sandbox the observer sends such reads to
``php/ws_batch.php`` instead: a thousand calls a run, each answered the REST server's
way (parameters validated, the function called as the token's user, its answer
cleaned by its return description), so the answers are the same as through HTTP,
errors included.  Runs go side by side, one per core.

Only functions the token's service offers are read this way: a function it lacks
answers as through HTTP (access denied), so a snapshot says the same of a sandbox
whichever way it was read.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from moodle_regress.phprun import run_php_script
from moodle_ws import AccessDeniedError, MoodleError
from moodle_ws.errors import error_from_payload

#: Calls per PHP run: enough to spread Moodle's boot (half a second) thin, few enough
#: that a run's memory (Moodle's caches grow with what it read) stays small.
CHUNK = 1000
#: Below this many calls the PHP runs' boots (half a second each) cost more than HTTP.
MIN_CALLS = 100
#: A run's time limit: a chunk of slow reads takes a minute on a busy machine.
RUN_TIMEOUT = 900.0

#: One call's outcome: its answer, or the error Moodle answered it with.
Outcome = Any


class LocalReads:
    """Bulk reads of the site whose ``config.php`` is in ``code_dir``, as the user of
    ``token``; ``offered``: the functions the token's service offers."""

    def __init__(
        self,
        code_dir: Path,
        token: str,
        offered: Callable[[], set[str]],
        *,
        log: Path | None = None,
        chunk: int = CHUNK,
        processes: int | None = None,
    ) -> None:
        self.code_dir = code_dir
        self._token = token
        self._offered = offered
        self.log = log
        self.chunk = max(1, chunk)
        self.processes = max(1, processes or os.cpu_count() or 1)
        # One pool of PHP runs per site, however many steps read at once.
        self._slots = threading.Semaphore(self.processes)
        self._lock = threading.Lock()
        #: Calls answered here, and PHP runs that answered them.
        self.calls = 0
        self.runs = 0

    def worth_it(self, function: str, count: int) -> bool:
        """Whether ``count`` calls of ``function`` go faster here than through HTTP."""
        return count >= MIN_CALLS and function in self._offered()

    def read(
        self,
        function: str,
        params: Sequence[Mapping[str, Any]],
        *,
        done: Callable[[int], None] | None = None,
    ) -> list[Outcome]:
        """The outcome of ``function(**p)`` for each ``p``, in order: the answer, or the
        :class:`MoodleError` Moodle answered with.  ``done(n)`` after each run of n."""
        if function not in self._offered():
            denied = AccessDeniedError(
                f"{function}: not offered by the token's service",
                errorcode="accessexception",
                function=function,
            )
            return [denied for _ in params]
        # As many runs as cores at least, so that one function's reads use them all.
        size = max(1, min(self.chunk, -(-len(params) // self.processes)))
        chunks = [params[i : i + size] for i in range(0, len(params), size)]

        def run(part: Sequence[Mapping[str, Any]]) -> list[Outcome]:
            with self._slots:
                answers = run_php_script(
                    self.code_dir,
                    "ws_batch.php",
                    {"function": function, "calls": list(part), "token": self._token},
                    log=self.log,
                    timeout=RUN_TIMEOUT,
                )
            with self._lock:
                self.calls += len(part)
                self.runs += 1
            if done is not None:
                done(len(part))
            return [_outcome(answer, function) for answer in answers]

        with ThreadPoolExecutor(max_workers=self.processes, thread_name_prefix="ws-batch") as pool:
            return [outcome for part in pool.map(run, chunks) for outcome in part]


def _outcome(answer: Mapping[str, Any], function: str) -> Outcome:
    if "exception" in answer:
        error: MoodleError = error_from_payload(answer["exception"], function=function)
        return error
    return answer.get("data")
