"""What every client API answer gets: CORS for clients running in a browser, and rate limits.

- CORS: Elk and masto.js in a browser call the API from their own origin. The API is
  authenticated by bearer tokens only, never by cookies, so any origin may call it (as on
  Mastodon); a preflight `OPTIONS` is answered here, before any handler.
- Rate limits (`ratelimit.py`): under `/api/v1/` and `/api/v2/` (app registration aside)
  every answer, errors included, carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
  `X-RateLimit-Reset` (an ISO 8601 time, as Mastodon sends and Mastodon.py's `pace`/`wait`
  modes parse); past the limit the answer is 429 with `Retry-After`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from fedcoop import clock
from fedcoop.errors import TooManyRequests
from fedcoop.web.mastodon.ratelimit import RATE_LIMITS, Quota

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LIMITED = ("/api/v1/", "/api/v2/")
# App registration (web/oauth.py) is left to the OAuth server: it comes before any token, and
# the crash-durability test registers more apps from one address than one window allows.
NOT_LIMITED = frozenset({"/api/v1/apps", "/api/v1/apps/"})
CROSS_ORIGIN = (*LIMITED, "/oauth/token", "/oauth/revoke")
PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Max-Age": "86400",
}
EXPOSED = "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
_QUOTA = web.RequestKey("api_quota", Quota)


@web.middleware
async def client_api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if not path.startswith(CROSS_ORIGIN):
        return await handler(request)
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(status=204, headers=PREFLIGHT)
    if path.startswith(LIMITED) and path not in NOT_LIMITED:
        limiter = request.app[RATE_LIMITS]
        quota = limiter.hit(limiter.key_of(request))
        request[_QUOTA] = quota
        if quota.exhausted:
            retry = max(1, int(quota.reset_at - time.time()) + 1)
            raise TooManyRequests("Too many requests", retry_after=retry)
    return await handler(request)


async def add_client_api_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An `on_response_prepare` hook: it also sees the answers the error middleware made."""
    if not request.path.startswith(CROSS_ORIGIN):
        return
    response.headers.setdefault("Access-Control-Allow-Origin", "*")
    response.headers.setdefault("Access-Control-Expose-Headers", EXPOSED)
    quota = request.get(_QUOTA)
    if quota is None:
        return
    reset = datetime.fromtimestamp(quota.reset_at, UTC)
    response.headers["X-RateLimit-Limit"] = str(quota.limit)
    response.headers["X-RateLimit-Remaining"] = str(max(quota.remaining, 0))
    response.headers["X-RateLimit-Reset"] = clock.iso(reset)
