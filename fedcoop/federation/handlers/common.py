"""Small helpers the inbound handlers share: who sent it, what it names, and local lookups."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urlsplit

from fedcoop.accounts.actors import Actor, get_actor_by_uri
from fedcoop.activitypub.documents import first_id
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.registry import InboxItem, Reject
from fedcoop.federation.http_client import FetchError


async def sender(ctx: FederationContext, item: InboxItem) -> Actor:
    """The activity's actor (cached when its signature was checked, fetched otherwise)."""
    try:
        return await ctx.fetcher.get_actor(item.actor_uri)
    except FetchError as exc:
        if exc.transient:
            raise  # the inbox worker tries again later
        raise Reject(f"the sender cannot be fetched: {exc.reason}") from None


def object_of(item: InboxItem) -> Any:
    """The activity's `object`: a one-item array is taken as its item."""
    obj = item.activity.get("object")
    if isinstance(obj, list) and len(obj) == 1:
        return obj[0]
    return obj


def object_id(item: InboxItem) -> str:
    found = first_id(object_of(item))
    if found is None:
        raise Reject(f"{item.activity_type} without an object id")
    return found


async def local_actor(ctx: FederationContext, uri: str | None) -> Actor | None:
    """The local actor with this id, or None (unknown, or not ours)."""
    if uri is None or not ctx.uris.is_local(uri):
        return None

    def find(conn: sqlite3.Connection) -> Actor | None:
        actor = get_actor_by_uri(conn, uri)
        return actor if actor is not None and actor.local else None

    return await ctx.db.read(find)


def local_id_under(ctx: FederationContext, uri: str | None, plural: str) -> str | None:
    """`X` when `uri` is our `…/<plural>/X` (a Follow or Block id this instance minted)."""
    if uri is None or not ctx.uris.is_local(uri):
        return None
    path = urlsplit(uri).path
    prefix = f"/{plural}/"
    if not path.startswith(prefix) or "/" in path[len(prefix) :]:
        return None
    return path[len(prefix) :] or None
