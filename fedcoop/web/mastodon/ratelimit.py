"""Rate limits of the Mastodon client API: a fixed window per token (or per client address
for a request without one) that starts with the window's first request.

Each key may make `api.rate_limit` requests per `api.rate_limit_window_seconds`. Counted in
memory per process, like the sign-in throttle: a restart forgives. `middleware.py` applies it
and reports it in Mastodon's `X-RateLimit-*` headers.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from aiohttp import web

from fedcoop.web.bearer import InvalidToken, bearer_token
from fedcoop.web.throttle import client_address

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
