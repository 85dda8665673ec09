from __future__ import annotations

from pathlib import Path

import pytest

from moodle_regress.phprun import PhpFacts
from moodle_regress.sandbox import prereqs
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.db.base import Lookup
from moodle_regress.sandbox.db.mariadb import MariaDB
from moodle_regress.sandbox.db.postgres import Postgres, PostgresBinaries, find_postgres
from moodle_regress.sandbox.errors import PrerequisiteError
from tests.unit.sandbox_fakes import make_tree

FULL = frozenset({"iconv", "intl", "pgsql"})


def _all_tools(name: str) -> str:
    return f"/usr/bin/{name}"


def _report(
    tmp_path: Path, php: PhpFacts | None, pg: int = 15, which: Lookup = _all_tools
) -> prereqs.PrereqReport:
    tree = inspect_tree(make_tree(tmp_path / "m", php="8.1.0", pg="13"))
    return prereqs.check(
        tree,
        php=php,
        php_binary="no-such-php-binary",
        engine=Postgres(PostgresBinaries(Path("/usr/lib/postgresql/15/bin"), pg)),
        is_root=False,
        which=which,
    )


def test_everything_present_is_ok(tmp_path: Path) -> None:
    report = _report(tmp_path, PhpFacts(Path("/usr/bin/php"), "8.2.36", FULL))
    assert report.ok
    report.raise_if_missing()


def test_missing_extensions_name_the_debian_packages(tmp_path: Path) -> None:
    report = _report(tmp_path, PhpFacts(Path("/usr/bin/php"), "8.2.36", frozenset({"iconv"})))
    assert report.missing == ["PHP extensions intl, pgsql"]
    assert report.apt_command == "apt-get install -y php8.2-intl php8.2-pgsql"
    with pytest.raises(PrerequisiteError) as info:
        report.raise_if_missing()
    assert "intl, pgsql" in str(info.value)
    assert "--install-packages" in str(info.value)


def test_old_php_and_old_postgres_are_reported(tmp_path: Path) -> None:
    report = _report(tmp_path, PhpFacts(Path("/usr/bin/php"), "7.4.3", FULL), pg=12)
    assert any("PHP 8.1.0 or later" in m and "7.4.3" in m for m in report.missing)
    assert any("PostgreSQL 13 or later" in m for m in report.missing)


def test_no_php_at_all(tmp_path: Path) -> None:
    report = _report(tmp_path, None)
    assert report.missing[0] == "PHP (the php command)"
    assert {"php-cli", "php-intl", "php-pgsql", "php-common"} <= set(report.packages)


def test_missing_postgres_client_tools(tmp_path: Path) -> None:
    def which(name: str) -> str | None:
        return None if name.startswith("pg_") else f"/usr/bin/{name}"

    report = _report(tmp_path, PhpFacts(Path("/usr/bin/php"), "8.2.36", FULL), which=which)
    assert "PostgreSQL client pg_dump" in report.missing
    assert "postgresql-client" in report.packages


def test_find_postgres_picks_the_newest_complete_install(tmp_path: Path) -> None:
    for version, tools in (("13", ("initdb", "pg_ctl", "postgres")), ("16", ("initdb",)),
                           ("15", ("initdb", "pg_ctl", "postgres"))):  # fmt: skip
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        for tool in tools:
            (bindir / tool).write_text("")
    found = find_postgres(tmp_path)
    assert found == PostgresBinaries(tmp_path / "15" / "bin", 15)
    assert find_postgres(tmp_path / "none") is None


def test_extension_package_names() -> None:
    assert prereqs.extension_package("dom", "8.2") == "php8.2-xml"
    assert prereqs.extension_package("ctype", "8.2") == "php8.2-common"
    assert prereqs.extension_package("gd", None) == "php-gd"


def test_mariadb_needs_mysqli_its_clients_and_server(tmp_path: Path) -> None:
    tree = inspect_tree(make_tree(tmp_path / "m", php="8.1.0"))
    php = PhpFacts(Path("/usr/bin/php"), "8.2.36", FULL)
    report = prereqs.check(tree, engine=MariaDB(), php=php, is_root=False, which=lambda name: None)
    assert report.engine == "mariadb"
    assert report.missing == [
        "PHP extensions mysqli",
        "MariaDB client mariadb",
        "MariaDB client mariadb-dump",
        "MariaDB server (mariadbd)",
    ]
    assert report.apt_command == ("apt-get install -y mariadb-client mariadb-server php8.2-mysql")
    # An existing server (--db-url) needs the clients only.
    report = prereqs.check(
        tree, engine=MariaDB(), php=php, need_server=False, is_root=False, which=lambda n: None
    )
    assert "MariaDB server (mariadbd)" not in report.missing
