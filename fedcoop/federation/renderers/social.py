"""Renderers of the social events: follows, blocks, notes and profile changes -> activities.

Every activity gets a stable id on our host: `…/activities/<event id>`, except a Follow and a
Block, whose ids are the follow's and block's own (`…/follows/<id>`, `…/blocks/<id>`), so the
Accept, Reject or Undo that later names them can be matched to the row. A renderer whose
subject is gone (a follow undone before the outbox reached it, a note deleted before its
Create went out) publishes nothing: the later event says what is true now.
"""

from __future__ import annotations

from typing import Any

from fedcoop.accounts import coops
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.activitypub.vocab import ACTOR_CONTEXT, AS_CONTEXT, PUBLIC
from fedcoop.federation.actor_to_as import actor_to_as
from fedcoop.federation.note_to_as import (
    NOTE_CONTEXT,
    note_addressing,
    note_to_as,
    published,
    tombstone_to_as,
)
from fedcoop.federation.renderers.registry import Audience, Outgoing, RenderContext, renders
from fedcoop.social import blocks, follows, notes
from fedcoop.social.events import Event
from fedcoop.uris import Uris


def activity_uri(uris: Uris, event: Event) -> str:
    return uris.object("activities", event.id)


def follow_uri(uris: Uris, follow_id: str, stored: str | None = None) -> str:
    """The id of a Follow: the remote one when a remote actor sent it, else ours."""
    return stored or uris.object("follows", follow_id)


def block_uri(uris: Uris, block_id: str, stored: str | None = None) -> str:
    return stored or uris.object("blocks", block_id)


def _to_one(actor_uri: str) -> Audience:
    return Audience(actor_uris=(actor_uri,))


def _activity(
    uri: str, kind: str, actor: str, obj: Any, to: list[str], cc: list[str] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": uri,
        "type": kind,
        "actor": actor,
        "object": obj,
        "to": to,
    }
    if cc:
        doc["cc"] = cc
    return doc


def _follow_doc(uri: str, follower_uri: str, followee_uri: str) -> dict[str, Any]:
    return {"id": uri, "type": "Follow", "actor": follower_uri, "object": followee_uri}


def _pair(rc: RenderContext, follow: follows.Follow) -> tuple[Actor, Actor] | None:
    follower = get_actor(rc.conn, follow.follower_id)
    followee = get_actor(rc.conn, follow.followee_id)
    if follower is None or followee is None:
        return None
    return follower, followee


# follows -----------------------------------------------------------------------------------


@renders("follow.requested")
def render_follow(rc: RenderContext, event: Event) -> list[Outgoing]:
    follow = follows.get_follow(rc.conn, event.subject_id or "")
    pair = _pair(rc, follow) if follow else None
    if follow is None or pair is None:
        return []
    follower, followee = pair
    doc = _follow_doc(
        follow_uri(rc.uris, follow.id, follow.activity_uri), follower.uri, followee.uri
    )
    doc = {"@context": AS_CONTEXT, **doc, "to": [followee.uri]}
    return [Outgoing(doc, _to_one(followee.uri))]


@renders("follow.accepted")
def render_accept(rc: RenderContext, event: Event) -> list[Outgoing]:
    follow = follows.get_follow(rc.conn, event.subject_id or "")
    pair = _pair(rc, follow) if follow else None
    if follow is None or pair is None or not follow.accepted:
        return []
    follower, followee = pair
    obj = _follow_doc(
        follow_uri(rc.uris, follow.id, follow.activity_uri), follower.uri, followee.uri
    )
    doc = _activity(activity_uri(rc.uris, event), "Accept", followee.uri, obj, [follower.uri])
    return [Outgoing(doc, _to_one(follower.uri))]


@renders("follow.rejected")
def render_reject(rc: RenderContext, event: Event) -> list[Outgoing]:
    followee = get_actor(rc.conn, event.actor_id)
    follower_uri = event.payload.get("follower_uri")
    if followee is None or not isinstance(follower_uri, str):
        return []
    uri = follow_uri(rc.uris, event.subject_id or event.id, event.payload.get("activity_uri"))
    obj = _follow_doc(uri, follower_uri, followee.uri)
    doc = _activity(activity_uri(rc.uris, event), "Reject", followee.uri, obj, [follower_uri])
    return [Outgoing(doc, _to_one(follower_uri))]


@renders("follow.undone")
def render_undo_follow(rc: RenderContext, event: Event) -> list[Outgoing]:
    follower = get_actor(rc.conn, event.actor_id)
    followee_uri = event.payload.get("followee_uri")
    if follower is None or not isinstance(followee_uri, str):
        return []
    uri = follow_uri(rc.uris, event.subject_id or event.id, event.payload.get("activity_uri"))
    obj = _follow_doc(uri, follower.uri, followee_uri)
    doc = _activity(activity_uri(rc.uris, event), "Undo", follower.uri, obj, [followee_uri])
    return [Outgoing(doc, _to_one(followee_uri))]


# blocks ------------------------------------------------------------------------------------


