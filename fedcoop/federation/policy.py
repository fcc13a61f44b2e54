"""Federation policy: which hosts fedcoop talks to at all.

In `open` mode every host is welcome except blocked domains; in `allowlist` mode only allowed
domains and our own host are. A rule for a domain covers its subdomains, and a rule with a port
(`127.0.0.1:8002`, for local federations) covers that port only. Hosts are normalised before
matching, and a host that cannot be normalised is refused.

Callers ask BEFORE any network or key work (PROTOCOL.md §3: a blocked domain gets 403 before any
key fetch). The rules are kept in memory: reloaded after this process changes them, and at most
`ttl` seconds after another process (the `fedcoop federation` command) did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fedcoop.activitypub.hosts import HostError, is_subdomain_or_same, normalise_host
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.social import domain_policies
from fedcoop.social.domain_policies import DomainPolicy


@dataclass(frozen=True)
class _Rules:
    blocked: tuple[str, ...]
    allowed: tuple[str, ...]
    loaded_at: float


class Policy:
    def __init__(self, db: Database, settings: Settings, *, ttl: float = 5.0) -> None:
        self._db = db
        self._allowlist = settings.federation.mode == "allowlist"
        self._own_host = normalise_host(settings.instance.domain, scheme=settings.instance.scheme)
        self._ttl = ttl
        self._rules: _Rules | None = None

    async def is_blocked(self, host: str) -> bool:
        """True when fedcoop must not talk to `host` (a `HOST[:PORT]`, normalised or not)."""
        try:
            host = normalise_host(host)
        except HostError:
            return True
        rules = await self._current()
        if host == self._own_host:
            return False
        if any(is_subdomain_or_same(host, domain) for domain in rules.blocked):
            return True
        if self._allowlist:
            return not any(is_subdomain_or_same(host, domain) for domain in rules.allowed)
        return False

    async def _current(self) -> _Rules:
        rules = self._rules
        if rules is None or time.monotonic() - rules.loaded_at > self._ttl:
            rows = await self._db.read(domain_policies.list_policies)
            rules = _Rules(
                blocked=tuple(r.domain for r in rows if r.policy == "block"),
                allowed=tuple(r.domain for r in rows if r.policy == "allow"),
                loaded_at=time.monotonic(),
            )
            self._rules = rules
        return rules

    def invalidate(self) -> None:
        """Forget the cached rules: the next check reads them again."""
        self._rules = None

    # Changes made from inside the server (an admin page) take effect at once.
    async def block(self, domain: str, reason: str = "") -> DomainPolicy:
        return await self._set(domain, "block", reason)

    async def allow(self, domain: str, reason: str = "") -> DomainPolicy:
        return await self._set(domain, "allow", reason)

    async def unblock(self, domain: str) -> bool:
        domain = normalise_host(domain)
        removed = await self._db.write(
            lambda conn: domain_policies.remove_policy(conn, domain, "block")
        )
        self.invalidate()
        return bool(removed)

    async def _set(self, domain: str, policy: str, reason: str) -> DomainPolicy:
        domain = normalise_host(domain)
        row: DomainPolicy = await self._db.write(
            lambda conn: domain_policies.set_policy(conn, domain, policy, reason)
        )
        self.invalidate()
        return row
