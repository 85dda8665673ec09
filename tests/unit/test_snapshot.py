"""Snapshot files: round trip, atomic write, schema, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodle_regress.observation import Observation
from moodle_regress.snapshot import (
    SCHEMA_FILE,
    DuplicateObservationError,
    Snapshot,
    SnapshotError,
    SnapshotMeta,
    json_schema,
    public_url,
)


def _snapshot() -> Snapshot:
    meta = SnapshotMeta(
        site_name="Sandbox", site_url="http://127.0.0.1:8045", release="4.5.6", plan="default"
    )
    return Snapshot(
        meta,
        [
            Observation("courses/MR-C001/format", "topics", release="4.5.6"),
            Observation("courses/MR-C001/sections/0/name", "General"),
            Observation("site/@site/theme", "boost"),
        ],
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    _snapshot().save(path)
    loaded = Snapshot.load(path)
    assert len(loaded) == 3
    assert loaded.get("courses/MR-C001/format") == Observation(
        "courses/MR-C001/format", "topics", release="4.5.6"
    )
    assert loaded.meta.site_name == "Sandbox"
    assert loaded.meta.plan == "default"
    assert loaded.meta.created_at.endswith("Z")


def test_file_is_sorted_by_key_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    _snapshot().save(path)
    data = json.loads(path.read_text())
    assert data["schema_version"] == "1.2"
    keys = [o["key"] for o in data["observations"]]
    assert keys == sorted(keys)


def test_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    _snapshot().save(tmp_path / "a.json")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_attachments_are_stored_relative_and_resolved_on_load(tmp_path: Path) -> None:
    shot = tmp_path / "shots" / "course.png"
    shot.parent.mkdir()
    shot.write_bytes(b"png")
    snap = Snapshot(
        observations=[
            Observation(
                "pages/MR-C001/course-page",
                {"h": 1},
                "browser",
                attachments={"screenshot": str(shot)},
            )
        ]
    )
    snap.save(tmp_path / "a.json")
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["observations"][0]["attachments"] == {"screenshot": "shots/course.png"}
    loaded = Snapshot.load(tmp_path / "a.json")
    obs = loaded.get("pages/MR-C001/course-page")
    assert obs is not None
    assert loaded.attachment_path(obs, "screenshot") == tmp_path / "shots" / "course.png"


def test_same_key_twice_must_agree() -> None:
    snap = _snapshot()
    snap.add(Observation("site/@site/theme", "boost"))
    with pytest.raises(DuplicateObservationError, match="site/@site/theme"):
        snap.add(Observation("site/@site/theme", "classic"))


def test_unknown_major_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    path.write_text(json.dumps({"schema_version": "2.0", "meta": {}, "observations": []}))
    with pytest.raises(SnapshotError, match=r"schema 2\.0.*reads schema 1\.x.*Upgrade"):
        Snapshot.load(path)


def test_newer_minor_version_is_read_and_extra_fields_kept(tmp_path: Path) -> None:
    path = tmp_path / "minor.json"
    path.write_text(
        json.dumps(
            {
                "schema_version": "1.7",
                "meta": {"release": "5.0", "new_field": 1},
                "observations": [{"key": "a/b/c", "value": 1, "confidence": 0.5}],
            }
        )
    )
    loaded = Snapshot.load(path)
    assert loaded.meta.release == "5.0"
    assert len(loaded) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ("[]", "no schema_version"),
        ('{"schema_version": "1.0", "meta": {}}', "observations"),
        (
            '{"schema_version": "1.0", "meta": {}, "observations": [{"key": "bad", "value": 1}]}',
            "area/entity/aspect",
        ),
        (
            '{"schema_version": "1.0", "meta": {}, "observations": [{"key": "a/b/c"}]}',
            r"observations\.0\.value",
        ),
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SnapshotError, match=message):
        Snapshot.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="moodle-regress snapshot"):
        Snapshot.load(tmp_path / "nope.json")


def test_committed_schema_matches_the_code() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()


def test_public_url_drops_credentials() -> None:
    assert (
        public_url("https://u:p@lms.example.org:8443/moodle")
        == "https://lms.example.org:8443/moodle"
    )
