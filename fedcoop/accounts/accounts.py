"""Accounts: a local Person actor with a role and an argon2id password hash."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fedcoop import clock, ids
from fedcoop.accounts.actors import Actor, create_local_actor, get_actor
from fedcoop.accounts.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from fedcoop.errors import ValidationError
from fedcoop.uris import Uris

ROLES = ("member", "client", "admin")


@dataclass(frozen=True)
class Account:
    id: str
    actor_id: str
    role: str
    username: str
    display_name: str
    disabled: bool
    created_at: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


_SELECT = (
    "SELECT accounts.id, accounts.actor_id, accounts.role, actors.username, actors.display_name, "
    "accounts.disabled, accounts.created_at FROM accounts JOIN actors ON actors.id = accounts.actor_id"
)


def _account(row: sqlite3.Row | None) -> Account | None:
    if row is None:
        return None
    return Account(
        id=row["id"],
        actor_id=row["actor_id"],
        role=row["role"],
        username=row["username"],
        display_name=row["display_name"],
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
    )


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return password


def create_account(
    conn: sqlite3.Connection,
    uris: Uris,
    username: str,
    password: str,
    *,
    role: str = "member",
    display_name: str = "",
) -> Account:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role")
    validate_password(password)
    actor = create_local_actor(conn, uris, "Person", username, display_name=display_name)
    account_id = ids.new_id()
    conn.execute(
        "INSERT INTO accounts (id, actor_id, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        (account_id, actor.id, role, hash_password(password), clock.now_iso()),
    )
    account = get_account(conn, account_id)
    assert account is not None
    return account


def get_account(conn: sqlite3.Connection, account_id: str) -> Account | None:
    return _account(conn.execute(f"{_SELECT} WHERE accounts.id = ?", (account_id,)).fetchone())


def get_account_by_username(conn: sqlite3.Connection, username: str) -> Account | None:
    row = conn.execute(
        f"{_SELECT} WHERE actors.local = 1 AND actors.username = ? COLLATE NOCASE", (username,)
    ).fetchone()
    return _account(row)


def get_account_by_actor(conn: sqlite3.Connection, actor_id: str) -> Account | None:
    return _account(conn.execute(f"{_SELECT} WHERE accounts.actor_id = ?", (actor_id,)).fetchone())


def list_accounts(conn: sqlite3.Connection) -> list[Account]:
    rows = conn.execute(f"{_SELECT} ORDER BY accounts.id").fetchall()
    return [a for a in (_account(r) for r in rows) if a is not None]


def authenticate(conn: sqlite3.Connection, username: str, password: str) -> Account | None:
    """The account if the password is right; None for a wrong password or an unknown user
    alike (same answer, and the same argon2 cost, for both)."""
    row = conn.execute(
        "SELECT accounts.id, accounts.password_hash, accounts.disabled FROM accounts "
        "JOIN actors ON actors.id = accounts.actor_id "
        "WHERE actors.local = 1 AND actors.username = ? COLLATE NOCASE",
        (username,),
    ).fetchone()
    ok = verify_password(row["password_hash"] if row else None, password)
    if not ok or row is None or row["disabled"]:
        return None
    return get_account(conn, row["id"])


def set_password(conn: sqlite3.Connection, account_id: str, password: str) -> None:
    validate_password(password)
    conn.execute(
        "UPDATE accounts SET password_hash = ? WHERE id = ?", (hash_password(password), account_id)
    )


def actor_of(conn: sqlite3.Connection, account: Account) -> Actor:
    actor = get_actor(conn, account.actor_id)
    assert actor is not None
    return actor


def count_accounts(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM accounts WHERE disabled = 0").fetchone()[0])


def count_active_accounts(conn: sqlite3.Connection, *, days: int) -> int:
    """Accounts that signed in (browser or OAuth) within the last `days` days."""
    return int(
        conn.execute(
            "SELECT count(*) FROM accounts WHERE disabled = 0 AND last_signin_at >= "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)",
            (f"-{int(days)} days",),
        ).fetchone()[0]
    )


def record_signin(conn: sqlite3.Connection, account_id: str) -> None:
    conn.execute(
        "UPDATE accounts SET last_signin_at = ? WHERE id = ?", (clock.now_iso(), account_id)
    )
