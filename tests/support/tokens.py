"""Bearer tokens for API tests, minted through the OAuth domain functions (the grant flows
themselves are tested in test_oauth*.py): a registered app, then a token for a user or for
the app alone (client_credentials)."""

from __future__ import annotations

import sqlite3

from fedcoop import clock
from fedcoop.accounts import accounts, oauth
from fedcoop.config import Settings
from fedcoop.db import Database


def _app(conn: sqlite3.Connection) -> oauth.OAuthApp:
    return oauth.create_app(
        conn,
        name="Dispatch test app",
        redirect_uris="urn:ietf:wg:oauth:2.0:oob",
        scopes="read write read:gigs write:gigs",
        website=None,
        now=clock.now(),
    ).app


def issue_token(
    settings: Settings, username: str | None, scopes: str = "read:gigs write:gigs"
) -> str:
    """A token for `username` (None: an app token) with these scopes."""
    db = Database(settings.database_path)

    def mint(conn: sqlite3.Connection) -> str:
        account_id = None
        if username is not None:
            account = accounts.get_account_by_username(conn, username)
            assert account is not None, username
            account_id = account.id
        issued = oauth.issue_token(
            conn,
            _app(conn),
            account_id=account_id,
            scopes=tuple(scopes.split()),
            now=clock.now(),
            token_days=1,
        )
        return issued.access_token

    try:
        return db.write_sync(mint)
    finally:
        db.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
