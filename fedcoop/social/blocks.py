"""Blocks between actors: a block ends follows both ways and silences the blocked actor.

A local actor blocking a remote one publishes a Block (and its Undo when lifted); a remote
actor's Block of a local one is recorded so nothing is sent to it or shown from it. The
follows a block ends are dropped without an Undo: the Block itself tells the other side
(Mastodon drops both directions when it receives one).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fedcoop import clock, ids
from fedcoop.accounts.actors import ACTOR_COLUMNS, Actor, actor_from_row, get_actor
from fedcoop.errors import NotFound, ValidationError
from fedcoop.social import follows, notifications
from fedcoop.social.events import emit


@dataclass(frozen=True)
class Block:
    id: str
    blocker_id: str
    blocked_id: str
    activity_uri: str | None
    created_at: str


def _block(row: sqlite3.Row | None) -> Block | None:
    if row is None:
        return None
    return Block(
        id=row["id"],
        blocker_id=row["blocker_id"],
        blocked_id=row["blocked_id"],
        activity_uri=row["activity_uri"],
        created_at=row["created_at"],
    )


def get_block(conn: sqlite3.Connection, block_id: str) -> Block | None:
    return _block(conn.execute("SELECT * FROM actor_blocks WHERE id = ?", (block_id,)).fetchone())


def find_block(conn: sqlite3.Connection, blocker_id: str, blocked_id: str) -> Block | None:
    return _block(
        conn.execute(
            "SELECT * FROM actor_blocks WHERE blocker_id = ? AND blocked_id = ?",
            (blocker_id, blocked_id),
        ).fetchone()
    )


def find_by_reference(
    conn: sqlite3.Connection, *, activity_uri: str | None = None, block_id: str | None = None
) -> Block | None:
    """The block a Block activity id names (its stored id, or our own row id)."""
    if activity_uri:
        found = _block(
            conn.execute(
                "SELECT * FROM actor_blocks WHERE activity_uri = ?", (activity_uri,)
            ).fetchone()
        )
        if found is not None:
            return found
    return get_block(conn, block_id) if block_id else None


def is_blocked(conn: sqlite3.Connection, blocker_id: str, blocked_id: str) -> bool:
    return find_block(conn, blocker_id, blocked_id) is not None


def blocked_actors(conn: sqlite3.Connection, blocker_id: str) -> list[Actor]:
    rows = conn.execute(
        f"SELECT {ACTOR_COLUMNS} FROM actor_blocks JOIN actors ON actors.id = "
        "actor_blocks.blocked_id WHERE actor_blocks.blocker_id = ? ORDER BY actor_blocks.id DESC",
        (blocker_id,),
    ).fetchall()
    return [actor_from_row(r) for r in rows]


def _insert(
    conn: sqlite3.Connection, blocker_id: str, blocked_id: str, activity_uri: str | None
) -> Block:
    existing = find_block(conn, blocker_id, blocked_id)
    if existing is not None:
        return existing
    block_id = ids.new_id()
    conn.execute(
        "INSERT INTO actor_blocks (id, blocker_id, blocked_id, activity_uri, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (block_id, blocker_id, blocked_id, activity_uri, clock.now_iso()),
    )
    follows.drop_all_between(conn, blocker_id, blocked_id)
    # Mastodon too clears what the other side caused, whichever side blocked.
    notifications.forget_from(conn, blocker_id, blocked_id)
    notifications.forget_from(conn, blocked_id, blocker_id)
    made = get_block(conn, block_id)
    assert made is not None
    return made


def block(conn: sqlite3.Connection, blocker_id: str, blocked_id: str) -> Block:
    """A local actor blocks another; idempotent."""
    blocker = get_actor(conn, blocker_id)
    blocked = get_actor(conn, blocked_id)
    if blocker is None or not blocker.local:
        raise NotFound("no such local actor")
    if blocked is None:
        raise NotFound("no such actor")
    if blocker_id == blocked_id:
        raise ValidationError("nobody can block themselves", field="id")
    existing = find_block(conn, blocker_id, blocked_id)
    if existing is not None:
        return existing
    made = _insert(conn, blocker_id, blocked_id, None)
    if not blocked.local:
        emit(conn, "block.created", blocker_id, made.id)
    return made


def unblock(conn: sqlite3.Connection, blocker_id: str, blocked_id: str) -> bool:
    """A local actor lifts a block; False if there was none."""
    existing = find_block(conn, blocker_id, blocked_id)
    if existing is None:
        return False
    conn.execute("DELETE FROM actor_blocks WHERE id = ?", (existing.id,))
    blocked = get_actor(conn, blocked_id)
    if blocked is not None and not blocked.local:
        emit(
            conn,
            "block.undone",
            blocker_id,
            existing.id,
            {"blocked_uri": blocked.uri, "activity_uri": existing.activity_uri},
        )
    return True


def receive_block(
    conn: sqlite3.Connection, blocker_id: str, blocked_id: str, activity_uri: str
) -> Block:
    """A remote actor blocked a local one: record it and end follows both ways."""
    return _insert(conn, blocker_id, blocked_id, activity_uri)


def receive_unblock(
    conn: sqlite3.Connection,
    blocker_id: str,
    *,
    activity_uri: str | None = None,
    blocked_id: str | None = None,
) -> Block | None:
    """A remote actor lifted its block; only its own blocks are looked at."""
    found = None
    if activity_uri:
        found = _block(
            conn.execute(
                "SELECT * FROM actor_blocks WHERE activity_uri = ? AND blocker_id = ?",
                (activity_uri, blocker_id),
            ).fetchone()
        )
    if found is None and blocked_id:
        found = find_block(conn, blocker_id, blocked_id)
    if found is None:
        return None
    conn.execute("DELETE FROM actor_blocks WHERE id = ?", (found.id,))
    return found
