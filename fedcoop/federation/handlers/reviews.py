"""Inbound review seals and moves, and the review hook of `Create(Note)`.

- `Create(SealedReview)`: the other party's instance says its review is written;
- `Move{object: OLD, target: NEW}` (FEP-7628): honoured only when OLD is the sender and NEW,
  fetched fresh, lists OLD in `alsoKnownAs`; then OLD's reviews collection is read, so its
  reviews (checked one by one) count for NEW here too;
- the `create-note` hook: a Note that is a review, or the answer to a review held here, goes to
  `fedcoop.federation.review_intake` instead of the timeline;
- the `delete-reference` hook: a review deleted by its author is removed here too.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.documents import first_id
from fedcoop.errors import AppError
from fedcoop.federation import review_intake
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.common import object_id, object_of, sender
from fedcoop.federation.handlers.follow import ACTOR_TYPES
from fedcoop.federation.handlers.registry import InboxItem, Reject, handles, hook
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.inbox_worker import MAX_ATTEMPTS
from fedcoop.federation.review_intake import ReviewRejected
from fedcoop.federation.review_to_as import SEALED_TYPE
from fedcoop.gigs import moves, reviews

log = logging.getLogger(__name__)


@hook("create-note")
async def review_note(
    ctx: FederationContext, item: InboxItem, obj: Any, author: Actor
) -> str | None:
    """The outcome when a verified Create(Note) carries a review (or answers one), else None."""
    try:
        return await review_intake.review_outcome(
            ctx, obj, author, last_attempt=item.attempts >= MAX_ATTEMPTS
        )
    except ReviewRejected as exc:
        raise Reject(f"review refused: {exc}") from None


@hook("delete-reference")
async def delete_review(
    ctx: FederationContext, item: InboxItem, uri: str, author: Actor
) -> str | None:
    def apply(conn: sqlite3.Connection) -> str | None:
        try:
            deleted = reviews.delete_remote_review(conn, uri, author.id)
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        return "applied: review deleted" if deleted else None

    return await ctx.db.write(apply)


@handles("Create", SEALED_TYPE)
async def handle_create_sealed_review(ctx: FederationContext, item: InboxItem) -> str:
    obj = object_of(item)
    if not isinstance(obj, dict):
        raise Reject("a seal is sent embedded")
    author = await sender(ctx, item)
    try:
        return await review_intake.take_seal(ctx, obj, author)
    except ReviewRejected as exc:
        raise Reject(f"seal refused: {exc}") from None


@handles("Move", None, *ACTOR_TYPES)
async def handle_move(ctx: FederationContext, item: InboxItem) -> str:
    if object_id(item) != item.actor_uri:
        raise Reject("an account can only move itself")
    target = first_id(item.activity.get("target"))
    if not target:
        raise Reject("a Move names its target")
    old = await sender(ctx, item)
    try:
        new = await ctx.fetcher.get_actor(target, refresh=True)
    except FetchError as exc:
        if exc.transient:
            raise  # the new account's server may answer later
        raise Reject(f"the new account cannot be fetched: {exc.reason}") from None
    if old.uri not in new.also_known_as:
        raise Reject("the new account does not list the old one in alsoKnownAs")
    outcome = await ctx.db.write(lambda conn: moves.honour_move(conn, ctx.uris, old.id, new.id))
    imported = await review_intake.import_reviews_of(ctx, old.uri)
    log.info("move %s -> %s: %s", old.uri, new.uri, imported)
    return (
        f"applied: move honoured ({outcome.followers_moved} followers, "
        f"{outcome.memberships_requested} memberships asked again, "
        f"{imported.taken} reviews carried over)"
    )
