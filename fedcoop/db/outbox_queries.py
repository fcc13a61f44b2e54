"""SQL of walk (b): claiming events, storing activities, queueing deliveries, hosts' health.

The outbox worker and the delivery worker (fedcoop/federation/) call these functions inside
their `db.read`/`db.write` callbacks; no SQL lives in the federation layer itself.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fedcoop import clock, ids
from fedcoop.db.jobs import StateGraph, claim, transition

EVENTS = "events"
DELIVERIES = "deliveries"
MAX_ERROR_CHARS = 500  # a remote error text must not fill the database


class DeliveryStates(StateGraph):
    name = "delivery"
    initial = "queued"
    transitions = {
        "queued": frozenset({"queued", "sent", "failed", "skipped"}),  # queued->queued: retry
        "sent": frozenset(),
        "failed": frozenset(),
        "skipped": frozenset(),  # never attempted: the domain was blocked after queueing
    }


# events ------------------------------------------------------------------------------------


def claim_events(
    conn: sqlite3.Connection, *, limit: int, lock_seconds: float, now: datetime
) -> list[sqlite3.Row]:
    return claim(conn, EVENTS, "pending", limit=limit, lock_seconds=lock_seconds, now=now)


def event_row(conn: sqlite3.Connection, event_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()


# recipients --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """An actor that may receive an activity, with what delivery needs to know about it."""

    uri: str
    local: bool
    inbox: str | None
    shared_inbox: str | None
    implements: frozenset[str]  # FEP hrefs from the actor's `generator.implements`


def _recipient(row: sqlite3.Row) -> Recipient:
    try:
        listed = json.loads(row["implements"] or "[]")
    except ValueError:
        listed = []
    hrefs = frozenset(
        str(item["href"]) for item in listed if isinstance(item, dict) and "href" in item
    )
    return Recipient(
        uri=row["uri"],
        local=bool(row["local"]),
        inbox=row["inbox"],
        shared_inbox=row["shared_inbox"],
        implements=hrefs,
    )


_RECIPIENT_COLUMNS = (
    "actors.uri, actors.local, actors.inbox, actors.shared_inbox, actors.implements"
)


def recipients_by_uri(conn: sqlite3.Connection, uris: Iterable[str]) -> dict[str, Recipient]:
    """The known actors among `uris` (unknown ones are simply absent)."""
    wanted = sorted(set(uris))
    found: dict[str, Recipient] = {}
    for start in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT {_RECIPIENT_COLUMNS} FROM actors WHERE uri IN ({marks})", chunk
        ).fetchall()
        found.update((row["uri"], _recipient(row)) for row in rows)
    return found


def remote_followers(conn: sqlite3.Connection, actor_ids: Iterable[str]) -> list[Recipient]:
    """Accepted followers on other servers of the given local actors, each actor once."""
    wanted = sorted(set(actor_ids))
    if not wanted:
        return []
    marks = ", ".join("?" * len(wanted))
    rows = conn.execute(
        f"SELECT DISTINCT {_RECIPIENT_COLUMNS} FROM follows "
        "JOIN actors ON actors.id = follows.follower_id "
        f"WHERE follows.followee_id IN ({marks}) AND follows.state = 'accepted' "
        "AND actors.local = 0 ORDER BY actors.uri",
        wanted,
    ).fetchall()
    return [_recipient(row) for row in rows]


def local_actor_id(conn: sqlite3.Connection, uri: str) -> str | None:
    row = conn.execute("SELECT id FROM actors WHERE uri = ? AND local = 1", (uri,)).fetchone()
    return None if row is None else str(row[0])


# activities --------------------------------------------------------------------------------


def insert_activity(
    conn: sqlite3.Connection,
    *,
    activity: dict[str, Any],
    actor_id: str,
    public: bool,
    event_id: str | None,
    now: datetime,
) -> str:
    """Store a published activity under its own `id`; returns the row id."""
    row_id = ids.new_id()
    obj = activity.get("object")
    object_uri = obj.get("id") if isinstance(obj, dict) else obj
    conn.execute(
        "INSERT INTO activities (id, uri, actor_id, type, object_uri, body, public, event_id, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row_id,
            activity["id"],
            actor_id,
            activity["type"],
            object_uri if isinstance(object_uri, str) else None,
            json.dumps(activity, ensure_ascii=False),
            int(public),
            event_id,
            clock.iso(now),
        ),
    )
    return row_id


def public_activity_body(conn: sqlite3.Connection, uri: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT body FROM activities WHERE uri = ? AND public = 1", (uri,)
    ).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def count_public_activities(conn: sqlite3.Connection, actor_id: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM activities WHERE actor_id = ? AND public = 1", (actor_id,)
        ).fetchone()[0]
    )


def public_activities_page(
    conn: sqlite3.Connection, actor_id: str, *, before: str | None, limit: int
) -> list[tuple[str, Any]]:
    """(row id, activity document), newest first, strictly older than the row id `before`."""
    rows = conn.execute(
        "SELECT id, body FROM activities WHERE actor_id = ? AND public = 1 AND id < ? "
        "ORDER BY id DESC LIMIT ?",
        (actor_id, before or "~", limit),
    ).fetchall()
    return [(row[0], json.loads(row[1])) for row in rows]


# deliveries --------------------------------------------------------------------------------


def queue_deliveries(
    conn: sqlite3.Connection, activity_id: str, inboxes: Sequence[tuple[str, str]], now: datetime
) -> int:
    """One queued delivery per (inbox, host); returns how many rows were added."""
    now_s = clock.iso(now)
    cur = conn.executemany(
        "INSERT INTO deliveries (id, activity_id, inbox, host, state, next_attempt_at, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (activity_id, inbox) DO NOTHING",
        [
            (ids.new_id(), activity_id, inbox, host, DeliveryStates.initial, now_s, now_s)
            for inbox, host in inboxes
        ],
    )
    return cur.rowcount


@dataclass(frozen=True)
class DeliveryJob:
    id: str
    activity_id: str
    inbox: str
    host: str
    attempts: int  # including the attempt now claimed


def claim_deliveries(
    conn: sqlite3.Connection,
    *,
    limit: int,
    per_host: int,
    busy: Mapping[str, int],
    lock_seconds: float,
    now: datetime,
    window: int = 1000,
) -> list[DeliveryJob]:
    """Lock up to `limit` due deliveries, oldest first, at most `per_host` in flight per host.

    `busy` counts the deliveries per host this worker already has in flight. Hosts that are
    full are left out before the window of the `window` oldest due rows is taken, so a long
    queue for one slow host cannot hide every other host's deliveries. Like `jobs.claim`, a
    claim counts an attempt and locks the row until `lock_seconds` have passed.
    """
    now_s = clock.iso(now)
    until = clock.iso(now + timedelta(seconds=lock_seconds))
    rows = conn.execute(
        """UPDATE deliveries SET locked_until = :until, attempts = attempts + 1
           WHERE id IN (
             SELECT id FROM (
               SELECT id, host, next_attempt_at,
                      row_number() OVER (PARTITION BY host ORDER BY next_attempt_at, id) AS n
               FROM (
                 SELECT id, host, next_attempt_at FROM deliveries
                 WHERE state = 'queued' AND next_attempt_at <= :now
                   AND (locked_until IS NULL OR locked_until <= :now)
                   AND host NOT IN (SELECT key FROM json_each(:busy) WHERE value >= :per_host)
                 ORDER BY next_attempt_at, id LIMIT :window))
             WHERE n <= :per_host
                        - coalesce((SELECT value FROM json_each(:busy) WHERE key = host), 0)
             ORDER BY next_attempt_at, id LIMIT :limit)
           RETURNING id, activity_id, inbox, host, attempts, next_attempt_at""",
        {
            "until": until,
            "now": now_s,
            "busy": json.dumps(dict(busy)),
            "per_host": per_host,
            "window": window,
            "limit": limit,
        },
    ).fetchall()
    rows.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
    return [
        DeliveryJob(r["id"], r["activity_id"], r["inbox"], r["host"], r["attempts"]) for r in rows
    ]


def unclaim_deliveries(conn: sqlite3.Connection, delivery_ids: Sequence[str]) -> None:
    """Hand claimed rows back untried (a worker stopping): unlocked, the attempt not counted."""
    conn.executemany(
        "UPDATE deliveries SET locked_until = NULL, attempts = attempts - 1 "
        "WHERE id = ? AND state = 'queued' AND locked_until IS NOT NULL",
        [(delivery_id,) for delivery_id in delivery_ids],
    )


@dataclass(frozen=True)
class Signable:
    """What the delivery worker needs to send one activity."""

    actor_id: str
    body: bytes


def activities_to_send(
    conn: sqlite3.Connection, activity_ids: Iterable[str]
) -> dict[str, Signable]:
    wanted = sorted(set(activity_ids))
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    rows = conn.execute(
        f"SELECT id, actor_id, body FROM activities WHERE id IN ({marks})", wanted
    ).fetchall()
    return {row["id"]: Signable(row["actor_id"], row["body"].encode("utf-8")) for row in rows}


def finish_delivery(
    conn: sqlite3.Connection,
    delivery_id: str,
    new_state: str,
    *,
    now: datetime,
    status: int | None,
    error: str | None,
    retry_at: datetime | None = None,
) -> bool:
    """Record an attempt's outcome: sent, failed, skipped, or queued again for `retry_at`."""
    fields: dict[str, Any] = {
        "locked_until": None,
        "last_status": status,
        "last_error": None if error is None else error[:MAX_ERROR_CHARS],
    }
    if new_state == "sent":
        fields["sent_at"] = clock.iso(now)
    if retry_at is not None:
        fields["next_attempt_at"] = clock.iso(retry_at)
    return transition(conn, DELIVERIES, delivery_id, DeliveryStates, "queued", new_state, **fields)


