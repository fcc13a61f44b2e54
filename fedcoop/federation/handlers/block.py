"""Inbound Block of a local actor, and its Undo (only from the blocker)."""

from __future__ import annotations

import sqlite3

from fedcoop.activitypub.documents import first_id
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.common import local_actor, object_id, object_of, sender
from fedcoop.federation.handlers.follow import ACTOR_TYPES
from fedcoop.federation.handlers.registry import InboxItem, Reject, handles
from fedcoop.social import blocks


@handles("Block", None, *ACTOR_TYPES)
async def handle_block(ctx: FederationContext, item: InboxItem) -> str:
    blocked = await local_actor(ctx, object_id(item))
    if blocked is None:
        return "ignored: not a local actor"
    blocker = await sender(ctx, item)
    await ctx.db.write(
        lambda conn: blocks.receive_block(conn, blocker.id, blocked.id, item.activity_uri)
    )
    return "applied: block recorded"


@handles("Undo", "Block")
async def handle_undo_block(ctx: FederationContext, item: InboxItem) -> str:
    block_doc = object_of(item)
    if not isinstance(block_doc, dict):
        raise Reject("Undo of a Block needs the Block embedded")
    if first_id(block_doc.get("actor")) not in (None, item.actor_uri):
        raise Reject("only its blocker may undo a Block")
    blocker = await sender(ctx, item)
    blocked = await local_actor(ctx, first_id(block_doc.get("object")))
    block_uri = first_id(block_doc)

    def apply(conn: sqlite3.Connection) -> str:
        named = blocks.find_by_reference(conn, activity_uri=block_uri)
        if named is not None and named.blocker_id != blocker.id:
            raise Reject("only its blocker may undo a Block")
        found = blocks.receive_unblock(
            conn, blocker.id, activity_uri=block_uri, blocked_id=blocked.id if blocked else None
        )
        return "applied: block undone" if found else "ignored: no such block"

    return await ctx.db.write(apply)
