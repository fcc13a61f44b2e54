"""Background workers run inside `fedcoop serve`, supervised.

Each worker exposes `run_once()` (process what is ready, return how many it handled) so tests
can drive it step by step. The supervisor loops it: straight on while there is work, otherwise
it sleeps until woken (a new inbox item, a new event) or until its poll interval passes, so
rows whose retry time has come are picked up. A crash in one pass is logged and the loop goes
on after a pause: one bad row must not stop federation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Worker:
    name: str
    run_once: Callable[[], Awaitable[int]]
    poll_seconds: float = 1.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self._wake.set()

    async def _sleep(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as the event is set (the app stopping right after a wake-up), and the
        # worker would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_seconds):
                await self._wake.wait()
        self._wake.clear()

    async def loop(self) -> None:
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker %s failed; retrying shortly", self.name)
                done = 0
                await asyncio.sleep(min(self.poll_seconds, 1.0))
            if done == 0:
                await self._sleep()


@dataclass
class Supervisor:
    workers: dict[str, Worker] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def add(self, worker: Worker) -> Worker:
        self.workers[worker.name] = worker
        return worker

    def wake(self, name: str) -> None:
        worker = self.workers.get(name)
        if worker is not None:
            worker.wake()

    def start(self) -> None:
        for worker in self.workers.values():
            self._tasks.append(asyncio.create_task(worker.loop(), name=f"worker:{worker.name}"))

    async def stop(self, *, rounds: int = 20) -> None:
        """Cancel every worker and wait for them; a cancellation lost in a race is repeated
        (at most `rounds` times, a second apart), so stopping cannot hang."""
        pending = set(self._tasks)
        for _ in range(rounds):
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in pending:
            log.error("worker task %s did not stop", task.get_name())
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("worker task %s ended with %r", task.get_name(), task.exception())
        self._tasks.clear()

    @property
    def running(self) -> bool:
        return bool(self._tasks)
