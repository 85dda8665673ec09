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

import heapq
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import ijson  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodle_regress import __version__
from moodle_regress.errors import MoodleRegressError
from moodle_regress.files import open_atomic
from moodle_regress.observation import Observation, ObservationError, Source, canonical

#: 1.1: meta.database (the site's database engine); 1.2: source "database".
SCHEMA_VERSION = "1.2"
SCHEMA_MAJOR = 1
SCHEMA_FILE = Path(__file__).parent / "schemas" / "snapshot-1.schema.json"


class SnapshotError(MoodleRegressError):
    """A snapshot file that cannot be read or written, with what to do about it."""


class DuplicateObservationError(SnapshotError):
    """Two observations with one key and different values."""


class UnsortedSnapshotError(SnapshotError):
    """A snapshot file whose observations are not in key order (edited by hand, or
    written by another tool): it can be loaded whole, not streamed."""


#: Observations a :class:`SnapshotWriter` holds before it sorts them into a run file.
SPILL_AT = 20_000


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

    def observation(self) -> Observation:
        return Observation(
            key=self.key,
            value=self.value,
            source=self.source,
            release=self.release,
            attachments=self.attachments,
        )


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
            raise _twice(observation.key, known.value, observation.value)
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
        with SnapshotWriter(path, self.meta) as writer:
            for key in sorted(self._by_key):
                writer.add(self.absolute(self._by_key[key]))
        self.path = path

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        """Read a snapshot file, refusing what this version cannot read faithfully."""
        path = Path(path)
        with _open_snapshot(path) as handle:
            text = handle.read().decode("utf-8")
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
        _check_schema_version(str(data["schema_version"]), where)
        try:
            parsed = _SnapshotFile.model_validate(data)
        except ValidationError as exc:
            raise _invalid(where, exc) from None
        _no_duplicated_keys(parsed.observations, where)
        snapshot = cls(parsed.meta, path=path)
        try:
            for item in parsed.observations:
                snapshot.add(item.observation())
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


def _check_schema_version(version: str, where: str) -> None:
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


def _invalid(where: str, exc: ValidationError, at: str = "") -> SnapshotError:
    first = exc.errors()[0]
    field = at + ".".join(str(p) for p in first["loc"])
    return SnapshotError(
        f"{where} is not a valid snapshot: {field}: {first['msg']} "
        f"({exc.error_count()} problem(s) in all)"
    )


