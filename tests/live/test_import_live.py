"""``sandbox import`` of dumps and dataroots made by the standard tools (pg_dump -Fc
and tar; plain pg_dump, gzipped, and the dataroot folder) from a seeded 4.5 sandbox of
this test's own: each copy answers at its new address with the source's users and
courses, made safe (no email, no scheduled task, no external login, no old address
left), and the source is untouched.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_regress.config import load_settings
from moodle_regress.rehearsal.pipeline import seed_site
from moodle_regress.resources import packaged_plan
from moodle_regress.sandbox import moodle
from moodle_regress.sandbox.db import DatabaseConfig, engine_for, query
from moodle_regress.sandbox.live import moodle_code_tree, skip_reason
from moodle_regress.sandbox.manager import ImportResult, SandboxManager
from moodle_regress.site import SiteDescriptor

pytestmark = [pytest.mark.live, pytest.mark.slow]

SOURCE = "import-source"
#: The dump and dataroot each copy is made from: pg_dump -Fc and a tar.gz of the
#: dataroot; plain SQL, gzipped, and the dataroot folder itself.
FORMATS = {"import-custom": "custom", "import-plain": "plain"}
ANONYMISED = "import-anonymised"
MARIADB_SOURCE, MARIADB_COPY = "import-source-mariadb", "import-mariadb"


@pytest.fixture(scope="module")
def manager() -> Iterator[SandboxManager]:
    made = SandboxManager(load_settings(), quiet=True)
    names = (SOURCE, *FORMATS, ANONYMISED, MARIADB_SOURCE, MARIADB_COPY)
    for name in names:
        if made.sandbox(name).root.exists():
            made.sandbox(name).destroy()  # what a stopped earlier run left
    yield made
    for name in names:
        if made.sandbox(name).root.exists():
            made.sandbox(name).destroy()


@pytest.fixture(scope="module")
def tree() -> Path:
    found = moodle_code_tree("4.5")
    if found is None:
        pytest.skip(skip_reason("4.5"))
    return found


def seeded_source(manager: SandboxManager, tree: Path, name: str, engine: str) -> SiteDescriptor:
    """A 4.5 sandbox with the small plan, its address in a course summary and CAS among
    its login methods (as a production site might have both)."""
    site = manager.up(name, tree, engine=engine)
    seed_site(site, packaged_plan("small"), 0, allow_writes=False)
    db = manager.sandbox(name).state().db
    p, literal = db.prefix, engine_for(db).literal
    link = literal(f'<a href="{site.url}/course/view.php?id=1">home</a>')
    # MariaDB refuses a subquery on the table being updated: the id is read first.
    ((last,),) = query(db, f"SELECT max(id) FROM {p}course")
    query(db, f"UPDATE {p}course SET summary = {link} WHERE id = {last}")
    query(db, f"UPDATE {p}config SET value = 'email,cas' WHERE name = 'auth'")
    return site


@pytest.fixture(scope="module")
def source(manager: SandboxManager, tree: Path) -> SiteDescriptor:
    return seeded_source(manager, tree, SOURCE, "postgres")


@pytest.fixture(scope="module", params=list(FORMATS))
def imported(
    request: pytest.FixtureRequest,
    manager: SandboxManager,
    source: SiteDescriptor,
    tree: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ImportResult, float]:
    """The source dumped with pg_dump, its dataroot tarred (or as it is), imported."""
    name = str(request.param)
    folder = tmp_path_factory.mktemp(name)
    box = manager.sandbox(SOURCE)
    db = box.state().db
    pg_dump = ["pg_dump", "-h", db.host, "-p", str(db.port), "-U", db.user, "-d", db.name]
    env = {**os.environ, "PGPASSWORD": db.password}
    if FORMATS[name] == "custom":
        dump, dataroot = folder / "site.dump", folder / "moodledata.tar.gz"
        subprocess.run([*pg_dump, "-Fc", "-f", str(dump)], env=env, check=True)
        subprocess.run(
            ["tar", "-C", str(box.root), "-czf", str(dataroot), "moodledata"], check=True
        )
    else:
        dump, dataroot = folder / "site.sql.gz", box.dataroot
        plain = subprocess.run(pg_dump, env=env, check=True, capture_output=True).stdout
        dump.write_bytes(gzip.compress(plain))
    stamps = {path: path.stat().st_mtime_ns for path in (dump, dataroot)}
    started = time.monotonic()
    result = manager.import_site(name, tree, dump, dataroot)
    seconds = time.monotonic() - started
    # The source files are only read.
    assert {path: path.stat().st_mtime_ns for path in (dump, dataroot)} == stamps
    print(f"import of the small-plan site ({FORMATS[name]} dump): {seconds:.1f} s")
    return result, seconds


# Its fixtures: an up, the small plan, two imports (the file: 37-47 s with the kept 4.5
# install, imports 8.2 s and 7.8 s; Moodle's installer adds about a minute).
@pytest.mark.takes(minutes=3)
def test_the_copy_answers_at_its_new_address_with_the_sources_users_and_courses(
    manager: SandboxManager, source: SiteDescriptor, imported: tuple[ImportResult, float]
) -> None:
    result, _ = imported
    copy = result.descriptor
    assert copy.url != source.url
    info = copy.client().site_info()
    assert info["siteurl"] == copy.url
    assert info["username"] == copy.admin_username
    source_db = manager.sandbox(SOURCE).state().db
    assert result.counts == moodle.count_site(source_db)
    assert result.counts.users > 10 and result.counts.courses > 1


def test_the_copy_is_made_safe(
    manager: SandboxManager, source: SiteDescriptor, imported: tuple[ImportResult, float]
) -> None:
    result, _ = imported
    assert_made_safe(manager.sandbox(result.descriptor.name).state().db, result, source.url)
    config_php = (manager.sandbox(result.descriptor.name).code_dir / "config.php").read_text()
    assert "$CFG->noemailever = true;" in config_php


def test_the_source_still_answers_unchanged(
    manager: SandboxManager, source: SiteDescriptor, imported: tuple[ImportResult, float]
) -> None:
    result, _ = imported
    info = source.client().site_info()
    assert info["siteurl"] == source.url
    state = manager.sandbox(SOURCE).state()
    assert moodle.count_site(state.db) == result.counts
    enabled = query(state.db, f"SELECT count(*) FROM {state.db.prefix}task_scheduled "
                              "WHERE disabled = 0")  # fmt: skip
    assert int(enabled[0][0] or 0) > 0


def people(db: DatabaseConfig) -> dict[str, tuple[str, str, str]]:
    """username -> (email, first name, last name) of every user but admins and guest."""
    p = db.prefix
    rows = query(
        db,
        f"SELECT username, email, firstname, lastname FROM {p}user WHERE username <> 'guest'"
        f" AND id::text NOT IN (SELECT unnest(string_to_array(value, ','))"
        f" FROM {p}config WHERE name = 'siteadmins')",
    )
    return {str(u): (str(e), str(f), str(last)) for u, e, f, last in rows}


def test_an_anonymised_copy_keeps_no_real_name_or_email(
    manager: SandboxManager, source: SiteDescriptor, tree: Path, tmp_path: Path
) -> None:
    box = manager.sandbox(SOURCE)
    db = box.state().db
    dump, dataroot = tmp_path / "site.dump", tmp_path / "moodledata.tar"
    env = {**os.environ, "PGPASSWORD": db.password}
    pg = ["-h", db.host, "-p", str(db.port), "-U", db.user, "-d", db.name]
    subprocess.run(["pg_dump", *pg, "-Fc", "-f", str(dump)], env=env, check=True)
    subprocess.run(["tar", "-C", str(box.root), "-cf", str(dataroot), "moodledata"], check=True)
    real = people(db)
    assert len(real) > 10

    result = manager.import_site(ANONYMISED, tree, dump, dataroot, anonymise=True)

    copy_db = manager.sandbox(ANONYMISED).state().db
    fakes = people(copy_db)
    assert result.anonymised == len(real) == len(fakes)
    assert result.counts == moodle.count_site(db)
    assert not set(real) & set(fakes)
    assert not {email for email, _, _ in real.values()} & {e for e, _, _ in fakes.values()}
    assert not {(f, last) for _, f, last in real.values()} & {
        (f, last) for _, f, last in fakes.values()
    }
    # Nowhere in the database: a data-only dump of the copy holds no real email.
    copy_env = {**os.environ, "PGPASSWORD": copy_db.password}
    copy_pg = ["-h", copy_db.host, "-p", str(copy_db.port), "-U", copy_db.user, "-d", copy_db.name]
    data = subprocess.run(
        ["pg_dump", *copy_pg, "--data-only"], env=copy_env, check=True, capture_output=True
    ).stdout.decode()
    assert [email for email, _, _ in real.values() if email and email in data] == []
    # The admins are the site's own, and log in.
    info = result.descriptor.client().site_info()
    assert info["username"] == source.admin_username == result.descriptor.admin_username


def assert_made_safe(db: DatabaseConfig, result: ImportResult, old_url: str) -> None:
    """No email, no external login, no task, no old address: in any engine's database."""
    p, engine = db.prefix, engine_for(db)
    wanted = "('noemailever', 'auth', 'mnet_dispatcher_mode')"
    rows = query(db, f"SELECT name, value FROM {p}config WHERE name IN {wanted}")
    settings = {str(name): value for name, value in rows}
    assert settings["noemailever"] == "1"
    assert "cas" not in (settings["auth"] or "").split(",")
    assert settings["mnet_dispatcher_mode"] == "off"
    assert result.sanitised.auth_off == ["cas"]
    assert query(db, f"SELECT count(*) FROM {p}task_scheduled WHERE disabled = 0") == [("0",)]
    assert query(db, f"SELECT count(*) FROM {p}task_adhoc") == [("0",)]
    assert old_url in result.sanitised.replaced
    old = re.escape(old_url) + "([^0-9]|$)"
    for table, column in (("config", "value"), ("config_plugins", "value"), ("course", "summary")):
        matches = engine.regex_match_sql(column, old)
        assert query(db, f"SELECT count(*) FROM {p}{table} WHERE {matches}") == [("0",)]
    moved = engine.literal(f"%{result.descriptor.url}/course/view.php%")
    assert query(db, f"SELECT count(*) FROM {p}course WHERE summary LIKE {moved}") == [("1",)]


