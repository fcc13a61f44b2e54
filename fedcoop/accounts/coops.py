"""Coops: a local Group actor, its charter (title, about, rules, admission) and its roles."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fedcoop import clock, ids
from fedcoop.accounts.actors import (
    ACTOR_COLUMNS,
    Actor,
    actor_from_row,
    create_local_actor,
    get_actor,
)
from fedcoop.errors import ValidationError
from fedcoop.uris import Uris

ADMISSION_MODES = ("open", "approval", "vote", "closed")


@dataclass(frozen=True)
class Coop:
    actor: Actor
    title: str
    about: str
    rules: str
    admission: str

    @property
    def name(self) -> str:
        return self.actor.username


def create_coop(
    conn: sqlite3.Connection,
    uris: Uris,
    name: str,
    *,
    title: str = "",
    about: str = "",
    admission: str = "approval",
    admin_actor_id: str | None = None,
) -> Coop:
    if admission not in ADMISSION_MODES:
        raise ValidationError(
            f"admission must be one of {', '.join(ADMISSION_MODES)}", field="admission"
        )
    actor = create_local_actor(conn, uris, "Group", name, display_name=title or name, summary=about)
    now = clock.now_iso()
    conn.execute(
        "INSERT INTO coops (actor_id, title, about, admission, created_at) VALUES (?, ?, ?, ?, ?)",
        (actor.id, title or name, about, admission, now),
    )
    if admin_actor_id is not None:
        add_role(conn, actor.id, admin_actor_id, "admin")
    coop = get_coop(conn, name)
    assert coop is not None
    return coop


def add_role(conn: sqlite3.Connection, coop_actor_id: str, actor_id: str, role: str) -> None:
    now = clock.now_iso()
    conn.execute(
        """INSERT INTO memberships (id, coop_actor_id, actor_id, role, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'active', ?, ?)
           ON CONFLICT (coop_actor_id, actor_id)
           DO UPDATE SET role = excluded.role, state = 'active', updated_at = excluded.updated_at""",
        (ids.new_id(), coop_actor_id, actor_id, role, now, now),
    )


def _coop(conn: sqlite3.Connection, row: sqlite3.Row | None) -> Coop | None:
    if row is None:
        return None
    actor = get_actor(conn, row["actor_id"])
    assert actor is not None
    return Coop(
        actor=actor,
        title=row["title"],
        about=row["about"],
        rules=row["rules"],
        admission=row["admission"],
    )


def get_coop(conn: sqlite3.Connection, name: str) -> Coop | None:
    row = conn.execute(
        "SELECT coops.* FROM coops JOIN actors ON actors.id = coops.actor_id "
        "WHERE actors.local = 1 AND actors.username = ? COLLATE NOCASE",
        (name,),
    ).fetchone()
    return _coop(conn, row)


def get_coop_by_actor(conn: sqlite3.Connection, actor_id: str) -> Coop | None:
    return _coop(
        conn, conn.execute("SELECT * FROM coops WHERE actor_id = ?", (actor_id,)).fetchone()
    )


def list_coops(conn: sqlite3.Connection) -> list[Coop]:
    rows = conn.execute("SELECT * FROM coops ORDER BY created_at, actor_id").fetchall()
    return [c for c in (_coop(conn, r) for r in rows) if c is not None]


def coop_staff(
    conn: sqlite3.Connection, coop_actor_id: str, roles: tuple[str, ...] = ("admin",)
) -> list[Actor]:
    """Actors holding one of `roles` in the coop (admins are the Group's `attributedTo`)."""
    marks = ", ".join("?" for _ in roles)
    rows = conn.execute(
        f"SELECT {ACTOR_COLUMNS} FROM memberships JOIN actors ON actors.id = memberships.actor_id "
        f"WHERE memberships.coop_actor_id = ? AND memberships.state = 'active' "
        f"AND memberships.role IN ({marks}) ORDER BY memberships.created_at",
        (coop_actor_id, *roles),
    ).fetchall()
    return [actor_from_row(r) for r in rows]


def memberships_of(conn: sqlite3.Connection, actor_id: str) -> list[tuple[Coop, str]]:
    """The coops this actor belongs to, with the role held in each."""
    rows = conn.execute(
        "SELECT coop_actor_id, role FROM memberships WHERE actor_id = ? AND state = 'active' "
        "AND role != 'outcast' ORDER BY created_at",
        (actor_id,),
    ).fetchall()
    out = []
    for row in rows:
        coop = get_coop_by_actor(conn, row["coop_actor_id"])
        if coop is not None:
            out.append((coop, row["role"]))
    return out
