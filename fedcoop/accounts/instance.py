"""The instance itself: its metadata, its secret, its actor, and first-time set-up."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from fedcoop import __version__, clock
from fedcoop.accounts.accounts import Account, create_account
from fedcoop.accounts.actors import Actor, create_local_actor, get_instance_actor
from fedcoop.accounts.coops import Coop, create_coop
from fedcoop.uris import Uris


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM instance_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO instance_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def instance_secret(conn: sqlite3.Connection) -> str:
    """The secret that keys CSRF tokens; made once at init."""
    value = get_meta(conn, "secret")
    if value is None:
        raise LookupError("instance not initialised: no secret")
    return value


def instance_actor_username(uris: Uris) -> str:
    # Mastodon names its instance actor after the domain; the host alone keeps it free of
    # the port and, holding dots, it can never collide with a member's name.
    return uris.domain.split(":")[0]


def ensure_instance(conn: sqlite3.Connection, uris: Uris) -> Actor:
    """Create the instance actor and secret if missing (idempotent)."""
    if get_meta(conn, "secret") is None:
        set_meta(conn, "secret", secrets.token_urlsafe(48))
        set_meta(conn, "created_at", clock.now_iso())
        set_meta(conn, "domain", uris.domain)
    set_meta(conn, "software_version", __version__)
    actor = get_instance_actor(conn)
    if actor is None:
        actor = create_local_actor(
            conn,
            uris,
            "Application",
            instance_actor_username(uris),
            display_name=uris.domain,
            manually_approves=True,
        )
    return actor


@dataclass(frozen=True)
class Bootstrap:
    instance_actor: Actor
    coop: Coop
    admin: Account


def bootstrap(
    conn: sqlite3.Connection,
    uris: Uris,
    *,
    coop_name: str,
    coop_title: str,
    admin_username: str,
    admin_password: str,
) -> Bootstrap:
    """What `fedcoop init` creates: the instance actor, the first admin and the first coop."""
    instance_actor = ensure_instance(conn, uris)
    admin = create_account(conn, uris, admin_username, admin_password, role="admin")
    coop = create_coop(conn, uris, coop_name, title=coop_title, admin_actor_id=admin.actor_id)
    return Bootstrap(instance_actor=instance_actor, coop=coop, admin=admin)
