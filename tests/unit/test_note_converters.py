"""Notes <-> ActivityStreams: addressing by visibility, mentions, replies, and the way in."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.vocab import PUBLIC
from fedcoop.federation.as_to_note import NoteRefused, as_to_note_draft, visibility_of
from fedcoop.federation.note_to_as import note_addressing, note_to_as, tombstone_to_as
from fedcoop.social.notes import Note
from fedcoop.social.text import Handle, MentionLink, parse_mentions, render_text

A = "https://a.example"
B = "https://b.example"


def actor(base: str, username: str, actor_id: str = "actor-1") -> Actor:
    uri = f"{base}/users/{username}"
    return Actor(
        id=actor_id,
        uri=uri,
        type="Person",
        username=username,
        host=base.split("//")[1],
        local=False,
        display_name=username.title(),
        summary="",
        url=f"{base}/@{username}",
        inbox=uri + "/inbox",
        outbox=uri + "/outbox",
        shared_inbox=f"{base}/inbox",
        followers=uri + "/followers",
        following=uri + "/following",
        manually_approves=False,
        public_key_id=None,
        public_key_pem=None,
        ed25519_key_id=None,
        ed25519_multibase=None,
        implements=[],
        also_known_as=[],
        moved_to=None,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )


ANA = actor(A, "ana", "ana-id")
BOB = actor(B, "bob", "bob-id")


def note(**changes: Any) -> Note:
    base = Note(
        id="01J0000000000000000000NOTE",
        uri=f"{A}/notes/1",
        url=f"{A}/notes/1",
        author_id=ANA.id,
        local=True,
        in_reply_to_uri=None,
        in_reply_to_id=None,
        conversation=f"{A}/notes/1",
        visibility="public",
        summary="",
        content="<p>hello</p>",
        source="hello",
        sensitive=False,
        language=None,
        published_at="2026-03-04T05:06:07.891Z",
        edited_at=None,
        deleted_at=None,
        created_at="2026-03-04T05:06:07.891Z",
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("visibility", "to", "cc"),
    [
        ("public", [PUBLIC], [ANA.followers, BOB.uri]),
        ("unlisted", [ANA.followers], [PUBLIC, BOB.uri]),
        ("followers", [ANA.followers], [BOB.uri]),
        ("direct", [BOB.uri], []),
    ],
)
def test_addressing_follows_mastodon(visibility: str, to: list[str], cc: list[str]) -> None:
    # Given a note by Ana that mentions Bob, when it is rendered with each visibility
    doc = note_to_as(
        note(visibility=visibility), ANA, mentioned=[BOB], addressees=[BOB.uri], context=True
    )
    # then it is addressed as Mastodon addresses statuses
    assert (doc["to"], doc["cc"]) == (to, cc)
    # and Public never reaches a followers-only or direct note
    if visibility in ("followers", "direct"):
        assert PUBLIC not in doc["to"] + doc["cc"]


def test_note_document_carries_mentions_reply_and_times() -> None:
    reply = note(
        in_reply_to_uri=f"{B}/notes/9",
        edited_at="2026-03-05T00:00:00.000Z",
        summary="spoiler",
        sensitive=True,
        language="en",
    )
    doc = note_to_as(reply, ANA, mentioned=[BOB], addressees=[BOB.uri], context=True)
    assert doc["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert doc["id"] == f"{A}/notes/1" and doc["type"] == "Note"
    assert doc["attributedTo"] == ANA.uri
    assert doc["inReplyTo"] == f"{B}/notes/9"
    assert doc["published"] == "2026-03-04T05:06:07Z"
    assert doc["updated"] == "2026-03-05T00:00:00Z"
    assert doc["summary"] == "spoiler" and doc["sensitive"] is True
    assert doc["contentMap"] == {"en": "<p>hello</p>"}
    assert doc["tag"] == [{"type": "Mention", "href": BOB.uri, "name": "@bob@b.example"}]
    plain = note_to_as(note(), ANA, mentioned=[], addressees=[])
    assert "@context" not in plain and "updated" not in plain and plain["summary"] is None


def test_tombstone() -> None:
    doc = tombstone_to_as(f"{A}/notes/1", "2026-03-04T05:06:07.891Z", context=True)
    assert doc["type"] == "Tombstone" and doc["formerType"] == "Note"
    assert doc["id"] == f"{A}/notes/1" and doc["deleted"] == "2026-03-04T05:06:07Z"


def test_addressing_refuses_unknown_visibility() -> None:
    with pytest.raises(ValueError):
        note_addressing("secret", ANA.followers, [])


@pytest.mark.parametrize("visibility", ["public", "unlisted", "followers", "direct"])
def test_round_trip_keeps_visibility_content_and_mentions(visibility: str) -> None:
    # Given a note rendered by its author's server
    doc = note_to_as(
        note(visibility=visibility), ANA, mentioned=[BOB], addressees=[BOB.uri], context=True
    )
    # when another server reads it back
    draft = as_to_note_draft(doc, ANA)
    # then it sees the same note
    assert draft.visibility == visibility
    assert draft.uri == f"{A}/notes/1" and draft.author_id == ANA.id
    assert draft.mention_uris == (BOB.uri,)
    assert BOB.uri in draft.addressee_uris and PUBLIC not in draft.addressee_uris
    assert draft.published_at == "2026-03-04T05:06:07.000Z"
    assert "hello" in draft.content


def test_incoming_content_is_sanitised_and_fields_capped() -> None:
    doc = {
        "id": f"{B}/notes/7",
        "type": "Note",
        "attributedTo": BOB.uri,
        "content": '<p onclick="x()">hi <script>alert(1)</script><a href="javascript:x">l</a></p>',
        "summary": "<b>cw</b>",
        "to": PUBLIC,  # a single value where an array is usual
        "tag": {"type": "Mention", "href": ANA.uri, "name": "@ana"},
        "url": {"type": "Link", "href": f"{B}/@bob/7"},
        "inReplyTo": "javascript:alert(1)",
        "published": "not a date",
    }
    draft = as_to_note_draft(doc, BOB)
    assert "onclick" not in draft.content and "alert" not in draft.content
    assert "javascript" not in draft.content
    assert draft.summary == "cw" and draft.sensitive is True
    assert draft.visibility == "public"
    assert draft.mention_uris == (ANA.uri,)
    assert draft.url == f"{B}/@bob/7"
    assert draft.in_reply_to_uri is None and draft.published_at is None


def test_content_map_only_note_is_read() -> None:
    doc = {"id": f"{B}/n/1", "type": "Note", "contentMap": {"fr": "<p>salut</p>"}, "cc": [PUBLIC]}
    draft = as_to_note_draft(doc, BOB)
    assert draft.content == "<p>salut</p>" and draft.language == "fr"
    assert draft.visibility == "unlisted"


@pytest.mark.parametrize(
    "doc",
    [
        {"id": f"{B}/notes/1", "type": "Article", "attributedTo": BOB.uri},
        {"id": f"{B}/notes/1", "type": "Note", "attributedTo": ANA.uri},
        {"type": "Note", "attributedTo": BOB.uri},
        {"id": "urn:uuid:1", "type": "Note", "attributedTo": BOB.uri},
    ],
    ids=["not-a-note", "someone-elses", "no-id", "not-http"],
)
def test_refused_notes(doc: dict[str, Any]) -> None:
    with pytest.raises(NoteRefused):
        as_to_note_draft(doc, BOB)


def test_visibility_derivation() -> None:
    followers = BOB.followers
    assert visibility_of(["as:Public"], [], followers) == "public"
    assert visibility_of([followers or ""], ["Public"], followers) == "unlisted"
    assert visibility_of([], [followers or ""], followers) == "followers"
    assert visibility_of([ANA.uri], [], followers) == "direct"
    assert visibility_of([ANA.uri], [], None) == "direct"


def test_local_text_becomes_mastodon_markup() -> None:
    known = {("ana", "a.example"): MentionLink(f"{A}/@ana", "ana")}

    def resolve(handle: Handle) -> MentionLink | None:
        return known.get(handle.key("a.example"))

    html = render_text(
        "hi @ana and @ghost@c.example <b>!\nsee https://x.example/a.\n\nbye", resolve
    )
    assert html == (
        '<p>hi <span class="h-card"><a href="https://a.example/@ana" class="u-url mention">'
        "@<span>ana</span></a></span> and @ghost@c.example &lt;b&gt;!<br>"
        'see <a href="https://x.example/a" rel="nofollow noopener noreferrer">x.example/a</a>.'
        "</p><p>bye</p>"
    )
    assert parse_mentions("@ana @Bob@b.example:8443 mail@ana.example https://x.example/@z") == [
        Handle("ana", None),
        Handle("Bob", "b.example:8443"),
    ]
