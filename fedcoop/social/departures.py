"""A remote actor that deleted itself: what it had sent goes, and a tombstone stays.

Its notes are cleared and tombstoned (so a replayed Create cannot bring them back), follows
and blocks both ways are dropped, its notifications and its activities still waiting in the
inbox are discarded, and its actor id is tombstoned. The actor row itself is removed when
nothing that must outlive it (an agreement, a membership) still points at it.
"""

from __future__ import annotations

import sqlite3

from fedcoop.accounts.actors import get_actor_by_uri
from fedcoop.db.inbox_queries import InboxItemStates, add_tombstone
from fedcoop.social import follows, notes


def forget_remote_actor(
    conn: sqlite3.Connection, actor_uri: str, *, except_inbox_item: str | None = None
) -> bool:
    """Remove what a deleted remote actor had sent; False when it was unknown or local.

    `except_inbox_item`: the inbox item announcing the deletion, which its worker finishes.
    """
    actor = get_actor_by_uri(conn, actor_uri)
    if actor is None or actor.local:
        return False
    notes.delete_all_by_author(conn, actor.id)
    follows.drop_all_of(conn, actor.id)
    conn.execute(
        "DELETE FROM actor_blocks WHERE blocker_id = ? OR blocked_id = ?", (actor.id, actor.id)
    )
    conn.execute("DELETE FROM notifications WHERE from_actor_id = ?", (actor.id,))
    InboxItemStates.check("received", "ignored")
    conn.execute(
        "UPDATE inbox_items SET state = 'ignored', outcome = 'ignored: the actor was deleted' "
        "WHERE actor_uri = ? AND state = 'received' AND id IS NOT ?",
        (actor.uri, except_inbox_item),
    )
    add_tombstone(conn, actor.uri, actor.type)
    conn.execute("SAVEPOINT forget_actor")
    try:
        conn.execute("DELETE FROM actors WHERE id = ? AND local = 0", (actor.id,))
    except sqlite3.IntegrityError:
        # Something that must outlive the actor (an agreement) still names it: keep the row.
        conn.execute("ROLLBACK TO forget_actor")
    conn.execute("RELEASE forget_actor")
    return True
