"""Inbound Follow, Accept/Reject of a Follow, and Undo of a Follow (or of an id).

Who may do what (PROTOCOL.md §3): an Accept or Reject of a Follow counts only from the actor
the Follow was sent to, an Undo of a Follow only from its follower. Anything naming a follow
that belongs to someone else is refused (`Reject`) and changes nothing; one naming a follow
never seen is ignored, with an outcome saying so.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.documents import first_id
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.common import (
    local_actor,
    local_id_under,
    object_id,
    object_of,
    sender,
)
from fedcoop.federation.handlers.registry import REGISTRY, InboxItem, Reject, handles, hook
from fedcoop.social import blocks, follows

ACTOR_TYPES = ("Person", "Group", "Application", "Service", "Organization")


@handles("Follow", None, *ACTOR_TYPES)
async def handle_follow(ctx: FederationContext, item: InboxItem) -> str:
    followee = await local_actor(ctx, object_id(item))
    if followee is None or followee.type == "Application":
        return "ignored: not a local actor"
    follower = await sender(ctx, item)
    made = await ctx.db.write(
        lambda conn: follows.receive_follow(conn, follower.id, followee.id, item.activity_uri)
    )
    if made is None:
        return "ignored: blocked"
    return f"applied: follow {made.state}"


def _embedded_follow(item: InboxItem) -> dict[str, Any]:
    obj = object_of(item)
    if not isinstance(obj, dict):
        raise Reject(f"{item.activity_type} of a Follow needs the Follow embedded")
    return obj


async def _answer(ctx: FederationContext, item: InboxItem, *, accepted: bool) -> str:
    follow_doc = _embedded_follow(item)
    named_followee = first_id(follow_doc.get("object"))
    if named_followee is not None and named_followee != item.actor_uri:
        raise Reject("only the actor a Follow was sent to may answer it")
    followee = await sender(ctx, item)
    follower = await local_actor(ctx, first_id(follow_doc.get("actor")))
    follow_uri = first_id(follow_doc)
    follow_id = local_id_under(ctx, follow_uri, "follows")

    def apply(conn: sqlite3.Connection) -> str:
        named = follows.find_by_reference(conn, activity_uri=follow_uri, follow_id=follow_id)
        if named is not None and named.followee_id != followee.id:
            raise Reject("only the actor a Follow was sent to may answer it")
        answer = follows.mark_accepted if accepted else follows.mark_rejected
        found = answer(
            conn,
            followee.id,
            activity_uri=follow_uri,
            follow_id=follow_id,
            follower_id=follower.id if follower else None,
        )
        if found is None:
            return "ignored: no such follow"
        return "applied: follow accepted" if accepted else "applied: follow rejected"

    return await ctx.db.write(apply)


@handles("Accept", "Follow")
async def handle_accept_follow(ctx: FederationContext, item: InboxItem) -> str:
    return await _answer(ctx, item, accepted=True)


@handles("Reject", "Follow")
async def handle_reject_follow(ctx: FederationContext, item: InboxItem) -> str:
    return await _answer(ctx, item, accepted=False)


@handles("Undo", "Follow")
async def handle_undo_follow(ctx: FederationContext, item: InboxItem) -> str:
    follow_doc = _embedded_follow(item)
    if first_id(follow_doc.get("actor")) not in (None, item.actor_uri):
        raise Reject("only its follower may undo a Follow")
    follower = await sender(ctx, item)
    followee = await local_actor(ctx, first_id(follow_doc.get("object")))
    follow_uri = first_id(follow_doc)

    def apply(conn: sqlite3.Connection) -> str:
        named = follows.find_by_reference(conn, activity_uri=follow_uri)
        if named is not None and named.follower_id != follower.id:
            raise Reject("only its follower may undo a Follow")
        found = follows.receive_undo_follow(
            conn,
            follower.id,
            activity_uri=follow_uri,
            followee_id=followee.id if followee else None,
        )
        return "applied: follow undone" if found else "ignored: no such follow"

    return await ctx.db.write(apply)


@handles("Undo", None)
async def handle_undo_reference(ctx: FederationContext, item: InboxItem) -> str:
    """An Undo naming its activity by id only: a Follow or a Block the sender made, or
    whatever a hook recognises (an Offer withdrawn, a Join undone)."""
    uri = object_id(item)
    actor = await sender(ctx, item)

    def apply(conn: sqlite3.Connection) -> str | None:
        follow = follows.find_by_reference(conn, activity_uri=uri)
        if follow is not None:
            if follow.follower_id != actor.id:
                raise Reject("only its follower may undo a Follow")
            follows.receive_undo_follow(conn, actor.id, activity_uri=uri)
            return "applied: follow undone"
        block = blocks.find_by_reference(conn, activity_uri=uri)
        if block is not None:
            if block.blocker_id != actor.id:
                raise Reject("only its blocker may undo a Block")
            blocks.receive_unblock(conn, actor.id, activity_uri=uri)
            return "applied: block undone"
        return None

    outcome = await ctx.db.write(apply)
    if outcome is None:
        outcome = await REGISTRY.run_hooks("undo-reference", ctx, item, uri, actor)
    return outcome or "ignored: unknown activity"


async def _answer_reference(
    ctx: FederationContext, item: InboxItem, uri: str, followee: Actor, *, accepted: bool
) -> str | None:
    """Accept/Reject naming our Follow by id only (some servers do not embed it)."""
    follow_id = local_id_under(ctx, uri, "follows")

    def apply(conn: sqlite3.Connection) -> str | None:
        named = follows.find_by_reference(conn, activity_uri=uri, follow_id=follow_id)
        if named is None:
            return None
        if named.followee_id != followee.id:
            raise Reject("only the actor a Follow was sent to may answer it")
        answer = follows.mark_accepted if accepted else follows.mark_rejected
        answer(
            conn, followee.id, activity_uri=uri, follow_id=follow_id, follower_id=named.follower_id
        )
        return "applied: follow accepted" if accepted else "applied: follow rejected"

    return await ctx.db.write(apply)


@hook("accept-reference")
async def follow_accepted_by_reference(
    ctx: FederationContext, item: InboxItem, uri: str, actor: Actor
) -> str | None:
    return await _answer_reference(ctx, item, uri, actor, accepted=True)


@hook("reject-reference")
async def follow_rejected_by_reference(
    ctx: FederationContext, item: InboxItem, uri: str, actor: Actor
) -> str | None:
    return await _answer_reference(ctx, item, uri, actor, accepted=False)
