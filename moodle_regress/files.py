"""Writing files so that nothing is ever half-written."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from moodle_regress.errors import MoodleRegressError


class UnwritableError(MoodleRegressError):
    """A file cannot be written where it was asked for."""


def check_writable(path: Path) -> None:
    """Raise :class:`UnwritableError` unless a file can be written at ``path``.

    Tried for real (a temporary file in the nearest existing folder), before any
    output is written, so that a run never leaves one report written and the next
    missing.  Nothing is left behind.
    """
    path = Path(path)
    if path.is_dir():
        raise UnwritableError(f"cannot write {path}: it is a folder", "give a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".moodle-regress-check.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UnwritableError(
            f"cannot write {path}: {reason}", "choose a place you can write to"
        ) from None


@contextmanager
def open_atomic(path: Path, *, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A file to write ``path`` through: a temporary file beside it, renamed onto
    ``path`` when the block ends without an error and removed when it raises (so a
    reader sees the old file or the whole new one, never a part)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with open_atomic(path, mode=mode) as handle:
        handle.write(data.encode() if isinstance(data, str) else data)


def write_json_atomic(path: Path, value: Any, *, mode: int = 0o644) -> None:
    """Write ``value`` as indented JSON, atomically."""
    write_atomic(path, json.dumps(value, indent=2, sort_keys=False) + "\n", mode=mode)
