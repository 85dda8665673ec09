"""Ports, processes and commands the sandbox's parts (servers, archives, copies) share."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

from moodle_regress.sandbox.errors import PortInUseError, SandboxError


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


#: Where a sandbox's ports are taken from when the kernel's range of ephemeral ports
#: cannot be read: below Linux's default (32768-60999).
FALLBACK_PORTS = (20000, 32767)


def sandbox_port_range() -> tuple[int, int]:
    """Ports a sandbox may keep: outside the kernel's ephemeral range, so that no
    outgoing connection of another program can hold a stopped sandbox's port when it
    starts again (a port the kernel hands out with ``bind(0)`` is in that range)."""
    try:
        low, _high = (int(v) for v in Path(EPHEMERAL_RANGE).read_text().split())
    except (OSError, ValueError):
        return FALLBACK_PORTS
    if low > 11000:
        return (10000, low - 1)
    return FALLBACK_PORTS


EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"


def free_port(host: str = "127.0.0.1", avoid: set[int] | None = None) -> int:
    """A port nobody listens on now, outside the ephemeral range (see
    :func:`sandbox_port_range`)."""
    low, high = sandbox_port_range()
    for _ in range(200):
        port = secrets.randbelow(high - low + 1) + low
        if (not avoid or port not in avoid) and port_is_free(port, host):
            return port
    raise PortInUseError(
        f"no free port found between {low} and {high}", "stop sandboxes you no longer need"
    )


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


def run_command(command: Sequence[str], *, error: type[SandboxError], what: str, fix: str) -> None:
    """Run ``command`` (tar, cp...); when it fails, raise ``error`` saying
    "``what`` failed" with the end of the command's own message, and ``fix``."""
    result = subprocess.run(list(command), check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise error(f"{what} failed: {result.stderr.strip()[-300:]}", fix)
