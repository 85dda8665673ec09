"""Stopping a sandbox's web server stops all of it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from moodle_regress.sandbox import server
from moodle_regress.sandbox.processes import pid_alive

# A server whose worker does not end on SIGTERM, as a `php -S` worker idle in poll()
# (PHP defers the signal) did: the leader ends, the worker stays and keeps the port.
_SERVER = """
import os, signal, subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
print(worker.pid, flush=True)
time.sleep(120)
"""


def test_stop_ends_a_worker_that_outlives_sigterm(tmp_path: Path) -> None:
    leader = subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert leader.stdout is not None
    worker = int(leader.stdout.readline())
    time.sleep(0.3)  # the worker's SIGTERM handler in place
    pidfile = tmp_path / "server.pid"
    pidfile.write_text(f"{leader.pid}\n")

    assert server.stop(pidfile)

    deadline = time.monotonic() + 5
    while pid_alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    leader.wait(timeout=5)
    assert not pid_alive(worker)
    assert not pidfile.exists()


def test_stop_without_a_server_says_so(tmp_path: Path) -> None:
    assert not server.stop(tmp_path / "server.pid")
