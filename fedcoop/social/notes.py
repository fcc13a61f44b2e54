"""Notes: what local members post and what arrives from elsewhere, with who may see them.

A local note is written from plain text (`social.text` turns it into HTML, linking mentions);
a remote note arrives as a draft whose HTML the federation converter already sanitised.
Visibility follows Mastodon: `public`, `unlisted` (public but kept off public timelines),
`followers` and `direct`. `note_addressees` keeps the actors a note was sent to, so a
followers-only or direct note is shown only to them, and the Delete reaches the same people.
A deleted note keeps its row (content cleared, `deleted_at` set) and a tombstone, so a replay
of its Create is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fedcoop import clock, ids
from fedcoop.accounts.actors import (
    ACTOR_COLUMNS,
    Actor,
    actor_from_row,
    get_actor,
    get_actor_by_uri,
    get_local_actor,
)
from fedcoop.db.inbox_queries import add_tombstone, is_tombstoned
from fedcoop.errors import Forbidden, NotFound, ValidationError
from fedcoop.social import notifications
from fedcoop.social.events import emit
from fedcoop.social.paging import Page, page_clause
from fedcoop.social.text import Handle, MentionLink, render_text
from fedcoop.uris import Uris

VISIBILITIES = ("public", "unlisted", "followers", "direct")
MAX_TEXT_CHARS = 5000
MAX_SUMMARY_CHARS = 500


@dataclass(frozen=True)
class Note:
    id: str
    uri: str
    url: str | None
    author_id: str
    local: bool
    in_reply_to_uri: str | None
    in_reply_to_id: str | None
    conversation: str | None
    visibility: str
    summary: str
    content: str
    source: str | None
    sensitive: bool
    language: str | None
    published_at: str
    edited_at: str | None
    deleted_at: str | None
    created_at: str

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


_COLUMNS = (
    "id, uri, url, author_id, local, in_reply_to_uri, in_reply_to_id, conversation, visibility, "
    "summary, content, source, sensitive, language, published_at, edited_at, deleted_at, "
    "created_at"
)
NOTE_COLUMNS = ", ".join(f"notes.{c.strip()}" for c in _COLUMNS.split(","))


def note_from_row(row: sqlite3.Row) -> Note:
    return Note(
        **{
            **dict(row),
            "local": bool(row["local"]),
            "sensitive": bool(row["sensitive"]),
        }
    )


# lookups ---------------------------------------------------------------------------------


def get_note(conn: sqlite3.Connection, note_id: str) -> Note | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM notes WHERE id = ?", (note_id,)).fetchone()
    return note_from_row(row) if row else None


def get_note_by_uri(conn: sqlite3.Connection, uri: str) -> Note | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM notes WHERE uri = ?", (uri,)).fetchone()
    return note_from_row(row) if row else None


def note_addressees(conn: sqlite3.Connection, note_id: str) -> list[str]:
    """The actor (and collection) URIs a note was addressed to, besides the public."""
    rows = conn.execute(
        "SELECT actor_uri FROM note_addressees WHERE note_id = ? ORDER BY actor_uri", (note_id,)
    ).fetchall()
    return [r[0] for r in rows]


def mentions(conn: sqlite3.Connection, note_id: str) -> list[Actor]:
    rows = conn.execute(
        f"SELECT {ACTOR_COLUMNS} FROM mentions JOIN actors ON actors.id = mentions.actor_id "
        "WHERE mentions.note_id = ? ORDER BY actors.uri",
        (note_id,),
    ).fetchall()
    return [actor_from_row(r) for r in rows]


def replies(conn: sqlite3.Connection, note_id: str) -> list[Note]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM notes WHERE in_reply_to_id = ? AND deleted_at IS NULL ORDER BY id",
        (note_id,),
    ).fetchall()
    return [note_from_row(r) for r in rows]


def notes_by_author(
    conn: sqlite3.Connection, author_id: str, page: Page | None = None
) -> list[Note]:
    """An author's live notes, newest first (all visibilities: callers filter with can_see)."""
    page = page or Page()
    clause, order, params = page_clause(page, "id")
    where = " AND ".join(["author_id = ?", "deleted_at IS NULL", *clause])
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM notes WHERE {where} ORDER BY id {order} LIMIT ?",
        (author_id, *params, page.limit),
    ).fetchall()
    return sorted((note_from_row(r) for r in rows), key=lambda n: n.id, reverse=True)


