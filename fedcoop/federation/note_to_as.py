"""Notes -> ActivityStreams `Note` (and `Tombstone`) documents, addressed the Mastodon way.

Addressing is what decides who may see a note on every other server, so it follows
Mastodon exactly: public = to Public, cc followers; unlisted = to followers, cc Public;
followers-only = to followers; direct = to the addressed actors only. Mentioned (and replied-to)
actors are added to `cc` (to `to` for a direct note) and listed as `Mention` tags, which is
how Mastodon decides whom to notify.
"""

from __future__ import annotations

from typing import Any, Final

from fedcoop import clock
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.vocab import AS_CONTEXT, PUBLIC
from fedcoop.social.notes import Note

NOTE_CONTEXT: Final[list[object]] = [
    AS_CONTEXT,
    {"sensitive": "as:sensitive", "Hashtag": "as:Hashtag", "toot": "http://joinmastodon.org/ns#"},
]


def published(value: str) -> str:
    """Our stored ISO time (with milliseconds) as AS2 `published` (seconds, `Z`)."""
    return clock.iso_seconds(clock.parse_iso(value))


def note_addressing(
    visibility: str, followers_uri: str | None, addressees: list[str]
) -> tuple[list[str], list[str]]:
    """(to, cc) of a note or of the activities about it."""
    followers = [followers_uri] if followers_uri else []
    others = [uri for uri in dict.fromkeys(addressees) if uri not in (PUBLIC, followers_uri)]
    if visibility == "public":
        return [PUBLIC], followers + others
    if visibility == "unlisted":
        return followers, [PUBLIC, *others]
    if visibility == "followers":
        return followers, others
    if visibility == "direct":
        return others, []
    raise ValueError(f"unknown visibility {visibility!r}")


def mention_tag(actor: Actor) -> dict[str, str]:
    return {"type": "Mention", "href": actor.uri, "name": f"@{actor.username}@{actor.host}"}


def note_to_as(
    note: Note,
    author: Actor,
    *,
    mentioned: list[Actor],
    addressees: list[str],
    context: bool = False,
) -> dict[str, Any]:
    """The `Note` document; `context=True` for a top-level document (not inside an activity)."""
    to, cc = note_addressing(note.visibility, author.followers, addressees)
    doc: dict[str, Any] = {}
    if context:
        doc["@context"] = NOTE_CONTEXT
    doc.update(
        {
            "id": note.uri,
            "type": "Note",
            "attributedTo": author.uri,
            "content": note.content,
            "published": published(note.published_at),
            "to": to,
            "cc": cc,
            "url": note.url or note.uri,
            "inReplyTo": note.in_reply_to_uri,
            "sensitive": note.sensitive,
            "summary": note.summary or None,
            "tag": [mention_tag(actor) for actor in mentioned],
        }
    )
    if note.language:
        doc["contentMap"] = {note.language: note.content}
    if note.edited_at:
        doc["updated"] = published(note.edited_at)
    if note.conversation:
        doc["conversation"] = note.conversation
    if note.source is not None:
        # Lets a client that edits through ActivityPub (and Mastodon's edit view) get the text.
        doc["source"] = {"content": note.source, "mediaType": "text/plain"}
    return doc


def tombstone_to_as(
    uri: str, deleted_at: str, former_type: str = "Note", *, context: bool = False
) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": AS_CONTEXT} if context else {}
    doc.update(
        {
            "id": uri,
            "type": "Tombstone",
            "formerType": former_type,
            "deleted": published(deleted_at),
        }
    )
    return doc