def release_host(conn: sqlite3.Connection, host: str, now: datetime) -> int:
    """Make every delivery waiting for `host` due now (it has just answered again)."""
    now_s = clock.iso(now)
    cur = conn.execute(
        "UPDATE deliveries SET next_attempt_at = ? "
        "WHERE host = ? AND state = 'queued' AND next_attempt_at > ?",
        (now_s, host, now_s),
    )
    return cur.rowcount


# hosts' health -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HostHealth:
    host: str
    consecutive_failures: int
    failing_since: datetime | None
    cooldown_until: datetime | None


def host_health(conn: sqlite3.Connection, hosts: Iterable[str]) -> dict[str, HostHealth]:
    wanted = sorted(set(hosts))
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    rows = conn.execute(
        "SELECT host, consecutive_failures, failing_since, cooldown_until FROM hosts "
        f"WHERE host IN ({marks})",
        wanted,
    ).fetchall()
    return {
        row["host"]: HostHealth(
            host=row["host"],
            consecutive_failures=row["consecutive_failures"],
            failing_since=_time(row["failing_since"]),
            cooldown_until=_time(row["cooldown_until"]),
        )
        for row in rows
    }


def _time(value: str | None) -> datetime | None:
    return None if value is None else clock.parse_iso(value)


def set_cooldown(conn: sqlite3.Connection, host: str, until: datetime) -> None:
    conn.execute("UPDATE hosts SET cooldown_until = ? WHERE host = ?", (clock.iso(until), host))


