"""Membership of cooperatives, on both sides of the wire (FEP-5219).

One `memberships` row per (coop, person), reused when a person asks again after leaving or
being refused. Its lifecycle is `MembershipStates`: a request is `pending` until the coop
admits (`active`) or refuses it (`rejected`); a member `left` or was `removed`; any of those
may ask again (back to `pending`). Roles: member, moderator, admin, outcast.

The same table serves two sides:
- a LOCAL coop's rows are the truth: admins (or a member vote, or the open admission mode)
  decide, and every change emits the event the outbox turns into Accept/Add, Reject or Remove;
- a REMOTE coop's rows held for a LOCAL person are what that coop told us: `pending` after our
  Join left, `active` only once the coop's own signed Relationship arrived (`relationship`,
  `verified_at`); the federation layer checks the signature before calling `receive_added`.

What a join request becomes (open, approval, vote, closed) is decided in `admission.py`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fedcoop import clock, ids
from fedcoop.accounts.actors import ACTOR_COLUMNS, Actor, actor_from_row, get_actor
from fedcoop.accounts.coops import Coop, get_coop_by_actor
from fedcoop.db.jobs import StateGraph, transition
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.social.events import emit
from fedcoop.uris import Uris

ROLES = ("member", "moderator", "admin", "outcast")
TABLE = "memberships"


class MembershipStates(StateGraph):
    name = "membership"
    initial = "pending"
    transitions = {
        "pending": frozenset({"active", "rejected", "left"}),  # left: the request withdrawn
        "active": frozenset({"left", "removed"}),
        # Asking again reuses the row (one row per coop and person).
        "left": frozenset({"pending"}),
        "rejected": frozenset({"pending"}),
        "removed": frozenset({"pending"}),
    }


@dataclass(frozen=True)
class Membership:
    id: str
    coop_actor_id: str
    actor_id: str
    role: str
    state: str
    join_uri: str | None
    relationship: str | None  # the coop-signed Relationship (JSON), remote coops only
    verified_at: str | None
    created_at: str
    updated_at: str

    @property
    def active(self) -> bool:
        return self.state == "active" and self.role != "outcast"


def _membership(row: sqlite3.Row | None) -> Membership | None:
    if row is None:
        return None
    return Membership(
        id=row["id"],
        coop_actor_id=row["coop_actor_id"],
        actor_id=row["actor_id"],
        role=row["role"],
        state=row["state"],
        join_uri=row["join_uri"],
        relationship=row["relationship"],
        verified_at=row["verified_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# lookups ------------------------------------------------------------------------------------


def get_membership(conn: sqlite3.Connection, membership_id: str) -> Membership | None:
    return _membership(
        conn.execute("SELECT * FROM memberships WHERE id = ?", (membership_id,)).fetchone()
    )


def find_membership(
    conn: sqlite3.Connection, coop_actor_id: str, actor_id: str
) -> Membership | None:
    return _membership(
        conn.execute(
            "SELECT * FROM memberships WHERE coop_actor_id = ? AND actor_id = ?",
            (coop_actor_id, actor_id),
        ).fetchone()
    )


def find_by_join(conn: sqlite3.Connection, join_uri: str) -> Membership | None:
    return _membership(
        conn.execute("SELECT * FROM memberships WHERE join_uri = ?", (join_uri,)).fetchone()
    )


def is_member(conn: sqlite3.Connection, coop_actor_id: str, actor_id: str) -> bool:
    found = find_membership(conn, coop_actor_id, actor_id)
    return found is not None and found.active


def role_of(conn: sqlite3.Connection, coop_actor_id: str, actor_id: str) -> str | None:
    found = find_membership(conn, coop_actor_id, actor_id)
    return found.role if found is not None and found.state == "active" else None


def is_admin(conn: sqlite3.Connection, coop_actor_id: str, actor_id: str) -> bool:
    return role_of(conn, coop_actor_id, actor_id) == "admin"


def active_members(conn: sqlite3.Connection, coop_actor_id: str) -> list[tuple[Actor, str]]:
    """(actor, role) of the coop's current members (outcasts excluded), admins first."""
    rows = conn.execute(
        f"SELECT {ACTOR_COLUMNS}, memberships.role AS m_role FROM memberships "
        "JOIN actors ON actors.id = memberships.actor_id "
        "WHERE memberships.coop_actor_id = ? AND memberships.state = 'active' "
        "AND memberships.role != 'outcast' "
        "ORDER BY CASE memberships.role WHEN 'admin' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END, "
        "memberships.created_at, memberships.id",
        (coop_actor_id,),
    ).fetchall()
    out = []
    for row in rows:
        data = dict(row)
        role = data.pop("m_role")
        out.append((actor_from_row(data), role))  # type: ignore[arg-type]
    return out