def count_local_notes(conn: sqlite3.Connection) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM notes WHERE local = 1 AND deleted_at IS NULL"
        ).fetchone()[0]
    )


def actor_by_handle(conn: sqlite3.Connection, username: str, host: str) -> Actor | None:
    """A known actor (local or cached remote) by `username` and normalised `HOST[:PORT]`."""
    row = conn.execute(
        f"SELECT {ACTOR_COLUMNS} FROM actors WHERE username = ? COLLATE NOCASE AND host = ? "
        "AND type != 'Application' ORDER BY local DESC LIMIT 1",
        (username, host),
    ).fetchone()
    return actor_from_row(row) if row else None


def can_see(conn: sqlite3.Connection, note: Note, viewer_actor_id: str | None) -> bool:
    """May this actor (None: anonymous) see this note?"""
    if note.deleted:
        return False
    if viewer_actor_id is not None and viewer_actor_id != note.author_id:
        blocked = conn.execute(
            "SELECT 1 FROM actor_blocks WHERE (blocker_id = ? AND blocked_id = ?) "
            "OR (blocker_id = ? AND blocked_id = ?)",
            (note.author_id, viewer_actor_id, viewer_actor_id, note.author_id),
        ).fetchone()
        if blocked:
            return False
    if note.visibility in ("public", "unlisted"):
        return True
    if viewer_actor_id is None:
        return False
    if viewer_actor_id == note.author_id:
        return True
    viewer = get_actor(conn, viewer_actor_id)
    if viewer is None:
        return False
    addressed = (
        conn.execute(
            "SELECT 1 FROM note_addressees WHERE note_id = ? AND actor_uri = ?",
            (note.id, viewer.uri),
        ).fetchone()
        or conn.execute(
            "SELECT 1 FROM mentions WHERE note_id = ? AND actor_id = ?", (note.id, viewer_actor_id)
        ).fetchone()
    )
    if addressed:
        return True
    if note.visibility == "followers":
        return (
            conn.execute(
                "SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ? "
                "AND state = 'accepted'",
                (viewer_actor_id, note.author_id),
            ).fetchone()
            is not None
        )
    return False


# writing helpers ------------------------------------------------------------------------


def _add_addressees(conn: sqlite3.Connection, note_id: str, uris: Iterable[str]) -> None:
    conn.executemany(
        "INSERT INTO note_addressees (note_id, actor_uri) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(note_id, uri) for uri in uris],
    )


def _add_mentions(conn: sqlite3.Connection, note_id: str, actor_ids: Iterable[str]) -> list[str]:
    """Insert mention rows; returns the actor ids that were not mentioned before."""
    added = []
    for actor_id in actor_ids:
        cur = conn.execute(
            "INSERT INTO mentions (note_id, actor_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (note_id, actor_id),
        )
        if cur.rowcount:
            added.append(actor_id)
    return added


def _notify_local(conn: sqlite3.Connection, note: Note, actor_ids: Iterable[str]) -> None:
    """Tell the local actors a note mentions or replies to, if they may see it."""
    for actor_id in dict.fromkeys(actor_ids):
        actor = get_actor(conn, actor_id)
        if actor is not None and actor.local and can_see(conn, note, actor_id):
            notifications.notify(
                conn, actor_id, "mention", note.author_id, note_id=note.id, subject_uri=note.uri
            )


def _parent_author_id(conn: sqlite3.Connection, note: Note) -> str | None:
    if note.in_reply_to_id is None:
        return None
    parent = get_note(conn, note.in_reply_to_id)
    return parent.author_id if parent is not None else None