def _open_snapshot(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise SnapshotError(
            f"no snapshot at {path}; make one with `moodle-regress snapshot`"
        ) from None
    except OSError as exc:
        raise SnapshotError(f"cannot read the snapshot {path}: {exc.strerror}") from None


# --- streaming ------------------------------------------------------------------------


class SnapshotReader:
    """A snapshot file read as a stream: its metadata, then its observations one at a
    time in key order, so that a file of any size is read in bounded memory.

    Iterating checks what :meth:`Snapshot.load` checks, item by item, and raises
    :class:`UnsortedSnapshotError` at the first key out of order (such a file can
    only be loaded whole).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.meta = self._read_meta()

    def _read_meta(self) -> SnapshotMeta:
        version: str | None = None
        meta: Any = None
        with _open_snapshot(self.path) as handle:
            try:
                events = ijson.parse(handle)
                for prefix, event, value in events:
                    if prefix == "" and event not in ("start_map", "map_key"):
                        break  # not an object, or its end: reported below
                    if prefix == "schema_version" and event in ("string", "number"):
                        version = str(value)
                    elif prefix == "meta" and event == "start_map":
                        meta = _build(events, "meta")
                    if version is not None and meta is not None:
                        break
            except ijson.JSONError as exc:
                raise SnapshotError(
                    f"{self.where} is not JSON ({exc}); is it a snapshot?"
                ) from None
        if version is None:
            raise SnapshotError(
                f"{self.where} is not a moodle-regress snapshot (no schema_version field)"
            )
        _check_schema_version(version, self.where)
        try:
            return SnapshotMeta.model_validate(meta)
        except ValidationError as exc:
            raise _invalid(self.where, exc, "meta.") from None

    def __iter__(self) -> Iterator[Observation]:
        previous: str | None = None
        with _open_snapshot(self.path) as handle:
            try:
                items = ijson.items(handle, "observations.item", use_float=True)
                for index, item in enumerate(items):
                    observation = self._observation(item, index)
                    if previous is not None and observation.key <= previous:
                        self._out_of_order(observation.key, previous, index)
                    previous = observation.key
                    yield observation
            except ijson.JSONError as exc:
                raise SnapshotError(
                    f"{self.where} is not JSON ({exc}); is it a snapshot?"
                ) from None

    def _not_json(self, exc: Exception) -> SnapshotError:
        return SnapshotError(f"{self.where} is not JSON ({exc}); is it a snapshot?")

    def _observation(self, item: Any, index: int) -> Observation:
        try:
            return _ObservationModel.model_validate(item).observation()
        except ValidationError as exc:
            raise _invalid(self.where, exc, f"observations.{index}.") from None
        except ObservationError as exc:
            raise SnapshotError(f"{self.where}: {exc}") from None

    def _out_of_order(self, key: str, previous: str, index: int) -> None:
        if key == previous:
            raise SnapshotError(
                f"{self.where}: observation {key!r} appears twice (observations "
                f"[{index - 1}] and [{index}]); a snapshot holds each key once",
                "take the snapshot again, or remove one of the two",
            )
        raise UnsortedSnapshotError(
            f"{self.where}: observation [{index}] {key!r} comes after {previous!r}; "
            "the file is not in key order",
            "save it again with moodle-regress (`Snapshot.load(path).save(path)`)",
        )


def _build(events: Iterator[tuple[str, str, Any]], prefix: str) -> Any:
    """The value whose ``start_map`` at ``prefix`` was just read, built from the rest."""
    builder = ijson.ObjectBuilder()
    builder.event("start_map", None)
    depth = 1
    for _prefix, event, value in events:
        builder.event(event, value)
        depth += event in ("start_map", "start_array")
        depth -= event in ("end_map", "end_array")
        if depth == 0:
            return builder.value
    raise SnapshotError(f"the snapshot ends inside its {prefix}")


class SnapshotWriter:
    """Writes a snapshot file from observations given in any order, in bounded memory.

    Up to ``spill_at`` observations are held; beyond that they are sorted into a
    temporary run file beside the target, and :meth:`close` merges the runs into the
    file (the same text as :meth:`Snapshot.save` would write).  A key given twice must
    carry one value (:class:`DuplicateObservationError`), the first is kept.  The file
    appears only when complete; an error, or leaving the ``with`` block by an
    exception, leaves no file and no run behind.  ``meta`` may be set until ``close``.
    Attachment paths should be absolute; they are written relative to the file when
    they lie beside or below it.
    """

    def __init__(self, path: Path, meta: SnapshotMeta | None = None, *, spill_at: int = SPILL_AT):
        self.path = Path(path)
        self.meta = meta or SnapshotMeta()
        self.spill_at = spill_at
        self.count = 0
        self._held: dict[str, Observation] = {}
        self._runs: list[Path] = []
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()

    def add(self, observation: Observation) -> None:
        known = self._held.get(observation.key)
        if known is None:
            self._held[observation.key] = observation
        elif canonical(known.value) != canonical(observation.value):
            raise _twice(observation.key, known.value, observation.value)
        if len(self._held) >= self.spill_at:
            self._spill()

    def extend(self, observations: Iterable[Observation]) -> None:
        for observation in observations:
            self.add(observation)

    def _spill(self) -> None:
        try:
            self._write_run()
        except OSError as exc:
            self.discard()
            raise SnapshotError(
                f"cannot write the snapshot {self.path}: {exc.strerror or exc}"
            ) from None

    def _write_run(self) -> None:
        if self._folder is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._folder = tempfile.TemporaryDirectory(
                dir=self.path.parent, prefix=f".{self.path.name}.runs."
            )
        run = Path(self._folder.name) / f"{len(self._runs)}.jsonl"
        with run.open("w", encoding="utf-8") as handle:
            for key in sorted(self._held):
                handle.write(json.dumps(self._held[key].to_json()) + "\n")
        self._runs.append(run)
        self._held = {}

    def _merged(self) -> Iterator[dict[str, Any]]:
        held = [self._held[key].to_json() for key in sorted(self._held)]
        streams = [_read_run(run) for run in self._runs] + [iter(held)]
        last: dict[str, Any] | None = None
        for item in heapq.merge(*streams, key=lambda data: str(data["key"])):
            if last is not None and item["key"] == last["key"]:
                if canonical(item["value"]) != canonical(last["value"]):
                    raise _twice(item["key"], last["value"], item["value"])
                continue
            last = item
            yield item

    def close(self) -> int:
        """Write the file; the number of observations in it."""
        base = self.path.resolve().parent
        try:
            with open_atomic(self.path) as handle:
                head = json.dumps(
                    {"schema_version": SCHEMA_VERSION, "meta": self.meta.model_dump(mode="json")},
                    indent=2,
                )
                # The layout of json.dumps(..., indent=2) of the whole, observation by
                # observation: a reader sees one format whichever way it was written.
                handle.write((head[: -len("\n}")] + ',\n  "observations": [').encode())
                self.count = 0
                for data in self._merged():
                    if data.get("attachments"):
                        data["attachments"] = {
                            name: _relative(Path(ref), base)
                            for name, ref in data["attachments"].items()
                        }
                    text = json.dumps(data, indent=2).replace("\n", "\n    ")
                    handle.write(((",\n    " if self.count else "\n    ") + text).encode())
                    self.count += 1
                handle.write(("\n  ]\n}\n" if self.count else "]\n}\n").encode())
        except OSError as exc:
            raise SnapshotError(
                f"cannot write the snapshot {self.path}: {exc.strerror or exc}"
            ) from None
        finally:
            self.discard()
        return self.count

    def discard(self) -> None:
        """Forget what was added and remove the run files (no file is written)."""
        self._held = {}
        self._runs = []
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


def _read_run(run: Path) -> Iterator[dict[str, Any]]:
    with run.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _twice(key: str, first: Any, second: Any) -> DuplicateObservationError:
    return DuplicateObservationError(
        f"{key} observed twice with different values: "
        f"{canonical(first)[:200]} and {canonical(second)[:200]}"
    )
