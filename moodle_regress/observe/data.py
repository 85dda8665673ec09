"""The ``data`` area: the rows in each table of a site's database.

One observation per table, ``data/<component>/<table>/rows`` (the component whose
install.xml declares the table, as in the ``schema`` area), read with the schema
(``php/schema.php`` counts each table through Moodle's ``$DB->count_records()``).
Comparing a site before and after an upgrade shows each table that lost rows
(``changed``, fewer after) or was dropped with its rows (``removed``); tables that
grew, new tables and empty tables dropped are accepted by the default rules
(``any-upgrade.yaml``), since nothing was lost there.
"""

from __future__ import annotations

from collections.abc import Mapping

from moodle_regress.observation import Observation, make_key
from moodle_regress.observe.schema import SchemaReading

AREA = "data"


def row_counts(reading: SchemaReading, known: Mapping[str, str] | None = None) -> list[Observation]:
    """``data/<component>/<table>/rows`` for every table the reading counted
    (``known``: components of tables the site's code does not declare)."""
    return [
        Observation(
            make_key(AREA, reading.component_of(name, known), name, "rows"),
            table.rows,
            release=reading.release,
            source="database",
        )
        for name, table in sorted(reading.tables.items())
        if table.rows is not None
    ]