# local notes ---------------------------------------------------------------------------------


def _render(
    conn: sqlite3.Connection, uris: Uris, text: str, remote_mentions: Sequence[Actor]
) -> tuple[str, list[Actor]]:
    known = {(a.username.lower(), a.host.lower()): a for a in remote_mentions}
    used: dict[str, Actor] = {}

    def resolve(handle: Handle) -> MentionLink | None:
        key = handle.key(uris.domain)
        actor = known.get(key)
        if actor is None and key[1] == uris.domain.lower():
            actor = get_local_actor(conn, handle.username)
            if actor is not None and actor.type == "Application":
                actor = None
        if actor is None:
            return None
        used[actor.id] = actor
        return MentionLink(actor.url or actor.uri, actor.username)

    html = render_text(text, resolve)
    return html, list(used.values())


def _check_text(text: str, summary: str) -> str:
    text = text.strip()
    if not text:
        raise ValidationError("a note needs some text", field="status")
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(f"a note has at most {MAX_TEXT_CHARS} characters", field="status")
    if len(summary) > MAX_SUMMARY_CHARS:
        raise ValidationError(
            f"a content warning has at most {MAX_SUMMARY_CHARS} characters", field="spoiler_text"
        )
    return text


def post_note(
    conn: sqlite3.Connection,
    uris: Uris,
    author_id: str,
    text: str,
    *,
    visibility: str = "public",
    in_reply_to_id: str | None = None,
    summary: str = "",
    sensitive: bool = False,
    language: str | None = None,
    remote_mentions: Sequence[Actor] = (),
) -> Note:
    """A local actor posts. `remote_mentions`: the remote actors its `@user@host`s name
    (resolved beforehand by federation.mentions); local `@user`s are found here."""
    author = get_actor(conn, author_id)
    if author is None or not author.local:
        raise NotFound("no such local actor")
    if visibility not in VISIBILITIES:
        raise ValidationError(f"visibility is one of {', '.join(VISIBILITIES)}", field="visibility")
    text = _check_text(text, summary)
    parent = None
    if in_reply_to_id is not None:
        parent = get_note(conn, in_reply_to_id)
        if parent is None or not can_see(conn, parent, author_id):
            raise NotFound("the note replied to does not exist")
    html, mentioned = _render(conn, uris, text, remote_mentions)
    note_id = ids.new_id()
    uri = uris.object("notes", note_id)
    now = clock.now_iso()
    conn.execute(
        f"INSERT INTO notes ({_COLUMNS}) VALUES ({', '.join('?' for _ in range(18))})",
        (
            note_id,
            uri,
            uri,
            author_id,
            1,
            parent.uri if parent else None,
            parent.id if parent else None,
            (parent.conversation or parent.uri) if parent else uri,
            visibility,
            summary.strip(),
            html,
            text,
            int(sensitive or bool(summary.strip())),
            language,
            now,
            None,
            None,
            now,
        ),
    )
    _add_mentions(conn, note_id, (a.id for a in mentioned))
    addressees = [a.uri for a in mentioned]
    if parent is not None and visibility != "direct":
        # The author replied to hears of it even unmentioned (Mastodon delivers there too).
        parent_author = get_actor(conn, parent.author_id)
        if parent_author is not None and parent_author.id != author_id:
            addressees.append(parent_author.uri)
    _add_addressees(conn, note_id, addressees)
    note = get_note(conn, note_id)
    assert note is not None
    _notify_local(
        conn, note, [*(a.id for a in mentioned), *filter(None, [_parent_author_id(conn, note)])]
    )
    emit(conn, "note.created", author_id, note_id)
    return note


