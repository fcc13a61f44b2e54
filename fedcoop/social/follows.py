"""Who follows whom: follow requests, approvals, undoing, and the follower collections.

A follow row is `pending` until the followee accepts it, then `accepted`; rejecting,
unfollowing or removing a follower deletes it. Between two local actors nothing federates;
when the other side is remote, the service writes the event the outbox turns into Follow,
Accept, Reject or Undo. `activity_uri` is the id of the Follow activity: the remote one for
a remote follower, and for a local follower None unless the caller chose one (the renderer then uses `…/follows/<id>`),
so an Accept can name the Follow it answers.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fedcoop import clock, ids
from fedcoop.accounts.actors import ACTOR_COLUMNS, Actor, actor_from_row, get_actor
from fedcoop.db.jobs import StateGraph, transition
from fedcoop.errors import Forbidden, NotFound, ValidationError
from fedcoop.social import notifications
from fedcoop.social.events import emit


class FollowStates(StateGraph):
    name = "follow"
    initial = "pending"
    transitions = {"pending": frozenset({"accepted"}), "accepted": frozenset()}


@dataclass(frozen=True)
class Follow:
    id: str
    follower_id: str
    followee_id: str
    state: str
    activity_uri: str | None
    created_at: str

    @property
    def accepted(self) -> bool:
        return self.state == "accepted"


def _follow(row: sqlite3.Row | None) -> Follow | None:
    if row is None:
        return None
    return Follow(
        id=row["id"],
        follower_id=row["follower_id"],
        followee_id=row["followee_id"],
        state=row["state"],
        activity_uri=row["activity_uri"],
        created_at=row["created_at"],
    )


# lookups ---------------------------------------------------------------------------------


def get_follow(conn: sqlite3.Connection, follow_id: str) -> Follow | None:
    return _follow(conn.execute("SELECT * FROM follows WHERE id = ?", (follow_id,)).fetchone())


def find_follow(conn: sqlite3.Connection, follower_id: str, followee_id: str) -> Follow | None:
    return _follow(
        conn.execute(
            "SELECT * FROM follows WHERE follower_id = ? AND followee_id = ?",
            (follower_id, followee_id),
        ).fetchone()
    )


def find_by_reference(
    conn: sqlite3.Connection, *, activity_uri: str | None = None, follow_id: str | None = None
) -> Follow | None:
    """The follow a Follow activity id names (its stored id, or our own row id)."""
    if activity_uri:
        found = _follow(
            conn.execute("SELECT * FROM follows WHERE activity_uri = ?", (activity_uri,)).fetchone()
        )
        if found is not None:
            return found
    return get_follow(conn, follow_id) if follow_id else None


def is_following(conn: sqlite3.Connection, follower_id: str, followee_id: str) -> bool:
    found = find_follow(conn, follower_id, followee_id)
    return found is not None and found.accepted


def count_followers(conn: sqlite3.Connection, actor_id: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM follows WHERE followee_id = ? AND state = 'accepted'", (actor_id,)
        ).fetchone()[0]
    )


def count_following(conn: sqlite3.Connection, actor_id: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM follows WHERE follower_id = ? AND state = 'accepted'", (actor_id,)
        ).fetchone()[0]
    )


def follower_uris_page(
    conn: sqlite3.Connection, actor_id: str, *, before: str | None, limit: int
) -> list[tuple[str, str]]:
    """(follow id, follower uri), newest first, strictly older than `before`."""
    rows = conn.execute(
        "SELECT follows.id, actors.uri FROM follows JOIN actors ON actors.id = follows.follower_id "
        "WHERE follows.followee_id = ? AND follows.state = 'accepted' AND follows.id < ? "
        "ORDER BY follows.id DESC LIMIT ?",
        (actor_id, before or "~", limit),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def following_uris_page(
    conn: sqlite3.Connection, actor_id: str, *, before: str | None, limit: int
) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT follows.id, actors.uri FROM follows JOIN actors ON actors.id = follows.followee_id "
        "WHERE follows.follower_id = ? AND follows.state = 'accepted' AND follows.id < ? "
        "ORDER BY follows.id DESC LIMIT ?",
        (actor_id, before or "~", limit),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _actors(conn: sqlite3.Connection, join_on: str, where: str, actor_id: str) -> list[Actor]:
    rows = conn.execute(
        f"SELECT {ACTOR_COLUMNS} FROM follows JOIN actors ON actors.id = follows.{join_on} "
        f"WHERE {where} ORDER BY follows.id DESC",
        (actor_id,),
    ).fetchall()
    return [actor_from_row(r) for r in rows]


def followers(conn: sqlite3.Connection, actor_id: str) -> list[Actor]:
    """Accepted followers, newest first."""
    return _actors(
        conn, "follower_id", "follows.followee_id = ? AND follows.state = 'accepted'", actor_id
    )


def following(conn: sqlite3.Connection, actor_id: str) -> list[Actor]:
    """Actors this one follows (accepted), newest first."""
    return _actors(
        conn, "followee_id", "follows.follower_id = ? AND follows.state = 'accepted'", actor_id
    )


def pending_requests(conn: sqlite3.Connection, followee_id: str) -> list[tuple[Follow, Actor]]:
    """Follow requests waiting for `followee_id`'s approval, oldest first."""
    rows = conn.execute(
        "SELECT * FROM follows WHERE followee_id = ? AND state = 'pending' ORDER BY id",
        (followee_id,),
    ).fetchall()
    out = []
    for row in rows:
        follow = _follow(row)
        follower = get_actor(conn, row["follower_id"])
        if follow is not None and follower is not None:
            out.append((follow, follower))
    return out


