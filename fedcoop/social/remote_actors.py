"""The cache of remote actors: rows of the `actors` table with `local = 0`.

The federation layer validates an actor document and hands over a `RemoteActorRecord`; this
module only stores it. Two rules live here because they are about rows, not documents:
- a local actor's row is never overwritten, whatever a remote document claims;
- keys change only when the caller says they may (`keys_may_change`): a signed Update from the
  actor itself, or a refetch after a verification failed with the cached key. Any other refresh
  keeps the keys already stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from fedcoop import clock, ids
from fedcoop.accounts.actors import ACTOR_COLUMNS, Actor, actor_from_row, get_actor_by_uri


@dataclass(frozen=True)
class RemoteActorRecord:
    uri: str
    type: str
    username: str
    host: str
    inbox: str
    display_name: str = ""
    summary: str = ""
    url: str | None = None
    outbox: str | None = None
    shared_inbox: str | None = None
    followers: str | None = None
    following: str | None = None
    manually_approves: bool = False
    public_key_id: str | None = None
    public_key_pem: str | None = None
    ed25519_key_id: str | None = None
    ed25519_multibase: str | None = None
    implements: list[dict[str, str]] = field(default_factory=list)
    also_known_as: list[str] = field(default_factory=list)
    moved_to: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class LocalActorConflict(ValueError):
    """A remote document claims the id of one of our own actors."""


def get_actor_by_key_id(conn: sqlite3.Connection, key_id: str) -> Actor | None:
    """The actor (local or remote) that owns the RSA or Ed25519 key `key_id`."""
    row = conn.execute(
        f"SELECT {ACTOR_COLUMNS} FROM actors WHERE public_key_id = ? OR ed25519_key_id = ? "
        "ORDER BY local DESC LIMIT 1",
        (key_id, key_id),
    ).fetchone()
    return actor_from_row(row) if row else None


def _free_username(conn: sqlite3.Connection, record: RemoteActorRecord) -> str:
    """`preferredUsername`, unless another actor on the host holds it (Lemmy's `/u/x` and
    `/c/x` share names): then a suffix derived from the id, stable across refreshes."""
    row = conn.execute(
        "SELECT uri FROM actors WHERE username = ? COLLATE NOCASE AND host = ? AND uri != ?",
        (record.username, record.host, record.uri),
    ).fetchone()
    if row is None:
        return record.username
    return f"{record.username}~{hashlib.sha256(record.uri.encode()).hexdigest()[:8]}"


def upsert_remote_actor(
    conn: sqlite3.Connection, record: RemoteActorRecord, *, keys_may_change: bool
) -> Actor:
    """Insert or refresh a remote actor; returns the stored row."""
    existing = get_actor_by_uri(conn, record.uri)
    if existing is not None and existing.local:
        raise LocalActorConflict(record.uri)
    now = clock.now_iso()
    rsa_key = (record.public_key_id, record.public_key_pem)
    ed_key = (record.ed25519_key_id, record.ed25519_multibase)
    if existing is not None and not keys_may_change:
        # Filling in a key we never had is not a change; replacing one is.
        if existing.public_key_pem:
            rsa_key = (existing.public_key_id, existing.public_key_pem)
        if existing.ed25519_multibase:
            ed_key = (existing.ed25519_key_id, existing.ed25519_multibase)
    values = (
        record.type,
        _free_username(conn, record),
        record.host,
        record.display_name,
        record.summary,
        record.url,
        record.inbox,
        record.outbox,
        record.shared_inbox,
        record.followers,
        record.following,
        int(record.manually_approves),
        *rsa_key,
        *ed_key,
        json.dumps(record.implements),
        json.dumps(record.also_known_as),
        record.moved_to,
        json.dumps(record.raw),
        now,
        now,
    )
    if existing is None:
        conn.execute(
            """INSERT INTO actors (type, username, host, display_name, summary, url, inbox,
                   outbox, shared_inbox, followers, following, manually_approves,
                   public_key_id, public_key_pem, ed25519_key_id, ed25519_multibase,
                   implements, also_known_as, moved_to, raw, fetched_at, updated_at,
                   id, uri, local, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                       ?, ?, 0, ?)""",
            (*values, ids.new_id(), record.uri, now),
        )
    else:
        conn.execute(
            """UPDATE actors SET type = ?, username = ?, host = ?, display_name = ?, summary = ?,
                   url = ?, inbox = ?, outbox = ?, shared_inbox = ?, followers = ?,
                   following = ?, manually_approves = ?, public_key_id = ?, public_key_pem = ?,
                   ed25519_key_id = ?, ed25519_multibase = ?, implements = ?,
                   also_known_as = ?, moved_to = ?, raw = ?, fetched_at = ?, updated_at = ?
               WHERE id = ? AND local = 0""",
            (*values, existing.id),
        )
    stored = get_actor_by_uri(conn, record.uri)
    assert stored is not None
    return stored
