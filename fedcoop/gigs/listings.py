"""Paged listings of a member's applications and agreements, newest first.

The pages and the JSON API page by time-sortable ids (`max_id`, as Mastodon clients do), so
each listing takes a `before` cursor. Rows are turned into domain objects by the owning
modules' row readers.
"""

from __future__ import annotations

import sqlite3

from fedcoop.gigs.agreements import Agreement
from fedcoop.gigs.agreements import _from_row as agreement_from_row
from fedcoop.gigs.applications import Application
from fedcoop.gigs.applications import _from_row as application_from_row


def _cursor(column: str, before: str | None) -> tuple[str, tuple[str, ...]]:
    return (f" AND {column} < ?", (before,)) if before else ("", ())


def applications_by_worker(
    conn: sqlite3.Connection, worker_id: str, *, before: str | None = None, limit: int = 20
) -> list[Application]:
    clause, params = _cursor("id", before)
    rows = conn.execute(
        f"SELECT * FROM applications WHERE worker_id = ?{clause} ORDER BY id DESC LIMIT ?",
        (worker_id, *params, limit),
    ).fetchall()
    return [application_from_row(r) for r in rows]


def applications_received(
    conn: sqlite3.Connection, poster_id: str, *, before: str | None = None, limit: int = 20
) -> list[Application]:
    clause, params = _cursor("applications.id", before)
    rows = conn.execute(
        "SELECT applications.* FROM applications JOIN gigs ON gigs.id = applications.gig_id "
        f"WHERE gigs.poster_id = ?{clause} ORDER BY applications.id DESC LIMIT ?",
        (poster_id, *params, limit),
    ).fetchall()
    return [application_from_row(r) for r in rows]


def agreements_of(
    conn: sqlite3.Connection, actor_id: str, *, before: str | None = None, limit: int = 20
) -> list[Agreement]:
    clause, params = _cursor("id", before)
    rows = conn.execute(
        f"SELECT * FROM agreements WHERE (poster_id = ? OR worker_id = ?){clause} "
        "ORDER BY id DESC LIMIT ?",
        (actor_id, actor_id, *params, limit),
    ).fetchall()
    return [agreement_from_row(r) for r in rows]


def agreement_id_for_application(conn: sqlite3.Connection, application_id: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM agreements WHERE application_id = ?", (application_id,)
    ).fetchone()
    return str(row[0]) if row else None
