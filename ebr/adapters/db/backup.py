"""A consistent copy of the whole database, and its restore into an empty one (REC-05).

SQLite: the online backup API copies a consistent snapshot while the application keeps running. PostgreSQL:
pg_dump's custom format, restored with pg_restore; the grants to the application role travel with it, so that
role must exist on the target server (it is cluster-wide, created by `ebr db upgrade` on the first install).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from ebr.adapters.db.engine import make_engine

SQLITE_FORMAT = "sqlite"
PG_FORMAT = "pg_dump-custom"


class DatabaseNotEmpty(Exception):
    """The restore target already holds tables: a restore never merges into or overwrites a database."""


def backup_format(url: str) -> str:
    """The dump format for this database."""
    return SQLITE_FORMAT if make_url(url).get_backend_name() == "sqlite" else PG_FORMAT


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise ValueError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str] | None]:
    """The libpq URI and environment: a password goes in the environment, never on a command line others see."""
    parsed = make_url(url)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, ({**os.environ, "PGPASSWORD": str(parsed.password)} if parsed.password else None)


def dump(url: str, target: Path) -> str:
    """Write a consistent copy of the database to target; returns its format."""
    if backup_format(url) == SQLITE_FORMAT:
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return SQLITE_FORMAT
    uri, env = _libpq(url)
    command = ["pg_dump", "--format=custom", f"--file={target}", f"--dbname={uri}"]
    # The arguments are this installation's own URL and a path it chose: no outside input reaches the command.
    subprocess.run(command, check=True, capture_output=True, text=True, env=env)  # noqa: S603
    return PG_FORMAT


def is_empty(url: str) -> bool:
    """True when the database has no table at all (a SQLite file that does not exist yet counts as empty)."""
    if backup_format(url) == SQLITE_FORMAT and not _sqlite_path(url).exists():
        return True
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return not inspect(conn).get_table_names()
    finally:
        engine.dispose()


def restore(url: str, source: Path, form: str) -> None:
    """Load a dump into an empty database of the same kind; refuses a database that holds any table."""
    if form != backup_format(url):
        raise ValueError(f"a {form} dump cannot be restored into this database ({backup_format(url)})")
    if not is_empty(url):
        raise DatabaseNotEmpty("The target database is not empty: restore only into a new, empty database.")
    if form == SQLITE_FORMAT:
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        dumped = sqlite3.connect(source)
        copy = sqlite3.connect(target)
        try:
            dumped.backup(copy)
        finally:
            copy.close()
            dumped.close()
        return
    uri, env = _libpq(url)
    command = ["pg_restore", "--exit-on-error", "--no-owner", f"--dbname={uri}", str(source)]
    subprocess.run(command, check=True, capture_output=True, text=True, env=env)  # noqa: S603  # as for pg_dump