# local follower ----------------------------------------------------------------------------


def _blocked_either_way(conn: sqlite3.Connection, a: str, b: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM actor_blocks WHERE (blocker_id = ? AND blocked_id = ?) "
            "OR (blocker_id = ? AND blocked_id = ?)",
            (a, b, b, a),
        ).fetchone()
        is not None
    )


def _insert(
    conn: sqlite3.Connection, follower_id: str, followee_id: str, state: str, uri: str | None
) -> Follow:
    follow_id = ids.new_id()
    conn.execute(
        "INSERT INTO follows (id, follower_id, followee_id, state, activity_uri, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (follow_id, follower_id, followee_id, state, uri, clock.now_iso()),
    )
    made = get_follow(conn, follow_id)
    assert made is not None
    return made


def _auto_accepts(followee: Actor) -> bool:
    # A coop's follower subscribes to its news (joining is a membership, decided elsewhere),
    # so a Group never holds follows for approval; a Person decides with manually_approves.
    return followee.type == "Group" or not followee.manually_approves


def follow(
    conn: sqlite3.Connection, follower_id: str, followee_id: str, activity_uri: str | None = None
) -> Follow:
    """A local actor follows someone. Idempotent: an existing follow is returned as it is."""
    follower = get_actor(conn, follower_id)
    followee = get_actor(conn, followee_id)
    if follower is None or not follower.local:
        raise NotFound("no such local actor")
    if followee is None:
        raise NotFound("no such actor")
    if follower_id == followee_id:
        raise ValidationError("nobody can follow themselves", field="id")
    if _blocked_either_way(conn, follower_id, followee_id):
        raise Forbidden("a block stands between these accounts")
    existing = find_follow(conn, follower_id, followee_id)
    if existing is not None:
        return existing
    if followee.local:
        state = "accepted" if _auto_accepts(followee) else "pending"
        made = _insert(conn, follower_id, followee_id, state, activity_uri)
        kind = "follow" if state == "accepted" else "follow_request"
        notifications.notify(conn, followee_id, kind, follower_id)
        return made
    made = _insert(conn, follower_id, followee_id, "pending", activity_uri)
    emit(conn, "follow.requested", follower_id, made.id)
    return made


