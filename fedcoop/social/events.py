"""Domain events: the outbox's input, written in the same transaction as the change.

A service that changes something other servers must learn about calls `emit()` inside its
write; the outbox worker later turns each committed event into activities and deliveries.
Because both rows commit together, a crash can lose neither the change nor its publication.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedcoop import clock, ids
from fedcoop.db.jobs import StateGraph

# The kinds the outbox knows how to render (federation/renderers registers one per kind).
KINDS = frozenset(
    {
        "follow.requested",  # subject: follows.id
        "follow.accepted",  # subject: follows.id (sent by the followee)
        "follow.rejected",  # subject: follows.id; payload: follower_uri, follow activity uri
        "follow.undone",  # subject: follows.id; payload: followee_uri, follow activity uri
        "block.created",  # subject: actor_blocks.id
        "block.undone",  # payload: blocked_uri, block activity uri
        "note.created",  # subject: notes.id
        "note.updated",  # subject: notes.id
        "note.deleted",  # subject: notes.id (now a tombstone)
        "actor.updated",  # subject: actors.id (profile or keys changed)
        "actor.deleted",  # subject: actors.id
    }
)


class EventStates(StateGraph):
    name = "event"
    initial = "pending"
    transitions = {
        "pending": frozenset({"pending", "published", "failed"}),  # pending->pending: retry
        "published": frozenset(),
        "failed": frozenset(),
    }


@dataclass(frozen=True)
class Event:
    id: str
    kind: str
    actor_id: str
    subject_id: str | None
    payload: dict[str, Any]
    attempts: int
    created_at: str


def emit(
    conn: sqlite3.Connection,
    kind: str,
    actor_id: str,
    subject_id: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    event_id = ids.new_id()
    now = clock.now_iso()
    conn.execute(
        "INSERT INTO events (id, kind, actor_id, subject_id, payload, state, next_attempt_at, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event_id,
            kind,
            actor_id,
            subject_id,
            json.dumps(dict(payload or {})),
            EventStates.initial,
            now,
            now,
        ),
    )
    return event_id


def event_from_row(row: sqlite3.Row) -> Event:
    return Event(
        id=row["id"],
        kind=row["kind"],
        actor_id=row["actor_id"],
        subject_id=row["subject_id"],
        payload=json.loads(row["payload"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
    )
