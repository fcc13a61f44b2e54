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
        # the marketplace (fedcoop.gigs) publishes through the same outbox
        "gig.created",  # subject: gigs.id
        "gig.updated",  # subject: gigs.id (edited, filled, closed, reopened)
        "gig.deleted",  # subject: gigs.id (withdrawn)
        "application.offered",  # subject: applications.id (a local worker applies)
        "application.withdrawn",  # subject: applications.id
        "application.accepted",  # subject: applications.id; payload: agreement_id
        "application.rejected",  # subject: applications.id
        "application.refused",  # no row: payload offer_uri, worker_uri, reason (bad Offer)
        "agreement.status",  # subject: agreements.id; payload: status
        "agreement.completion",  # subject: agreements.id (worker's EconomicEvent)
        "agreement.payment",  # subject: agreements.id (payer's transfer EconomicEvent)
        "agreement.receipt",  # subject: agreements.id (poster's confirmation Document)
        # cooperatives (fedcoop.gigs.membership, fedcoop.gigs.governance)
        "membership.join",  # subject: memberships.id (a local person asks a remote coop)
        "membership.leave",  # subject: memberships.id (a local person leaves a remote coop)
        "membership.accepted",  # subject: memberships.id (a local coop admits: Accept + Add)
        "membership.rejected",  # subject: memberships.id (a local coop refuses a Join)
        "membership.removed",  # subject: memberships.id (a local coop removes a member)
        "membership.role_changed",  # subject: memberships.id (Add of the new Relationship)
        "proposal.opened",  # subject: proposals.id (Create(Question) to the members)
        "proposal.closed",  # subject: proposals.id (Update(Question) with the tally)
        "vote.cast",  # subject: votes.id (a local member votes on a remote coop's Question)
        # reviews and moves (fedcoop.gigs.reviews, fedcoop.gigs.moves)
        "review.sealed",  # subject: reviews.id (tell the other party's instance: written)
        "review.published",  # subject: reviews.id (unsealed: the signed review goes out)
        "review.replied",  # subject: review_replies.id (the subject's public answer)
        "review.reported",  # subject: review_reports.id (Flag to the reviewer's instance)
        "actor.moved",  # subject: actors.id; payload: target (Move to the followers)
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
