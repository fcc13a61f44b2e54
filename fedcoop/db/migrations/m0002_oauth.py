"""Schema 2: OAuth 2 applications, authorization codes and access tokens.

Secrets (client secrets, codes, tokens) are stored as SHA-256 hashes only: they are long
random strings, so a plain hash is enough, and a copy of the database grants nothing.
"""

from __future__ import annotations

from typing import Any

STATEMENTS = [
    """CREATE TABLE oauth_apps (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL UNIQUE,
        client_secret_hash TEXT NOT NULL,
        name TEXT NOT NULL,
        website TEXT,
        redirect_uris TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE oauth_codes (
        code_hash TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
        account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        redirect_uri TEXT NOT NULL,
        scopes TEXT NOT NULL,
        code_challenge TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    )""",
    """CREATE TABLE oauth_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        app_id TEXT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
        account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
        scopes TEXT NOT NULL,
        code_hash TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
    )""",
    # A reused authorization code revokes what it issued (RFC 6749 section 4.1.2).
    "CREATE INDEX oauth_tokens_code ON oauth_tokens (code_hash) WHERE code_hash IS NOT NULL",
    "CREATE INDEX oauth_tokens_account ON oauth_tokens (account_id)",
    "CREATE INDEX oauth_tokens_app ON oauth_tokens (app_id)",
    "CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at)",
]


def migrate(db: Any) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
