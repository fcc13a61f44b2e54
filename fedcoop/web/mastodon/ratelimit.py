"""Rate limits of the Mastodon client API, reported the way Mastodon reports them.

Each token (or, for a request without one, each client address) may make `api.rate_limit`
requests per window of `api.rate_limit_window_seconds`; the window starts with the first
request. Every answer under `/api/v1/` and `/api/v2/` carries `X-RateLimit-Limit`,
`X-RateLimit-Remaining` and `X-RateLimit-Reset` (an ISO 8601 time, as Mastodon sends and
Mastodon.py's `pace`/`wait` modes parse); past the limit the answer is 429 with `Retry-After`.
Counted in memory per process, like the sign-in throttle: a restart forgives.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from fedcoop import clock
from fedcoop.errors import TooManyRequests
from fedcoop.web.bearer import InvalidToken, bearer_token
from fedcoop.web.throttle import client_address

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIXES = ("/api/v1/", "/api/v2/")
MAX_KEYS = 100_000


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset_at: float  # wall-clock seconds since the epoch

    @property
    def exhausted(self) -> bool:
        return self.remaining < 0


@dataclass
class RateLimiter:
    limit: int
    window_seconds: float
    trust_proxy: bool = False
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)

    def hit(self, key: str, now: float | None = None) -> Quota:
        """Count one request for `key`; `remaining` below zero means refuse it."""
        t = time.time() if now is None else now
        start, used = self._windows.get(key, (t, 0))
        if t >= start + self.window_seconds:
            start, used = t, 0
        used += 1
        self._windows[key] = (start, used)
        if len(self._windows) > MAX_KEYS:
            self._forget_expired(t)
        return Quota(self.limit, self.limit - used, start + self.window_seconds)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, (s, _) in self._windows.items() if now >= s + self.window_seconds]:
            del self._windows[key]

    def key_of(self, request: web.Request) -> str:
        try:
            token = bearer_token(request)
        except InvalidToken:  # refused by the handler; counted against the address meanwhile
            token = None
        if token:
            # Never keep the token itself in memory longer than the request needs it.
            return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
        return "addr:" + client_address(request, self.trust_proxy)


RATE_LIMITS = web.AppKey("api_rate_limits", RateLimiter)
_QUOTA = web.RequestKey("api_quota", Quota)


def is_limited(path: str) -> bool:
    return path.startswith(PREFIXES)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_limited(request.path):
        return await handler(request)
    limiter = request.app[RATE_LIMITS]
    quota = limiter.hit(limiter.key_of(request))
    request[_QUOTA] = quota
    if quota.exhausted:
        retry = max(1, int(quota.reset_at - time.time()) + 1)
        raise TooManyRequests("Too many requests", retry_after=retry)
    return await handler(request)


async def add_rate_limit_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer to a limited request, errors included (an `on_response_prepare` hook)."""
    quota = request.get(_QUOTA)
    if quota is None:
        return
    reset = datetime.fromtimestamp(quota.reset_at, UTC)
    response.headers["X-RateLimit-Limit"] = str(quota.limit)
    response.headers["X-RateLimit-Remaining"] = str(max(quota.remaining, 0))
    response.headers["X-RateLimit-Reset"] = clock.iso(reset)
