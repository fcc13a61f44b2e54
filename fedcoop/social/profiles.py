"""Profile changes of local actors, published to the servers that hold a copy of them."""

from __future__ import annotations

import sqlite3

from fedcoop.accounts import actors
from fedcoop.accounts.actors import Actor
from fedcoop.social.events import emit


def update_profile(
    conn: sqlite3.Connection,
    actor_id: str,
    *,
    display_name: str | None = None,
    summary: str | None = None,
    manually_approves: bool | None = None,
) -> Actor:
    """Change a local actor's profile and announce it (an Update of the actor document)."""
    before = actors.get_actor(conn, actor_id)
    updated = actors.update_profile(
        conn,
        actor_id,
        display_name=display_name,
        summary=summary,
        manually_approves=manually_approves,
    )
    changed = before is None or (
        (before.display_name, before.summary, before.manually_approves)
        != (updated.display_name, updated.summary, updated.manually_approves)
    )
    if changed:
        emit(conn, "actor.updated", actor_id, actor_id)
    return updated
