"""The delivery worker: sign and POST queued deliveries, and record what happened.

Concurrency: at most `concurrency` requests in flight per worker (default 32) and at most
`per_host` per remote host (default 4, polite to a small server, and within the HTTP client's
connector limit of 8 per host). Rows are claimed `batch` (64) at a time into an in-memory
backlog, topped up when it is half empty, so a free slot waits for no commit; a claim takes at
most twice `per_host` rows per host (in flight plus waiting), so a slow host holds its own
slots and a few rows, and its queue cannot hide other hosts' deliveries. Counting slots when
starting is all the semaphore there is: no task ever waits for one.

`pump()` is what the supervisor loops: it tops the backlog up, starts what fits, and returns
once one delivery has finished, so it never reports 0 while any is in flight (the loop keeps
pumping, and cancelling it cancels the requests and hands unstarted rows back). `run_once()`
claims one batch and delivers all of it: tests drive the worker with it.

Each outcome goes through `retry.next_attempt`; outcomes are written with the hosts' health
by one recorder task, whatever gathered while its previous write committed, so a slot frees
as soon as the answer arrives and a fan-out costs a few commits, not one per request. A host failing more than `max_host_failures` times in a row for more than
`failing_for` cools down for `cooldown`: its deliveries are deferred (each deferral counts as a
failed attempt, so they still give up after about two days), and when the cool-down ends one
delivery goes as a probe while the others wait for it. The host's first answer ends the
cool-down and makes everything queued for it due at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import sqlite3
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from fedcoop import clock
from fedcoop.db import outbox_queries as q
from fedcoop.db.outbox_queries import DeliveryJob, Signable
from fedcoop.federation.context import FederationContext
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.retry import next_attempt
from fedcoop.federation.workers import Worker

log = logging.getLogger(__name__)

WORKER_NAME: Final = "delivery"
CONCURRENCY: Final = 32
PER_HOST: Final = 4
BATCH: Final = 64  # rows claimed at once (at least twice `concurrency`): a delivery waits in
# memory for a slot, not for a commit
LOCK_SECONDS: Final = 120.0  # well over the client's 30 s total timeout
MAX_HOST_FAILURES: Final = 10
FAILING_FOR: Final = timedelta(days=1)
COOLDOWN: Final = timedelta(hours=1)

HostSignal = Literal["up", "down"] | None


class DeliveryWorker:
    def __init__(
        self,
        ctx: FederationContext,
        *,
        concurrency: int = CONCURRENCY,
        per_host: int = PER_HOST,
        batch: int | None = None,
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
        self.batch = batch or max(BATCH, 2 * concurrency)
        self._backlog: deque[tuple[DeliveryJob, Signable | None]] = deque()  # claimed, unstarted
        self._inflight: dict[asyncio.Task[None], str] = {}  # task -> host
        self._outcomes: list[Outcome] = []
        self._recorder: asyncio.Task[None] | None = None

    def worker(self, poll_seconds: float = 2.0) -> Worker:
        """For the supervisor; the outbox wakes it (`Supervisor.wake("delivery")`)."""
        return Worker(WORKER_NAME, self.pump, poll_seconds)

    # driving ----------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim one batch of what is due (deferring cooling hosts) and deliver all of it;
        returns how many rows were claimed."""
        try:
            claimed = await self._claim_batch()
            while self._backlog or self._inflight:
                self._start_from_backlog()  # never leaves the backlog full with nothing in flight
                await asyncio.wait(list(self._inflight), return_when=asyncio.FIRST_COMPLETED)
            await self._drain()
        except asyncio.CancelledError:
            await self._shut_down()
            raise
        return claimed

    async def pump(self) -> int:
        """Top up the backlog when it runs low, start what fits, wait for one to finish."""
        try:
            claimed = 0
            if len(self._backlog) <= self.batch // 2:
                claimed = await self._claim_batch()
            started = self._start_from_backlog()
            if not self._inflight:  # then nothing is waiting either: every slot is free
                await self._drain()  # about to idle: nothing may be left unwritten
                return claimed + started
            done, _ = await asyncio.wait(list(self._inflight), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await self._shut_down()
            raise
        return claimed + started + len(done)

    def _start_from_backlog(self) -> int:
        """Start waiting deliveries, oldest first, as far as the global and per-host bounds
        allow; those whose host is full keep their place."""
        busy = Counter(self._inflight.values())
        kept: deque[tuple[DeliveryJob, Signable | None]] = deque()
        started = 0
        while self._backlog and len(self._inflight) < self.concurrency:
            job, activity = self._backlog.popleft()
            if busy[job.host] >= self.per_host:
                kept.append((job, activity))
                continue
            busy[job.host] += 1
            task = asyncio.create_task(self._deliver(job, activity))
            self._inflight[task] = job.host
            task.add_done_callback(self._finished)
            started += 1
        kept.extend(self._backlog)
        self._backlog = kept
        return started

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task crashed", exc_info=task.exception())

    async def _shut_down(self) -> None:
        """Cancelled (the app stops): abandon the requests in flight (their rows stay locked
        until the lock runs out, then they are attempted again), hand the claimed but unstarted
        rows back, and write down the outcomes already known."""
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        waiting = [job.id for job, _ in self._backlog]
        self._backlog.clear()
        if waiting:
            await self.ctx.db.write(lambda conn: q.unclaim_deliveries(conn, waiting))
        await self._drain()

    # claiming ---------------------------------------------------------------------------------
    async def _claim_batch(self) -> int:
        room = self.batch - len(self._backlog)
        if room <= 0:
            return 0
        held = Counter(self._inflight.values())
        held.update(job.host for job, _ in self._backlog)
        now = self._now()
        claimed, ready = await self.ctx.db.write(lambda conn: self._claim(conn, room, held, now))
        if ready:
            bodies = await self.ctx.db.read(
                lambda conn: q.activities_to_send(conn, {job.activity_id for job in ready})
            )
            self._backlog.extend((job, bodies.get(job.activity_id)) for job in ready)
        return claimed

    def _claim(
        self, conn: sqlite3.Connection, room: int, held: Counter[str], now: datetime
    ) -> tuple[int, list[DeliveryJob]]:
        jobs = q.claim_deliveries(
            conn,
            limit=room,
            per_host=2 * self.per_host,  # in flight, and as many again waiting for a slot
            busy=held,
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

    # delivering -----------------------------------------------------------------------------
    async def _deliver(self, job: DeliveryJob, activity: Signable | None) -> None:
        """One attempt; its outcome is handed to the recorder, so the slot frees at once."""
        if activity is None:  # cannot happen while the foreign key holds; never crash on it
            self._record(Outcome(job, "failed", None, "activity not found", self._now()))
            return
        try:
            signer = await self.ctx.fetcher.signers.for_actor(activity.actor_id)
        except LookupError:
            self._record(Outcome(job, "failed", None, "the sender has no key", self._now()))
            return
        try:
            # The client signs here, per attempt: every retry carries a fresh Date.
            result = await self.ctx.http.post(job.inbox, activity.body, signer)
        except FetchError as exc:
            now = self._now()
            if exc.reason == "blocked":
                self._record(Outcome(job, "skipped", None, "blocked by federation policy", now))
            elif not exc.transient:
                self._record(Outcome(job, "failed", None, f"refused: {exc}", now))
            else:
                self._judge(job, None, None, str(exc))
            return
        self._judge(job, result.status, result.retry_after, result.error)

    def _judge(
        self, job: DeliveryJob, status: int | None, retry_after: float | None, error: str | None
    ) -> None:
        now = self._now()
        decision = next_attempt(job.attempts, status, retry_after, now, rand=self._rand)
        if decision.final_state == "failed":
            log.info("delivery %s to %s failed: %s (%s)", job.id, job.inbox, decision.reason, error)
        detail = decision.reason if error is None else f"{decision.reason}: {error}"
        health: HostSignal
        if status is None or status >= 500:
            health = "down"
        elif status == 429:
            health = None  # alive, and busy: says nothing about whether it is failing
        else:
            health = "up"  # any other answer, a 404 included, shows the host is there
        self._record(
            Outcome(
                job,
                decision.final_state,
                status,
                None if decision.final_state == "sent" else detail,
                now,
                retry_at=decision.retry_at,
                host=health,
            )
        )

    # recording --------------------------------------------------------------------------------
    def _record(self, outcome: Outcome) -> None:
        """Queue an outcome; one writer task writes whatever has gathered, in one transaction.

        Until it is written the row stays locked, so nobody attempts it again meanwhile; if
        the process dies first, the lock runs out and the attempt is simply made again.
        """
        self._outcomes.append(outcome)
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._write_outcomes())

    async def _write_outcomes(self) -> None:
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                await self.ctx.db.write(functools.partial(self._store, batch=batch))
            except Exception:
                log.exception("recording %d delivery outcomes failed", len(batch))

    async def _drain(self) -> None:
        while self._recorder is not None and not self._recorder.done():
            await asyncio.shield(self._recorder)

    def _store(self, conn: sqlite3.Connection, *, batch: list[Outcome]) -> None:
        healthy: set[str] = set()  # hosts already marked up in this batch
        for o in batch:
            q.finish_delivery(
                conn,
                o.job.id,
                o.state,
                now=o.at,
                status=o.status,
                error=o.error,
                retry_at=o.retry_at,
            )
            if o.host == "down":
                healthy.discard(o.job.host)
                q.record_host_failure(
                    conn,
                    o.job.host,
                    o.at,
                    o.error or "",
                    max_failures=self.max_host_failures,
                    failing_for=self.failing_for,
                    cooldown=self.cooldown,
                )
            elif o.host == "up" and o.job.host not in healthy:
                healthy.add(o.job.host)
                if q.record_host_success(conn, o.job.host, o.at):
                    # It was cooling down and answers again: nothing need wait for it now.
                    q.release_host(conn, o.job.host, o.at)


@dataclass(frozen=True)
class Outcome:
    job: DeliveryJob
    state: str  # the delivery's new state
    status: int | None
    error: str | None
    at: datetime
    retry_at: datetime | None = None
    host: HostSignal = None  # what the attempt says about the host
