"""Fan-out benchmark: one note to 1,000 followers, from the post to the last 2xx recorded.

Two scenarios, each beside a reference measured in the same run:
- 1,000 followers with 1,000 distinct inboxes on 10 remote servers (100 each): 1,000 signed
  POSTs; target <= 1.5 s;
- 1,000 followers on 20 remote servers that each have a shared inbox: 20 POSTs; target
  <= 0.3 s.
The clock starts before the note is written (`social.notes.post_note`, which emits the event)
and stops when every delivery row of the scenario is `sent`: it covers the outbox worker
(render, recipients, one write), the delivery worker (claim, sign per request, POST, record)
and the supervisor's wake-ups, with the real app and its default settings (synchronous=full).
The reference is a bare aiohttp client POSTing the same body to the same URLs with the same
concurrency (32, at most 4 per host), unsigned, with nothing stored.

The remote servers are no-op aiohttp handlers (read the body, answer 202, count) in a
subprocess, as remote servers would be on other machines; everything is on loopback.

Run: python -m bench.fanout
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from fedcoop import clock, ids
from fedcoop.accounts.actors import get_local_actor
from fedcoop.app import make_app
from fedcoop.config import Settings, load_settings
from fedcoop.federation import outbox
from fedcoop.provisioning import add_user, init_instance
from fedcoop.social.notes import post_note
from fedcoop.social.remote_actors import RemoteActorRecord, upsert_remote_actor
from fedcoop.web.state import DB, URIS, WORKERS

FOLLOWERS = 1000
SERVERS = 20
DISTINCT_HOSTS = 10  # the servers the 1,000 distinct inboxes are spread over
CONCURRENCY, PER_HOST = 32, 4  # the delivery defaults, also used by the reference client
DEADLINE = 30.0  # seconds: a scenario that takes longer is reported as failed, not awaited


# the remote side: no-op inboxes in a subprocess --------------------------------------------------
async def _remote_main(count: int) -> None:
    received = 0

    async def inbox(request: web.Request) -> web.Response:
        nonlocal received
        await request.read()
        received += 1
        return web.Response(status=202)

    async def counted(_: web.Request) -> web.Response:
        return web.json_response({"received": received})

    app = web.Application()
    app.router.add_get("/_count", counted)
    app.router.add_post("/{tail:.*}", inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ports = []
    for _ in range(count):
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    print(json.dumps(ports), flush=True)
    # Serve until the parent closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


class Remotes:
    def __init__(self, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.fanout", "--remote", str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.ports: list[int] = json.loads(self.proc.stdout.readline())

    def base(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    async def received(self) -> int:
        """POSTs answered so far, by all the servers together (they share one counter)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.base(0) + "/_count") as resp,
        ):
            return int((await resp.json())["received"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# the sending side ---------------------------------------------------------------------------------
def make_instance(data_dir: Path) -> Settings:
    init_instance(
        data_dir,
        domain="bench.test",
        coop="velo",
        coop_title="Vélo",
        admin="alice",
        password="correct horse battery",
        http=True,
        allow_private_network=True,
    )
    add_user(data_dir, "carol", "correct horse battery")
    return load_settings(data_dir, environ={})


def add_followers(
    conn: sqlite3.Connection, followee: str, inboxes: Sequence[tuple[str, str | None]]
) -> None:
    """One remote actor per (actor URI, shared inbox), each following `followee`."""
    target = get_local_actor(conn, followee)
    assert target is not None
    now = clock.now_iso()
    for uri, shared in inboxes:
        host = uri.split("/")[2]
        record = RemoteActorRecord(
            uri=uri,
            type="Person",
            username=uri.rsplit("/", 1)[1],
            host=host,
            inbox=uri + "/inbox",
            shared_inbox=shared,
        )
        actor = upsert_remote_actor(conn, record, keys_may_change=True)
        conn.execute(
            "INSERT INTO follows (id, follower_id, followee_id, state, created_at) "
            "VALUES (?, ?, ?, 'accepted', ?)",
            (ids.new_id(), actor.id, target.id, now),
        )


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds
    cpu: float  # seconds of this process's CPU (all its threads) over the same span


async def fedcoop_fanout(app: web.Application, author: str, expected: int) -> Timing:
    """From the note's write to all `expected` deliveries of it recorded as sent."""
    db, uris = app[DB], app[URIS]
    actor = await db.read(lambda conn: get_local_actor(conn, author))
    assert actor is not None

    def progress(conn: sqlite3.Connection) -> tuple[int, int]:
        row = conn.execute(
            "SELECT count(*), sum(state = 'sent') FROM deliveries "
            "JOIN activities ON activities.id = deliveries.activity_id "
            "WHERE activities.actor_id = ?",
            (actor.id,),
        ).fetchone()
        return int(row[0]), int(row[1] or 0)

    start, cpu = time.perf_counter(), time.process_time()
    await db.write(lambda conn: post_note(conn, uris, actor.id, "Hello, followers"))
    app[WORKERS].wake(outbox.WORKER_NAME)  # what the posting page does after its write
    while True:
        rows, sent = await db.read(progress)
        if rows == expected and sent == expected:
            return Timing(time.perf_counter() - start, time.process_time() - cpu)
        if time.perf_counter() - start > DEADLINE:
            raise TimeoutError(f"{sent}/{expected} deliveries sent after {DEADLINE} s")
        await asyncio.sleep(0.01)


async def reference_fanout(urls: list[str], body: bytes) -> Timing:
    """The same POSTs from a bare aiohttp client: no signing, no storage."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=PER_HOST)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(url: str) -> None:
            async with session.post(url, data=body) as resp:
                await resp.read()
                assert resp.status == 202

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(post(url) for url in urls))
        return Timing(time.perf_counter() - start, time.process_time() - cpu)


@dataclass(frozen=True)
class Result:
    scenario: str
    requests: int
    fedcoop: Timing
    reference: Timing
    target: float


async def run() -> list[Result]:
    remotes = Remotes(SERVERS)
    try:
        with tempfile.TemporaryDirectory(prefix="fedcoop-fanout-") as tmp:
            settings = make_instance(Path(tmp) / "instance")
            app = make_app(settings)
            distinct = [
                (f"{remotes.base(i % DISTINCT_HOSTS)}/users/f{i}", None) for i in range(FOLLOWERS)
            ]
            shared = [
                (f"{remotes.base(i % SERVERS)}/users/s{i}", f"{remotes.base(i % SERVERS)}/inbox")
                for i in range(FOLLOWERS)
            ]
            body = json.dumps({"type": "Create", "object": {"content": "x" * 400}}).encode()
            db = app[DB]
            runner = web.AppRunner(app)
            await runner.setup()  # starts the database, the HTTP client and the workers
            try:
                await db.write(lambda conn: add_followers(conn, "alice", distinct))
                await db.write(lambda conn: add_followers(conn, "carol", shared))
                results = []
                for name, author, urls, target in (
                    ("1,000 distinct inboxes", "alice", [f"{u}/inbox" for u, _ in distinct], 1.5),
                    (
                        "1,000 followers, 20 shared inboxes",
                        "carol",
                        [remotes.base(i) + "/inbox" for i in range(SERVERS)],
                        0.3,
                    ),
                ):
                    before = await remotes.received()
                    took = await fedcoop_fanout(app, author, len(urls))
                    # Every delivery is one request: shared inboxes really were merged.
                    assert await remotes.received() - before == len(urls)
                    reference = await reference_fanout(urls, body)
                    results.append(Result(name, len(urls), took, reference, target))
                return results
            finally:
                await runner.cleanup()
    finally:
        remotes.close()


def report(results: list[Result]) -> bool:
    print(
        f"{'scenario':36} {'requests':>8} {'fedcoop':>9} {'(cpu)':>8} "
        f"{'no-op ref':>9} {'(cpu)':>8} {'target':>7}  ok"
    )
    ok = True
    for r in results:
        passed = r.fedcoop.wall <= r.target
        ok &= passed
        print(
            f"{r.scenario:36} {r.requests:>8} {r.fedcoop.wall:>8.3f}s {r.fedcoop.cpu:>7.3f}s "
            f"{r.reference.wall:>8.3f}s {r.reference.cpu:>7.3f}s {r.target:>6.1f}s  "
            f"{'yes' if passed else 'NO'}"
        )
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"load average {load:.1f} on {cores} CPUs", end="")
    if load > cores:
        # The remote servers and everything else compete for the CPUs: wall time stretches,
        # CPU time (this process, all threads) stays comparable between runs.
        print(": the machine is busy, compare the CPU columns", end="")
    print()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--remote", type=int, help=argparse.SUPPRESS)  # the subprocess side
    args = parser.parse_args(argv)
    if args.remote:
        asyncio.run(_remote_main(args.remote))
        return 0
    return 0 if report(asyncio.run(run())) else 1


if __name__ == "__main__":
    raise SystemExit(main())
