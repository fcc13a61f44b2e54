"""Inbound Create, Update and Delete of notes.

A note is taken from the activity only when its author is the sender (otherwise it is fetched
from its own origin, or dropped: `inbox.resolve_embedded`), and stored only when it concerns
someone here (a local follower of its author, a local actor addressed, mentioned or replied
to). Update and Delete count only from the note's author; a Delete of a note never seen still
leaves a tombstone, so a Create replayed after it is dropped.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.documents import first_id
from fedcoop.errors import Forbidden
from fedcoop.federation.actor_updates import apply_actor_delete
from fedcoop.federation.as_to_note import NoteRefused, as_to_note_draft
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.common import object_id, sender
from fedcoop.federation.handlers.registry import REGISTRY, InboxItem, Reject, handles
from fedcoop.federation.inbox import resolve_embedded
from fedcoop.social import notes


async def _verified(ctx: FederationContext, item: InboxItem) -> tuple[dict[str, Any], Actor]:
    """The note an activity carries, verified at its origin, and its author (the sender)."""
    obj: dict[str, Any] | None = await resolve_embedded(ctx, item.activity)
    if obj is None:
        raise Reject("the note could not be verified at its origin")
    author = await sender(ctx, item)
    if first_id(obj.get("attributedTo")) != author.uri:
        raise Reject("the note is not the sender's")
    return obj, author


def _to_draft(obj: dict[str, Any], author: Actor) -> notes.RemoteNoteDraft:
    try:
        return as_to_note_draft(obj, author)
    except NoteRefused as exc:
        raise Reject(str(exc)) from None


async def _draft(ctx: FederationContext, item: InboxItem) -> notes.RemoteNoteDraft:
    """The draft of the note an activity carries; Reject when it may not be taken."""
    obj, author = await _verified(ctx, item)
    return _to_draft(obj, author)


@handles("Create", "Note")
async def handle_create_note(ctx: FederationContext, item: InboxItem) -> str:
    obj, author = await _verified(ctx, item)
    # Gig applications by reply, coop votes and reviews are Notes too: their hooks go first.
    hooked = await REGISTRY.run_hooks("create-note", ctx, item, obj, author)
    if hooked is not None:
        return hooked
    draft = _to_draft(obj, author)

    def store(conn: sqlite3.Connection) -> str:
        if not notes.concerns_local_actors(conn, draft):
            return "ignored: the note concerns nobody here"
        stored = notes.store_remote_note(conn, draft)
        if stored is None:
            return "ignored: the note was deleted"
        return "applied: note stored" if stored.created else "ignored: note already stored"

    return await ctx.db.write(store)


@handles("Update", "Note")
async def handle_update_note(ctx: FederationContext, item: InboxItem) -> str:
    draft = await _draft(ctx, item)

    def apply(conn: sqlite3.Connection) -> str:
        try:
            edited = notes.update_remote_note(conn, draft)
        except Forbidden:
            raise Reject("only its author can update a note") from None
        return "applied: note updated" if edited else "ignored: unknown note"

    return await ctx.db.write(apply)


@handles("Delete", None, "Tombstone", "Note")
async def handle_delete_note(ctx: FederationContext, item: InboxItem) -> str:
    uri = object_id(item)
    if uri == item.actor_uri:
        # Mastodon deletes an account with `object` set to the actor's bare id.
        return await apply_actor_delete(ctx, item)
    author = await sender(ctx, item)

    # A Delete may name something else a hook knows (a gig's Proposal) before the note rules
    # apply: those keep their own tombstones.
    hooked = await REGISTRY.run_hooks("delete-reference", ctx, item, uri, author)
    if hooked is not None:
        return hooked

    def apply(conn: sqlite3.Connection) -> str:
        try:
            deleted = notes.delete_remote_note(conn, uri, author.id)
        except Forbidden:
            raise Reject("only its author can delete a note") from None
        return "applied: note deleted" if deleted else "ignored: unknown note (tombstone kept)"

    return await ctx.db.write(apply)
