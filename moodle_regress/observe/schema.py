"""The ``schema`` area: how a site's database differs from what its code declares.

Two inputs, both from Moodle itself:

* a reading of the database through Moodle's own layer (``php/schema.php``: tables,
  columns with type, length, scale, nullability, default, sequence and primary key,
  indexes with their columns and uniqueness), compared with the same reading of a
  fresh install of the same code on the same database engine
  (:func:`schema_drift`);
* the findings of Moodle's ``admin/cli/check_database_schema.php`` (the database
  against the ``install.xml`` files), less those a fresh install has too
  (:func:`declared_drift`).

A site's ``schema`` observations are its drift only: one observation per table,
column or index that differs, valued ``{"fresh install": ..., "this site": ...}``,
and one per table with check findings.  Keys name the component whose install.xml
declares the table, then the table: ``schema/local_mrdrift/local_mrdrift_items/
columns/note``, ``schema/core/user_preferences/indexes/userid,name``,
``schema/mod_chat/chat/table``, ``schema/core/course/check_database_schema``
(:data:`UNDECLARED` for a table no install.xml of the code declares).  A site that
matches its code has none, so comparing a site before and after an upgrade shows
exactly the drift the upgrade introduced, as ``added`` differences that
expected-changes rules can accept.

Indexes are matched by their columns, not by their names: Moodle derives index
names from the table and columns with a counter against clashes, so an index an
upgrade step adds may be named differently from the fresh install's and still be
the same index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from moodle_regress.observation import Observation, make_key

AREA = "schema"
#: The component of a table that no install.xml of the code declares.
UNDECLARED = "undeclared"
FRESH = "fresh install"
SITE = "this site"
ABSENT = "missing"


@dataclass(frozen=True)
class Column:
    """One column as Moodle's ``get_columns()`` describes it."""

    type: str
    meta_type: str
    max_length: int | None = None
    scale: int | None = None
    not_null: bool = False
    primary_key: bool = False
    auto_increment: bool = False
    has_default: bool = False
    default: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Column:
        return cls(
            type=str(data["type"]),
            meta_type=str(data["meta_type"]),
            max_length=_int_or_none(data.get("max_length")),
            scale=_int_or_none(data.get("scale")),
            not_null=bool(data.get("not_null")),
            primary_key=bool(data.get("primary_key")),
            auto_increment=bool(data.get("auto_increment")),
            has_default=bool(data.get("has_default")),
            default=None if data.get("default") is None else str(data["default"]),
        )

    def describe(self) -> str:
        """A compact SQL-like text: ``varchar(255) NOT NULL DEFAULT ''``."""
        size = ""
        if self.max_length is not None and self.max_length >= 0:
            size = f"({self.max_length}" + (f",{self.scale}" if self.scale else "") + ")"
        parts = [f"{self.type}{size}", "NOT NULL" if self.not_null else "NULL"]
        if self.has_default:
            parts.append("DEFAULT NULL" if self.default is None else f"DEFAULT '{self.default}'")
        if self.auto_increment:
            parts.append("SEQUENCE")
        if self.primary_key:
            parts.append("PRIMARY KEY")
        return " ".join(parts)


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool

    def describe(self) -> str:
        return "unique index" if self.unique else "index"


@dataclass(frozen=True)
class Table:
    name: str
    columns: Mapping[str, Column]
    indexes: tuple[Index, ...] = ()
    #: Rows when the reading counted them.
    rows: int | None = None

    def index_signatures(self) -> dict[str, str]:
        """Each index by its columns (``userid,name``) -> ``index`` / ``unique index``
        (several indexes on the same columns: their kinds, joined)."""
        found: dict[str, list[str]] = {}
        for index in self.indexes:
            found.setdefault(",".join(index.columns), []).append(index.describe())
        return {cols: " + ".join(sorted(kinds)) for cols, kinds in found.items()}


