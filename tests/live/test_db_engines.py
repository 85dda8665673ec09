"""Each database engine's private server and operations, for real (no Moodle needed):
init, start, create, query, dump and restore (from a file, a stream and a compressed
file), drop, stop.  Parametrized by engine, so a failure names it; an engine whose
server or client tools are missing skips, saying which.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_regress.sandbox.db import ENGINE_NAMES, DatabaseConfig, Engine, engine_named, open_dump
from moodle_regress.sandbox.errors import DatabaseError
from moodle_regress.sandbox.processes import free_port

pytestmark = pytest.mark.live

TABLE = (
    "CREATE TABLE mdl_probe (id INTEGER PRIMARY KEY, name VARCHAR(100), note VARCHAR(100));"
    "INSERT INTO mdl_probe VALUES (1, 'Zoë', NULL), (2, '', 'tab\there'), (3, 'two\nlines', 'x')"
)


@pytest.fixture(scope="module", params=ENGINE_NAMES)
def running(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, DatabaseConfig]]:
    engine = engine_named(str(request.param))
    lacking = engine.requirements(None).missing
    if lacking:
        pytest.skip(f"{engine.label} is not installed: " + "; ".join(m.what for m in lacking))
    # Not pytest's tmp_path: it is pruned under running servers by concurrent runs.
    home = Path(tempfile.mkdtemp(prefix=f"moodle-regress-db-{engine.name}-"))
    db = DatabaseConfig(engine=engine.name, port=free_port(), password="Pw'with\"quotes-1")
    server = engine.private_server(home / engine.data_dir_name)
    server.init(db)
    try:
        server.start(db)
        assert server.is_running()
        engine.create_database(db)
        yield engine, db
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    assert not server.is_running()


def test_queries_return_rows_with_nulls_and_any_text(
    running: tuple[Engine, DatabaseConfig],
) -> None:
    engine, db = running
    assert engine.database_is_empty(db)
    engine.query(db, TABLE)
    assert not engine.database_is_empty(db)
    assert engine.query(db, "SELECT id, name, note FROM mdl_probe ORDER BY id") == [
        ("1", "Zoë", None),
        ("2", "", "tab\there"),
        ("3", "two\nlines", "x"),
    ]
    assert engine.query(db, "SELECT id FROM mdl_probe WHERE id > 5") == []
    assert engine.server_version(db)[0].isalpha()
    # Another prefix is not Moodle's: the database counts as empty for it.
    assert engine.database_is_empty(db.model_copy(update={"prefix": "mdx_"}))


def test_dump_and_restore_from_a_file_a_stream_and_a_compressed_file(
    running: tuple[Engine, DatabaseConfig], tmp_path: Path
) -> None:
    engine, db = running
    if engine.database_is_empty(db):
        engine.query(db, TABLE)
    dump = tmp_path / "dump"
    with dump.open("wb") as sink:
        engine.dump(db, sink)
    packed = tmp_path / "dump.gz"
    packed.write_bytes(gzip.compress(dump.read_bytes()))
    expected = engine.query(db, "SELECT id, name, note FROM mdl_probe ORDER BY id")
    for index, source in enumerate((dump, "stream", packed)):
        copy = db.renamed(f"copy{index}")
        engine.create_database(copy)
        if source == "stream":
            with dump.open("rb") as stream:
                engine.restore(copy, stream)
        else:
            assert isinstance(source, Path)
            with open_dump(source) as stream:
                engine.restore(copy, stream)
        assert engine.query(copy, "SELECT id, name, note FROM mdl_probe ORDER BY id") == expected
        engine.drop_database(copy)
        engine.drop_database(copy)  # dropping what is gone is no error


def test_a_broken_dump_is_a_clear_error(
    running: tuple[Engine, DatabaseConfig], tmp_path: Path
) -> None:
    engine, db = running
    bad = tmp_path / "bad.sql"
    bad.write_bytes(b"this is not SQL;\n" * 100_000)  # larger than a pipe's buffer
    copy = db.renamed("broken")
    engine.create_database(copy)
    try:
        with pytest.raises(DatabaseError, match=f"restoring the {engine.label} dump failed"):
            engine.restore(copy, bad)
        with bad.open("rb") as stream, pytest.raises(DatabaseError, match="syntax"):
            engine.restore(copy, stream)
    finally:
        engine.drop_database(copy)
