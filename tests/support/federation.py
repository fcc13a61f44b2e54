"""Several real fedcoop instances in the test process, federating over loopback.

Each `Node` is what `fedcoop serve` runs: `make_app(settings)` with its own data directory and
database, served by `aiohttp.web.AppRunner` + `TCPSite` on 127.0.0.1. The port is chosen
before `init`, so the domain `127.0.0.1:PORT` is in every id the instance mints. Starting the
runner runs the app's cleanup contexts, so the supervisor's workers run in the background as
in production, with real keys and real signatures on every request.

Tests do not wait for poll intervals: `Federation.settle()` drives inbox, outbox and delivery
workers of every running node with `run_once()` until a whole round does nothing and no job
is due or held by a background worker, within a deadline. A node can be stopped (its runner
cleaned up: port closed, database closed, workers stopped) and started again on the same
port, like an instance that goes down and comes back.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from fedcoop import clock
from fedcoop.accounts.actors import Actor, get_actor_by_uri, get_local_actor
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.federation.context import FederationContext
from fedcoop.federation.delivery import DeliveryWorker
from fedcoop.federation.inbox_worker import InboxWorker
from fedcoop.federation.outbox import OutboxWorker
from fedcoop.web.state import FEDERATION

T = TypeVar("T")
LOOPBACK = "127.0.0.1"
SETTLE_SECONDS = 30.0


@dataclass
class Node:
    """One running instance: its settings, app, runner, and the services tests reach into."""

    name: str
    settings: Settings
    port: int
    app: web.Application | None = None
    runner: web.AppRunner | None = None
    drivers: list[Callable[[], Awaitable[int]]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.runner is not None

    @property
    def domain(self) -> str:
        return self.settings.instance.domain

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def ctx(self) -> FederationContext:
        assert self.app is not None, f"{self.name} is not running"
        return self.app[FEDERATION]

    async def start(self) -> None:
        assert self.runner is None, f"{self.name} is already running"
        self.app = make_app(self.settings)
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await runner.setup()  # runs the cleanup contexts: database, HTTP client, supervisor
        await web.TCPSite(runner, LOOPBACK, self.port, reuse_address=True).start()
        self.runner = runner
        # Separate worker instances for `settle`: they share nothing in memory with the
        # supervisor's, and the database's claim locks keep both from taking the same row.
        ctx = self.ctx
        self.drivers = [
            InboxWorker(ctx).run_once,
            OutboxWorker(ctx).run_once,
            DeliveryWorker(ctx).run_once,
        ]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        self.runner = None
        self.app = None
        self.drivers = []

    # database access -----------------------------------------------------------------------
    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.ctx.db.read(fn)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.ctx.db.write(fn)

    async def sql(self, query: str, *params: Any) -> list[sqlite3.Row]:
        """Test-only look at the tables (asserting on rows the domain has no query for)."""
        return await self.read(lambda conn: conn.execute(query, params).fetchall())

    async def local(self, username: str) -> Actor:
        found = await self.read(lambda conn: get_local_actor(conn, username))
        assert found is not None, f"no {username} on {self.name}"
        return found

    async def known(self, uri: str) -> Actor | None:
        """The row this node holds for an actor (local or a cached remote one)."""
        return await self.read(lambda conn: get_actor_by_uri(conn, uri))

    async def remote(self, other: Node, username: str) -> Actor:
        """This node's copy of `username@other`, fetched (and cached) as federation would."""
        return await self.ctx.fetcher.get_actor(f"{other.base_url}/users/{username}")

    async def busy(self) -> bool:
        """Is any job due now, or held by a worker (its lock running)?"""
        now = clock.now_iso()
        rows = await self.sql(
            "SELECT (SELECT count(*) FROM events WHERE state = 'pending' AND next_attempt_at <= ?)"
            " + (SELECT count(*) FROM inbox_items WHERE state = 'received' "
            "    AND next_attempt_at <= ?)"
            " + (SELECT count(*) FROM deliveries WHERE state = 'queued' AND next_attempt_at <= ?)",
            now,
            now,
            now,
        )
        return bool(rows[0][0])

    async def run_workers_once(self) -> int:
        done = 0
        for run_once in self.drivers:
            done += await run_once()
        return done

    async def post_signed(self, actor_id: str, inbox: str, activity: dict[str, Any]) -> int:
        """POST `activity` as local `actor_id`, signed now, the way delivery does it."""
        signer = await self.ctx.fetcher.signers.for_actor(actor_id)
        result = await self.ctx.http.post(inbox, json.dumps(activity).encode(), signer)
        return result.status


@dataclass
class Federation:
    nodes: list[Node]

    def __getitem__(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    async def settle(self, *, within: float = SETTLE_SECONDS) -> int:
        """Run every running node's workers until nothing is left to do; returns jobs done.

        Quiet means two rounds in a row in which no worker did anything and no job was due or
        being worked on by a background worker; a delivery waiting for a later retry (its host
        was down) does not keep the federation busy.
        """
        deadline = time.monotonic() + within
        total = quiet = 0
        while quiet < 2:
            if time.monotonic() > deadline:
                raise AssertionError(f"federation still busy after {within} s")
            running = [node for node in self.nodes if node.running]
            done = 0
            for node in running:
                done += await node.run_workers_once()
            total += done
            busy = done > 0 or any([await node.busy() for node in running])
            quiet = 0 if busy else quiet + 1
            if done == 0:
                await asyncio.sleep(0.05)  # let a background worker finish what it holds
        return total

    async def stop(self) -> None:
        for node in self.nodes:
            await node.stop()
