"""Serving a sandbox with PHP's built-in web server and several workers.

Measured against php-fpm behind nginx, see README ("Sandbox"): for one tester's
traffic the built-in server with ``PHP_CLI_SERVER_WORKERS`` is as fast once
OPcache is on for it, and needs no root, no system service and no config files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from moodle_regress.phprun import php_command
from moodle_regress.sandbox.errors import ServerError
from moodle_regress.sandbox.processes import (
    free_port,
    pid_alive,
    port_is_free,
    read_pid,
    require_free,
)

__all__ = ["free_port", "pid_alive", "port_is_free", "read_pid", "require_free", "start", "stop"]

WORKERS = 4

#: The built-in server is PHP's CLI SAPI: OPcache must be switched on for it
#: explicitly, and errors must never reach a response body.
SERVER_INI: dict[str, str] = {
    "opcache.enable": "1",
    "opcache.enable_cli": "1",
    "opcache.memory_consumption": "256",
    "opcache.max_accelerated_files": "30000",
    "opcache.validate_timestamps": "1",
    "display_errors": "0",
    "log_errors": "1",
}


def start(
    *,
    webroot: Path,
    port: int,
    pidfile: Path,
    log: Path,
    error_log: Path,
    workers: int = WORKERS,
    timeout: float = 60.0,
) -> int:
    """Start ``php -S`` in its own session, wait until it answers; return its pid."""
    require_free(port, "web server")
    log.parent.mkdir(parents=True, exist_ok=True)
    ini = {**SERVER_INI, "error_log": str(error_log)}
    command = [*php_command(ini), "-S", f"127.0.0.1:{port}", "-t", str(webroot)]
    env = {**os.environ, "PHP_CLI_SERVER_WORKERS": str(workers)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=str(webroot),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pidfile.write_text(f"{process.pid}\n")
    url = f"http://127.0.0.1:{port}/login/index.php"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"PHP's web server exited at start (status {process.returncode})", f"see {log}"
            )
        try:
            response = requests.get(url, timeout=10, allow_redirects=False)
        except requests.RequestException:
            time.sleep(0.1)
            continue
        if response.status_code < 500:
            return process.pid
        stop(pidfile)
        raise ServerError(
            f"the site answers {url} with HTTP {response.status_code}", f"see {error_log}"
        )
    stop(pidfile)
    raise ServerError(f"the site did not answer {url} within {timeout:.0f} s", f"see {log}")


def stop(pidfile: Path, timeout: float = 10.0) -> bool:
    """Stop the server (its whole process group: the workers too)."""
    pid = read_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    # Always, and to the whole group: a worker idle in poll() defers SIGTERM (PHP's
    # signal handling) and would outlive its server, keeping the port.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    pidfile.unlink(missing_ok=True)
    return True