def _with_actors(
    conn: sqlite3.Connection, rows: list[sqlite3.Row]
) -> list[tuple[Membership, Actor]]:
    """Each membership row with its actor (rows whose actor is gone are left out)."""
    out = []
    for row in rows:
        membership = _membership(row)
        actor = get_actor(conn, row["actor_id"])
        if membership is not None and actor is not None:
            out.append((membership, actor))
    return out


def member_rows(conn: sqlite3.Connection, coop_actor_id: str) -> list[tuple[Membership, Actor]]:
    """Every active row of a coop (outcasts included, last), admins first, with the actor."""
    rows = conn.execute(
        "SELECT * FROM memberships WHERE coop_actor_id = ? AND state = 'active' "
        "ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'moderator' THEN 1 WHEN 'member' THEN 2 "
        "ELSE 3 END, created_at, id",
        (coop_actor_id,),
    ).fetchall()
    return _with_actors(conn, rows)


def count_active_members(conn: sqlite3.Connection, coop_actor_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM memberships WHERE coop_actor_id = ? AND state = 'active' "
        "AND role != 'outcast'",
        (coop_actor_id,),
    ).fetchone()
    return int(row[0])


def remote_member_uris(conn: sqlite3.Connection, coop_actor_ids: tuple[str, ...]) -> list[str]:
    """The ids of the active members on other servers of these coops (the outbox's
    `Audience.members_of`): each is delivered to, so members-only posts reach them."""
    if not coop_actor_ids:
        return []
    marks = ", ".join("?" * len(coop_actor_ids))
    rows = conn.execute(
        "SELECT DISTINCT actors.uri FROM memberships JOIN actors ON actors.id = memberships.actor_id "
        f"WHERE memberships.coop_actor_id IN ({marks}) AND memberships.state = 'active' "
        "AND memberships.role != 'outcast' AND actors.local = 0 ORDER BY actors.uri",
        coop_actor_ids,
    ).fetchall()
    return [str(r[0]) for r in rows]


