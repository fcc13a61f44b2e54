"""Authorized fetch (`federation.authorized_fetch`): objects only for signed GETs.

When on, a GET or HEAD that would be answered with an ActivityPub document (objects, activities,
collections) needs a valid HTTP signature, draft-cavage or RFC 9421, from a host the federation
policy does not block; otherwise 401. What peers need before they can sign anything stays
public: actor documents (and so their keys), WebFinger, NodeInfo, host-meta; and so do HTML
pages, which browsers ask for. Elsewhere a request that carries a signature is verified whatever
it asks for, and the verified signer is left on the request (`SIGNER`) for handlers that show
more to some actors.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from fedcoop import clock
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.hosts import HostError, host_of
from fedcoop.activitypub.httpsig import SignatureError, parse_signature_headers
from fedcoop.activitypub.vocab import AS2_MEDIA_TYPES
from fedcoop.errors import Unauthorized
from fedcoop.uris import GROUP_PREFIX, INSTANCE_ACTOR_PATH, PERSON_PREFIX
from fedcoop.web.responses import request_wants_as2
from fedcoop.web.state import FEDERATION, SETTINGS, URIS

log = logging.getLogger(__name__)

SIGNER = web.RequestKey("signed_fetch_actor", Actor)
_READ_METHODS: Final = frozenset({"GET", "HEAD"})
# Client APIs authenticate with OAuth bearer tokens, not HTTP signatures: never gate them here.
_PUBLIC_PREFIXES: Final = ("/.well-known/", "/nodeinfo/", "/static/", "/api/", "/oauth/")
_ACTOR_PATH: Final = re.compile(
    "^(?:"
    + "|".join(
        [
            re.escape(PERSON_PREFIX) + r"[^/]+",
            re.escape(GROUP_PREFIX) + r"[^/]+",
            re.escape(INSTANCE_ACTOR_PATH),
            r"/@[^/]+",
        ]
    )
    + ")/?$"
)

_UNSIGNED: Final = "This instance serves ActivityPub objects to signed requests only."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_public_path(path: str) -> bool:
    """Paths that answer without a signature: actor documents and discovery."""
    return path.startswith(_PUBLIC_PREFIXES) or bool(_ACTOR_PATH.match(path))


def _is_signed(request: web.Request) -> bool:
    headers = request.headers
    if "Signature" in headers or "Signature-Input" in headers:
        return True
    return headers.get("Authorization", "").lower().startswith("signature ")


async def _verify(request: web.Request) -> Actor:
    """The actor whose key signed this GET, or `Unauthorized`."""
    federation = request.app[FEDERATION]
    target = request.app[URIS].absolute(request.raw_path)
    try:
        parsed = parse_signature_headers(
            request.method, request.raw_path, request.headers, None, target_uri=target
        )
        try:
            key_host = host_of(parsed.key_id)
        except HostError:
            raise SignatureError("malformed", "keyId is not a URL") from None
        # Policy first: a blocked host's request costs no key fetch.
        if await federation.policy.is_blocked(key_host):
            raise Unauthorized("Signed by a host this instance does not federate with.")
        return await federation.fetcher.verify_signature(parsed, clock.now())
    except SignatureError as exc:
        log.info("refused signed %s %s: %s", request.method, request.path, exc.reason)
        raise Unauthorized(f"This request's signature is not valid ({exc.reason}).") from None


@web.middleware
async def authorized_fetch_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if (
        not settings.federation.authorized_fetch
        or request.method not in _READ_METHODS
        or is_public_path(request.path)
    ):
        return await handler(request)
    if _is_signed(request):
        request[SIGNER] = await _verify(request)
    elif request_wants_as2(request):
        raise Unauthorized(_UNSIGNED)
    response = await handler(request)
    if SIGNER not in request and response.content_type in AS2_MEDIA_TYPES:
        # A handler that answers AS2 whatever the Accept header (collections) is caught here.
        raise Unauthorized(_UNSIGNED)
    if not response.prepared:
        response.headers.add("Vary", "Signature")
    return response
