"""Serving a sandbox with PHP's built-in web server and several workers.

Measured against php-fpm behind nginx, see README ("Sandbox"): for one tester's
traffic the built-in server with ``PHP_CLI_SERVER_WORKERS`` is as fast once
OPcache is on for it, and needs no root, no system service and no config files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from moodle_regress.sandbox.errors import PortInUseError, ServerError
from moodle_regress.sandbox.moodle import php_args

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


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", avoid: set[int] | None = None) -> int:
    """A port nobody listens on now (the kernel picks it)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if not avoid or port not in avoid:
            return port
    raise PortInUseError("no free port found", "free some ports")


def require_free(port: int, what: str) -> None:
    if not port_is_free(port):
        raise PortInUseError(
            f"port {port} for the {what} is already in use by another process",
            "stop that process, or choose another port with --port",
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        if status == "Z":
            return False
    return True


def read_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


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
    command = [*php_args(ini), "-S", f"127.0.0.1:{port}", "-t", str(webroot)]
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
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    pidfile.unlink(missing_ok=True)
    return True