def unfollow(conn: sqlite3.Connection, follower_id: str, followee_id: str) -> bool:
    """A local actor stops following (or withdraws a request); False if there was no follow."""
    existing = find_follow(conn, follower_id, followee_id)
    if existing is None:
        return False
    conn.execute("DELETE FROM follows WHERE id = ?", (existing.id,))
    followee = get_actor(conn, followee_id)
    if followee is not None and not followee.local:
        emit(
            conn,
            "follow.undone",
            follower_id,
            existing.id,
            {"followee_uri": followee.uri, "activity_uri": existing.activity_uri},
        )
    else:
        notifications.forget_follow_request(conn, followee_id, follower_id)
    return True


def _find_remote_answer(
    conn: sqlite3.Connection,
    followee_id: str,
    *,
    activity_uri: str | None,
    follow_id: str | None,
    follower_id: str | None,
) -> Follow | None:
    """The follow a remote followee answers: by the Follow's id, or by who followed."""
    for column, value in (("activity_uri", activity_uri), ("id", follow_id)):
        if value:
            found = _follow(
                conn.execute(
                    f"SELECT * FROM follows WHERE {column} = ? AND followee_id = ?",
                    (value, followee_id),
                ).fetchone()
            )
            if found is not None:
                return found
    if follower_id:
        return find_follow(conn, follower_id, followee_id)
    return None


def mark_accepted(
    conn: sqlite3.Connection,
    followee_id: str,
    *,
    activity_uri: str | None = None,
    follow_id: str | None = None,
    follower_id: str | None = None,
) -> Follow | None:
    """A remote followee accepted a local actor's follow; None when there is no such follow.

    The follow is looked up among those whose followee is `followee_id` (the signer of the
    Accept), so nobody else can accept a follow on its behalf.
    """
    found = _find_remote_answer(
        conn, followee_id, activity_uri=activity_uri, follow_id=follow_id, follower_id=follower_id
    )
    if found is None:
        return None
    if found.state == "pending":
        transition(conn, "follows", found.id, FollowStates, "pending", "accepted")
    return get_follow(conn, found.id)


def mark_rejected(
    conn: sqlite3.Connection,
    followee_id: str,
    *,
    activity_uri: str | None = None,
    follow_id: str | None = None,
    follower_id: str | None = None,
) -> Follow | None:
    """A remote followee rejected (or removed) a local follower: the follow is gone."""
    found = _find_remote_answer(
        conn, followee_id, activity_uri=activity_uri, follow_id=follow_id, follower_id=follower_id
    )
    if found is not None:
        conn.execute("DELETE FROM follows WHERE id = ?", (found.id,))
    return found


# remote follower ---------------------------------------------------------------------------


def receive_follow(
    conn: sqlite3.Connection, follower_id: str, followee_id: str, activity_uri: str
) -> Follow | None:
    """A remote actor asks to follow a local one; None if the followee blocks it.

    A repeated Follow (Mastodon re-sends one when it never saw the Accept) is answered again
    with an Accept when the follow already stands.
    """
    followee = get_actor(conn, followee_id)
    if followee is None or not followee.local:
        raise NotFound("no such local actor")
    if _blocked_either_way(conn, follower_id, followee_id):
        return None
    existing = find_follow(conn, follower_id, followee_id)
    if existing is not None:
        conn.execute(
            "UPDATE follows SET activity_uri = ? WHERE id = ?", (activity_uri, existing.id)
        )
        if existing.accepted:
            emit(conn, "follow.accepted", followee_id, existing.id)
        return get_follow(conn, existing.id)
    if _auto_accepts(followee):
        made = _insert(conn, follower_id, followee_id, "accepted", activity_uri)
        emit(conn, "follow.accepted", followee_id, made.id)
        notifications.notify(conn, followee_id, "follow", follower_id)
        return made
    made = _insert(conn, follower_id, followee_id, "pending", activity_uri)
    notifications.notify(conn, followee_id, "follow_request", follower_id)
    return made


def _local_request(conn: sqlite3.Connection, followee_id: str, follow_id: str) -> Follow:
    found = get_follow(conn, follow_id)
    if found is None or found.followee_id != followee_id:
        raise NotFound("no such follow request")
    return found


