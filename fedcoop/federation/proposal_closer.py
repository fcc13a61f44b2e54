"""The worker that closes coop proposals whose voting period has passed.

Each pass closes the local proposals whose `ends_at` is in the past (count, decision record,
effects, `proposal.closed` event, all in one transaction per batch), then wakes the outbox so
the tally (an Update of the Question) goes out at once. Votes arriving after `ends_at` are
refused by the domain whether or not this worker has run yet, so its poll interval only
decides how soon the result is published, never what it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from fedcoop import clock
from fedcoop.federation.context import FederationContext
from fedcoop.federation.workers import Worker
from fedcoop.gigs import decisions

WORKER_NAME: Final = "proposals"
POLL_SECONDS: Final = 30.0


class ProposalCloser:
    def __init__(
        self,
        ctx: FederationContext,
        *,
        on_closed: Callable[[], None] | None = None,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.ctx = ctx
        self.on_closed = on_closed
        self._now = now

    def worker(self, poll_seconds: float = POLL_SECONDS) -> Worker:
        return Worker(WORKER_NAME, self.run_once, poll_seconds)

    async def run_once(self) -> int:
        """Close what is due; returns how many proposals were closed."""
        now = self._now()
        closed = await self.ctx.db.write(lambda conn: decisions.close_due(conn, now))
        if closed and self.on_closed is not None:
            self.on_closed()
        return len(closed)
