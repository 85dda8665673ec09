"""The sandbox's database seam: one interface (``Engine``), one module per engine.

    from moodle_regress.sandbox import db
    engine = db.engine_named("mariadb")            # or db.engine_for(config)
    config = db.config_from_url("mariadb://u:p@127.0.0.1:3306/moodle")  # or mysqli://
    db.query(config, "SELECT 1")                   # rows as tuples of str | None

Nothing else in the sandbox names an engine: it asks the config's engine.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from moodle_regress.sandbox.db.base import (
    DEFAULT_ENGINE,
    DatabaseConfig,
    Engine,
    Missing,
    MoodleDatabase,
    PrivateServer,
    Requirements,
    Row,
    ensure_traversable,
    open_dump,
    redact_url,
)
from moodle_regress.sandbox.db.mariadb import MariaDB
from moodle_regress.sandbox.db.postgres import Postgres
from moodle_regress.sandbox.errors import DatabaseError

#: Every engine by its name (``--db NAME``), in the order help texts list them.
ENGINES: dict[str, type[Engine]] = {Postgres.name: Postgres, MariaDB.name: MariaDB}
ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)


def engine_named(name: str) -> Engine:
    try:
        return ENGINES[name]()
    except KeyError:
        raise DatabaseError(
            f"no database engine named {name!r}", f"choose one of {', '.join(ENGINE_NAMES)}"
        ) from None


def engine_for(config: DatabaseConfig) -> Engine:
    return engine_named(config.engine)


def config_from_url(url: str) -> DatabaseConfig:
    """A database URL of any engine: the scheme picks it."""
    scheme = urlsplit(url).scheme
    for engine in ENGINES.values():
        if scheme in engine.url_schemes:
            return engine().config_from_url(url)
    schemes = ", ".join(f"{s}://" for e in ENGINES.values() for s in e.url_schemes)
    raise DatabaseError(
        f"{redact_url(url)!r} is not a database URL this tool knows",
        f"use one of {schemes} followed by USER:PASSWORD@HOST:PORT/DBNAME",
    )


def query(config: DatabaseConfig, sql: str) -> list[Row]:
    """Run ``sql`` in the database ``config`` names, on whatever engine it is."""
    return engine_for(config).query(config, sql)


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "ENGINE_NAMES",
    "DatabaseConfig",
    "Engine",
    "Missing",
    "MoodleDatabase",
    "PrivateServer",
    "Requirements",
    "Row",
    "config_from_url",
    "engine_for",
    "engine_named",
    "ensure_traversable",
    "open_dump",
    "query",
]
