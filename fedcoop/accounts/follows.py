"""Follow rows between actors: counts and pages for the followers/following collections."""

from __future__ import annotations

import sqlite3


def count_followers(conn: sqlite3.Connection, actor_id: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM follows WHERE followee_id = ? AND state = 'accepted'", (actor_id,)
        ).fetchone()[0]
    )


def count_following(conn: sqlite3.Connection, actor_id: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM follows WHERE follower_id = ? AND state = 'accepted'", (actor_id,)
        ).fetchone()[0]
    )


def follower_uris_page(
    conn: sqlite3.Connection, actor_id: str, *, before: str | None, limit: int
) -> list[tuple[str, str]]:
    """(follow id, follower uri), newest first, strictly older than `before`."""
    rows = conn.execute(
        "SELECT follows.id, actors.uri FROM follows JOIN actors ON actors.id = follows.follower_id "
        "WHERE follows.followee_id = ? AND follows.state = 'accepted' AND follows.id < ? "
        "ORDER BY follows.id DESC LIMIT ?",
        (actor_id, before or "~", limit),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def following_uris_page(
    conn: sqlite3.Connection, actor_id: str, *, before: str | None, limit: int
) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT follows.id, actors.uri FROM follows JOIN actors ON actors.id = follows.followee_id "
        "WHERE follows.follower_id = ? AND follows.state = 'accepted' AND follows.id < ? "
        "ORDER BY follows.id DESC LIMIT ?",
        (actor_id, before or "~", limit),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]
