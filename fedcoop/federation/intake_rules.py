"""The pure checks of inbox intake: media type, JSON shape and origin rules (PROTOCOL.md §3).

Everything here looks only at the request's bytes and the instance's own host, so it runs
before any key fetch or other network work: a request refused here costs nothing else. Each
refusal raises `IntakeRefused` with the HTTP status and a short, stable reason code that the
inbox returns for logs and tests.

Choices (documented in FEDERATION.md):
- A wrong `Content-Type` gets 415 (the body's type is wrong; 406 is about the `Accept` header).
  Accepted: `application/activity+json`, `application/ld+json` with any profile, and plain
  `application/json`, which some servers send.
- An id on our own host claimed from outside (the activity, its actor, or the object it creates,
  updates or deletes) gets 403: the request is well-formed, and the sender may not do that.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from fedcoop.activitypub.documents import DocumentError, check_document, first_id, types_of
from fedcoop.activitypub.hosts import HostError, host_of

ACCEPTED_MEDIA_TYPES: Final = frozenset(
    {"application/activity+json", "application/ld+json", "application/json"}
)
# Activities whose embedded object is a claim of content by the actor: its id must be on the
# actor's host and its author must be the actor (FEP-fe34 origin-based security).
AUTHORED_OBJECT_ACTIVITIES: Final = frozenset({"Create", "Update"})
# Activities that act on an object the sender owns: the object's id is on the actor's host.
OWNED_OBJECT_ACTIVITIES: Final = frozenset({"Create", "Update", "Delete"})
ACTOR_TYPES: Final = frozenset({"Person", "Group", "Application", "Service", "Organization"})
# Where the authority of `scheme://authority/...` ends, as urlsplit reads it.
_AUTHORITY_END: Final = re.compile(r"[/?#]")
# What `hosts.url_scheme_and_host` refuses anywhere in a URL.
_REFUSED_IN_URL: Final = re.compile(r"[\s\\]")


class IntakeRefused(Exception):
    """An inbox request that is refused: `status` to answer, `reason` to log and test."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        self.status = status
        self.reason = reason
        self.detail = detail
        super().__init__(f"{status} {reason}: {detail}" if detail else f"{status} {reason}")


# Immutable, and a NamedTuple rather than a frozen dataclass: one is built for every inbox POST,
# and a frozen dataclass takes five times as long to build.
class IncomingActivity(NamedTuple):
    """An activity that passed the shape checks, with the ids the later checks need."""

    doc: dict[str, Any]
    id: str
    type: str
    actor: str
    actor_host: str
    object_id: str | None
    object_type: str | None
    embedded_object: dict[str, Any] | None


def check_content_type(value: str | None) -> None:
    """415 unless the body is declared as an AS2 (or plain JSON) document."""
    main = (value or "").split(";", 1)[0].strip().lower()
    if main not in ACCEPTED_MEDIA_TYPES:
        raise IntakeRefused(415, "unsupported_media_type", f"Content-Type {main or 'missing'}")


def check_size(length: int | None, limit: int) -> None:
    """413 when a declared or measured body length is over `limit` bytes."""
    if length is not None and length > limit:
        raise IntakeRefused(413, "too_large", f"{length} bytes, at most {limit}")


