"""The delivery worker: sign and POST queued deliveries, and record what happened.

Concurrency: at most `concurrency` requests in flight per worker (default 32) and at most
`per_host` per remote host (default 4, polite to a small server, and within the HTTP client's
connector limit of 8 per host). Both bounds are kept when rows are claimed, not by tasks
waiting on a semaphore: a row is only claimed when a slot is free for it, so a slow host holds
its own 4 slots and nothing else, and its queue cannot hide other hosts' deliveries.

`pump()` is what the supervisor loops: it claims what fits, starts those deliveries, and
returns once at least some have finished, never reporting 0 while any is in flight (so the
loop keeps pumping, and cancelling it cancels the requests too). `run_once()` is the same
claim followed by waiting for every started delivery: tests drive the worker with it.

Each outcome goes through `retry.next_attempt` and is written with the host's health in one
transaction. A host failing more than `max_host_failures` times in a row for more than
`failing_for` cools down for `cooldown`: its deliveries are deferred (each deferral counts as a
failed attempt, so they still give up after about two days), and when the cool-down ends one
delivery goes as a probe while the others wait for it. The host's first answer ends the
cool-down and makes everything queued for it due at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from fedcoop import clock
from fedcoop.db import outbox_queries as q
from fedcoop.db.outbox_queries import DeliveryJob, Signable
from fedcoop.federation.context import FederationContext
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.retry import Decision, next_attempt
from fedcoop.federation.signing import LocalSigner
from fedcoop.federation.workers import Worker

log = logging.getLogger(__name__)

WORKER_NAME: Final = "delivery"
CONCURRENCY: Final = 32
PER_HOST: Final = 4
LOCK_SECONDS: Final = 120.0  # well over the client's 30 s total timeout
MAX_HOST_FAILURES: Final = 10
FAILING_FOR: Final = timedelta(days=1)
COOLDOWN: Final = timedelta(hours=1)


class DeliveryWorker:
    def __init__(
        self,
        ctx: FederationContext,
        *,
        concurrency: int = CONCURRENCY,
        per_host: int = PER_HOST,
        lock_seconds: float = LOCK_SECONDS,
        max_host_failures: int = MAX_HOST_FAILURES,
        failing_for: timedelta = FAILING_FOR,
        cooldown: timedelta = COOLDOWN,
        now: Callable[[], datetime] = clock.now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.ctx = ctx
        self.concurrency = concurrency
        self.per_host = per_host
        self.lock_seconds = lock_seconds
        self.max_host_failures = max_host_failures
        self.failing_for = failing_for
        self.cooldown = cooldown
        self._now = now
        self._rand = rand
        self._inflight: dict[asyncio.Task[None], str] = {}  # task -> host

    def worker(self, poll_seconds: float = 2.0) -> Worker:
        """For the supervisor; the outbox wakes it (`Supervisor.wake("delivery")`)."""
        return Worker(WORKER_NAME, self.pump, poll_seconds)

    # driving ----------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim what is due (deferring cooling hosts), deliver it all; returns rows claimed."""
        try:
            claimed = await self._start_ready()
            await self._wait(everything=True)
        except asyncio.CancelledError:
            await self._cancel_inflight()
            raise
        return claimed

    async def pump(self) -> int:
        """Start what fits, then wait until a quarter of the slots are free again."""
        try:
            started = await self._start_ready()
            if not self._inflight:
                return started
            finished = await self._wait(everything=False)
        except asyncio.CancelledError:
            await self._cancel_inflight()
            raise
        return max(started + finished, 1 if self._inflight else 0)

    async def _wait(self, *, everything: bool) -> int:
        finished = 0
        refill_at = max(1, self.concurrency // 4)
        while self._inflight and (everything or self.concurrency - len(self._inflight) < refill_at):
            done, _ = await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                del self._inflight[task]
                if not task.cancelled() and task.exception() is not None:
                    log.error("delivery task crashed", exc_info=task.exception())
            finished += len(done)
        return finished

    async def _cancel_inflight(self) -> None:
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._inflight.clear()

    # claiming ---------------------------------------------------------------------------------
    async def _start_ready(self) -> int:
        free = self.concurrency - len(self._inflight)
        if free <= 0:
            return 0
        busy = Counter(self._inflight.values())
        now = self._now()
        claimed, ready = await self.ctx.db.write(lambda conn: self._claim(conn, free, busy, now))
        if not ready:
            return claimed
        bodies = await self.ctx.db.read(
            lambda conn: q.activities_to_send(conn, {job.activity_id for job in ready})
        )
        for job in ready:
            task = asyncio.create_task(self._deliver(job, bodies.get(job.activity_id)))
            self._inflight[task] = job.host
        return claimed

    def _claim(
        self, conn: sqlite3.Connection, free: int, busy: Counter[str], now: datetime
    ) -> tuple[int, list[DeliveryJob]]:
        jobs = q.claim_deliveries(
            conn,
            limit=free,
            per_host=self.per_host,
            busy=busy,
            lock_seconds=self.lock_seconds,
            now=now,
        )
        health = q.host_health(conn, {job.host for job in jobs})
        cooling = {host: h.cooldown_until for host, h in health.items() if h.cooldown_until}
        ready = []
        for job in jobs:
            until = cooling.get(job.host)
            if until is None:
                ready.append(job)
            elif until <= now:
                # The cool-down is over: this one goes as the probe, and until it has an
                # answer (or its lock runs out) the host's other deliveries wait.
                cooling[job.host] = now + timedelta(seconds=self.lock_seconds)
                q.set_cooldown(conn, job.host, cooling[job.host])
                ready.append(job)
            else:
                self._defer(conn, job, until, now)
        return len(jobs), ready

    def _defer(
        self, conn: sqlite3.Connection, job: DeliveryJob, until: datetime, now: datetime
    ) -> None:
        decision = next_attempt(job.attempts, None, None, now, rand=self._rand)
        reason = f"host cooling down until {clock.iso(until)}"
        if decision.retry_at is None:
            q.finish_delivery(
                conn, job.id, "failed", now=now, status=None, error=f"{decision.reason}; {reason}"
            )
        else:
            retry_at = max(decision.retry_at, until)
            q.finish_delivery(
                conn, job.id, "queued", now=now, status=None, error=reason, retry_at=retry_at
            )

    # delivering -------------------------------------------------------------------------------
    async def _deliver(self, job: DeliveryJob, activity: Signable | None) -> None:
        if activity is None:  # cannot happen while the foreign key holds; never crash on it
            await self._finish(job, "failed", None, "activity not found")
            return
        try:
            signer = await self.ctx.fetcher.signers.for_actor(activity.actor_id)
        except LookupError:
            await self._finish(job, "failed", None, "the sender has no signing key")
            return
        await self._attempt(job, activity, signer)

    async def _attempt(self, job: DeliveryJob, activity: Signable, signer: LocalSigner) -> None:
        try:
            # The client signs here, per attempt: every retry carries a fresh Date.
            result = await self.ctx.http.post(job.inbox, activity.body, signer)
        except FetchError as exc:
            if exc.reason == "blocked":
                await self._finish(job, "skipped", None, "host blocked by federation policy")
            elif not exc.transient:
                await self._finish(job, "failed", None, f"refused: {exc}")
            else:
                await self._outcome(job, None, None, str(exc))
            return
        await self._outcome(job, result.status, result.retry_after, result.error)

    async def _outcome(
        self, job: DeliveryJob, status: int | None, retry_after: float | None, error: str | None
    ) -> None:
        now = self._now()
        decision = next_attempt(job.attempts, status, retry_after, now, rand=self._rand)
        if decision.final_state == "failed":
            log.info("delivery %s to %s failed: %s (%s)", job.id, job.inbox, decision.reason, error)
        detail = decision.reason if error is None else f"{decision.reason}: {error}"
        await self.ctx.db.write(lambda conn: self._record(conn, job, decision, status, detail, now))

    def _record(
        self,
        conn: sqlite3.Connection,
        job: DeliveryJob,
        decision: Decision,
        status: int | None,
        detail: str,
        now: datetime,
    ) -> None:
        q.finish_delivery(
            conn,
            job.id,
            decision.final_state,
            now=now,
            status=status,
            error=None if decision.final_state == "sent" else detail,
            retry_at=decision.retry_at,
        )
        if status is None or status >= 500:
            q.record_host_failure(
                conn,
                job.host,
                now,
                detail,
                max_failures=self.max_host_failures,
                failing_for=self.failing_for,
                cooldown=self.cooldown,
            )
        elif status != 429 and q.record_host_success(conn, job.host, now):
            # It was cooling down and answers again: what waited for it need not wait longer.
            q.release_host(conn, job.host, now)

    async def _finish(self, job: DeliveryJob, state: str, status: int | None, error: str) -> None:
        now = self._now()
        await self.ctx.db.write(
            lambda conn: q.finish_delivery(conn, job.id, state, now=now, status=status, error=error)
        )
