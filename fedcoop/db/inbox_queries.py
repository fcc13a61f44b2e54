"""SQL for the inbox (walk a): durable intake rows, their state graph, and tombstones.

An inbox item is stored before the sender hears 202, with who signed it and how; the inbox
worker then claims it and moves it to a final state. `activity_uri` is UNIQUE, so a
redelivered activity is a no-op, and a Create whose object was deleted (tombstoned) is dropped
in the same transaction that would have stored it, so a replay can never resurrect it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from fedcoop import clock, ids
from fedcoop.db.jobs import StateGraph, claim, transition

TABLE = "inbox_items"
AuthKind = Literal["cavage", "rfc9421", "proof"]
StoreOutcome = Literal["stored", "duplicate", "tombstoned"]
# Keep diagnostics short: a remote error message must not fill the database.
MAX_ERROR_CHARS = 500


class InboxItemStates(StateGraph):
    """received -> received (retry later) | processed | ignored (no route) | failed."""

    name = "inbox_item"
    initial = "received"
    transitions = {
        "received": frozenset({"received", "processed", "ignored", "failed"}),
        "processed": frozenset(),
        "ignored": frozenset(),
        "failed": frozenset(),
    }


# Immutable, and a NamedTuple rather than a frozen dataclass: one is built for every inbox POST,
# and a frozen dataclass takes five times as long to build.
class NewInboxItem(NamedTuple):
    """An authenticated activity, ready to be stored as sent (the raw body, not re-encoded)."""

    activity_uri: str
    activity_type: str
    object_type: str | None
    object_uri: str | None
    actor_uri: str
    signer_uri: str
    auth: AuthKind
    recipient: str | None
    body: str


@dataclass(frozen=True)
class StoredItem:
    id: str
    activity_uri: str
    activity_type: str
    object_type: str | None
    actor_uri: str
    signer_uri: str
    auth: str
    recipient: str | None
    body: str
    state: str
    outcome: str | None
    attempts: int
    next_attempt_at: str
    last_error: str | None

    def activity(self) -> dict[str, Any]:
        value = json.loads(self.body)
        if not isinstance(value, dict):
            raise ValueError("stored inbox body is not a JSON object")
        return value


_ITEM_COLUMNS = (
    "id, activity_uri, activity_type, object_type, actor_uri, signer_uri, auth, recipient, "
    "body, state, outcome, attempts, next_attempt_at, last_error"
)


def _item(row: sqlite3.Row) -> StoredItem:
    return StoredItem(**dict(row))


_INSERT_COLUMNS = (
    "id, activity_uri, activity_type, object_type, actor_uri, signer_uri, auth, recipient, "
    "body, state, next_attempt_at, received_at"
)
_ROW = "(" + ", ".join("?" * 13) + ")"


def store_items(
    conn: sqlite3.Connection, items: list[NewInboxItem]
) -> list[tuple[StoreOutcome, str | None]]:
    """Insert each item unless its activity was seen before or creates a deleted object.

    Returns each item's outcome and new row id (None when nothing was stored). One INSERT (the
    tombstone check in it), and a query for which were inserted only when some were not: the
    inbox's writes, batched (`Database.write_batched`). The INSERT is the only change it makes.

    Two items with the same activity id in one call: the first is stored, the second is a
    duplicate, as if they had come one after the other.
    """
    now = clock.now_iso()
    new_ids = [ids.new_id() for _ in items]
    params: list[Any] = []
    for item_id, item in zip(new_ids, items, strict=True):
        tombstone_uri = item.object_uri if item.activity_type == "Create" else None
        params += (
            item_id,
            item.activity_uri,
            item.activity_type,
            item.object_type,
            item.actor_uri,
            item.signer_uri,
            item.auth,
            item.recipient,
            item.body,
            InboxItemStates.initial,
            now,
            now,
            tombstone_uri,
        )
    # VALUES rows come in order, so ON CONFLICT keeps the first of two equal activity ids.
    before = conn.total_changes
    conn.execute(
        f"""INSERT INTO {TABLE} ({_INSERT_COLUMNS})
           SELECT column1, column2, column3, column4, column5, column6, column7, column8,
                  column9, column10, column11, column12
           FROM (VALUES {", ".join([_ROW] * len(items))})
           WHERE column13 IS NULL
              OR NOT EXISTS (SELECT 1 FROM tombstones WHERE uri = column13)
           ON CONFLICT (activity_uri) DO NOTHING""",
        params,
    )
    if conn.total_changes - before == len(items):
        stored = set(new_ids)  # the usual case: every one is new, no need to look
    else:
        # One row back (not one per item): the ids that made it in.
        placeholders = ", ".join("?" * len(new_ids))
        (inserted,) = conn.execute(
            f"SELECT group_concat(id, ' ') FROM {TABLE} WHERE id IN ({placeholders})", new_ids
        ).fetchone()
        stored = set((inserted or "").split())
    outcomes: list[tuple[StoreOutcome, str | None]] = []
    for item_id, item in zip(new_ids, items, strict=True):
        if item_id in stored:
            outcomes.append(("stored", item_id))
        elif (
            item.activity_type == "Create"
            and item.object_uri
            and is_tombstoned(conn, item.object_uri)
        ):
            outcomes.append(("tombstoned", None))
        else:
            outcomes.append(("duplicate", None))
    return outcomes


def claim_received(
    conn: sqlite3.Connection, *, limit: int, lock_seconds: float, now: datetime | None = None
) -> list[StoredItem]:
    """Lock up to `limit` received items whose time has come (attempts is incremented)."""
    rows = claim(
        conn,
        TABLE,
        InboxItemStates.initial,
        limit=limit,
        lock_seconds=lock_seconds,
        now=now,
        columns=_ITEM_COLUMNS,
    )
    return [_item(row) for row in rows]


def finish_item(conn: sqlite3.Connection, item_id: str, state: str, outcome: str) -> bool:
    """Move a claimed item to a final state (processed, ignored or failed) with its outcome."""
    if state not in InboxItemStates.terminal():
        raise ValueError(f"{state!r} is not a final inbox item state")
    return transition(
        conn,
        TABLE,
        item_id,
        InboxItemStates,
        "received",
        state,
        outcome=outcome[:MAX_ERROR_CHARS],
        processed_at=clock.now_iso(),
        locked_until=None,
        last_error=outcome[:MAX_ERROR_CHARS] if state == "failed" else None,
    )


def retry_item(conn: sqlite3.Connection, item_id: str, at: datetime, error: str) -> bool:
    """Leave the item received, to be claimed again at `at`."""
    return transition(
        conn,
        TABLE,
        item_id,
        InboxItemStates,
        "received",
        "received",
        next_attempt_at=clock.iso(at),
        locked_until=None,
        last_error=error[:MAX_ERROR_CHARS],
    )


def get_item(conn: sqlite3.Connection, item_id: str) -> StoredItem | None:
    row = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM {TABLE} WHERE id = ?", (item_id,)).fetchone()
    return _item(row) if row else None


def get_item_by_activity(conn: sqlite3.Connection, activity_uri: str) -> StoredItem | None:
    row = conn.execute(
        f"SELECT {_ITEM_COLUMNS} FROM {TABLE} WHERE activity_uri = ?", (activity_uri,)
    ).fetchone()
    return _item(row) if row else None


def count_items(conn: sqlite3.Connection, state: str | None = None) -> int:
    if state is None:
        row = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    else:
        row = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE state = ?", (state,)).fetchone()
    return int(row[0])


def count_by_state(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute(f"SELECT state, count(*) FROM {TABLE} GROUP BY state").fetchall()
    return {row[0]: int(row[1]) for row in rows}


# tombstones ----------------------------------------------------------------------------------
def add_tombstone(conn: sqlite3.Connection, uri: str, former_type: str | None = None) -> None:
    """Remember that `uri` was deleted, so a later replay of its Create is dropped."""
    conn.execute(
        "INSERT INTO tombstones (uri, former_type, deleted_at) VALUES (?, ?, ?) "
        "ON CONFLICT (uri) DO NOTHING",
        (uri, former_type, clock.now_iso()),
    )


def is_tombstoned(conn: sqlite3.Connection, uri: str) -> bool:
    row = conn.execute("SELECT 1 FROM tombstones WHERE uri = ?", (uri,)).fetchone()
    return row is not None
