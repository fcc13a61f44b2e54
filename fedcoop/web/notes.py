"""`/notes/{id}`: a local note as AS2 for ActivityPub clients, as a page for browsers.

Public and unlisted notes are shown to anyone. Followers-only and direct notes are shown
only to an actor they were addressed to, known from a verified signed GET (authorized fetch
puts the signer on the request); everyone else gets 404, so their existence is not revealed.
A deleted note answers 410 with its `Tombstone`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from aiohttp import web

from fedcoop import ids
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.errors import Gone, NotFound
from fedcoop.federation.note_to_as import note_to_as, tombstone_to_as
from fedcoop.social import notes
from fedcoop.web.authorized_fetch import SIGNER
from fedcoop.web.responses import activity_json, request_wants_as2
from fedcoop.web.state import DB, URIS
from fedcoop.web.templating import render_page

routes = web.RouteTableDef()


@dataclass(frozen=True)
class NoteView:
    note: notes.Note
    author: Actor
    mentioned: list[Actor]
    addressees: list[str]
    replies: list[tuple[notes.Note, Actor]]


def _load(conn: sqlite3.Connection, uri: str, viewer_id: str | None) -> NoteView | None:
    note = notes.get_note_by_uri(conn, uri)
    author = get_actor(conn, note.author_id) if note else None
    if note is None or author is None or not note.local:
        return None
    if not note.deleted and not notes.can_see(conn, note, viewer_id):
        return None
    replies = []
    for reply in notes.replies(conn, note.id):
        reply_author = get_actor(conn, reply.author_id)
        if reply_author is not None and notes.can_see(conn, reply, viewer_id):
            replies.append((reply, reply_author))
    return NoteView(
        note,
        author,
        notes.mentions(conn, note.id),
        notes.note_addressees(conn, note.id),
        replies,
    )


@routes.get("/notes/{id}")
async def note(request: web.Request) -> web.StreamResponse:
    note_id = request.match_info["id"]
    if not ids.is_valid(note_id):
        raise NotFound("There is no such note here.")
    uri = request.app[URIS].object("notes", note_id)
    signer = request.get(SIGNER)
    view = await request.app[DB].read(lambda conn: _load(conn, uri, signer.id if signer else None))
    if view is None:
        raise NotFound("There is no such note here.")
    wants_as2 = request_wants_as2(request)
    if view.note.deleted_at is not None:
        if wants_as2:
            tombstone = tombstone_to_as(view.note.uri, view.note.deleted_at, context=True)
            return activity_json(tombstone, status=410)
        raise Gone("This note was deleted.")
    if wants_as2:
        doc = note_to_as(
            view.note,
            view.author,
            mentioned=view.mentioned,
            addressees=view.addressees,
            context=True,
        )
        return activity_json(doc)
    response = render_page(
        "notes/note.html",
        request,
        {
            "note": view.note,
            "author": view.author,
            "handle": f"@{view.author.username}@{view.author.host}",
            "replies": view.replies,
        },
    )
    response.headers["Vary"] = "Accept"
    return response
