"""Numbered schema migrations, applied in order with sqlite-utils' `Migrations`.

Each module `mNNNN_name.py` in this package defines `migrate(db)`; the number is the schema
version it brings the database to. A shipped migration is never edited: a change is a new
module. The highest number is recorded in `PRAGMA user_version`, so an older fedcoop can see
that a database was written by a newer one and refuse to serve it.
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

MIGRATION_SET = "fedcoop"


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    fn: Callable[[Any], None]


def all_migrations() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not (info.name.startswith("m") and info.name[1:5].isdigit()):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(Migration(int(info.name[1:5]), info.name[1:], module.migrate))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migration numbers must be 1..N without gaps, got {numbers}")
    return found


def latest_version() -> int:
    return len(all_migrations())


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied. Raises if the DB is newer."""
    from fedcoop.db.database import SchemaTooNew

    latest = latest_version()
    found = current_version(conn)
    if found > latest:
        raise SchemaTooNew(
            f"database schema version {found} is newer than this fedcoop knows ({latest}); "
            "upgrade fedcoop"
        )
    db = sqlite_utils.Database(conn)
    migrations = sqlite_utils.Migrations(MIGRATION_SET)
    for m in all_migrations():
        migrations(name=m.name)(_named(m))
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    conn.execute(f"PRAGMA user_version = {latest}")
    return pending


def _named(m: Migration) -> Callable[[Any], None]:
    def run(db: Any) -> None:
        m.fn(db)

    run.__name__ = m.name
    return run
