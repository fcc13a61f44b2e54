"""Actor rows (local and remote) and the local ones' creation with fresh keys."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from fedcoop import clock, ids
from fedcoop.accounts.keys import ed25519_multibase, generate_keys
from fedcoop.errors import Conflict, ValidationError
from fedcoop.uris import Uris

# Mastodon's username rule: what its WebFinger and mention parsing accept.
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
LOCAL_ACTOR_TYPES = ("Person", "Group", "Application")

# The features fedcoop implements, announced in every actor's `generator.implements`
# (FEP-844e) so peers can decide what to send (dual rendering of gigs, proofs).
IMPLEMENTS = [
    {"href": "https://w3id.org/fep/0837", "name": "Federated Marketplace"},
    {"href": "https://w3id.org/fep/8b32", "name": "Object Integrity Proofs"},
    {"href": "https://w3id.org/fep/1b12", "name": "Group federation"},
    {"href": "https://w3id.org/fep/5219", "name": "Groups and permissions"},
    {"href": "https://w3id.org/fep/521a", "name": "Actor Multikeys"},
    {"href": "https://w3id.org/fep/844e", "name": "Capability discovery"},
]


@dataclass(frozen=True)
class Actor:
    id: str
    uri: str
    type: str
    username: str
    host: str
    local: bool
    display_name: str
    summary: str
    url: str | None
    inbox: str | None
    outbox: str | None
    shared_inbox: str | None
    followers: str | None
    following: str | None
    manually_approves: bool
    public_key_id: str | None
    public_key_pem: str | None
    ed25519_key_id: str | None
    ed25519_multibase: str | None
    implements: list[dict[str, str]]
    also_known_as: list[str]
    moved_to: str | None
    created_at: str
    updated_at: str

    @property
    def handle(self) -> str:
        return f"{self.username}@{self.host}"


_COLUMNS = (
    "id, uri, type, username, host, local, display_name, summary, url, inbox, outbox, "
    "shared_inbox, followers, following, manually_approves, public_key_id, public_key_pem, "
    "ed25519_key_id, ed25519_multibase, implements, also_known_as, moved_to, created_at, updated_at"
)


ACTOR_COLUMNS = ", ".join(f"actors.{c.strip()}" for c in _COLUMNS.split(","))


def actor_from_row(row: sqlite3.Row) -> Actor:
    data: dict[str, Any] = dict(row)
    data["local"] = bool(data["local"])
    data["manually_approves"] = bool(data["manually_approves"])
    data["implements"] = json.loads(data["implements"])
    data["also_known_as"] = json.loads(data["also_known_as"])
    return Actor(**data)


def _one(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> Actor | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM actors WHERE {where}", params).fetchone()
    return actor_from_row(row) if row else None


def get_actor(conn: sqlite3.Connection, actor_id: str) -> Actor | None:
    return _one(conn, "id = ?", (actor_id,))


def get_actor_by_uri(conn: sqlite3.Connection, uri: str) -> Actor | None:
    return _one(conn, "uri = ?", (uri,))


def get_local_actor(conn: sqlite3.Connection, username: str) -> Actor | None:
    return _one(conn, "local = 1 AND username = ? COLLATE NOCASE", (username,))


def get_instance_actor(conn: sqlite3.Connection) -> Actor | None:
    return _one(conn, "local = 1 AND type = 'Application'", ())


def count_local_actors(conn: sqlite3.Connection, actor_type: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM actors WHERE local = 1 AND type = ?", (actor_type,)
    ).fetchone()
    return int(row[0])


def local_private_keys(conn: sqlite3.Connection, actor_id: str) -> tuple[str, str]:
    """(RSA PEM, Ed25519 PEM) of a local actor: only signing code asks for these."""
    row = conn.execute(
        "SELECT rsa_private_pem, ed25519_private_pem FROM actor_keys WHERE actor_id = ?",
        (actor_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no keys for actor {actor_id}")
    return row[0], row[1]


def validate_username(username: str, *, field: str = "username") -> str:
    if not USERNAME_RE.match(username):
        raise ValidationError("a name is 1 to 30 letters, digits or underscores", field=field)
    return username


def create_local_actor(
    conn: sqlite3.Connection,
    uris: Uris,
    actor_type: str,
    username: str,
    *,
    display_name: str = "",
    summary: str = "",
    manually_approves: bool = False,
) -> Actor:
    """Insert a local actor with fresh RSA-2048 and Ed25519 keys."""
    if actor_type not in LOCAL_ACTOR_TYPES:
        raise ValueError(f"not a local actor type: {actor_type}")
    if actor_type != "Application":
        validate_username(username)
    if get_local_actor(conn, username) is not None:
        raise Conflict(f"the name {username!r} is already taken on this instance", field="username")
    keys = generate_keys()
    uri = uris.actor(actor_type, username)
    now = clock.now_iso()
    actor_id = ids.new_id()
    conn.execute(
        """INSERT INTO actors (id, uri, type, username, host, local, display_name, summary, url,
               inbox, outbox, shared_inbox, followers, following, manually_approves,
               public_key_id, public_key_pem, ed25519_key_id, ed25519_multibase, implements,
               created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            actor_id,
            uri,
            actor_type,
            username,
            uris.domain,
            display_name or username,
            summary,
            uris.base + "/" if actor_type == "Application" else uris.profile(username),
            uris.inbox(uri),
            uris.outbox(uri),
            uris.shared_inbox(),
            uris.followers(uri),
            uris.following(uri),
            int(manually_approves),
            uris.rsa_key_id(uri),
            keys.rsa_public_pem,
            uris.ed25519_key_id(uri),
            ed25519_multibase(keys.ed25519_public_raw),
            json.dumps(IMPLEMENTS),
            now,
            now,
        ),
    )
    conn.execute(
        "INSERT INTO actor_keys (actor_id, rsa_private_pem, ed25519_private_pem) VALUES (?, ?, ?)",
        (actor_id, keys.rsa_private_pem, keys.ed25519_private_pem),
    )
    actor = get_actor(conn, actor_id)
    assert actor is not None
    return actor


def update_profile(
    conn: sqlite3.Connection,
    actor_id: str,
    *,
    display_name: str | None = None,
    summary: str | None = None,
    manually_approves: bool | None = None,
) -> Actor:
    actor = get_actor(conn, actor_id)
    if actor is None or not actor.local:
        raise LookupError(actor_id)
    conn.execute(
        "UPDATE actors SET display_name = ?, summary = ?, manually_approves = ?, updated_at = ? "
        "WHERE id = ?",
        (
            actor.display_name if display_name is None else display_name,
            actor.summary if summary is None else summary,
            int(actor.manually_approves if manually_approves is None else manually_approves),
            clock.now_iso(),
            actor_id,
        ),
    )
    updated = get_actor(conn, actor_id)
    assert updated is not None
    return updated
