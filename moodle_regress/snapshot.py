"""Snapshots: every observation of one site at one time, in one JSON file.

The file (schema ``moodle_regress/schemas/snapshot-1.schema.json``)::

    {
      "schema_version": "1.1",
      "meta": {"site_name": ..., "site_url": ..., "release": ..., "version": ...,
               "theme": ..., "database": ..., "tool_version": ..., "plan": ..., "seed": ...,
               "run_tag": ..., "created_at": "2025-01-31T12:00:00Z", "notes": [...]},
      "observations": [{"key": "courses/MR-C001/format", "value": "topics",
                        "source": "api", "release": "4.5.6 (Build: ...)",
                        "attachments": {"screenshot": "shots/x.png"}}, ...]
    }

``schema_version`` is ``MAJOR.MINOR``: a minor bump only adds optional fields (an
older reader ignores them), a major bump changes meaning, and :meth:`Snapshot.load`
refuses majors it does not know.  Observations are sorted by key, so two
snapshots of the same site diff cleanly as text too.  The site's URL is kept in
the metadata (a reader wants to know which site it was) but never in observations,
and metadata is never compared.  Attachment paths are stored relative to the
snapshot file when they lie beside or below it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodle_regress import __version__
from moodle_regress.errors import MoodleRegressError
from moodle_regress.files import write_json_atomic
from moodle_regress.observation import Observation, ObservationError, Source, canonical

#: 1.1: meta.database (the site's database engine); 1.2: source "database".
SCHEMA_VERSION = "1.2"
SCHEMA_MAJOR = 1
SCHEMA_FILE = Path(__file__).parent / "schemas" / "snapshot-1.schema.json"


class SnapshotError(MoodleRegressError):
    """A snapshot file that cannot be read or written, with what to do about it."""


class DuplicateObservationError(SnapshotError):
    """Two observations with one key and different values."""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class SnapshotMeta(BaseModel):
    """What was observed, where and when; shown in reports, never compared."""

    model_config = ConfigDict(extra="allow")

    site_name: str = ""
    site_url: str = Field("", description="The site's root URL, without any user:password.")
    release: str = ""
    version: str = ""
    theme: str = ""
    database: str | None = Field(
        None, description="The site's database engine, where the tool knows it (sandboxes)."
    )
    tool_version: str = Field(default_factory=lambda: __version__)
    plan: str | None = None
    seed: int | None = None
    run_tag: str | None = None
    created_at: str = Field(default_factory=_now, description="ISO 8601, UTC.")
    notes: list[str] = Field(
        default_factory=list, description="What the observer could not observe, and why."
    )


class _ObservationModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str = Field(description="area/entity/aspect, components percent-escaped.")
    value: Any = Field(description="The normalised value: any JSON value.")
    source: Source = "api"
    release: str = ""
    attachments: dict[str, str] = Field(default_factory=dict)


class _SnapshotFile(BaseModel):
    model_config = ConfigDict(extra="allow", title="moodle-regress snapshot")

    schema_version: str = Field(pattern=r"^\d+\.\d+$")
    meta: SnapshotMeta
    observations: list[_ObservationModel]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the file format (the committed schema file is this)."""
    schema = _SnapshotFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://moodle-regress.invalid/schemas/snapshot-1.schema.json"
    return schema