def local_members_of(conn: sqlite3.Connection, coop_actor_id: str) -> list[str]:
    """Ids of this instance's people who are active members of a (remote) coop."""
    rows = conn.execute(
        "SELECT memberships.actor_id FROM memberships JOIN actors "
        "ON actors.id = memberships.actor_id WHERE memberships.coop_actor_id = ? "
        "AND memberships.state = 'active' AND actors.local = 1",
        (coop_actor_id,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def pending_requests(
    conn: sqlite3.Connection, coop_actor_id: str
) -> list[tuple[Membership, Actor]]:
    rows = conn.execute(
        "SELECT * FROM memberships WHERE coop_actor_id = ? AND state = 'pending' "
        "ORDER BY created_at, id",
        (coop_actor_id,),
    ).fetchall()
    return _with_actors(conn, rows)


def memberships_of(conn: sqlite3.Connection, actor_id: str) -> list[tuple[Membership, Actor]]:
    """Every membership row of an actor (any state), with the coop's actor."""
    rows = conn.execute(
        "SELECT * FROM memberships WHERE actor_id = ? ORDER BY created_at, id", (actor_id,)
    ).fetchall()
    out = []
    for row in rows:
        membership = _membership(row)
        coop = get_actor(conn, row["coop_actor_id"])
        if membership is not None and coop is not None:
            out.append((membership, coop))
    return out


def affiliations_page(
    conn: sqlite3.Connection, coop_actor_id: str, *, before: str | None, limit: int
) -> list[tuple[Membership, Actor]]:
    """Current relationships of a coop (outcasts included: FEP-5219 lists them), newest first,
    strictly older than the membership id `before`."""
    rows = conn.execute(
        "SELECT * FROM memberships WHERE coop_actor_id = ? AND state = 'active' AND id < ? "
        "ORDER BY id DESC LIMIT ?",
        (coop_actor_id, before or "~", limit),
    ).fetchall()
    return _with_actors(conn, rows)


def count_affiliations(conn: sqlite3.Connection, coop_actor_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM memberships WHERE coop_actor_id = ? AND state = 'active'",
        (coop_actor_id,),
    ).fetchone()
    return int(row[0])


def local_coop(conn: sqlite3.Connection, coop_actor_id: str) -> Coop:
    coop = get_coop_by_actor(conn, coop_actor_id)
    if coop is None or not coop.actor.local:
        raise NotFound("There is no such cooperative here.")
    return coop


# the row and its moves ------------------------------------------------------------------------


def _insert_pending(
    conn: sqlite3.Connection, coop_actor_id: str, actor_id: str, join_uri: str | None
) -> Membership:
    now = clock.now_iso()
    membership_id = ids.new_id()
    conn.execute(
        "INSERT INTO memberships (id, coop_actor_id, actor_id, role, state, join_uri, "
        "created_at, updated_at) VALUES (?, ?, ?, 'member', ?, ?, ?, ?)",
        (membership_id, coop_actor_id, actor_id, MembershipStates.initial, join_uri, now, now),
    )
    found = get_membership(conn, membership_id)
    assert found is not None
    return found


def _move(
    conn: sqlite3.Connection, membership: Membership, new: str, **fields: object
) -> Membership:
    moved = transition(
        conn,
        TABLE,
        membership.id,
        MembershipStates,
        membership.state,
        new,
        updated_at=clock.now_iso(),
        **fields,
    )
    if not moved:
        raise Conflict("The membership changed meanwhile; try again.")
    found = get_membership(conn, membership.id)
    assert found is not None
    return found


def open_request(
    conn: sqlite3.Connection, coop_actor_id: str, actor_id: str, join_uri: str | None = None
) -> Membership:
    """A `pending` row for this person (new, or an old one asking again); an active or
    pending row is returned as it is, with its Join id brought up to date."""
    found = find_membership(conn, coop_actor_id, actor_id)
    if found is None:
        return _insert_pending(conn, coop_actor_id, actor_id, join_uri)
    if found.state in ("active", "pending"):
        if join_uri and found.join_uri != join_uri:
            conn.execute("UPDATE memberships SET join_uri = ? WHERE id = ?", (join_uri, found.id))
            refreshed = get_membership(conn, found.id)
            assert refreshed is not None
            return refreshed
        return found
    return _move(conn, found, "pending", role="member", join_uri=join_uri)


def _require_admin(conn: sqlite3.Connection, coop_actor_id: str, by_actor_id: str | None) -> None:
    """`None` is the coop itself acting on a decision (a vote, the open admission mode)."""
    if by_actor_id is not None and not is_admin(conn, coop_actor_id, by_actor_id):
        raise Forbidden("Only an admin of the cooperative can do this.")


def _keeps_an_admin(conn: sqlite3.Connection, membership: Membership) -> None:
    if membership.role != "admin":
        return
    admins = conn.execute(
        "SELECT count(*) FROM memberships WHERE coop_actor_id = ? AND state = 'active' "
        "AND role = 'admin'",
        (membership.coop_actor_id,),
    ).fetchone()[0]
    if admins <= 1:
        raise Conflict("A cooperative keeps at least one admin: name another admin first.")


# a LOCAL coop decides -------------------------------------------------------------------------


def admit(
    conn: sqlite3.Connection, membership_id: str, *, by_actor_id: str | None, role: str = "member"
) -> Membership:
    """Accept a pending request (an admin, or the coop itself when `by_actor_id` is None)."""
    membership = get_membership(conn, membership_id)
    if membership is None:
        raise NotFound("There is no such request.")
    local_coop(conn, membership.coop_actor_id)
    _require_admin(conn, membership.coop_actor_id, by_actor_id)
    if membership.state == "active":
        return membership
    if membership.state != "pending":
        raise Conflict("This request is no longer waiting for an answer.")
    admitted = _move(conn, membership, "active", role=_role(role))
    emit(conn, "membership.accepted", membership.coop_actor_id, admitted.id)
    return admitted


def resend_acceptance(conn: sqlite3.Connection, membership_id: str) -> None:
    """A member asks again (their server may have lost our answer): send Accept + Add anew."""
    found = get_membership(conn, membership_id)
    if found is not None and found.active:
        emit(conn, "membership.accepted", found.coop_actor_id, found.id)


def refuse(conn: sqlite3.Connection, membership_id: str, *, by_actor_id: str | None) -> Membership:
    """Refuse a pending request; a remote person's home instance is told with a Reject."""
    membership = get_membership(conn, membership_id)
    if membership is None:
        raise NotFound("There is no such request.")
    local_coop(conn, membership.coop_actor_id)
    _require_admin(conn, membership.coop_actor_id, by_actor_id)
    if membership.state == "rejected":
        return membership
    if membership.state != "pending":
        raise Conflict("This request is no longer waiting for an answer.")
    refused = _move(conn, membership, "rejected")
    emit(conn, "membership.rejected", membership.coop_actor_id, refused.id)
    return refused


def remove(
    conn: sqlite3.Connection, coop_actor_id: str, actor_id: str, *, by_actor_id: str | None
) -> Membership:
    """Remove a member of a local coop (Remove of the Relationship goes to them)."""
    local_coop(conn, coop_actor_id)
    _require_admin(conn, coop_actor_id, by_actor_id)
    membership = find_membership(conn, coop_actor_id, actor_id)
    if membership is None or membership.state != "active":
        raise NotFound("This person is not a member.")
    _keeps_an_admin(conn, membership)
    removed = _move(conn, membership, "removed")
    emit(conn, "membership.removed", coop_actor_id, removed.id)
    return removed


def set_role(
    conn: sqlite3.Connection,
    coop_actor_id: str,
    actor_id: str,
    role: str,
    *,
    by_actor_id: str | None,
) -> Membership:
    """Give an active member another role (an Add of the re-signed Relationship follows)."""
    local_coop(conn, coop_actor_id)
    _require_admin(conn, coop_actor_id, by_actor_id)
    membership = find_membership(conn, coop_actor_id, actor_id)
    if membership is None or membership.state != "active":
        raise NotFound("This person is not a member.")
    role = _role(role)
    if role == membership.role:
        return membership
    if role != "admin":
        _keeps_an_admin(conn, membership)
    conn.execute(
        "UPDATE memberships SET role = ?, updated_at = ? WHERE id = ?",
        (role, clock.now_iso(), membership.id),
    )
    emit(conn, "membership.role_changed", coop_actor_id, membership.id)
    if "admin" in (role, membership.role):
        # The Group's `attributedTo` lists its admins: servers holding a copy must refresh it.
        emit(conn, "actor.updated", coop_actor_id, coop_actor_id)
    changed = get_membership(conn, membership.id)
    assert changed is not None
    return changed


def member_leaves(conn: sqlite3.Connection, coop_actor_id: str, actor_id: str) -> Membership | None:
    """A member of a local coop leaves (a local button, or a remote Leave / Undo(Join)); a
    pending request is withdrawn the same way. None when there was nothing to leave."""
    local_coop(conn, coop_actor_id)
    membership = find_membership(conn, coop_actor_id, actor_id)
    if membership is None or membership.state not in ("active", "pending"):
        return None
    if membership.state == "active":
        _keeps_an_admin(conn, membership)
    return _move(conn, membership, "left")


def _role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"a role is one of {', '.join(ROLES)}", field="role")
    return role


# a LOCAL person and a REMOTE coop -------------------------------------------------------------


def send_join(
    conn: sqlite3.Connection, uris: Uris, actor_id: str, coop_actor_id: str
) -> Membership:
    """A local person asks a remote coop to join: the row waits, a Join goes out."""
    person = get_actor(conn, actor_id)
    coop = get_actor(conn, coop_actor_id)
    if person is None or not person.local or person.type != "Person":
        raise Forbidden("Only a local person can ask to join.")
    if coop is None or coop.local or coop.type != "Group":
        raise NotFound("There is no such remote cooperative.")
    found = find_membership(conn, coop_actor_id, actor_id)
    if found is not None and found.state == "active":
        return found
    join_uri = uris.object("joins", ids.new_id())
    membership = open_request(conn, coop_actor_id, actor_id, join_uri)
    emit(conn, "membership.join", actor_id, membership.id)
    return membership


def send_leave(conn: sqlite3.Connection, actor_id: str, coop_actor_id: str) -> Membership | None:
    """A local person leaves a remote coop (or withdraws a request): a Leave goes out."""
    membership = find_membership(conn, coop_actor_id, actor_id)
    coop = get_actor(conn, coop_actor_id)
    if membership is None or coop is None or coop.local:
        return None
    if membership.state not in ("active", "pending"):
        return None
    left = _move(conn, membership, "left", relationship=None, verified_at=None)
    emit(conn, "membership.leave", actor_id, left.id)
    return left


def receive_added(
    conn: sqlite3.Connection,
    coop_actor_id: str,
    actor_id: str,
    role: str,
    relationship_json: str,
) -> Membership:
    """The remote coop's own, verified Add of a Relationship naming a local person."""
    role = _role(role)
    membership = find_membership(conn, coop_actor_id, actor_id)
    if membership is None:
        membership = _insert_pending(conn, coop_actor_id, actor_id, None)
    elif membership.state not in ("pending", "active"):
        membership = _move(conn, membership, "pending")
    now = clock.now_iso()
    if membership.state == "active":
        conn.execute(
            "UPDATE memberships SET role = ?, relationship = ?, verified_at = ?, updated_at = ? "
            "WHERE id = ?",
            (role, relationship_json, now, now, membership.id),
        )
        found = get_membership(conn, membership.id)
        assert found is not None
        return found
    return _move(
        conn, membership, "active", role=role, relationship=relationship_json, verified_at=now
    )


def receive_rejected(
    conn: sqlite3.Connection, coop_actor_id: str, actor_id: str
) -> Membership | None:
    membership = find_membership(conn, coop_actor_id, actor_id)
    if membership is None or membership.state != "pending":
        return None
    return _move(conn, membership, "rejected")


def receive_removed(
    conn: sqlite3.Connection, coop_actor_id: str, actor_id: str
) -> Membership | None:
    membership = find_membership(conn, coop_actor_id, actor_id)
    if membership is None or membership.state != "active":
        return None
    return _move(conn, membership, "removed", relationship=None, verified_at=None)
