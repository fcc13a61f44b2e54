"""A local member's reply to a gig's status: a note to the poster that applies, as on Mastodon.

A Mastodon user applies by replying to a gig's companion Note (PROTOCOL.md section 5); a
member using a Mastodon client does the same through the client API. The reply is an ordinary
note whose `inReplyTo` is the companion Note (the gig's own id when the companion's is not
known here), always addressed to the poster. For a gig of this instance the application is
made at once, without structured terms, which the poster completes; for a gig elsewhere the
note federates to the poster, whose instance takes it as an application.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.errors import AppError, NotFound
from fedcoop.gigs import applications, offers
from fedcoop.gigs.applications import Application
from fedcoop.social import notes, notifications
from fedcoop.social.notes import Note
from fedcoop.uris import Uris

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GigReply:
    note: Note
    application: Application | None  # None: a gig elsewhere, or not open to this applicant


def reply_target(gig: offers.Gig) -> str:
    """What a reply to the gig's status names as `inReplyTo`."""
    return gig.note_uri or gig.uri


def reply_to_gig(
    conn: sqlite3.Connection,
    uris: Uris,
    gig_id: str,
    author_id: str,
    text: str,
    *,
    visibility: str = "public",
    summary: str = "",
    sensitive: bool = False,
    language: str | None = None,
    remote_mentions: Sequence[Actor] = (),
) -> GigReply:
    gig = offers.require_gig(conn, gig_id)
    poster = get_actor(conn, gig.poster_id)
    if poster is None:
        raise NotFound("no such gig")
    note = notes.post_note(
        conn,
        uris,
        author_id,
        text,
        visibility=visibility,
        summary=summary,
        sensitive=sensitive,
        language=language,
        remote_mentions=remote_mentions,
    )
    target = reply_target(gig)
    # The outbox renders the note after this transaction commits, so it goes out as a reply
    # addressed to the poster (even a direct one: the application is for them).
    conn.execute(
        "UPDATE notes SET in_reply_to_uri = ?, conversation = ? WHERE id = ?",
        (target, target, note.id),
    )
    conn.execute(
        "INSERT INTO note_addressees (note_id, actor_uri) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (note.id, poster.uri),
    )
    application = _apply_locally(conn, uris, gig, author_id, text, note) if gig.local else None
    if application is None and gig.local and gig.poster_id != author_id:
        # Not an application (the gig is closed, or one is pending): still a reply to read.
        notifications.notify(
            conn, gig.poster_id, "mention", author_id, note_id=note.id, subject_uri=note.uri
        )
    stored = notes.get_note(conn, note.id)
    assert stored is not None
    return GigReply(stored, application)


def _apply_locally(
    conn: sqlite3.Connection, uris: Uris, gig: offers.Gig, author_id: str, text: str, note: Note
) -> Application | None:
    if gig.state != "open" or gig.poster_id == author_id:
        return None
    try:
        return applications.apply(
            conn,
            uris,
            gig_id=gig.id,
            worker_id=author_id,
            quantity=None,
            cover_note=text[: applications.MAX_COVER_NOTE],
            reply_note_uri=note.uri,
        )
    except AppError as exc:
        # Checked before anything is written, so the reply itself stands (as a remote one does).
        log.info("reply to gig %s not taken as an application: %s", gig.id, exc.safe_message)
        return None
