"""The outbox worker: committed domain events -> stored activities -> one delivery per inbox.

Per event, in three steps, because fetching is network I/O that must never run in the
single writer thread:

1. read: render the event and list the recipients; note explicit recipients unknown here
   and the hosts the activity would go to;
2. network: fetch the unknown actors (the fetcher stores them) and ask the federation policy
   about each host;
3. write, in ONE transaction: render again (renderers are deterministic: ids come from the
   event), store each activity, queue one delivery per distinct inbox, and mark the event
   published. A crash leaves either all of it or none of it.

Recipients are the explicit actors, the accepted remote followers of `followers_of` and the
active remote members of the coops in `members_of` (members-only posts and proposals); each
gets its shared inbox when it has one, so one host with many followers gets one request. Local
actors and our own host are skipped (the domain delivers locally itself), and so are blocked
hosts. Dual rendering: a recipient whose actor document implements every FEP in
`Audience.requires` gets `activity`; the others get `fallback` (stored as a second, unlisted
activity), or nothing when there is no fallback.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from fedcoop import clock
from fedcoop.activitypub.hosts import HostError, host_of, normalise_host
from fedcoop.db import Database
from fedcoop.db import outbox_queries as q
from fedcoop.db.jobs import transition
from fedcoop.errors import NotFound
from fedcoop.federation.context import FederationContext
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.renderers.registry import (
    RENDERERS,
    Audience,
    Outgoing,
    RenderContext,
    Renderer,
    RendererRegistry,
)
from fedcoop.federation.retry import backoff
from fedcoop.federation.workers import Worker
from fedcoop.gigs.membership import remote_member_uris
from fedcoop.social.events import Event, EventStates, event_from_row

log = logging.getLogger(__name__)

WORKER_NAME: Final = "outbox"
BATCH: Final = 16
LOCK_SECONDS: Final = 120.0  # longer than fetching a few actors (30 s total timeout each)
MAX_ATTEMPTS: Final = 3  # renderer failures, or explicit recipients that cannot be fetched
MAX_ERROR_CHARS: Final = 500


@dataclass(frozen=True)
class Target:
    inbox: str
    host: str
    capable: bool  # implements every FEP the activity requires


@dataclass(frozen=True)
class Plan:
    """What the read pass found: recipients to fetch first, hosts to ask the policy about."""

    unknown: frozenset[str]
    hosts: frozenset[str]


class EventMovedOn(Exception):
    """Another worker finished this event first (its lock had expired): publish nothing."""


class OutboxWorker:
    def __init__(
        self,
        ctx: FederationContext,
        *,
        renderers: RendererRegistry = RENDERERS,
        on_published: Callable[[], None] | None = None,
        batch: int = BATCH,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.ctx = ctx
        self.renderers = renderers
        self.on_published = on_published  # wakes the delivery worker
        self.batch = batch
        self._now = now
        scheme = ctx.settings.instance.scheme
        self._own_host = normalise_host(ctx.settings.instance.domain, scheme=scheme)
        self._hosts: dict[str, str] = {}  # origin -> normalised host

    def worker(self, poll_seconds: float = 1.0) -> Worker:
        """For the supervisor; wake it (`Supervisor.wake("outbox")`) after emitting events."""
        return Worker(WORKER_NAME, self.run_once, poll_seconds)

    async def run_once(self) -> int:
        """Publish the events that are ready, oldest first; returns how many were claimed."""
        now = self._now()
        rows = await self.ctx.db.write(
            lambda conn: q.claim_events(conn, limit=self.batch, lock_seconds=LOCK_SECONDS, now=now)
        )
        queued = 0
        for row in rows:  # in order: a Delete must not overtake the Create it deletes
            queued += await self._publish(event_from_row(row))
        if queued and self.on_published is not None:
            self.on_published()
        return len(rows)

    async def _publish(self, event: Event) -> int:
        renderer = self.renderers.renderers.get(event.kind)
        if renderer is None:
            await self._failed(event, f"no renderer for {event.kind}")
            return 0
        try:
            plan = await self.ctx.db.read(lambda conn: self._plan(conn, renderer, event))
        except Exception as exc:
            log.exception("rendering event %s (%s) failed", event.id, event.kind)
            await self._failed(event, f"{type(exc).__name__}: {exc}")
            return 0
        missing = await self._fetch_actors(plan.unknown)
        if missing and event.attempts < MAX_ATTEMPTS:
            # The recipient's server may be back in a minute; the others wait with it, once.
            await self._failed(event, "recipients unavailable: " + ", ".join(sorted(missing)))
            return 0
        blocked = await self._blocked(plan.hosts)
        now = self._now()
        try:
            queued: int = await self.ctx.db.write(
                lambda conn: self._store(conn, renderer, event, blocked, missing, now)
            )
        except EventMovedOn:
            return 0
        except Exception as exc:
            log.exception("publishing event %s (%s) failed", event.id, event.kind)
            await self._failed(event, f"{type(exc).__name__}: {exc}")
            return 0
        return queued

    # step 1: read -----------------------------------------------------------------------------
    def _plan(self, conn: sqlite3.Connection, renderer: Renderer, event: Event) -> Plan:
        unknown: set[str] = set()
        hosts: set[str] = set()
        for out in renderer(RenderContext(conn, self.ctx.uris), event):
            targets, missing = self._targets(conn, out.audience)
            unknown |= {uri for uri in missing if not self._is_own(uri)}
            hosts |= {t.host for t in targets}
        return Plan(frozenset(unknown), frozenset(hosts))

    # step 2: network --------------------------------------------------------------------------
    async def _fetch_actors(self, uris: Iterable[str]) -> set[str]:
        """Fetch (and so store) each actor; returns the ones that could not be had."""
        wanted = sorted(uris)
        results = await asyncio.gather(
            *(self.ctx.fetcher.get_actor(uri) for uri in wanted), return_exceptions=True
        )
        missing = set()
        for uri, result in zip(wanted, results, strict=True):
            if isinstance(result, FetchError):
                log.info("recipient %s unavailable: %s", uri, result)
                missing.add(uri)
            elif isinstance(result, asyncio.CancelledError):
                raise result
            elif isinstance(result, BaseException):
                log.error("fetching recipient %s failed", uri, exc_info=result)
                missing.add(uri)
        return missing

    async def _blocked(self, hosts: Iterable[str]) -> frozenset[str]:
        # Hosts that appear between this check and the write (a follower accepted meanwhile)
        # are checked again by the delivery worker before it connects.
        return frozenset([host for host in hosts if await self.ctx.policy.is_blocked(host)])

    # step 3: write ----------------------------------------------------------------------------
    def _store(
        self,
        conn: sqlite3.Connection,
        renderer: Renderer,
        event: Event,
        blocked: frozenset[str],
        missing: set[str],
        now: datetime,
    ) -> int:
        queued = 0
        for out in renderer(RenderContext(conn, self.ctx.uris), event):
            targets, _ = self._targets(conn, out.audience)
            queued += self._store_one(
                conn, event, out, [t for t in targets if t.host not in blocked], now
            )
        note = ("published without " + ", ".join(sorted(missing)))[:MAX_ERROR_CHARS]
        moved = transition(
            conn,
            q.EVENTS,
            event.id,
            EventStates,
            "pending",
            "published",
            locked_until=None,
            last_error=note if missing else None,
        )
        if not moved:
            raise EventMovedOn(event.id)  # rolls this write back
        return queued

    def _store_one(
        self,
        conn: sqlite3.Connection,
        event: Event,
        out: Outgoing,
        targets: list[Target],
        now: datetime,
    ) -> int:
        sender = out.activity.get("actor")
        actor_id = (q.local_actor_id(conn, sender) if isinstance(sender, str) else None) or (
            event.actor_id
        )
        primary = [t for t in targets if t.capable]
        others = [t for t in targets if not t.capable]
        activity_id = q.insert_activity(
            conn,
            activity=out.activity,
            actor_id=actor_id,
            public=out.public,
            event_id=event.id,
            now=now,
        )
        queued = q.queue_deliveries(conn, activity_id, [(t.inbox, t.host) for t in primary], now)
        if out.fallback is not None and others:
            # Unlisted: the outbox collection shows each publication once, in its full form.
            fallback_id = q.insert_activity(
                conn,
                activity=out.fallback,
                actor_id=actor_id,
                public=False,
                event_id=event.id,
                now=now,
            )
            queued += q.queue_deliveries(
                conn, fallback_id, [(t.inbox, t.host) for t in others], now
            )
        return queued

    # recipients -------------------------------------------------------------------------------
    def _targets(
        self, conn: sqlite3.Connection, audience: Audience
    ) -> tuple[list[Target], set[str]]:
        """Distinct (inbox, variant) targets of an audience, and explicit actors not known."""
        explicit = q.recipients_by_uri(conn, audience.actor_uris)
        unknown = set(audience.actor_uris) - explicit.keys()
        # Members-only reach: each active remote member of `members_of` is a recipient.
        members = q.recipients_by_uri(conn, remote_member_uris(conn, audience.members_of))
        recipients = [
            *explicit.values(),
            *q.remote_followers(conn, audience.followers_of),
            *members.values(),
        ]
        requires = frozenset(audience.requires)
        found: dict[tuple[str, bool], Target] = {}
        for recipient in recipients:
            inbox = recipient.shared_inbox or recipient.inbox
            if recipient.local or not inbox:
                continue
            capable = requires <= recipient.implements
            if (inbox, capable) in found:
                continue  # a shared inbox: one delivery serves every follower behind it
            try:
                host = self._host_of(inbox)
            except HostError:
                log.info("skipping %s: its inbox is not a usable URL", recipient.uri)
                continue
            if host != self._own_host:
                found[inbox, capable] = Target(inbox, host, capable)
        return list(found.values()), unknown

    def _host_of(self, url: str) -> str:
        """`host_of`, remembered per origin: IDNA normalisation costs about a third of a
        millisecond, and a fan-out to 1,000 followers names only a few origins."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}:{parts.netloc}"
        host = self._hosts.get(origin)
        if host is None:
            if len(self._hosts) > 10_000:
                self._hosts.clear()
            host = self._hosts[origin] = host_of(url)
        return host

    def _is_own(self, uri: str) -> bool:
        try:
            return host_of(uri) == self._own_host
        except HostError:
            return True  # not a URL anyone could fetch: nothing to wait for

    # failures ---------------------------------------------------------------------------------
    async def _failed(self, event: Event, error: str) -> None:
        """Retry the event later, or give up after MAX_ATTEMPTS, recording why."""
        error = error[:MAX_ERROR_CHARS]
        final = event.attempts >= MAX_ATTEMPTS
        retry_at = self._now() + backoff(event.attempts)
        fields = {"locked_until": None, "last_error": error}
        if not final:
            fields["next_attempt_at"] = clock.iso(retry_at)
        state = "failed" if final else "pending"
        if final:
            log.warning("event %s (%s) failed for good: %s", event.id, event.kind, error)
        await self.ctx.db.write(
            lambda conn: transition(
                conn, q.EVENTS, event.id, EventStates, "pending", state, **fields
            )
        )


async def published_activity(db: Database, uri: str) -> dict[str, Any]:
    """A stored public activity by its id (GET /activities/{id}); NotFound otherwise.

    Non-public activities are not served yet: showing them to their addressees needs the
    signed-fetch signer, and until then 404 reveals nothing about them.
    """
    body = await db.read(lambda conn: q.public_activity_body(conn, uri))
    if body is None:
        raise NotFound("no such activity")
    return body
