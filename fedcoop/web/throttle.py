"""Sign-in throttling: too many failures for one account or one address answer 429.

Counted in memory per process (one `fedcoop serve` serves an instance); a restart forgets,
which only helps an attacker who can also restart the server. Both the account name and the
client address are keys, so one address cannot spray many accounts and many addresses
cannot hammer one account without tripping the limit.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from fedcoop.errors import TooManyRequests


@dataclass
class SigninThrottle:
    max_failures: int
    window_seconds: float
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window_seconds:
            q.popleft()
        if not q:
            del self._failures[key]
            q = self._failures.setdefault(key, deque())
        return q

    def check(self, *keys: str, now: float | None = None) -> None:
        """Raise 429 if any key has used up its failures within the window."""
        t = time.monotonic() if now is None else now
        for key in keys:
            q = self._recent(key, t)
            if len(q) >= self.max_failures:
                retry = int(q[0] + self.window_seconds - t) + 1
                raise TooManyRequests(
                    "Too many failed sign-ins; try again later.", retry_after=max(retry, 1)
                )

    def failed(self, *keys: str, now: float | None = None) -> None:
        t = time.monotonic() if now is None else now
        for key in keys:
            self._recent(key, t).append(t)
        if len(self._failures) > 100_000:  # bound memory under a spray of random names
            oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])[:50_000]
            for k in oldest:
                del self._failures[k]

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


def client_address(request: web.Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.remote or "unknown"


def signin_keys(request: web.Request, username: str, trust_proxy: bool) -> tuple[str, str]:
    return (f"user:{username.lower()}", f"addr:{client_address(request, trust_proxy)}")
