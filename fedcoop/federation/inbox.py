"""Inbox intake (walk a): authenticate an incoming activity, store it durably, answer 202.

`receive()` runs the checks in order of cost, so a request refused early costs nothing later:

1. size (413), media type (415), JSON shape and JSON-LD keywords (400), origin rules and ids
   on our own host (400/403): pure, in `intake_rules`;
2. a blocked domain (the actor's host, then the signing key's host): 403 before any network
   work;
3. the signer (`inbox_auth`): an HTTP signature or an FEP-8b32 proof by the activity's actor,
   else 401 and nothing stored;
4. one batched write inserting the item with who signed it and how (with the other items
   arriving at the same time, in one statement); a duplicate activity id, or a
   Create of a tombstoned object, is answered 202 and stores nothing. A busy database: 503.

Only then is 202 sent, so an accepted activity survives a crash. Every outcome carries a short
reason code for logs and tests. `resolve_embedded()` is for handlers: the embedded object in
a form that may be trusted.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime
from typing import Any, Final, NamedTuple

from fedcoop import clock
from fedcoop.activitypub.documents import DocumentError, check_document, first_id
from fedcoop.activitypub.hosts import HostError, normalise_host
from fedcoop.activitypub.httpsig_common import HeaderInput, field_lines
from fedcoop.db.database import StorageBusy
from fedcoop.db.inbox_queries import NewInboxItem, store_items
from fedcoop.federation.context import FederationContext
from fedcoop.federation.fetcher import FetchBudget
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.inbox_auth import Request, authenticate, refuse_blocked
from fedcoop.federation.intake_rules import (
    IntakeRefused,
    check_content_type,
    check_origin,
    check_size,
    origin_host,
    parse_activity,
)
from fedcoop.federation.key_cache import KeyCache

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = 10


class IntakeResult(NamedTuple):  # immutable; built for every inbox POST
    """What to answer: `status`, and `reason` (`accepted`, `duplicate`, … or a refusal code)."""

    status: int
    reason: str
    item_id: str | None = None
    retry_after: int | None = None

    @property
    def stored(self) -> bool:
        return self.item_id is not None


async def receive(
    ctx: FederationContext,
    method: str,
    path: str,
    headers: HeaderInput,
    body: bytes,
    *,
    recipient: str | None,
    keys: KeyCache | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """Check, authenticate and durably store one inbox POST.

    `path` is the request target as received (with its query); `recipient` the local actor
    whose inbox it is (None for the shared inbox); `keys` the process's cache of verified keys.
    """
    request = Request(method, path, field_lines(headers), body)
    try:
        item = await _admit(ctx, keys, request, recipient, now or clock.now())
        outcome, item_id = await ctx.db.write_batched(store_items, item)
    except IntakeRefused as exc:
        log.info("inbox: %d %s %s", exc.status, exc.reason, exc.detail)
        return IntakeResult(exc.status, exc.reason)
    except StorageBusy:
        # The item (or the signer's key, on first contact) could not be written: the sender
        # keeps the activity and retries; nothing was acknowledged.
        log.warning("inbox: storage busy, asking the sender to retry")
        return IntakeResult(503, "storage_busy", retry_after=RETRY_AFTER_SECONDS)
    if outcome != "stored":
        log.debug("inbox: %s not stored (%s)", item.activity_uri, outcome)
        return IntakeResult(202, outcome)
    return IntakeResult(202, "accepted", item_id)


async def _admit(
    ctx: FederationContext,
    keys: KeyCache | None,
    request: Request,
    recipient: str | None,
    now: datetime,
) -> NewInboxItem:
    check_size(len(request.body), ctx.settings.federation.max_body_bytes)
    check_content_type(next(iter(request.lines.get("content-type", [])), None))
    activity = parse_activity(request.body)
    check_origin(activity, _local_host(ctx))
    await refuse_blocked(ctx, activity.actor_host)
    signer = await authenticate(ctx, keys, request, activity, now)
    return NewInboxItem(
        activity_uri=activity.id,
        activity_type=activity.type,
        object_type=activity.object_type,
        object_uri=activity.object_id,
        actor_uri=activity.actor,
        signer_uri=signer.uri,
        auth=signer.auth,
        recipient=recipient,
        body=_as_text(request.body, activity.doc),
    )


def _local_host(ctx: FederationContext) -> str:
    return _normalised(ctx.uris.domain, ctx.uris.scheme)


@functools.lru_cache(maxsize=16)
def _normalised(domain: str, scheme: str) -> str:
    return normalise_host(domain, scheme=scheme)


def _as_text(body: bytes, doc: dict[str, Any]) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:  # JSON may come as UTF-16/32; store it re-encoded
        return json.dumps(doc, ensure_ascii=False)


# embedded objects, for handlers ---------------------------------------------------------------
async def resolve_embedded(
    ctx: FederationContext, activity: dict[str, Any], *, budget: FetchBudget | None = None
) -> dict[str, Any] | None:
    """The activity's object, in a form a handler may trust, or None (drop it).

    The sender is authenticated as the activity's actor, so an embedded object whose author is
    that actor (and whose id is on the actor's host) is taken as sent. Any other object (an
    Announce of someone else's post, a forwarded reply, a bare id) is fetched by id from its
    own origin, which must answer with the same id and an AS2 type; if it cannot, the object is
    dropped. Ids on our own host are never fetched: look them up locally. `budget` is the
    activity's fetch allowance, when the handler keeps one.
    """
    obj = activity.get("object")
    if isinstance(obj, list):
        obj = obj[0] if len(obj) == 1 else None
    object_id = first_id(obj)
    if object_id is None:
        return None
    actor = first_id(activity.get("actor"))
    try:
        object_host = origin_host(object_id)
        if object_host == _local_host(ctx):
            return None
        if isinstance(obj, dict) and actor and _authored_by(obj, actor, object_host):
            return obj
    except HostError:
        return None
    try:
        fetched = await ctx.fetcher.fetch_object(object_id, budget=budget)
        check_document(fetched)
    except (FetchError, DocumentError) as exc:
        log.info("dropping embedded object %s: %s", object_id, exc)
        return None
    author = _author(fetched)
    if author is not None and not _same_host(author, object_host):
        # Its origin vouches only for authors on its own host (FEP-fe34).
        log.info("dropping %s: attributed to an actor on another host", object_id)
        return None
    return fetched


def _author(obj: dict[str, Any]) -> str | None:
    # Objects name their author in attributedTo; embedded activities (a Follow inside an Undo)
    # in actor.
    return first_id(obj.get("attributedTo")) or first_id(obj.get("actor"))


def _authored_by(obj: dict[str, Any], actor: str, object_host: str) -> bool:
    author = _author(obj)
    if author is None and obj.get("id") == actor:
        return True  # the actor itself (an Update of a profile)
    return author == actor and _same_host(actor, object_host)


def _same_host(uri: str, host: str) -> bool:
    try:
        return origin_host(uri) == host
    except HostError:
        return False
