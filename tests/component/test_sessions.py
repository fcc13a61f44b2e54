"""Browser sessions in the domain: hashed tokens, fixed expiry, rotation, purge."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.accounts import sessions
from fedcoop.accounts.accounts import get_account_by_username
from fedcoop.config import Settings
from fedcoop.db import Database


@pytest.fixture
def db(settings: Settings) -> Database:
    return Database(settings.database_path)


def _alice_id(db: Database) -> str:
    account = db.read_sync(lambda conn: get_account_by_username(conn, "alice"))
    assert account is not None
    return account.id


def _start(db: Database, account_id: str, **kwargs: Any) -> sessions.NewSession:
    return db.write_sync(lambda conn: sessions.start_session(conn, account_id, days=30, **kwargs))


def _lookup(db: Database, token: str, **kwargs: Any) -> Any:
    return db.read_sync(lambda conn: sessions.account_for_session(conn, token, **kwargs))


def test_a_session_finds_its_account_and_stores_only_the_hash(db: Database) -> None:
    # given alice
    alice = _alice_id(db)
    # when a session starts for her
    new = _start(db, alice)
    # then its token finds her, the row holds the token's hash only, and the sign-in is recorded
    account = _lookup(db, new.token)
    assert account is not None and account.username == "alice"

    def dump(conn: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], Any]:
        rows = [tuple(r) for r in conn.execute("SELECT * FROM sessions")]
        signin = conn.execute(
            "SELECT last_signin_at FROM accounts WHERE id = ?", (alice,)
        ).fetchone()[0]
        return rows, signin

    rows, last_signin = db.read_sync(dump)
    assert len(rows) == 1
    assert new.token not in repr(rows)
    assert rows[0][0] == sessions.token_hash(new.token)
    assert last_signin is not None


def test_a_session_expires_after_its_days(db: Database) -> None:
    # given a session started now for 30 days
    start = clock.now()
    new = _start(db, _alice_id(db), now=start)
    assert new.expires_at == start + timedelta(days=30)
    # then it works just before its end and not at its end
    assert _lookup(db, new.token, now=start + timedelta(days=30, seconds=-1)) is not None
    assert _lookup(db, new.token, now=start + timedelta(days=30)) is None


def test_purge_removes_expired_sessions_only(db: Database) -> None:
    alice = _alice_id(db)
    start = clock.now()
    old = _start(db, alice, now=start - timedelta(days=31))
    fresh = _start(db, alice, now=start)
    # when expired sessions are purged (a sign-in does it too: `old` is already gone)
    purged = db.write_sync(lambda conn: sessions.purge_expired_sessions(conn, now=start))
    assert purged == 0
    count = db.read_sync(lambda conn: conn.execute("SELECT count(*) FROM sessions").fetchone()[0])
    assert count == 1
    assert _lookup(db, old.token, now=start - timedelta(days=30)) is None
    assert _lookup(db, fresh.token) is not None
    # and a later purge removes the one left once it has expired
    later = start + timedelta(days=31)
    assert db.write_sync(lambda conn: sessions.purge_expired_sessions(conn, now=later)) == 1


def test_a_new_sign_in_replaces_the_browsers_previous_token(db: Database) -> None:
    alice = _alice_id(db)
    first = _start(db, alice)
    second = _start(db, alice, replaces=first.token)
    assert second.token != first.token
    assert _lookup(db, first.token) is None
    assert _lookup(db, second.token) is not None


def test_deleted_and_unknown_tokens_find_nobody(db: Database) -> None:
    alice = _alice_id(db)
    kept = _start(db, alice)
    ended = _start(db, alice)
    assert db.write_sync(lambda conn: sessions.delete_session(conn, ended.token)) is True
    assert db.write_sync(lambda conn: sessions.delete_session(conn, ended.token)) is False
    assert _lookup(db, ended.token) is None
    assert _lookup(db, kept.token) is not None
    assert _lookup(db, "") is None
    assert _lookup(db, "x" * 1000) is None
    assert _lookup(db, kept.token + "x") is None


def test_disabled_accounts_and_sign_out_everywhere(db: Database) -> None:
    alice = _alice_id(db)
    one, two = _start(db, alice), _start(db, alice)
    # a disabled account's sessions stop working at once
    db.write_sync(
        lambda conn: conn.execute("UPDATE accounts SET disabled = 1 WHERE id = ?", (alice,))
    )
    assert _lookup(db, one.token) is None
    db.write_sync(
        lambda conn: conn.execute("UPDATE accounts SET disabled = 0 WHERE id = ?", (alice,))
    )
    assert _lookup(db, one.token) is not None
    # and ending all of an account's sessions ends both
    assert db.write_sync(lambda conn: sessions.delete_sessions_of(conn, alice)) == 2
    assert _lookup(db, one.token) is None and _lookup(db, two.token) is None
