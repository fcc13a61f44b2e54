"""Paged `OrderedCollection`s: the collection document links to pages keyed by a cursor."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fedcoop.accounts.actors import get_local_actor
from fedcoop.activitypub.vocab import AS_CONTEXT
from fedcoop.db import Database, outbox_queries
from fedcoop.errors import NotFound
from fedcoop.social import follows

PAGE_SIZE = 40


def collection_document(collection_uri: str, total: int) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": collection_uri,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": f"{collection_uri}?page=true",
    }


def collection_page(
    collection_uri: str,
    cursor: str | None,
    items: list[tuple[str, Any]],
    *,
    limit: int = PAGE_SIZE,
    total: int | None = None,
) -> dict[str, Any]:
    """One page of (cursor, item) pairs, newest first; `next` continues below the last cursor."""
    page_id = f"{collection_uri}?page=true" + (f"&max_id={quote(cursor)}" if cursor else "")
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_uri,
        "orderedItems": [item for _, item in items],
    }
    if total is not None:
        doc["totalItems"] = total
    if len(items) >= limit:
        doc["next"] = f"{collection_uri}?page=true&max_id={quote(items[-1][0])}"
    return doc


async def actor_collection(
    db: Database, kind: str, username: str, part: str, *, page: bool, max_id: str | None
) -> dict[str, Any]:
    """followers, following or outbox of a local actor, as the collection or one page."""

    def load(conn: Any) -> tuple[str, int, list[tuple[str, Any]]]:
        actor = get_local_actor(conn, username)
        if actor is None or actor.type != kind:
            raise NotFound("no such actor")
        uri = f"{actor.uri}/{part}"
        if part == "followers":
            total = follows.count_followers(conn, actor.id)
            items = follows.follower_uris_page(conn, actor.id, before=max_id, limit=PAGE_SIZE)
        elif part == "following":
            total = follows.count_following(conn, actor.id)
            items = follows.following_uris_page(conn, actor.id, before=max_id, limit=PAGE_SIZE)
        else:  # outbox: the actor's public activities, newest first
            total = outbox_queries.count_public_activities(conn, actor.id)
            items = outbox_queries.public_activities_page(
                conn, actor.id, before=max_id, limit=PAGE_SIZE
            )
        return uri, total, list(items)

    uri, total, items = await db.read(load)
    if not page:
        return collection_document(uri, total)
    return collection_page(uri, max_id, items, total=total)