@renders("block.created")
def render_block(rc: RenderContext, event: Event) -> list[Outgoing]:
    found = blocks.get_block(rc.conn, event.subject_id or "")
    if found is None:
        return []
    blocker = get_actor(rc.conn, found.blocker_id)
    blocked = get_actor(rc.conn, found.blocked_id)
    if blocker is None or blocked is None:
        return []
    uri = block_uri(rc.uris, found.id, found.activity_uri)
    doc = _activity(uri, "Block", blocker.uri, blocked.uri, [blocked.uri])
    return [Outgoing(doc, _to_one(blocked.uri))]


@renders("block.undone")
def render_undo_block(rc: RenderContext, event: Event) -> list[Outgoing]:
    blocker = get_actor(rc.conn, event.actor_id)
    blocked_uri = event.payload.get("blocked_uri")
    if blocker is None or not isinstance(blocked_uri, str):
        return []
    uri = block_uri(rc.uris, event.subject_id or event.id, event.payload.get("activity_uri"))
    obj = {"id": uri, "type": "Block", "actor": blocker.uri, "object": blocked_uri}
    doc = _activity(activity_uri(rc.uris, event), "Undo", blocker.uri, obj, [blocked_uri])
    return [Outgoing(doc, _to_one(blocked_uri))]


# notes -------------------------------------------------------------------------------------


def _note_audience(note: notes.Note, addressees: list[str]) -> Audience:
    # Followers get everything but direct notes; addressed actors (mentioned, replied to) get
    # it whatever the visibility. Local addressees are skipped by the outbox.
    followers = (note.author_id,) if note.visibility != "direct" else ()
    return Audience(actor_uris=tuple(addressees), followers_of=followers)


def _note_activity(rc: RenderContext, event: Event, kind: str) -> list[Outgoing]:
    note = notes.get_note(rc.conn, event.subject_id or "")
    author = get_actor(rc.conn, event.actor_id)
    if note is None or author is None or note.deleted or note.author_id != author.id:
        return []
    addressees = notes.note_addressees(rc.conn, note.id)
    obj = note_to_as(
        note, author, mentioned=notes.mentions(rc.conn, note.id), addressees=addressees
    )
    doc = _activity(activity_uri(rc.uris, event), kind, author.uri, obj, obj["to"], obj["cc"])
    doc["@context"] = NOTE_CONTEXT
    doc["published"] = obj["updated"] if kind == "Update" else obj["published"]
    public = note.visibility in ("public", "unlisted")
    return [Outgoing(doc, _note_audience(note, addressees), public=public)]


@renders("note.created")
def render_create_note(rc: RenderContext, event: Event) -> list[Outgoing]:
    return _note_activity(rc, event, "Create")


@renders("note.updated")
def render_update_note(rc: RenderContext, event: Event) -> list[Outgoing]:
    return _note_activity(rc, event, "Update")


@renders("note.deleted")
def render_delete_note(rc: RenderContext, event: Event) -> list[Outgoing]:
    note = notes.get_note(rc.conn, event.subject_id or "")
    author = get_actor(rc.conn, event.actor_id)
    if note is None or author is None or note.deleted_at is None:
        return []
    addressees = notes.note_addressees(rc.conn, note.id)
    to, cc = note_addressing(note.visibility, author.followers, addressees)
    obj = tombstone_to_as(note.uri, note.deleted_at)
    doc = _activity(activity_uri(rc.uris, event), "Delete", author.uri, obj, to, cc)
    return [Outgoing(doc, _note_audience(note, addressees))]


# actors ------------------------------------------------------------------------------------


def _everyone_who_knows(actor: Actor) -> Audience:
    # Followers hold a cached copy of the actor; Mastodon sends profile changes to them.
    return Audience(followers_of=(actor.id,))


@renders("actor.updated")
def render_update_actor(rc: RenderContext, event: Event) -> list[Outgoing]:
    actor = get_actor(rc.conn, event.subject_id or event.actor_id)
    if actor is None or not actor.local:
        return []
    admins = coops.coop_staff(rc.conn, actor.id) if actor.type == "Group" else []
    obj = actor_to_as(actor, rc.uris, admins=admins)
    obj.pop("@context", None)
    followers = [actor.followers] if actor.followers else []
    doc = _activity(activity_uri(rc.uris, event), "Update", actor.uri, obj, [PUBLIC], followers)
    doc["@context"] = ACTOR_CONTEXT
    doc["published"] = published(event.created_at)
    return [Outgoing(doc, _everyone_who_knows(actor))]


@renders("actor.deleted")
def render_delete_actor(rc: RenderContext, event: Event) -> list[Outgoing]:
    actor = get_actor(rc.conn, event.subject_id or event.actor_id)
    if actor is None or not actor.local:
        return []
    followers = [actor.followers] if actor.followers else []
    doc = _activity(
        activity_uri(rc.uris, event), "Delete", actor.uri, actor.uri, [PUBLIC], followers
    )
    return [Outgoing(doc, _everyone_who_knows(actor))]
