"""Moving an account (FEP-7628) as the domain sees it, in both directions.

A move from OLD to NEW is honoured only when NEW lists OLD in `alsoKnownAs` (the federation
layer fetches NEW fresh before asking). Honouring it:
- records OLD -> NEW in `identity_links`, so reviews about OLD (signed by their reviewers, so
  still valid) count for NEW (`fedcoop.gigs.reputation`), and sets OLD's `movedTo`;
- moves the followers: each local follower of OLD unfollows it and follows NEW;
- asks again for OLD's coop memberships here, from NEW: a pending request per coop, which the
  coop decides on as for anyone else (a membership is a relationship, never silently copied).

A local account prepares a move in with `set_aliases` (its `alsoKnownAs`) and moves out with
`move_out` (its `movedTo` set, a Move sent to its followers).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from fedcoop import clock
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.gigs import admission, membership
from fedcoop.social import events, follows
from fedcoop.uris import Uris

MAX_ALIASES: Final = 256  # Mastodon's limit on alsoKnownAs


@dataclass(frozen=True)
class MoveOutcome:
    followers_moved: int
    memberships_requested: int
    already_known: bool


def _require(conn: sqlite3.Connection, actor_id: str) -> Actor:
    actor = get_actor(conn, actor_id)
    if actor is None:
        raise NotFound("no such actor")
    return actor


def set_aliases(conn: sqlite3.Connection, actor_id: str, alias_uris: Sequence[str]) -> Actor:
    """A local account lists its other identities (`alsoKnownAs`), to accept a move in."""
    actor = _require(conn, actor_id)
    if not actor.local:
        raise Forbidden("only local accounts set their aliases")
    cleaned = list(dict.fromkeys(u.strip() for u in alias_uris if u.strip()))
    if len(cleaned) > MAX_ALIASES:
        raise ValidationError(f"at most {MAX_ALIASES} aliases", field="also_known_as")
    for uri in cleaned:
        if not uri.startswith(("https://", "http://")) or any(c.isspace() for c in uri):
            raise ValidationError("aliases are actor URLs", field="also_known_as")
        if uri == actor.uri:
            raise ValidationError("an account is not its own alias", field="also_known_as")
    conn.execute(
        "UPDATE actors SET also_known_as = ?, updated_at = ? WHERE id = ?",
        (json.dumps(cleaned), clock.now_iso(), actor_id),
    )
    events.emit(conn, "actor.updated", actor_id, actor_id)
    return _require(conn, actor_id)


def link_identities(conn: sqlite3.Connection, old_id: str, new_id: str, evidence: str) -> bool:
    """Record that OLD became NEW; False when it was known already."""
    if old_id == new_id:
        raise ValidationError("an account cannot move to itself", field="target")
    cur = conn.execute(
        "INSERT OR IGNORE INTO identity_links (old_actor_id, new_actor_id, evidence, created_at) "
        "VALUES (?, ?, ?, ?)",
        (old_id, new_id, evidence, clock.now_iso()),
    )
    return cur.rowcount == 1


def move_out(conn: sqlite3.Connection, uris: Uris, actor_id: str, target_id: str) -> Actor:
    """A local account moves to `target_id`, which must list it in `alsoKnownAs` (the caller
    has just fetched the target). Its followers are sent a Move."""
    actor = _require(conn, actor_id)
    target = _require(conn, target_id)
    if not actor.local:
        raise Forbidden("only local accounts move out from here")
    if actor.moved_to:
        raise Conflict("this account has moved already")
    if actor.uri not in target.also_known_as:
        raise Conflict(
            "the new account must first list this one as an alias (alsoKnownAs)", field="target"
        )
    conn.execute(
        "UPDATE actors SET moved_to = ?, updated_at = ? WHERE id = ?",
        (target.uri, clock.now_iso(), actor_id),
    )
    link_identities(conn, actor_id, target_id, "move")
    events.emit(conn, "actor.moved", actor_id, actor_id, {"target": target.uri})
    events.emit(conn, "actor.updated", actor_id, actor_id)
    # Followers on this instance hear no Move: they are moved here and now.
    _move_local_followers(conn, actor_id, target_id)
    _request_memberships_again(conn, uris, actor_id, target_id)
    return _require(conn, actor_id)


def honour_move(conn: sqlite3.Connection, uris: Uris, old_id: str, new_id: str) -> MoveOutcome:
    """OLD moved to NEW (NEW lists OLD in alsoKnownAs): move followers, ask again for
    memberships, and let OLD's reviews count for NEW. Idempotent."""
    old = _require(conn, old_id)
    new = _require(conn, new_id)
    if old.uri not in new.also_known_as:
        raise Forbidden("the new account does not list the old one in alsoKnownAs")
    if not old.local:
        conn.execute(
            "UPDATE actors SET moved_to = ?, updated_at = ? WHERE id = ? AND local = 0",
            (new.uri, clock.now_iso(), old_id),
        )
    known = not link_identities(conn, old_id, new_id, "move")
    moved = _move_local_followers(conn, old_id, new_id)
    return MoveOutcome(moved, _request_memberships_again(conn, uris, old_id, new_id), known)


def _move_local_followers(conn: sqlite3.Connection, old_id: str, new_id: str) -> int:
    moved = 0
    for follower in follows.followers(conn, old_id):
        if not follower.local or follower.id == new_id:
            continue
        follows.unfollow(conn, follower.id, old_id)
        try:
            follows.follow(conn, follower.id, new_id)
        except (Forbidden, ValidationError):
            continue  # a block stands between them: the follow is not carried over
        moved += 1
    return moved


def _request_memberships_again(
    conn: sqlite3.Connection, uris: Uris, old_id: str, new_id: str
) -> int:
    """For each coop OLD belonged to: a local coop gets a join request from NEW (its admission
    mode decides, as for anyone); a remote coop gets a Join from NEW when NEW is ours."""
    new = _require(conn, new_id)
    requested = 0
    for held, coop in membership.memberships_of(conn, old_id):
        if held.state != "active" or held.role == "outcast":
            continue
        if membership.find_membership(conn, coop.id, new_id) is not None:
            continue
        if coop.local:
            admission.ask_to_join(conn, uris, coop.id, new_id)
        elif new.local and new.type == "Person":
            membership.send_join(conn, uris, new_id, coop.id)
        else:
            continue  # NEW's own instance asks a remote coop
        requested += 1
    return requested


def former_identities(conn: sqlite3.Connection, actor_id: str) -> list[Actor]:
    rows = conn.execute(
        "SELECT old_actor_id FROM identity_links WHERE new_actor_id = ? ORDER BY created_at",
        (actor_id,),
    ).fetchall()
    return [a for a in (get_actor(conn, r[0]) for r in rows) if a is not None]