def edit_note(
    conn: sqlite3.Connection,
    uris: Uris,
    note_id: str,
    author_id: str,
    text: str,
    *,
    summary: str | None = None,
    sensitive: bool | None = None,
    remote_mentions: Sequence[Actor] = (),
) -> Note:
    """The author edits a local note; everyone it reached (and anyone newly mentioned) hears."""
    note = get_note(conn, note_id)
    if note is None or note.deleted or not note.local:
        raise NotFound("no such note")
    if note.author_id != author_id:
        raise Forbidden("only its author can edit a note")
    new_summary = note.summary if summary is None else summary.strip()
    text = _check_text(text, new_summary)
    html, mentioned = _render(conn, uris, text, remote_mentions)
    conn.execute(
        "UPDATE notes SET content = ?, source = ?, summary = ?, sensitive = ?, edited_at = ? "
        "WHERE id = ?",
        (
            html,
            text,
            new_summary,
            int(note.sensitive if sensitive is None else sensitive or bool(new_summary)),
            clock.now_iso(),
            note_id,
        ),
    )
    added = _add_mentions(conn, note_id, (a.id for a in mentioned))
    # Addressees only grow: whoever got the first version must get the edit too.
    _add_addressees(conn, note_id, (a.uri for a in mentioned))
    edited = get_note(conn, note_id)
    assert edited is not None
    _notify_local(conn, edited, added)
    emit(conn, "note.updated", author_id, note_id)
    return edited


def _clear(conn: sqlite3.Connection, note: Note) -> None:
    conn.execute(
        "UPDATE notes SET content = '', source = NULL, summary = '', name = NULL, "
        "deleted_at = ? WHERE id = ?",
        (clock.now_iso(), note.id),
    )
    conn.execute("DELETE FROM mentions WHERE note_id = ?", (note.id,))
    notifications.forget_about_note(conn, note.id)
    add_tombstone(conn, note.uri, "Note")
    if note.local:
        # The Create and Update already published carry the text: take them out of the
        # outbox collection and `/activities/{id}` (both serve public rows only).
        conn.execute("UPDATE activities SET public = 0 WHERE object_uri = ?", (note.uri,))


def delete_note(conn: sqlite3.Connection, note_id: str, author_id: str) -> Note:
    """The author deletes a local note: a tombstone stays, and a Delete goes out."""
    note = get_note(conn, note_id)
    if note is None or not note.local:
        raise NotFound("no such note")
    if note.author_id != author_id:
        raise Forbidden("only its author can delete a note")
    if note.deleted:
        return note
    _clear(conn, note)
    emit(conn, "note.deleted", author_id, note_id)
    deleted = get_note(conn, note_id)
    assert deleted is not None
    return deleted


# remote notes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteNoteDraft:
    """A remote note as the federation converter hands it over (content already sanitised)."""

    uri: str
    author_id: str
    content: str
    visibility: str
    url: str | None = None
    in_reply_to_uri: str | None = None
    conversation: str | None = None
    summary: str = ""
    sensitive: bool = False
    language: str | None = None
    published_at: str | None = None
    updated_at: str | None = None
    addressee_uris: tuple[str, ...] = ()
    mention_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stored:
    note: Note
    created: bool


def _known_actor_ids(conn: sqlite3.Connection, actor_uris: Iterable[str]) -> list[str]:
    found = []
    for uri in dict.fromkeys(actor_uris):
        actor = get_actor_by_uri(conn, uri)
        if actor is not None:
            found.append(actor.id)
    return found


def concerns_local_actors(conn: sqlite3.Connection, draft: RemoteNoteDraft) -> bool:
    """Is a remote note anything to this instance: followed author, addressed or mentioned
    local actor, or a reply to a note we hold? Others' chatter is not stored."""
    followed = conn.execute(
        "SELECT 1 FROM follows JOIN actors ON actors.id = follows.follower_id "
        "WHERE follows.followee_id = ? AND follows.state = 'accepted' AND actors.local = 1 "
        "LIMIT 1",
        (draft.author_id,),
    ).fetchone()
    if followed:
        return True
    named = [*draft.addressee_uris, *draft.mention_uris]
    for uri in dict.fromkeys(named):
        actor = get_actor_by_uri(conn, uri)
        if actor is not None and actor.local:
            return True
    return bool(draft.in_reply_to_uri and get_note_by_uri(conn, draft.in_reply_to_uri))


