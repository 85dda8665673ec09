"""Snapshot files streamed: written in bounded memory, read one observation at a time,
and two of them compared side by side."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from moodle_regress.compare import Comparison, compare, compare_files
from moodle_regress.observation import Observation
from moodle_regress.snapshot import (
    DuplicateObservationError,
    Snapshot,
    SnapshotError,
    SnapshotMeta,
    SnapshotReader,
    SnapshotWriter,
    UnsortedSnapshotError,
)


def _observations(n: int, *, changed: int = -1) -> list[Observation]:
    found = [
        Observation(f"users/mr-u{i:05d}/profile", {"firstname": f"F{i}", "n": i, "x": 0.5})
        for i in range(n)
    ]
    if 0 <= changed < n:
        found[changed] = Observation(found[changed].key, {"firstname": "changed"})
    return found


def _meta() -> SnapshotMeta:
    return SnapshotMeta(site_name="S", release="4.5.6", created_at="2026-01-01T00:00:00Z")


def test_a_writer_given_observations_in_any_order_writes_what_save_writes(
    tmp_path: Path,
) -> None:
    shot = tmp_path / "shots" / "page.png"
    shot.parent.mkdir()
    shot.write_bytes(b"png")
    given = [
        *_observations(250),
        Observation("browser/p/aria", "x", attachments={"screenshot": str(shot)}),
    ]
    random.Random(1).shuffle(given)
    streamed, saved = tmp_path / "streamed.json", tmp_path / "saved.json"
    with SnapshotWriter(streamed, _meta(), spill_at=40) as writer:
        for observation in given:
            writer.add(observation)
            writer.add(observation)  # the same fact twice is one observation
    Snapshot(_meta(), given).save(saved)
    assert writer.count == 251
    assert streamed.read_text() == saved.read_text()
    assert json.loads(streamed.read_text())["observations"][0]["attachments"] == {
        "screenshot": "shots/page.png"
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved.json", "shots", "streamed.json"]


def test_an_empty_snapshot_is_written_as_save_writes_it(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path / "a.json", _meta()):
        pass
    Snapshot(_meta()).save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()


def test_a_writer_holds_no_more_than_it_spills_at(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path / "a.json", _meta(), spill_at=100) as writer:
        for observation in _observations(1000):
            writer.add(observation)
            assert len(writer._held) < 100
        runs = list(Path(writer._folder.name).iterdir()) if writer._folder else []
    assert len(runs) == 10
    assert len(Snapshot.load(tmp_path / "a.json")) == 1000


def test_one_key_with_two_values_in_different_runs_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    twice = pytest.raises(DuplicateObservationError, match="observed twice")
    with twice, SnapshotWriter(target, _meta(), spill_at=10) as writer:
        writer.extend(_observations(30))
        writer.add(Observation("users/mr-u00003/profile", "another value"))
    assert list(tmp_path.iterdir()) == []


def test_an_error_while_writing_leaves_the_old_file_and_no_runs(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), SnapshotWriter(target, _meta(), spill_at=10) as writer:
        writer.extend(_observations(30))
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_reader_streams_what_load_reads(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    Snapshot(_meta(), _observations(120)).save(path)
    reader = SnapshotReader(path)
    assert reader.meta == Snapshot.load(path).meta
    assert list(reader) == list(Snapshot.load(path))


def test_a_reader_finds_the_metadata_after_the_observations(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    data = Snapshot(_meta(), _observations(3)).to_json()
    path.write_text(json.dumps({"observations": data["observations"], **data}))
    assert SnapshotReader(path).meta.site_name == "S"
    assert len(list(SnapshotReader(path))) == 3


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ("not json", SnapshotError, "is not JSON"),
        ("[]", SnapshotError, "no schema_version"),
        ('{"schema_version": "2.0", "meta": {}, "observations": []}', SnapshotError, "schema 2.0"),
        (
            '{"schema_version": "1.2", "meta": {}, "observations": '
            '[{"key": "a/b/d", "value": 1}, {"key": "a/b/c", "value": 1}]}',
            UnsortedSnapshotError,
            r"\[1\] 'a/b/c' comes after 'a/b/d'",
        ),
        (
            '{"schema_version": "1.2", "meta": {}, "observations": '
            '[{"key": "a/b/c", "value": 1}, {"key": "a/b/c", "value": 1}]}',
            SnapshotError,
            "appears twice",
        ),
        (
            '{"schema_version": "1.2", "meta": {}, "observations": [{"key": "a/b/c"}]}',
            SnapshotError,
            r"observations\.0\.value",
        ),
        (
            '{"schema_version": "1.2", "meta": {}, "observations": [{"key": "a/b/c", "val',
            SnapshotError,
            "is not JSON",
        ),
    ],
)
def test_a_reader_refuses_bad_files_clearly(
    tmp_path: Path, content: str, error: type[SnapshotError], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(error, match=message):
        list(SnapshotReader(path))


def _compare_both(
    tmp_path: Path, before: Snapshot, after: Snapshot
) -> tuple[Comparison, Comparison]:
    before.save(tmp_path / "before.json")
    after.save(tmp_path / "after.json")
    loaded = compare(
        Snapshot.load(tmp_path / "before.json"), Snapshot.load(tmp_path / "after.json")
    )
    streamed = compare_files(tmp_path / "before.json", tmp_path / "after.json")
    return loaded, streamed


def test_files_compared_streamed_give_the_differences_of_a_compare_in_memory(
    tmp_path: Path,
) -> None:
    old = [*_observations(500), Observation("contract/core_x/component", "core")]
    new = [*_observations(500, changed=17)[10:], Observation("courses/MR-NEW/format", "topics")]
    loaded, streamed = _compare_both(tmp_path, Snapshot(_meta(), old), Snapshot(_meta(), new))
    assert [d.to_json() for d in streamed] == [d.to_json() for d in loaded]
    assert streamed.unchanged == loaded.unchanged == 489
    kinds = {d.kind for d in streamed}
    assert kinds == {"added", "removed", "changed"}


def test_a_streamed_compare_holds_only_what_explanations_read(tmp_path: Path) -> None:
    old = [*_observations(50), Observation("contract/core_x/component", "core"),
           Observation("themes/@site/installed", ["boost"])]  # fmt: skip
    new = [*_observations(50, changed=3), *old[50:]]
    _, streamed = _compare_both(tmp_path, Snapshot(_meta(), old), Snapshot(_meta(), new))
    assert sorted(o.key for o in streamed.after) == [
        "contract/core_x/component",
        "themes/@site/installed",
        "users/mr-u00003/profile",
    ]
    assert streamed.before.path == tmp_path / "before.json"


def test_a_file_out_of_key_order_is_compared_whole(tmp_path: Path) -> None:
    Snapshot(_meta(), _observations(5)).save(tmp_path / "a.json")
    data = Snapshot(_meta(), _observations(5, changed=2)).to_json()
    data["observations"].reverse()
    (tmp_path / "b.json").write_text(json.dumps(data))
    comparison = compare_files(tmp_path / "a.json", tmp_path / "b.json")
    assert [d.key for d in comparison] == ["users/mr-u00002/profile"]
    assert comparison.unchanged == 4
