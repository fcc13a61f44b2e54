"""Schema 1: instance metadata, actors (local and remote), keys, accounts, coops, follows."""

from __future__ import annotations

from typing import Any

STATEMENTS = [
    """CREATE TABLE instance_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    # One table for local and remote actors (as GoToSocial does): follows, notes and gigs
    # point at an actor row whether it lives here or elsewhere.
    """CREATE TABLE actors (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL CHECK (type IN ('Person', 'Group', 'Application', 'Service',
                                           'Organization')),
        username TEXT NOT NULL,
        host TEXT NOT NULL,
        local INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1)),
        display_name TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '',
        url TEXT,
        inbox TEXT,
        outbox TEXT,
        shared_inbox TEXT,
        followers TEXT,
        following TEXT,
        manually_approves INTEGER NOT NULL DEFAULT 0,
        public_key_id TEXT,
        public_key_pem TEXT,
        ed25519_key_id TEXT,
        ed25519_multibase TEXT,
        implements TEXT NOT NULL DEFAULT '[]',
        also_known_as TEXT NOT NULL DEFAULT '[]',
        moved_to TEXT,
        raw TEXT,
        fetched_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE UNIQUE INDEX actors_handle ON actors (username COLLATE NOCASE, host)",
    "CREATE INDEX actors_public_key_id ON actors (public_key_id)",
    # Private keys sit apart from the actor rows so no query that serves actors can reach them.
    """CREATE TABLE actor_keys (
        actor_id TEXT PRIMARY KEY REFERENCES actors (id) ON DELETE CASCADE,
        rsa_private_pem TEXT NOT NULL,
        ed25519_private_pem TEXT NOT NULL
    )""",
    """CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        actor_id TEXT NOT NULL UNIQUE REFERENCES actors (id),
        role TEXT NOT NULL CHECK (role IN ('member', 'client', 'admin')),
        password_hash TEXT NOT NULL,
        email TEXT,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        last_signin_at TEXT
    )""",
    """CREATE TABLE coops (
        actor_id TEXT PRIMARY KEY REFERENCES actors (id),
        title TEXT NOT NULL,
        about TEXT NOT NULL DEFAULT '',
        rules TEXT NOT NULL DEFAULT '',
        admission TEXT NOT NULL DEFAULT 'approval'
            CHECK (admission IN ('open', 'approval', 'vote', 'closed')),
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE memberships (
        id TEXT PRIMARY KEY,
        coop_actor_id TEXT NOT NULL REFERENCES actors (id),
        actor_id TEXT NOT NULL REFERENCES actors (id),
        role TEXT NOT NULL CHECK (role IN ('member', 'moderator', 'admin', 'outcast')),
        state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'left', 'removed', 'rejected')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (coop_actor_id, actor_id)
    )""",
    """CREATE TABLE follows (
        id TEXT PRIMARY KEY,
        follower_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        followee_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
        activity_uri TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (follower_id, followee_id)
    )""",
    "CREATE INDEX follows_followee ON follows (followee_id, state, id)",
]


def migrate(db: Any) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
