"""Timelines: the home timeline of a local actor and the public timeline, newest first.

Both page by note id (time-sortable, assigned when the note reached this instance) with
Mastodon's `max_id`/`since_id`/`min_id`/`limit`, so the client API can pass its query through.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fedcoop.social.notes import NOTE_COLUMNS, Note, note_from_row
from fedcoop.social.paging import Page, page_clause

# What the home timeline of :me holds: its own notes; notes of the actors it follows that it
# may see (public and unlisted, followers-only because it follows, direct when addressed to
# it); and any note that mentions it. Never notes of actors it blocks or that block it.
_HOME = """
    notes.deleted_at IS NULL
    AND (
        notes.author_id = :me
        OR (
            notes.author_id IN (SELECT followee_id FROM follows
                                WHERE follower_id = :me AND state = 'accepted')
            AND (notes.visibility IN ('public', 'unlisted', 'followers')
                 OR EXISTS (SELECT 1 FROM note_addressees
                            WHERE note_addressees.note_id = notes.id
                              AND note_addressees.actor_uri = :me_uri))
        )
        OR EXISTS (SELECT 1 FROM mentions
                   WHERE mentions.note_id = notes.id AND mentions.actor_id = :me)
    )
    AND notes.author_id NOT IN (SELECT blocked_id FROM actor_blocks WHERE blocker_id = :me)
    AND notes.author_id NOT IN (SELECT blocker_id FROM actor_blocks WHERE blocked_id = :me)
"""


def _select(conn: sqlite3.Connection, where: str, params: dict[str, Any], page: Page) -> list[Note]:
    clause, order, extra = page_clause(page, "notes.id")
    conditions = [where]
    for i, (condition, value) in enumerate(zip(clause, extra, strict=True)):
        conditions.append(condition.replace("?", f":page{i}"))
        params[f"page{i}"] = value
    params["limit"] = page.limit
    rows = conn.execute(
        f"SELECT {NOTE_COLUMNS} FROM notes WHERE {' AND '.join(conditions)} "
        f"ORDER BY notes.id {order} LIMIT :limit",
        params,
    ).fetchall()
    return sorted((note_from_row(r) for r in rows), key=lambda n: n.id, reverse=True)


def home(conn: sqlite3.Connection, actor_id: str, page: Page | None = None) -> list[Note]:
    """The home timeline of a local actor."""
    row = conn.execute("SELECT uri FROM actors WHERE id = ?", (actor_id,)).fetchone()
    if row is None:
        return []
    return _select(conn, _HOME, {"me": actor_id, "me_uri": row[0]}, page or Page())


def public(
    conn: sqlite3.Connection,
    page: Page | None = None,
    *,
    local_only: bool = False,
    remote_only: bool = False,
    viewer_actor_id: str | None = None,
) -> list[Note]:
    """Public notes, local and federated (or one of the two); a viewer's blocks are applied."""
    where = ["notes.deleted_at IS NULL", "notes.visibility = 'public'"]
    params: dict[str, Any] = {}
    if local_only:
        where.append("notes.local = 1")
    if remote_only:
        where.append("notes.local = 0")
    if viewer_actor_id is not None:
        params["me"] = viewer_actor_id
        where.append(
            "notes.author_id NOT IN (SELECT blocked_id FROM actor_blocks WHERE blocker_id = :me)"
        )
        where.append(
            "notes.author_id NOT IN (SELECT blocker_id FROM actor_blocks WHERE blocked_id = :me)"
        )
    return _select(conn, " AND ".join(where), params, page or Page())
