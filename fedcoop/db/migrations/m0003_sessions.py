"""Schema 3: browser sessions.

Only the SHA-256 hash of a session token is stored: the token is 256 random bits, so a plain
hash cannot be reversed, and a copy of the database (a backup, a leaked file) signs nobody in.
"""

from __future__ import annotations

from typing import Any

STATEMENTS = [
    """CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    # "Sign out everywhere" and disabling an account delete by account; purging by expiry.
    "CREATE INDEX sessions_account ON sessions (account_id)",
    "CREATE INDEX sessions_expiry ON sessions (expires_at)",
]


def migrate(db: Any) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