def public_url(url: str) -> str:
    """A URL without any ``user:password@`` part, for the metadata."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class Snapshot:
    """Observations by key, plus metadata.  Keys are unique."""

    def __init__(
        self,
        meta: SnapshotMeta | None = None,
        observations: Iterable[Observation] = (),
        *,
        path: Path | None = None,
    ) -> None:
        self.meta = meta or SnapshotMeta()
        self.path = path
        self._by_key: dict[str, Observation] = {}
        self.extend(observations)

    # --- contents -------------------------------------------------------------------

    def add(self, observation: Observation) -> None:
        """Add one observation; the same key twice must carry the same value."""
        known = self._by_key.get(observation.key)
        if known is not None and canonical(known.value) != canonical(observation.value):
            raise DuplicateObservationError(
                f"{observation.key} observed twice with different values: "
                f"{canonical(known.value)[:200]} and {canonical(observation.value)[:200]}"
            )
        self._by_key[observation.key] = observation

    def extend(self, observations: Iterable[Observation]) -> None:
        for observation in observations:
            self.add(observation)

    @property
    def observations(self) -> Mapping[str, Observation]:
        return self._by_key

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Observation]:
        return iter(self._by_key.values())

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def get(self, key: str) -> Observation | None:
        return self._by_key.get(key)

    def attachment_path(self, observation: Observation, name: str) -> Path | None:
        """Where an attachment is on disk, resolved against the snapshot's folder."""
        ref = observation.attachments.get(name)
        if ref is None:
            return None
        path = Path(ref)
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return path

    @classmethod
    def combine(cls, snapshots: Iterable[Snapshot], meta: SnapshotMeta | None = None) -> Snapshot:
        """One snapshot of several: the first of a key wins; attachments stay found.

        The metadata is ``meta``, else the first snapshot's.
        """
        combined: Snapshot | None = None
        for snapshot in snapshots:
            if combined is None:
                combined = cls(meta or snapshot.meta)
            for observation in snapshot:
                if observation.key not in combined:
                    combined.add(snapshot.absolute(observation))
        return combined if combined is not None else cls(meta)

    def absolute(self, observation: Observation) -> Observation:
        """The observation with its attachments' paths made absolute (to move it into
        another snapshot)."""
        if not observation.attachments:
            return observation
        return Observation(
            key=observation.key,
            value=observation.value,
            source=observation.source,
            release=observation.release,
            attachments={
                name: str(self.attachment_path(observation, name) or ref)
                for name, ref in observation.attachments.items()
            },
        )

    # --- files ------------------------------------------------------------------------

    def to_json(self, *, relative_to: Path | None = None) -> dict[str, Any]:
        observations = []
        for key in sorted(self._by_key):
            obs = self._by_key[key]
            data = obs.to_json()
            if obs.attachments:
                data["attachments"] = {
                    name: _relative(self.attachment_path(obs, name) or Path(ref), relative_to)
                    for name, ref in obs.attachments.items()
                }
            observations.append(data)
        return {
            "schema_version": SCHEMA_VERSION,
            "meta": self.meta.model_dump(mode="json"),
            "observations": observations,
        }

    def save(self, path: Path) -> None:
        """Write the snapshot atomically (never a half-written file)."""
        path = Path(path)
        try:
            write_json_atomic(path, self.to_json(relative_to=path.resolve().parent))
        except OSError as exc:
            raise SnapshotError(f"cannot write the snapshot {path}: {exc.strerror}") from None
        self.path = path

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        """Read a snapshot file, refusing what this version cannot read faithfully."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SnapshotError(
                f"no snapshot at {path}; make one with `moodle-regress snapshot`"
            ) from None
        except OSError as exc:
            raise SnapshotError(f"cannot read the snapshot {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SnapshotError(f"{path} is not JSON ({exc}); is it a snapshot?") from None
        return cls.from_json(data, path=path)

    @classmethod
    def from_json(cls, data: Any, *, path: Path | None = None) -> Snapshot:
        where = str(path) if path is not None else "the snapshot"
        if not isinstance(data, dict) or "schema_version" not in data:
            raise SnapshotError(
                f"{where} is not a moodle-regress snapshot (no schema_version field)"
            )
        version = str(data["schema_version"])
        major = version.split(".", 1)[0]
        if not major.isdigit():
            raise SnapshotError(f"{where}: schema_version {version!r} is not MAJOR.MINOR")
        if int(major) != SCHEMA_MAJOR:
            newer = int(major) > SCHEMA_MAJOR
            raise SnapshotError(
                f"{where} uses snapshot schema {version}; this moodle-regress "
                f"({__version__}) reads schema {SCHEMA_MAJOR}.x only. "
                + (
                    "Upgrade moodle-regress to read it."
                    if newer
                    else "Take the snapshot again with this version."
                )
            )
        try:
            parsed = _SnapshotFile.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise SnapshotError(
                f"{where} is not a valid snapshot: {field}: {first['msg']} "
                f"({exc.error_count()} problem(s) in all)"
            ) from None
        _no_duplicated_keys(parsed.observations, where)
        snapshot = cls(parsed.meta, path=path)
        try:
            for item in parsed.observations:
                snapshot.add(
                    Observation(
                        key=item.key,
                        value=item.value,
                        source=item.source,
                        release=item.release,
                        attachments=item.attachments,
                    )
                )
        except ObservationError as exc:
            raise SnapshotError(f"{where}: {exc}") from None
        return snapshot


def _no_duplicated_keys(items: Sequence[_ObservationModel], where: str) -> None:
    # Observers may see one thing twice; a file holds each key once, so a second
    # one is a damaged or hand-edited file (which of the two would be compared?).
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.key in first:
            raise SnapshotError(
                f"{where}: observation {item.key!r} appears twice (observations "
                f"[{first[item.key]}] and [{index}]); a snapshot holds each key once",
                "take the snapshot again, or remove one of the two",
            )
        first[item.key] = index


def _relative(path: Path, base: Path | None) -> str:
    if base is None:
        return str(path)
    try:
        resolved = path.resolve()
        if resolved.is_relative_to(base):
            return os.path.relpath(resolved, base)
    except OSError:
        pass
    return str(path)
