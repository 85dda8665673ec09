"""Fresh installs of a code tree, made once per tree and engine, and reused.

The schema check compares an upgraded site with a fresh install of the same code
on the same database engine.  What it needs of the fresh install is its schema
reading (``php/schema.php`` and Moodle's check), so that is what is kept: one JSON
file per tree and engine,

    <MOODLE_REGRESS_HOME>/fresh-installs/<engine>/<fingerprint>.json

where the engine is the sandboxes' (``postgres``, ``mariadb``; the reading records
the server's version, and a site on another major version refuses it) and the
fingerprint is a SHA-256 of the tree's ``version.php`` and ``db/install.xml`` files
(paths and contents): a tree whose versions and declared schema are unchanged reuses
the reading, any change makes a new one.  A fresh install is made by bringing up a
throw-away sandbox (``fresh-<fingerprint>``), reading it and destroying it; a
rehearsal also records its site A, itself a fresh install of code tree A taken
moments before, so that tree is never installed twice.  A file lock per entry
keeps two runs from installing the same tree at once.  Deleting the folder is safe.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection
from pathlib import Path

from filelock import FileLock

from moodle_regress.config import Settings
from moodle_regress.files import write_atomic
from moodle_regress.observe.schema import SchemaReading

FOLDER = "fresh-installs"
#: The layout of the saved readings; files of another are installed again.
FORMAT = 2
#: Folders that hold no version.php or install.xml Moodle installs from.
_SKIP_DIRS = frozenset(
    {".git", "node_modules", "vendor", "tests", "lang", "pix", "templates", "amd", "yui"}
)


def tree_fingerprint(code_dir: Path, skip: Collection[Path] = ()) -> str:
    """SHA-256 of every ``version.php`` and ``db/install.xml`` under ``code_dir``,
    but for the folders in ``skip`` (plugins a sandbox's copy leaves out): the
    tree without them is the code installed."""
    digest = hashlib.sha256()
    root = Path(code_dir)
    skipped = {os.path.relpath(Path(p).resolve(), root.resolve()) for p in skip}
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIP_DIRS and os.path.normpath(os.path.join(relative, d)) not in skipped
        )
        for name in sorted(files):
            if name == "version.php" or (name == "install.xml" and relative.endswith("db")):
                digest.update(f"{relative}/{name}".encode() + b"\0")
                digest.update((Path(folder) / name).read_bytes() + b"\0")
    return digest.hexdigest()


class FreshSchemas:
    """The saved schema readings of fresh installs (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.home / FOLDER

    def path(self, fingerprint: str, engine: str) -> Path:
        return self.root / engine / f"{fingerprint}.json"

    def load(self, fingerprint: str, engine: str) -> SchemaReading | None:
        path = self.path(fingerprint, engine)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # damaged: made again
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        return SchemaReading.from_json(data)

    def save(self, fingerprint: str, engine: str, reading: SchemaReading) -> Path:
        path = self.path(fingerprint, engine)
        write_atomic(path, json.dumps({"format": FORMAT, **reading.to_json()}))
        return path

    def remember(self, fingerprint: str, engine: str, reading: SchemaReading) -> bool:
        """Save ``reading`` unless one is saved already; True when it was saved."""
        with self._lock(fingerprint, engine):
            if self.load(fingerprint, engine) is not None:
                return False
            self.save(fingerprint, engine, reading)
            return True

    def get_or_make(
        self, fingerprint: str, engine: str, make: Callable[[], SchemaReading]
    ) -> tuple[SchemaReading, bool]:
        """The saved reading, or ``make()``'s, saved; and whether it was saved before."""
        with self._lock(fingerprint, engine):
            found = self.load(fingerprint, engine)
            if found is not None:
                return found, True
            reading = make()
            self.save(fingerprint, engine, reading)
            return reading, False

    def _lock(self, fingerprint: str, engine: str) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        # An install takes minutes on a busy machine; a second run waits for it.
        return FileLock(str(self.root / f".{engine}-{fingerprint[:16]}.lock"), timeout=1800)
