"""Browser sessions: an opaque random token held in a cookie, stored here only as its hash.

A session lasts a fixed number of days from sign-in (no sliding renewal): a stolen cookie
stops working on a known date, and signing in again is cheap. Every sign-in makes a new
token, so a token planted before sign-in (session fixation) never becomes a signed-in one.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from fedcoop import clock
from fedcoop.accounts.accounts import Account, get_account, record_signin

# A token longer than this was not made here; refusing it early keeps lookups cheap.
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class NewSession:
    """The clear token, which exists only in the cookie from now on, and its expiry."""

    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    conn: sqlite3.Connection,
    account_id: str,
    *,
    days: int,
    replaces: str | None = None,
    now: datetime | None = None,
) -> NewSession:
    """Record a sign-in of `account_id` and start its session, in one transaction.

    `replaces` is the browser's previous token, if any: it is deleted, so a sign-in leaves
    one live token per browser rather than piling them up."""
    moment = now or clock.now()
    if replaces:
        delete_session(conn, replaces)
    record_signin(conn, account_id)
    # Purging here bounds the table without a background job: sign-ins are rare and the
    # DELETE walks the expiry index.
    purge_expired_sessions(conn, now=moment)
    token = secrets.token_urlsafe(32)
    expires_at = moment + timedelta(days=days)
    conn.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (token_hash(token), account_id, clock.iso(moment), clock.iso(expires_at)),
    )
    return NewSession(token, expires_at)


def account_for_session(
    conn: sqlite3.Connection, token: str, *, now: datetime | None = None
) -> Account | None:
    """The account a live session token belongs to; None when unknown, expired or disabled."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = conn.execute(
        "SELECT account_id FROM sessions WHERE token_hash = ? AND expires_at > ?",
        (token_hash(token), clock.iso(now or clock.now())),
    ).fetchone()
    if row is None:
        return None
    account = get_account(conn, row["account_id"])
    if account is None or account.disabled:
        return None
    return account


def delete_session(conn: sqlite3.Connection, token: str) -> bool:
    """End one session; True if it existed."""
    cursor = conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))
    return cursor.rowcount > 0


def delete_sessions_of(conn: sqlite3.Connection, account_id: str) -> int:
    """End every session of an account (password change, account disabled)."""
    return conn.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,)).rowcount


def purge_expired_sessions(conn: sqlite3.Connection, *, now: datetime | None = None) -> int:
    return conn.execute(
        "DELETE FROM sessions WHERE expires_at <= ?", (clock.iso(now or clock.now()),)
    ).rowcount
