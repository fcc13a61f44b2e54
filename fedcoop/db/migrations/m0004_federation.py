"""Schema 4: the federation engine and the social graph.

inbox_items (walk a), events -> activities -> deliveries (walk b), remote hosts' health,
domain policy, tombstones, blocks, notes with their addressing and mentions, notifications.
"""

from __future__ import annotations

from typing import Any

STATEMENTS = [
    # Key lookups by an Ed25519 verification method (FEP-8b32 proofs) must not scan actors.
    "CREATE INDEX actors_ed25519_key_id ON actors (ed25519_key_id)",
    # (a) intake: stored before 202, applied by the inbox worker.
    """CREATE TABLE inbox_items (
        id TEXT PRIMARY KEY,
        activity_uri TEXT NOT NULL UNIQUE,
        activity_type TEXT NOT NULL,
        object_type TEXT,
        actor_uri TEXT NOT NULL,
        signer_uri TEXT NOT NULL,
        auth TEXT NOT NULL CHECK (auth IN ('cavage', 'rfc9421', 'proof')),
        recipient TEXT,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        locked_until TEXT,
        last_error TEXT,
        received_at TEXT NOT NULL,
        processed_at TEXT
    )""",
    "CREATE INDEX inbox_items_ready ON inbox_items (state, next_attempt_at)",
    # A Delete wins over a later replay of the Create it deleted.
    """CREATE TABLE tombstones (
        uri TEXT PRIMARY KEY,
        former_type TEXT,
        deleted_at TEXT NOT NULL
    )""",
    # (b) domain events, written in the same transaction as the change they describe.
    """CREATE TABLE events (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        actor_id TEXT NOT NULL REFERENCES actors (id),
        subject_id TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        locked_until TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX events_ready ON events (state, next_attempt_at)",
    # Activities this instance published: dereferenceable ids and the outbox collection.
    """CREATE TABLE activities (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        actor_id TEXT NOT NULL REFERENCES actors (id),
        type TEXT NOT NULL,
        object_uri TEXT,
        body TEXT NOT NULL,
        public INTEGER NOT NULL DEFAULT 0,
        event_id TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX activities_outbox ON activities (actor_id, public, id)",
    """CREATE TABLE deliveries (
        id TEXT PRIMARY KEY,
        activity_id TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
        inbox TEXT NOT NULL,
        host TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        locked_until TEXT,
        last_status INTEGER,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (activity_id, inbox)
    )""",
    "CREATE INDEX deliveries_ready ON deliveries (state, next_attempt_at)",
    "CREATE INDEX deliveries_host ON deliveries (host, state)",
    """CREATE TABLE hosts (
        host TEXT PRIMARY KEY,
        last_success_at TEXT,
        last_failure_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        failing_since TEXT,  -- first failure of the current streak (cool-down needs its age)
        cooldown_until TEXT,
        last_error TEXT
    )""",
    # Federation policy: `block` (a domain and its subdomains) or `allow` (allowlist mode).
    """CREATE TABLE domain_policies (
        domain TEXT PRIMARY KEY,
        policy TEXT NOT NULL CHECK (policy IN ('block', 'allow')),
        reason TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE actor_blocks (
        id TEXT PRIMARY KEY,
        blocker_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        blocked_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        activity_uri TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (blocker_id, blocked_id)
    )""",
    # Notes, local and remote. `content` is sanitised HTML; `source` the local author's text.
    """CREATE TABLE notes (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        url TEXT,
        author_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        local INTEGER NOT NULL DEFAULT 0,
        in_reply_to_uri TEXT,
        in_reply_to_id TEXT REFERENCES notes (id) ON DELETE SET NULL,
        conversation TEXT,
        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'unlisted', 'followers',
                                                       'direct')),
        audience TEXT,
        summary TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        source TEXT,
        name TEXT,
        sensitive INTEGER NOT NULL DEFAULT 0,
        language TEXT,
        published_at TEXT NOT NULL,
        edited_at TEXT,
        deleted_at TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX notes_author ON notes (author_id, id)",
    "CREATE INDEX notes_reply ON notes (in_reply_to_uri)",
    "CREATE INDEX notes_public ON notes (visibility, id)",
    # Who a note was addressed to (to/cc actors), so followers-only and direct notes are shown
    # only to those they were sent to.
    """CREATE TABLE note_addressees (
        note_id TEXT NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
        actor_uri TEXT NOT NULL,
        PRIMARY KEY (note_id, actor_uri)
    )""",
    "CREATE INDEX note_addressees_actor ON note_addressees (actor_uri)",
    """CREATE TABLE mentions (
        note_id TEXT NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
        actor_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        PRIMARY KEY (note_id, actor_id)
    )""",
    "CREATE INDEX mentions_actor ON mentions (actor_id, note_id)",
    """CREATE TABLE notifications (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        from_actor_id TEXT REFERENCES actors (id) ON DELETE CASCADE,
        note_id TEXT REFERENCES notes (id) ON DELETE CASCADE,
        subject_uri TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        read_at TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX notifications_account ON notifications (account_id, id)",
]


def migrate(db: Any) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
