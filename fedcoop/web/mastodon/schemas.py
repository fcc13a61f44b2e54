"""Views -> complete Mastodon entities (docs.joinmastodon.org/entities), nothing left out.

toot builds a dataclass from every entity and dereferences `uri`, `acct`, `created_at`,
`account` and `content` (CLIENTS.md quirk 10), Mastodon.py casts them to typed dicts: so every
field Mastodon sends is here, empty (`[]`, `false`, `null`) where fedcoop has nothing to say
(media, emojis, favourites, boosts). Ids are strings (our ULIDs), times ISO 8601.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fedcoop import __version__
from fedcoop.federation.client_views import (
    AccountView,
    CardView,
    Context,
    InstanceView,
    NotificationItem,
    PollView,
    RelationshipView,
    StatusView,
)
from fedcoop.federation.discovery import MASTODON_COMPAT_VERSION
from fedcoop.gigs import governance
from fedcoop.social.notes import MAX_TEXT_CHARS

# Mastodon 4.3 answers `api_versions.mastodon = 2`; Mastodon.py warns when a server claiming
# 4.3 or later does not say (CLIENTS.md quirk 2).
API_VERSION = 2
VERSION = f"{MASTODON_COMPAT_VERSION} (compatible; fedcoop {__version__})"
AVATAR_PATH = "/static/avatar.png"
HEADER_PATH = "/static/header.png"
SOURCE_URL = "https://github.com/fedcoop/fedcoop"


# accounts ------------------------------------------------------------------------------------


def _note_html(view: AccountView) -> str:
    summary = view.actor.summary
    if not summary or not view.actor.local:
        return summary  # a remote summary was sanitised when it arrived
    return "".join(f"<p>{escape(p)}</p>" for p in summary.split("\n\n") if p.strip())


def account_json(view: AccountView, base: str) -> dict[str, Any]:
    actor = view.actor
    avatar, header = base + AVATAR_PATH, base + HEADER_PATH
    return {
        "id": actor.id,
        "username": actor.username,
        "acct": actor.username if actor.local else actor.handle,
        "display_name": actor.display_name or actor.username,
        "locked": actor.manually_approves,
        "bot": actor.type in ("Application", "Service"),
        "discoverable": True,
        "indexable": False,
        "group": actor.type == "Group",
        "created_at": actor.created_at,
        "note": _note_html(view),
        "url": actor.url or actor.uri,
        "uri": actor.uri,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": view.followers_count,
        "following_count": view.following_count,
        "statuses_count": view.statuses_count,
        "last_status_at": view.last_status_at[:10] if view.last_status_at else None,
        "hide_collections": False,
        "noindex": False,
        "suspended": False,
        "limited": False,
        "emojis": [],
        "roles": [],
        "fields": [],
    }


def credential_account_json(view: AccountView, base: str) -> dict[str, Any]:
    """The signed-in account, with what its owner edits (`source`) and its role."""
    admin = view.account is not None and view.account.is_admin
    return account_json(view, base) | {
        "source": {
            "privacy": "public",
            "sensitive": False,
            "language": "",
            "note": view.actor.summary if view.actor.local else "",
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": False,
            "discoverable": True,
            "indexable": False,
        },
        "role": {
            "id": "3" if admin else "-99",
            "name": "Admin" if admin else "",
            "permissions": "1" if admin else "0",
            "color": "",
            "highlighted": admin,
        },
    }


def relationship_json(view: RelationshipView) -> dict[str, Any]:
    return {
        "id": view.actor_id,
        "following": view.following,
        "showing_reblogs": view.following,
        "notifying": False,
        "languages": [],
        "followed_by": view.followed_by,
        "blocking": view.blocking,
        "blocked_by": view.blocked_by,
        "muting": False,
        "muting_notifications": False,
        "requested": view.requested,
        "requested_by": view.requested_by,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


# statuses ------------------------------------------------------------------------------------


def tag_json(name: str, base: str) -> dict[str, Any]:
    return {"name": name, "url": f"{base}/tags/{name}", "history": [], "following": False}


def card_json(card: CardView) -> dict[str, Any]:
    return {
        "url": card.url,
        "title": card.title,
        "description": card.description,
        "type": "link",
        "author_name": card.author_name,
        "author_url": card.author_url,
        "provider_name": card.provider_name,
        "provider_url": card.provider_url,
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "image_description": "",
        "embed_url": "",
        "blurhash": None,
        "published_at": None,
        "language": None,
        "authors": [],
    }


def poll_json(poll: PollView) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": poll.id,
        "expires_at": poll.expires_at,
        "expired": poll.expired,
        "multiple": False,
        "votes_count": sum(poll.counts),
        "voters_count": poll.voters_count,
        "options": [
            {"title": title, "votes_count": count}
            for title, count in zip(poll.options, poll.counts, strict=True)
        ],
        "emojis": [],
    }
    if poll.own_votes is not None:  # Mastodon sends these to a signed-in viewer only
        doc["voted"] = bool(poll.own_votes)
        doc["own_votes"] = poll.own_votes
    return doc


def _mention_json(view: StatusView, base: str) -> list[dict[str, Any]]:
    return [
        {
            "id": actor.id,
            "username": actor.username,
            "url": actor.url or actor.uri,
            "acct": actor.username if actor.local else actor.handle,
        }
        for actor in view.mentions
    ]


def status_json(view: StatusView, base: str, instance_name: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": view.id,
        "created_at": view.created_at,
        "in_reply_to_id": view.in_reply_to_id,
        "in_reply_to_account_id": view.in_reply_to_account_id,
        "sensitive": view.sensitive,
        "spoiler_text": view.spoiler_text,
        "visibility": view.visibility,
        "language": view.language,
        "uri": view.uri,
        "url": view.url,
        "replies_count": view.replies_count,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": view.edited_at,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "content": view.content,
        "filtered": [],
        "reblog": None,
        "application": {"name": instance_name, "website": base + "/"} if view.local else None,
        "account": account_json(view.author, base),
        "media_attachments": [],
        "mentions": _mention_json(view, base),
        "tags": [tag_json(name, base) for name in view.tags],
        "emojis": [],
        "card": card_json(view.card) if view.card else None,
        "poll": poll_json(view.poll) if view.poll else None,
    }
    if view.text is not None:
        doc["text"] = view.text
    return doc


def context_json(context: Context, base: str, instance_name: str) -> dict[str, Any]:
    return {
        "ancestors": [status_json(s, base, instance_name) for s in context.ancestors],
        "descendants": [status_json(s, base, instance_name) for s in context.descendants],
    }


def notification_json(item: NotificationItem, base: str, instance_name: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "created_at": item.created_at,
        "group_key": f"ungrouped-{item.id}",
        "account": account_json(item.account, base),
    }
    if item.status is not None:
        doc["status"] = status_json(item.status, base, instance_name)
    return doc


# instance ------------------------------------------------------------------------------------

_STATUSES = {
    "max_characters": MAX_TEXT_CHARS,
    "max_media_attachments": 0,
    "characters_reserved_per_url": 23,
}
_MEDIA = {
    "supported_mime_types": [],
    "image_size_limit": 0,
    "image_matrix_limit": 0,
    "video_size_limit": 0,
    "video_frame_rate_limit": 0,
    "video_matrix_limit": 0,
}
_POLLS = {
    "max_options": governance.MAX_OPTIONS,
    "max_characters_per_option": governance.MAX_OPTION_CHARS,
    "min_expiration": int(governance.MIN_PERIOD.total_seconds()),
    "max_expiration": int(governance.MAX_PERIOD.total_seconds()),
}


def _streaming(view: InstanceView) -> str:
    return view.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def instance_v1_json(view: InstanceView) -> dict[str, Any]:
    return {
        "uri": view.domain,
        "title": view.title,
        "short_description": view.description,
        "description": view.description,
        "email": view.email,
        "version": VERSION,
        "urls": {"streaming_api": _streaming(view)},
        "stats": {
            "user_count": view.user_count,
            "status_count": view.status_count,
            "domain_count": view.domain_count,
        },
        "thumbnail": view.base_url + HEADER_PATH,
        "languages": ["en"],
        "registrations": view.registrations,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": {
            "accounts": {"max_featured_tags": 0},
            "statuses": _STATUSES,
            "media_attachments": _MEDIA,
            "polls": _POLLS,
        },
        "contact_account": account_json(view.contact, view.base_url) if view.contact else None,
        "rules": [],
    }


def instance_v2_json(view: InstanceView) -> dict[str, Any]:
    return {
        "domain": view.domain,
        "title": view.title,
        "version": VERSION,
        "source_url": SOURCE_URL,
        "description": view.description,
        "usage": {"users": {"active_month": view.active_month}},
        "thumbnail": {"url": view.base_url + HEADER_PATH, "blurhash": None, "versions": {}},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {"streaming": _streaming(view), "status": None, "about": view.base_url + "/"},
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
            "statuses": _STATUSES,
            "media_attachments": _MEDIA | {"description_limit": 0},
            "polls": _POLLS,
            "translation": {"enabled": False},
        },
        "registrations": {
            "enabled": view.registrations,
            "approval_required": False,
            "message": None,
            "url": None,
        },
        "api_versions": {"mastodon": API_VERSION},
        "contact": {
            "email": view.email,
            "account": account_json(view.contact, view.base_url) if view.contact else None,
        },
        "rules": [],
    }