@dataclass(frozen=True)
class SchemaReading:
    """A database as ``php/schema.php`` read it, plus Moodle's own check's findings."""

    release: str
    version: str
    dbfamily: str
    dbvendor: str
    server_version: str
    tables: Mapping[str, Table]
    #: Table -> the component whose db/install.xml declares it, in the site's code.
    components: Mapping[str, str] = field(default_factory=dict)
    #: check_database_schema.php's findings by table (None: the check did not run).
    check: Mapping[str, tuple[str, ...]] | None = None
    #: Where it was read, for people (a sandbox name, "fresh install of ...").
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def engine(self) -> str:
        """The engine and its major version, e.g. ``postgres-15``, ``mariadb-10``."""
        major = re.match(r"\d+", self.server_version)
        return f"{self.dbvendor}-{major.group(0) if major else 'unknown'}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "") -> SchemaReading:
        tables = {
            str(name): Table(
                name=str(name),
                columns={
                    str(col): Column.from_json(spec) for col, spec in table["columns"].items()
                },
                indexes=tuple(
                    Index(str(i["name"]), tuple(str(c) for c in i["columns"]), bool(i["unique"]))
                    for i in table.get("indexes", [])
                ),
                rows=_int_or_none(table.get("rows")),
            )
            for name, table in data["tables"].items()
        }
        check = data.get("check")
        return cls(
            release=str(data.get("release", "")),
            version=str(data.get("version", "")),
            dbfamily=str(data.get("dbfamily", "")),
            dbvendor=str(data.get("dbvendor", "")),
            server_version=str(data.get("server_version", "")),
            tables=tables,
            components={str(t): str(c) for t, c in data.get("components", {}).items()},
            check=None
            if check is None
            else {str(t): tuple(str(f) for f in found) for t, found in check.items()},
            source=str(data.get("source", source)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "version": self.version,
            "dbfamily": self.dbfamily,
            "dbvendor": self.dbvendor,
            "server_version": self.server_version,
            "source": self.source,
            "check": None if self.check is None else {t: list(f) for t, f in self.check.items()},
            "components": dict(sorted(self.components.items())),
            "tables": {
                name: {
                    "rows": table.rows,
                    "columns": {c: asdict(col) for c, col in table.columns.items()},
                    "indexes": [
                        {"name": i.name, "columns": list(i.columns), "unique": i.unique}
                        for i in table.indexes
                    ],
                }
                for name, table in sorted(self.tables.items())
            },
        }

    def with_check(self, check: Mapping[str, tuple[str, ...]]) -> SchemaReading:
        return replace(self, check=dict(check))

    def component_of(self, table: str, known: Mapping[str, str] | None = None) -> str:
        """The component declaring ``table`` here, else in ``known``, else undeclared."""
        return self.components.get(table) or (known or {}).get(table) or UNDECLARED


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


# --- Moodle's check_database_schema.php -----------------------------------------------

_SEPARATOR = re.compile(r"^-{20,}$")


def parse_check_output(text: str) -> dict[str, tuple[str, ...]]:
    """Findings of ``admin/cli/check_database_schema.php`` by table.

    Its output is "Database structure is ok." or, for each table, a line of dashes,
    the table's name and its findings as `` * ...`` lines; a finding may go on over
    more lines (a missing index comes with the SQL that would create it).
    """
    findings: dict[str, list[str]] = {}
    table: str | None = None
    after_separator = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if _SEPARATOR.match(line):
            after_separator = True
        elif not line:
            continue
        elif after_separator:
            table, after_separator = line.strip(), False
            findings.setdefault(table, [])
        elif table is not None and line.startswith(" * "):
            findings[table].append(line[3:].strip())
        elif table is not None and findings[table]:
            findings[table][-1] += "\n" + line.strip()
    return {name: tuple(items) for name, items in findings.items()}


# --- drift -------------------------------------------------------------------------


def _pair(fresh: str, site: str) -> dict[str, str]:
    return {FRESH: fresh, SITE: site}


@dataclass(frozen=True)
class _Keys:
    """Keys of one table's observations: ``schema/<component>/<table>/...``."""

    site: SchemaReading
    fresh: SchemaReading
    known: Mapping[str, str]

    def key(self, table: str, *aspect: str) -> str:
        component = self.site.components.get(table) or self.fresh.component_of(table, self.known)
        return make_key(AREA, component, table, *aspect)


def _table_drift(keys: _Keys, name: str, site: Table, fresh: Table) -> Iterable[Observation]:
    release = keys.site.release
    for col in sorted(site.columns.keys() | fresh.columns.keys()):
        ours, theirs = site.columns.get(col), fresh.columns.get(col)
        if ours != theirs:
            yield Observation(
                keys.key(name, "columns", col),
                _pair(
                    theirs.describe() if theirs else ABSENT,
                    ours.describe() if ours else ABSENT,
                ),
                release=release,
                source="database",
            )
    ours_ix, theirs_ix = site.index_signatures(), fresh.index_signatures()
    for cols in sorted(ours_ix.keys() | theirs_ix.keys()):
        if ours_ix.get(cols) != theirs_ix.get(cols):
            yield Observation(
                keys.key(name, "indexes", cols),
                _pair(theirs_ix.get(cols, ABSENT), ours_ix.get(cols, ABSENT)),
                release=release,
                source="database",
            )


def schema_drift(
    site: SchemaReading, fresh: SchemaReading, known: Mapping[str, str] | None = None
) -> list[Observation]:
    """Every table, column and index in which ``site`` differs from ``fresh``
    (``known``: components of tables neither's code declares, from elsewhere)."""
    keys = _Keys(site, fresh, known or {})
    found: list[Observation] = []
    for name in sorted(site.tables.keys() | fresh.tables.keys()):
        ours, theirs = site.tables.get(name), fresh.tables.get(name)
        if ours is None or theirs is None:
            found.append(
                Observation(
                    keys.key(name, "table"),
                    _pair("present" if theirs else ABSENT, "present" if ours else ABSENT),
                    release=site.release,
                    source="database",
                )
            )
            continue
        found.extend(_table_drift(keys, name, ours, theirs))
    return found


def declared_drift(
    site: SchemaReading, fresh: SchemaReading, known: Mapping[str, str] | None = None
) -> list[Observation]:
    """check_database_schema.php's findings on ``site`` that a fresh install of the
    same code does not have too (those are the release's own, not the site's)."""
    if site.check is None:
        return []
    keys = _Keys(site, fresh, known or {})
    before = fresh.check or {}
    found = []
    for table, items in sorted(site.check.items()):
        new = sorted(set(items) - set(before.get(table, ())))
        if new:
            found.append(
                Observation(
                    keys.key(table, "check_database_schema"),
                    new,
                    release=site.release,
                    source="database",
                )
            )
    return found


def observations(
    site: SchemaReading, fresh: SchemaReading, known: Mapping[str, str] | None = None
) -> list[Observation]:
    """The site's ``schema`` observations: its drift from a fresh install of its code."""
    return sorted(
        [*schema_drift(site, fresh, known), *declared_drift(site, fresh, known)],
        key=lambda o: o.key,
    )