def record_host_success(conn: sqlite3.Connection, host: str, now: datetime) -> bool:
    """The host answered: end any failure streak. True if it was cooling down."""
    row = conn.execute("SELECT cooldown_until FROM hosts WHERE host = ?", (host,)).fetchone()
    conn.execute(
        "INSERT INTO hosts (host, last_success_at) VALUES (?, ?) ON CONFLICT (host) DO UPDATE "
        "SET last_success_at = excluded.last_success_at, consecutive_failures = 0, "
        "failing_since = NULL, cooldown_until = NULL, last_error = NULL",
        (host, clock.iso(now)),
    )
    return row is not None and row[0] is not None


def record_host_failure(
    conn: sqlite3.Connection,
    host: str,
    now: datetime,
    error: str,
    *,
    max_failures: int,
    failing_for: timedelta,
    cooldown: timedelta,
) -> bool:
    """Count a failure; past `max_failures` in a streak older than `failing_for`, cool down.

    Returns True when the host is (now) cooling down.
    """
    now_s = clock.iso(now)
    row = conn.execute(
        "INSERT INTO hosts (host, last_failure_at, consecutive_failures, failing_since, "
        "last_error) VALUES (?, ?, 1, ?, ?) ON CONFLICT (host) DO UPDATE SET "
        "last_failure_at = excluded.last_failure_at, "
        "consecutive_failures = hosts.consecutive_failures + 1, "
        "failing_since = coalesce(hosts.failing_since, excluded.failing_since), "
        "last_error = excluded.last_error "
        "RETURNING consecutive_failures, failing_since",
        (host, now_s, now_s, error[:MAX_ERROR_CHARS]),
    ).fetchone()
    since = clock.parse_iso(row["failing_since"])
    if row["consecutive_failures"] > max_failures and now - since > failing_for:
        set_cooldown(conn, host, now + cooldown)
        return True
    return False