# Its own MariaDB source: an up (the kept 4.5 MariaDB install), the small plan, a dump.
@pytest.mark.takes(minutes=3)
def test_a_mariadb_dump_is_imported_onto_mariadb_and_made_safe(
    manager: SandboxManager, tree: Path, tmp_path: Path
) -> None:
    source_site = seeded_source(manager, tree, MARIADB_SOURCE, "mariadb")
    box = manager.sandbox(MARIADB_SOURCE)
    db = box.state().db
    dump, dataroot = tmp_path / "site.sql.gz", tmp_path / "moodledata.tar.gz"
    # As an administrator makes one: --databases (the dump then names its database,
    # which the copy must not use), the standard consistent-snapshot options.
    made = subprocess.run(
        [
            "mariadb-dump", "--no-defaults", "--protocol=TCP", "-h", db.host, "-P", str(db.port),
            "-u", db.user, "--single-transaction", "--quick", "--databases", db.name,
        ],
        env={**os.environ, "MYSQL_PWD": db.password},
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    assert f"USE `{db.name}`;".encode() in made
    dump.write_bytes(gzip.compress(made))
    subprocess.run(["tar", "-C", str(box.root), "-czf", str(dataroot), "moodledata"], check=True)

    result = manager.import_site(MARIADB_COPY, tree, dump, dataroot)

    copy = manager.sandbox(MARIADB_COPY).state()
    assert copy.db.engine == "mariadb"
    assert copy.db.port != db.port  # its own server, not the source's
    info = result.descriptor.client().site_info()
    assert info["siteurl"] == result.descriptor.url != source_site.url
    assert result.counts == moodle.count_site(db)
    assert result.counts.users > 10 and result.counts.courses > 1
    assert_made_safe(copy.db, result, source_site.url)
    config_php = (manager.sandbox(MARIADB_COPY).code_dir / "config.php").read_text()
    assert "$CFG->noemailever = true;" in config_php and "'mariadb'" in config_php
    # The source still answers at its own address, its tasks still enabled.
    assert source_site.client().site_info()["siteurl"] == source_site.url
    enabled = query(db, f"SELECT count(*) FROM {db.prefix}task_scheduled WHERE disabled = 0")
    assert int(enabled[0][0] or 0) > 0
