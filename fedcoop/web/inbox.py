"""Inbox POSTs: read the body under a cap, hand it to `federation.inbox.receive`, answer.

The shared inbox (`/inbox`), every person's and coop's inbox, and the instance actor's inbox
all take the same path; a personal inbox only adds its owner as the recipient (404 for an
unknown local actor). The CSRF middleware exempts paths ending in `/inbox`: these requests are
authenticated by signatures, never by cookies.
"""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web

from fedcoop.accounts.actors import get_local_actor
from fedcoop.errors import AppError, BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable
from fedcoop.federation.inbox import IntakeResult, receive
from fedcoop.federation.inbox_worker import WORKER_NAME as INBOX_WORKER
from fedcoop.uris import GROUP_PREFIX, INSTANCE_ACTOR_PATH, PERSON_PREFIX
from fedcoop.web.state import FEDERATION, INBOX_KEYS, SETTINGS, URIS, WORKERS

routes = web.RouteTableDef()
_CHUNK: Final = 64 * 1024
_ACCEPTED: Final = frozenset({202})


async def read_capped(request: web.Request, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it is known to be over `limit` bytes.

    aiohttp's `client_max_size` only guards `request.read()`; reading the stream ourselves
    keeps the cap (and when to stop reading) in our hands. A plain body of declared length
    (what every server sends) is read in one step; a chunked or compressed one (aiohttp
    inflates it, so its size is only known while reading) chunk by chunk, counting.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"Refused: too_large (at most {limit} bytes).")
    if declared is not None and "Content-Encoding" not in request.headers:
        try:
            return await request.content.readexactly(declared)
        except asyncio.IncompleteReadError:
            raise BadRequest("The request body ended before its Content-Length.") from None
    buffer = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        buffer += chunk
        if len(buffer) > limit:
            raise PayloadTooLarge(f"Refused: too_large (at most {limit} bytes).")
    return bytes(buffer)


async def _inbox(request: web.Request, recipient: str | None) -> web.StreamResponse:
    body = await read_capped(request, request.app[SETTINGS].federation.max_body_bytes)
    result = await receive(
        request.app[FEDERATION],
        request.method,
        request.raw_path,
        request.headers,
        body,
        recipient=recipient,
        keys=request.app[INBOX_KEYS],
    )
    return _answer(request, result)


def _answer(request: web.Request, result: IntakeResult) -> web.StreamResponse:
    if result.status in _ACCEPTED:
        if result.stored:
            _wake_inbox_worker(request)
        return web.Response(status=202)
    if result.status == 503:
        raise ServiceUnavailable(
            "Refused: storage_busy, try again shortly.", retry_after=result.retry_after or 10
        )
    raise AppError(f"Refused: {result.reason}.", status=result.status)


def _wake_inbox_worker(request: web.Request) -> None:
    """Tell the inbox worker there is work, so it need not wait for its poll interval."""
    request.app[WORKERS].wake(INBOX_WORKER)


async def _local_recipient(request: web.Request, kind: str) -> str:
    name = request.match_info["name"]
    actor = await request.app[FEDERATION].db.read(lambda conn: get_local_actor(conn, name))
    if actor is None or actor.type != kind:
        raise NotFound("No such actor here.")
    return actor.uri


@routes.post("/inbox")
async def shared_inbox(request: web.Request) -> web.StreamResponse:
    return await _inbox(request, None)


@routes.post(PERSON_PREFIX + "{name}/inbox")
async def person_inbox(request: web.Request) -> web.StreamResponse:
    return await _inbox(request, await _local_recipient(request, "Person"))


@routes.post(GROUP_PREFIX + "{name}/inbox")
async def coop_inbox(request: web.Request) -> web.StreamResponse:
    return await _inbox(request, await _local_recipient(request, "Group"))


@routes.post(INSTANCE_ACTOR_PATH + "/inbox")
async def instance_inbox(request: web.Request) -> web.StreamResponse:
    return await _inbox(request, request.app[URIS].instance_actor())
