"""The inbox worker: applies stored activities by routing them to their handlers.

It claims `received` inbox items and routes each on (activity type, embedded object type or
None) through the handler registry. Outcomes:
- a handler returns: `processed`, with the handler's outcome string;
- no route: `ignored`, "no handler for (type, object type)";
- the handler raises `Reject` (the activity breaks a rule): `failed` at once, never retried;
- any other exception: tried again after a backoff (`retry_delay`), then `failed` after
  `max_attempts` attempts.

Items of one actor are applied in the order they arrived (a Follow before its Undo); items of
different actors are applied concurrently, so their writes share the writer's group commits.
A crash between a handler's write and the outcome's leaves the item claimed until its lock
expires, and it is then applied again: handlers must be idempotent (they are, by object id).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Final

from fedcoop import clock
from fedcoop.db.inbox_queries import (
    InboxItemStates,
    StoredItem,
    claim_received,
    finish_item,
    retry_item,
)
from fedcoop.federation.context import FederationContext
from fedcoop.federation.workers import Worker

if TYPE_CHECKING:
    from fedcoop.federation.handlers.registry import InboxItem, Registry

log = logging.getLogger(__name__)

__all__ = ["InboxItemStates", "InboxWorker", "retry_delay"]

WORKER_NAME: Final = "inbox"
MAX_ATTEMPTS: Final = 5
BATCH: Final = 256
LOCK_SECONDS: Final = 120.0
FIRST_RETRY: Final = timedelta(seconds=10)
LAST_RETRY: Final = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: 10 s, 1 min 20 s, 10 min 40 s, ≤ 1 h.

    A handler usually fails for a reason that passes (a peer that does not answer a fetch, a
    busy database), so the first retry comes soon and the last within a few hours of arrival.
    """
    return min(FIRST_RETRY * (8 ** max(attempts - 1, 0)), LAST_RETRY)


def _handlers() -> ModuleType:
    """The handler registry module, imported on first use rather than with this module:
    importing the handlers package imports every handler, and handlers import this module
    (for MAX_ATTEMPTS), so an import at the top would be circular."""
    from fedcoop.federation.handlers import registry

    return registry


def to_handler_item(stored: StoredItem) -> InboxItem:
    item: InboxItem = _handlers().InboxItem(
        id=stored.id,
        activity_uri=stored.activity_uri,
        activity_type=stored.activity_type,
        object_type=stored.object_type,
        actor_uri=stored.actor_uri,
        signer_uri=stored.signer_uri,
        recipient=stored.recipient,
        activity=stored.activity(),
        attempts=stored.attempts,
    )
    return item


class InboxWorker:
    def __init__(
        self,
        ctx: FederationContext,
        *,
        registry: Registry | None = None,
        batch: int = BATCH,
        lock_seconds: float = LOCK_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        now: Callable[[], datetime] = clock.now,
        on_applied: Callable[[], None] | None = None,
    ) -> None:
        """`on_applied` is called after a pass that applied something: handlers may have
        written events (an Accept to send), so the outbox need not wait for its poll."""
        self.ctx = ctx
        handlers = _handlers()
        self.registry: Registry = registry if registry is not None else handlers.REGISTRY
        self._reject: type[Exception] = handlers.Reject
        self.batch = batch
        self.lock_seconds = lock_seconds
        self.max_attempts = max_attempts
        self._now = now
        self._on_applied = on_applied

    def worker(self, poll_seconds: float = 5.0) -> Worker:
        """This worker, for the supervisor; wake it (`Supervisor.wake("inbox")`) after intake."""
        return Worker(WORKER_NAME, self.run_once, poll_seconds)

    async def run_once(self) -> int:
        """Apply the items that are ready; returns how many were claimed."""
        now = self._now()
        items = await self.ctx.db.write(
            lambda conn: claim_received(
                conn, limit=self.batch, lock_seconds=self.lock_seconds, now=now
            )
        )
        if not items:
            return 0
        by_actor: dict[str, list[StoredItem]] = defaultdict(list)
        for item in items:
            by_actor[item.actor_uri].append(item)
        results = await asyncio.gather(
            *(self._apply_in_order(group) for group in by_actor.values())
        )
        if self._on_applied is not None and any(results):
            self._on_applied()
        return len(items)

    async def _apply_in_order(self, items: Sequence[StoredItem]) -> bool:
        applied = False
        for item in items:
            applied = await self._apply(item) or applied
        return applied

    async def _apply(self, stored: StoredItem) -> bool:
        """Route one item and record its outcome; True when a handler applied it."""
        route = (stored.activity_type, stored.object_type)
        handler = self.registry.find(*route)
        if handler is None:
            await self._finish(stored, "ignored", f"no handler for {route}")
            return False
        try:
            item = to_handler_item(stored)
            outcome = await handler(self.ctx, item)
        except self._reject as exc:
            log.info("inbox item %s rejected: %s", stored.id, exc)
            await self._finish(stored, "failed", f"rejected: {exc}")
            return False
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed_attempt(stored, exc)
            return False
        await self._finish(stored, "processed", str(outcome))
        return True

    async def _failed_attempt(self, stored: StoredItem, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if stored.attempts >= self.max_attempts:
            log.warning("inbox item %s failed for good: %s", stored.id, error)
            await self._finish(stored, "failed", f"gave up after {stored.attempts}: {error}")
            return
        log.info("inbox item %s failed (attempt %d): %s", stored.id, stored.attempts, error)
        at = self._now() + retry_delay(stored.attempts)
        await self.ctx.db.write(lambda conn: retry_item(conn, stored.id, at, error))

    async def _finish(self, stored: StoredItem, state: str, outcome: str) -> None:
        await self.ctx.db.write(lambda conn: finish_item(conn, stored.id, state, outcome))