def store_remote_note(conn: sqlite3.Connection, draft: RemoteNoteDraft) -> Stored | None:
    """Store a note that arrived from elsewhere; idempotent by uri, None once it was deleted."""
    if draft.visibility not in VISIBILITIES:
        raise ValueError(f"bad visibility {draft.visibility!r}")
    if is_tombstoned(conn, draft.uri):
        return None
    existing = get_note_by_uri(conn, draft.uri)
    if existing is not None:
        return Stored(existing, created=False)
    parent = get_note_by_uri(conn, draft.in_reply_to_uri) if draft.in_reply_to_uri else None
    note_id = ids.new_id()
    now = clock.now_iso()
    conn.execute(
        f"INSERT INTO notes ({_COLUMNS}) VALUES ({', '.join('?' for _ in range(18))})",
        (
            note_id,
            draft.uri,
            draft.url,
            draft.author_id,
            0,
            draft.in_reply_to_uri,
            parent.id if parent else None,
            draft.conversation or (parent.conversation if parent else None) or draft.uri,
            draft.visibility,
            draft.summary,
            draft.content,
            None,
            int(draft.sensitive),
            draft.language,
            draft.published_at or now,
            draft.updated_at,
            None,
            now,
        ),
    )
    _add_addressees(conn, note_id, draft.addressee_uris)
    mentioned = _known_actor_ids(conn, draft.mention_uris)
    _add_mentions(conn, note_id, mentioned)
    note = get_note(conn, note_id)
    assert note is not None
    # Replies that arrived before their parent now find it.
    conn.execute(
        "UPDATE notes SET in_reply_to_id = ? WHERE in_reply_to_uri = ? AND in_reply_to_id IS NULL",
        (note_id, draft.uri),
    )
    _notify_local(conn, note, [*mentioned, *filter(None, [_parent_author_id(conn, note)])])
    return Stored(note, created=True)


def update_remote_note(conn: sqlite3.Connection, draft: RemoteNoteDraft) -> Note | None:
    """Apply an edit from the note's author; None for a note never seen (or deleted)."""
    note = get_note_by_uri(conn, draft.uri)
    if note is None or note.deleted or note.local:
        return None
    if note.author_id != draft.author_id:
        raise Forbidden("only its author can edit a note")
    conn.execute(
        "UPDATE notes SET content = ?, summary = ?, sensitive = ?, language = ?, url = ?, "
        "edited_at = ? WHERE id = ?",
        (
            draft.content,
            draft.summary,
            int(draft.sensitive),
            draft.language,
            draft.url or note.url,
            draft.updated_at or clock.now_iso(),
            note.id,
        ),
    )
    _add_addressees(conn, note.id, draft.addressee_uris)
    added = _add_mentions(conn, note.id, _known_actor_ids(conn, draft.mention_uris))
    edited = get_note(conn, note.id)
    assert edited is not None
    _notify_local(conn, edited, added)
    return edited


def delete_remote_note(conn: sqlite3.Connection, uri: str, author_id: str) -> Note | None:
    """The author deleted a remote note. The tombstone is kept even for a note never seen,
    so a Create replayed after its Delete stays dropped. None when there was no such note."""
    note = get_note_by_uri(conn, uri)
    if note is not None and note.author_id != author_id:
        raise Forbidden("only its author can delete a note")
    if note is None:
        add_tombstone(conn, uri, "Note")
        return None
    if not note.deleted:
        _clear(conn, note)
    return get_note(conn, note.id)


def delete_all_by_author(conn: sqlite3.Connection, author_id: str) -> int:
    """Clear (and tombstone) every note of an actor that left the network."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM notes WHERE author_id = ? AND deleted_at IS NULL", (author_id,)
    ).fetchall()
    for row in rows:
        _clear(conn, note_from_row(row))
    return len(rows)
