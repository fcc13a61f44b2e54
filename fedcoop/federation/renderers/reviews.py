"""Renderers of review and move events.

- `review.sealed`: `Create(SealedReview)` to the other party only (the commitment, no content);
- `review.published`: `Create(Note)` carrying the signed review unchanged, to the other party,
  the gig's coop and the reviewer's followers; listed in the reviewer's outbox;
- `review.replied`: the subject's answer, a `Create(Note)` in reply to the review;
- `review.reported`: a `Flag` from the instance actor to the reviewer's instance;
- `actor.moved`: FEP-7628 `Move{object: OLD, target: NEW}` to the followers and to NEW.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fedcoop.accounts.actors import Actor, get_actor, get_instance_actor
from fedcoop.federation.renderers.registry import Audience, Outgoing, RenderContext, renders
from fedcoop.federation.review_to_as import (
    REVIEW_CONTEXT,
    document_digest,
    flag_activity,
    move_activity,
    reply_note,
    sealed_review,
)
from fedcoop.gigs import reviews
from fedcoop.gigs.agreements import get_agreement_by_uri
from fedcoop.social.events import Event


def _create(uri: str, actor: Actor, obj: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": REVIEW_CONTEXT,
        "id": uri,
        "type": "Create",
        "actor": actor.uri,
        "object": obj,
        "to": obj.get("to", []),
    }
    if obj.get("cc"):
        doc["cc"] = obj["cc"]
    if obj.get("published"):
        doc["published"] = obj["published"]
    return doc


def _parties(rc: RenderContext, review: reviews.Review) -> tuple[Actor, Actor] | None:
    reviewer = get_actor(rc.conn, review.reviewer_id)
    subject = get_actor(rc.conn, review.subject_id)
    if reviewer is None or subject is None or not reviewer.local:
        return None
    return reviewer, subject


def _gig_coop_uri(conn: sqlite3.Connection, agreement_uri: str) -> str | None:
    """The coop a gig was posted to: the coop involved in the agreement."""
    agreement = get_agreement_by_uri(conn, agreement_uri)
    if agreement is None:
        return None
    row = conn.execute(
        "SELECT actors.uri FROM gigs JOIN actors ON actors.id = gigs.coop_id "
        "WHERE gigs.id = ? OR gigs.uri = ?",
        (agreement.gig_id or "", agreement.gig_uri),
    ).fetchone()
    return str(row[0]) if row else None


@renders("review.sealed")
def render_sealed(rc: RenderContext, event: Event) -> list[Outgoing]:
    review = reviews.get_review(rc.conn, event.subject_id or "")
    if review is None or review.document is None or not review.local:
        return []
    parties = _parties(rc, review)
    if parties is None:
        return []
    reviewer, subject = parties
    seal = sealed_review(review, reviewer, subject, document_digest(review.document))
    activity = _create(rc.uris.object("activities", event.id), reviewer, seal)
    return [Outgoing(activity, Audience(actor_uris=(subject.uri,)))]


@renders("review.published")
def render_published(rc: RenderContext, event: Event) -> list[Outgoing]:
    review = reviews.get_review(rc.conn, event.subject_id or "")
    if review is None or review.document is None or not review.local or not review.published:
        return []
    parties = _parties(rc, review)
    if parties is None:
        return []
    reviewer, subject = parties
    # The signed Note goes out exactly as signed, @context and proof included.
    activity = _create(rc.uris.object("activities", event.id), reviewer, review.document)
    explicit = [subject.uri]
    coop = _gig_coop_uri(rc.conn, review.agreement_uri)
    if coop is not None and coop not in explicit:
        explicit.append(coop)
    audience = Audience(actor_uris=tuple(explicit), followers_of=(reviewer.id,))
    return [Outgoing(activity, audience, public=True)]


@renders("review.replied")
def render_replied(rc: RenderContext, event: Event) -> list[Outgoing]:
    reply = reviews.get_reply(rc.conn, event.subject_id or "")
    review = reviews.get_review(rc.conn, reply.review_id) if reply else None
    if reply is None or review is None:
        return []
    author = get_actor(rc.conn, reply.author_id)
    reviewer = get_actor(rc.conn, review.reviewer_id)
    if author is None or reviewer is None or not author.local:
        return []
    note = reply_note(reply, author, review, reviewer)
    activity = _create(rc.uris.object("activities", event.id), author, note)
    activity["@context"] = REVIEW_CONTEXT
    audience = Audience(actor_uris=(reviewer.uri,), followers_of=(author.id,))
    return [Outgoing(activity, audience, public=True)]


@renders("review.reported")
def render_reported(rc: RenderContext, event: Event) -> list[Outgoing]:
    report = reviews.get_report(rc.conn, event.subject_id or "")
    review = reviews.get_review(rc.conn, report.review_id) if report else None
    instance = get_instance_actor(rc.conn)
    if report is None or review is None or instance is None or review.local:
        return []
    reviewer = get_actor(rc.conn, review.reviewer_id)
    if reviewer is None or reviewer.local:
        return []
    flag = flag_activity(
        rc.uris.object("activities", event.id), instance, reviewer.uri, review.uri, report.reason
    )
    return [Outgoing(flag, Audience(actor_uris=(reviewer.uri,)))]


@renders("actor.moved")
def render_move(rc: RenderContext, event: Event) -> list[Outgoing]:
    actor = get_actor(rc.conn, event.subject_id or event.actor_id)
    target = event.payload.get("target")
    if actor is None or not actor.local or not isinstance(target, str):
        return []
    move = move_activity(rc.uris.object("activities", event.id), actor, target)
    # The new account's instance hears it too, so it can carry the reviews over at once.
    audience = Audience(actor_uris=(target,), followers_of=(actor.id,))
    return [Outgoing(move, audience, public=True)]