def parse_activity(body: bytes) -> IncomingActivity:
    """Parse and check the activity's shape: an object with type, id and actor, no @graph."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise IntakeRefused(400, "malformed_json", type(exc).__name__) from None
    try:
        check_document(doc)
    except DocumentError as exc:
        raise IntakeRefused(400, exc.reason, exc.detail) from None
    types = types_of(doc)
    if not types:
        raise IntakeRefused(400, "missing_type")
    activity_id = doc.get("id")
    if not isinstance(activity_id, str) or not activity_id:
        raise IntakeRefused(400, "missing_id")
    actor = first_id(doc.get("actor"))
    if not actor:
        raise IntakeRefused(400, "missing_actor")
    obj = doc.get("object")
    if isinstance(obj, list):
        obj = obj[0] if len(obj) == 1 else obj  # a single value may come as a one-item array
    embedded = obj if isinstance(obj, dict) else None
    object_types = types_of(embedded)
    return IncomingActivity(
        doc=doc,
        id=activity_id,
        type=types[0],
        actor=actor,
        actor_host=_host(actor, "actor"),
        object_id=first_id(obj) if not isinstance(obj, list) else None,
        object_type=object_types[0] if object_types else None,
        embedded_object=embedded,
    )


def _host(uri: str, what: str) -> str:
    try:
        return origin_host(uri)
    except HostError as exc:
        raise IntakeRefused(400, "bad_uri", f"{what}: {exc}") from None


def origin_host(uri: str) -> str:
    """`hosts.host_of(uri)`, with the host normalisation (IDNA) remembered per origin.

    Every activity names a handful of URLs on one or two origins, and IDNA encoding is the
    most expensive step of intake after the signature check; the result depends on the
    origin alone, as long as the rest of the URL has no character `host_of` refuses.
    """
    if not isinstance(uri, str):
        raise HostError("not a URL")
    head, sep, tail = uri.partition("://")
    if not sep:
        raise HostError(f"not an absolute URL: {uri[:100]!r}")
    end = _AUTHORITY_END.search(tail)
    cut = len(head) + len(sep) + (end.start() if end else len(tail))
    if _REFUSED_IN_URL.search(uri, cut):
        raise HostError("a URL may not contain white space or backslashes")
    return _origin_host(uri[:cut])


@functools.lru_cache(maxsize=4096)
def _origin_host(origin: str) -> str:
    return host_of(origin)


def check_origin(activity: IncomingActivity, local_host: str) -> None:
    """The origin rules of PROTOCOL.md §3 that need no network.

    - nothing from outside may claim an id on our host (403 `local_id_claimed`);
    - the activity id is on its actor's host (400 `origin_mismatch`);
    - a created, updated or deleted object is on the actor's host (400 `object_origin_mismatch`);
    - a created or updated object is attributed to the actor (400 `attribution_mismatch`).
    """
    activity_host = _host(activity.id, "activity id")
    if local_host in (activity.actor_host, activity_host):
        raise IntakeRefused(403, "local_id_claimed", "activity or actor on our host")
    if activity_host != activity.actor_host:
        raise IntakeRefused(400, "origin_mismatch", "activity id and actor on different hosts")
    if activity.type not in OWNED_OBJECT_ACTIVITIES:
        return
    if activity.object_id is None:
        raise IntakeRefused(400, "object_without_id", f"{activity.type} needs an object id")
    object_host = _host(activity.object_id, "object id")
    if object_host == local_host:
        raise IntakeRefused(403, "local_id_claimed", "object on our host")
    if object_host != activity.actor_host:
        raise IntakeRefused(400, "object_origin_mismatch", "object and actor on different hosts")
    if activity.type in AUTHORED_OBJECT_ACTIVITIES and activity.embedded_object is not None:
        check_attribution(activity.embedded_object, activity.actor)


def check_attribution(obj: Mapping[str, Any], actor: str) -> None:
    """An object created or updated by `actor` names no other author.

    An actor updating itself carries no `attributedTo`; an object that names authors must name
    only the actor (as a single value or a one-item array).
    """
    if set(types_of(dict(obj))) & ACTOR_TYPES:
        if obj.get("id") != actor:
            raise IntakeRefused(400, "attribution_mismatch", "an actor may only update itself")
        return
    authors = obj.get("attributedTo")
    if authors is None:
        return
    listed = authors if isinstance(authors, list) else [authors]
    ids = [first_id(author) for author in listed]
    if not ids or any(found != actor for found in ids):
        raise IntakeRefused(400, "attribution_mismatch", "attributedTo is not the actor")


def key_host(key_id: str) -> str:
    """The host a keyId would be fetched from (401 when it is not an http(s) URL)."""
    try:
        return origin_host(key_id)
    except HostError as exc:
        raise IntakeRefused(401, "bad_key_id", str(exc)) from None
