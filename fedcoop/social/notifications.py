"""Notifications of local accounts: someone followed, asked to follow, mentioned or replied.

Kinds use Mastodon's names so the client API can pass them through unchanged. A reply is a
`mention` (as in Mastodon, where a reply reaches its parent's author through the mention);
`status` is Mastodon's "someone you subscribed to posted", reserved for when subscriptions
exist. Only accounts get notifications: a coop (Group) has no inbox of its own to read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedcoop import clock, ids
from fedcoop.accounts.accounts import get_account_by_actor
from fedcoop.social.paging import Page, page_clause

KINDS = frozenset({"follow", "follow_request", "mention", "status"})


@dataclass(frozen=True)
class Notification:
    id: str
    account_id: str
    kind: str
    from_actor_id: str | None
    note_id: str | None
    subject_uri: str | None
    payload: dict[str, Any]
    read_at: str | None
    created_at: str


def _notification(row: sqlite3.Row) -> Notification:
    return Notification(
        id=row["id"],
        account_id=row["account_id"],
        kind=row["kind"],
        from_actor_id=row["from_actor_id"],
        note_id=row["note_id"],
        subject_uri=row["subject_uri"],
        payload=json.loads(row["payload"]),
        read_at=row["read_at"],
        created_at=row["created_at"],
    )


def notify(
    conn: sqlite3.Connection,
    actor_id: str,
    kind: str,
    from_actor_id: str,
    *,
    note_id: str | None = None,
    subject_uri: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> Notification | None:
    """Notify the account behind local actor `actor_id`; None when nobody is to be told.

    Nobody is told about themselves, about an actor they block, or twice about the same thing
    (a re-delivered Create or an edit must not notify again).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if actor_id == from_actor_id:
        return None
    account = get_account_by_actor(conn, actor_id)
    if account is None or account.disabled:
        return None
    blocked = conn.execute(
        "SELECT 1 FROM actor_blocks WHERE blocker_id = ? AND blocked_id = ?",
        (actor_id, from_actor_id),
    ).fetchone()
    if blocked:
        return None
    existing = conn.execute(
        "SELECT * FROM notifications WHERE account_id = ? AND kind = ? AND from_actor_id = ? "
        "AND note_id IS ? AND read_at IS NULL",
        (account.id, kind, from_actor_id, note_id),
    ).fetchone()
    if existing:
        return _notification(existing)
    notification_id = ids.new_id()
    conn.execute(
        "INSERT INTO notifications (id, account_id, kind, from_actor_id, note_id, subject_uri, "
        "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            notification_id,
            account.id,
            kind,
            from_actor_id,
            note_id,
            subject_uri,
            json.dumps(dict(payload or {})),
            clock.now_iso(),
        ),
    )
    return get_notification(conn, account.id, notification_id)


def get_notification(
    conn: sqlite3.Connection, account_id: str, notification_id: str
) -> Notification | None:
    row = conn.execute(
        "SELECT * FROM notifications WHERE id = ? AND account_id = ?", (notification_id, account_id)
    ).fetchone()
    return _notification(row) if row else None


def list_notifications(
    conn: sqlite3.Connection,
    account_id: str,
    page: Page | None = None,
    *,
    kinds: frozenset[str] | None = None,
) -> list[Notification]:
    """Newest first, paged by id the way Mastodon's notifications endpoint pages."""
    page = page or Page()
    where = ["account_id = ?"]
    params: list[Any] = [account_id]
    if kinds:
        where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
        params.extend(sorted(kinds))
    clause, order, extra = page_clause(page, "id")
    where.extend(clause)
    params.extend(extra)
    rows = conn.execute(
        f"SELECT * FROM notifications WHERE {' AND '.join(where)} ORDER BY id {order} LIMIT ?",
        (*params, page.limit),
    ).fetchall()
    found = [_notification(r) for r in rows]
    return sorted(found, key=lambda n: n.id, reverse=True)


def count_unread(conn: sqlite3.Connection, account_id: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM notifications WHERE account_id = ? AND read_at IS NULL",
            (account_id,),
        ).fetchone()[0]
    )


def mark_read(conn: sqlite3.Connection, account_id: str, up_to_id: str | None = None) -> int:
    """Mark the account's notifications read (all, or those up to and including `up_to_id`)."""
    cur = conn.execute(
        "UPDATE notifications SET read_at = ? WHERE account_id = ? AND read_at IS NULL AND id <= ?",
        (clock.now_iso(), account_id, up_to_id or "~"),
    )
    return cur.rowcount


def dismiss(conn: sqlite3.Connection, account_id: str, notification_id: str) -> bool:
    cur = conn.execute(
        "DELETE FROM notifications WHERE id = ? AND account_id = ?", (notification_id, account_id)
    )
    return cur.rowcount == 1


def forget_about_note(conn: sqlite3.Connection, note_id: str) -> None:
    """A deleted note notifies nobody any more."""
    conn.execute("DELETE FROM notifications WHERE note_id = ?", (note_id,))


def forget_follow_request(conn: sqlite3.Connection, actor_id: str, from_actor_id: str) -> None:
    """A follow request that was answered or withdrawn is no longer something to act on."""
    conn.execute(
        "DELETE FROM notifications WHERE kind = 'follow_request' AND from_actor_id = ? "
        "AND account_id IN (SELECT id FROM accounts WHERE actor_id = ?)",
        (from_actor_id, actor_id),
    )


def forget_from(conn: sqlite3.Connection, actor_id: str, from_actor_id: str) -> None:
    """Drop what `from_actor_id` caused for local actor `actor_id` (a block between them)."""
    conn.execute(
        "DELETE FROM notifications WHERE from_actor_id = ? "
        "AND account_id IN (SELECT id FROM accounts WHERE actor_id = ?)",
        (from_actor_id, actor_id),
    )
