"""Remote actors changing or leaving: Update of a Person/Group/… and Delete of an actor.

Both count only from the actor itself (signed by it): an Update refreshes the cached actor
from the document it sent, the one way besides a failed verification that its keys may
change; a Delete removes what it had sent (notes, follows, pending inbox items) and keeps a
tombstone (`social.departures`).
"""

from __future__ import annotations

from fedcoop.activitypub.documents import first_id
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.common import object_id, object_of
from fedcoop.federation.handlers.registry import InboxItem, Reject
from fedcoop.federation.http_client import FetchError
from fedcoop.social.departures import forget_remote_actor


def _must_be_self(item: InboxItem, what: str) -> str:
    uri = object_id(item)
    if uri != item.actor_uri or item.signer_uri != item.actor_uri:
        raise Reject(f"an actor may only {what} itself")
    return uri


async def apply_actor_update(ctx: FederationContext, item: InboxItem) -> str:
    uri = _must_be_self(item, "update")
    doc = object_of(item)
    try:
        if isinstance(doc, dict) and first_id(doc) == uri:
            await ctx.fetcher.update_actor_from_document(doc, signer_uri=item.signer_uri)
        else:
            # Only the id was sent: the actor's own origin says what it looks like now.
            await ctx.fetcher.get_actor(uri, refresh=True)
    except FetchError as exc:
        if exc.transient:
            raise
        raise Reject(f"the actor document was refused: {exc.reason}") from None
    return "applied: actor refreshed"


async def apply_actor_delete(ctx: FederationContext, item: InboxItem) -> str:
    uri = _must_be_self(item, "delete")
    removed = await ctx.db.write(
        lambda conn: forget_remote_actor(conn, uri, except_inbox_item=item.id)
    )
    return "applied: actor removed" if removed else "ignored: unknown actor"
