"""An ActivityStreams `Note` from elsewhere -> a draft the social domain can store.

This is where remote content becomes safe: HTML goes through the allowlist sanitiser, plain
fields lose their markup, sizes are capped, and visibility is derived from the addressing the
way Mastodon derives it (Public in `to` = public; in `cc` = unlisted; the author's followers
collection = followers-only; otherwise direct). Single values and arrays are both accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fedcoop import clock
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.documents import all_ids, first_href, first_id, first_str, types_of
from fedcoop.activitypub.hosts import HostError, url_scheme_and_host
from fedcoop.activitypub.vocab import PUBLIC, PUBLIC_ALIASES
from fedcoop.federation.sanitize import plain_text, sanitize_html
from fedcoop.social.notes import MAX_SUMMARY_CHARS, RemoteNoteDraft

NOTE_TYPES: Final = frozenset({"Note"})
MAX_ADDRESSEES: Final = 500
MAX_MENTIONS: Final = 100


class NoteRefused(ValueError):
    """The object cannot be taken as a note by this author; the message says why."""


def _http_url(value: str | None) -> str | None:
    if not value:
        return None
    try:
        url_scheme_and_host(value)
    except HostError:
        return None
    return value


def _time(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return clock.iso(clock.parse_iso(value))
    except ValueError:
        return None


def _content(obj: Mapping[str, Any]) -> tuple[str, str | None]:
    """(content, language): `content`, or the first entry of `contentMap`."""
    content = first_str(obj.get("content"))
    content_map = obj.get("contentMap")
    language = None
    if isinstance(content_map, dict):
        for lang, text in content_map.items():
            usable = isinstance(lang, str) and isinstance(text, str) and len(lang) <= 16
            if usable and (content is None or text == content):
                content, language = text, lang
                break
    return content or "", language


def visibility_of(to: list[str], cc: list[str], followers_uri: str | None) -> str:
    public_to = any(uri in PUBLIC_ALIASES for uri in to)
    public_cc = any(uri in PUBLIC_ALIASES for uri in cc)
    if public_to:
        return "public"
    if public_cc:
        return "unlisted"
    if followers_uri and followers_uri in (*to, *cc):
        return "followers"
    return "direct"


def mention_hrefs(tags: Any) -> list[str]:
    hrefs = []
    for tag in tags if isinstance(tags, list) else [tags]:
        if isinstance(tag, dict) and "Mention" in types_of(tag):
            href = first_id(tag.get("href"))
            if href and _http_url(href):
                hrefs.append(href)
    return list(dict.fromkeys(hrefs))[:MAX_MENTIONS]


def as_to_note_draft(obj: Mapping[str, Any], author: Actor) -> RemoteNoteDraft:
    """Convert a remote `Note` by `author`; raises NoteRefused when it is not one."""
    if not NOTE_TYPES & set(types_of(dict(obj))):
        raise NoteRefused("not a Note")
    uri = obj.get("id")
    if not isinstance(uri, str) or not _http_url(uri):
        raise NoteRefused("a note needs an http(s) id")
    attributed = first_id(obj.get("attributedTo"))
    if attributed is not None and attributed != author.uri:
        raise NoteRefused("attributedTo is not the sender")
    content, language = _content(obj)
    summary = plain_text(first_str(obj.get("summary")) or "", MAX_SUMMARY_CHARS)
    to = all_ids(obj.get("to"))[:MAX_ADDRESSEES]
    cc = all_ids(obj.get("cc"))[:MAX_ADDRESSEES]
    addressees = [uri for uri in dict.fromkeys([*to, *cc]) if uri not in PUBLIC_ALIASES]
    conversation = obj.get("conversation") or obj.get("context")
    return RemoteNoteDraft(
        uri=uri,
        author_id=author.id,
        content=sanitize_html(content),
        visibility=visibility_of(to, cc, author.followers),
        url=_http_url(first_href(obj.get("url"))),
        in_reply_to_uri=_http_url(first_id(obj.get("inReplyTo"))),
        conversation=conversation if isinstance(conversation, str) else None,
        summary=summary,
        sensitive=bool(obj.get("sensitive") is True or summary),
        language=language,
        published_at=_time(obj.get("published")),
        updated_at=_time(obj.get("updated")),
        addressee_uris=tuple(a for a in addressees if a != PUBLIC),
        mention_uris=tuple(mention_hrefs(obj.get("tag"))),
    )
