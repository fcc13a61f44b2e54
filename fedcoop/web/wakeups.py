"""Wake the outbox after a request that may have changed something.

Domain services write their events in the same transaction as the change; the outbox worker
would otherwise find them only at its next poll. A page or API request that changes state is
a POST, PUT, PATCH or DELETE, so waking the outbox after each one makes a post, an
application or a vote leave at once. Inbox POSTs only store what arrived: they wake the inbox
worker, which wakes the outbox when applying them emitted events, so they are left out here
(at thousands per second, waking the outbox for each would only make it poll for nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from fedcoop.federation.outbox import WORKER_NAME
from fedcoop.web.state import WORKERS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
INBOX_SUFFIX = "/inbox"


@web.middleware
async def wake_outbox_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if (
        request.method in _CHANGING
        and response.status < 400
        and not request.path.endswith(INBOX_SUFFIX)
    ):
        workers = request.app.get(WORKERS)
        if workers is not None:
            workers.wake(WORKER_NAME)
    return response