def accept_follow(conn: sqlite3.Connection, followee_id: str, follow_id: str) -> Follow:
    """The local followee approves a pending request."""
    found = _local_request(conn, followee_id, follow_id)
    if found.accepted:
        return found
    transition(conn, "follows", found.id, FollowStates, "pending", "accepted")
    notifications.forget_follow_request(conn, followee_id, found.follower_id)
    notifications.notify(conn, followee_id, "follow", found.follower_id)
    follower = get_actor(conn, found.follower_id)
    if follower is not None and not follower.local:
        emit(conn, "follow.accepted", followee_id, found.id)
    accepted = get_follow(conn, found.id)
    assert accepted is not None
    return accepted


def _drop_follower(conn: sqlite3.Connection, followee_id: str, found: Follow) -> None:
    conn.execute("DELETE FROM follows WHERE id = ?", (found.id,))
    notifications.forget_follow_request(conn, followee_id, found.follower_id)
    follower = get_actor(conn, found.follower_id)
    if follower is not None and not follower.local:
        # Mastodon removes a follower by sending Reject of their Follow.
        emit(
            conn,
            "follow.rejected",
            followee_id,
            found.id,
            {"follower_uri": follower.uri, "activity_uri": found.activity_uri},
        )


def reject_follow(conn: sqlite3.Connection, followee_id: str, follow_id: str) -> None:
    """The local followee turns a request down."""
    _drop_follower(conn, followee_id, _local_request(conn, followee_id, follow_id))


def remove_follower(conn: sqlite3.Connection, followee_id: str, follower_id: str) -> bool:
    """The local followee removes someone from its followers; False if they were not one."""
    found = find_follow(conn, follower_id, followee_id)
    if found is None:
        return False
    _drop_follower(conn, followee_id, found)
    return True


def receive_undo_follow(
    conn: sqlite3.Connection,
    follower_id: str,
    *,
    activity_uri: str | None = None,
    followee_id: str | None = None,
) -> Follow | None:
    """A remote follower withdrew its Follow; only its own follows are looked at."""
    found = None
    if activity_uri:
        found = _follow(
            conn.execute(
                "SELECT * FROM follows WHERE activity_uri = ? AND follower_id = ?",
                (activity_uri, follower_id),
            ).fetchone()
        )
    if found is None and followee_id:
        found = find_follow(conn, follower_id, followee_id)
    if found is None:
        return None
    conn.execute("DELETE FROM follows WHERE id = ?", (found.id,))
    notifications.forget_follow_request(conn, found.followee_id, follower_id)
    return found


def drop_all_between(conn: sqlite3.Connection, a: str, b: str) -> list[Follow]:
    """Remove follows both ways between two actors, without publishing anything (a block)."""
    rows = conn.execute(
        "SELECT * FROM follows WHERE (follower_id = ? AND followee_id = ?) "
        "OR (follower_id = ? AND followee_id = ?)",
        (a, b, b, a),
    ).fetchall()
    dropped = [f for f in (_follow(r) for r in rows) if f is not None]
    for found in dropped:
        conn.execute("DELETE FROM follows WHERE id = ?", (found.id,))
        notifications.forget_follow_request(conn, found.followee_id, found.follower_id)
    return dropped


def drop_all_of(conn: sqlite3.Connection, actor_id: str) -> int:
    """Remove every follow to or from an actor that left the network."""
    cur = conn.execute(
        "DELETE FROM follows WHERE follower_id = ? OR followee_id = ?", (actor_id, actor_id)
    )
    return cur.rowcount


def followed_by_anyone_here(conn: sqlite3.Connection, actor_ids: list[str]) -> bool:
    """Does any local actor follow (accepted) one of these actors?"""
    if not actor_ids:
        return False
    marks = ",".join("?" * len(actor_ids))
    row = conn.execute(
        f"SELECT 1 FROM follows JOIN actors ON actors.id = follows.follower_id "
        f"WHERE actors.local = 1 AND follows.state = 'accepted' "
        f"AND follows.followee_id IN ({marks}) LIMIT 1",
        actor_ids,
    ).fetchone()
    return row is not None
