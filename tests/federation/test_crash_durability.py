"""An acknowledged write survives a crash: SIGKILL `fedcoop serve` under load, restart, count.

Two kinds of writes are held to it: plain writes (app registrations, below) and the inbox's
batched writes (signed activities answered 202, at the end).

fedcoop answers a write only after the writer thread has committed it (DESIGN.md: storage and
concurrency). This test holds it to that with the real process: many concurrent OAuth app
registrations (`POST /api/v1/apps`, open to anyone, one row each) run against `fedcoop serve`,
the server is SIGKILLed while requests are in flight, and after a restart every registration
that got its `client_id` back must be in the database, which `fedcoop check` must pass.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.processes import (
    FedcoopProcess,
    free_port,
    http_request,
    init_instance,
    run_fedcoop,
    start_server,
)
from tests.support.senders import Sender, seed_senders, signed_create

pytestmark = pytest.mark.federation

MAX_REQUESTS = 2000
CONCURRENCY = 48
KILL_AFTER_ACKS = 300
DEADLINE_SECONDS = 30.0
APP_FORM = {"redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}


@dataclass
class Load:
    acknowledged: dict[str, str] = field(default_factory=dict)  # key -> what the answer said
    attempted: set[str] = field(default_factory=set)
    in_flight: int = 0
    in_flight_at_kill: int = -1
    refused: list[int] = field(default_factory=list)  # HTTP statuses other than the expected


@dataclass(frozen=True)
class Attempt:
    """One write to send: its key, where to POST it and how (aiohttp `post` arguments)."""

    key: str
    url: str
    post: dict[str, Any]


async def load_until_killed(
    server: FedcoopProcess,
    attempt: Callable[[int], Attempt],
    accepted: int,
    acknowledgement: Callable[[aiohttp.ClientResponse], Awaitable[str]],
) -> Load:
    """POST `attempt(n)` concurrently; SIGKILL the server once KILL_AFTER_ACKS were answered
    `accepted` (and `acknowledgement` read the whole answer)."""
    load = Load()
    killed = asyncio.Event()
    slots = asyncio.Semaphore(CONCURRENCY)

    async def send(session: aiohttp.ClientSession, n: int) -> None:
        write = attempt(n)
        load.attempted.add(write.key)
        load.in_flight += 1
        try:
            async with session.post(write.url, **write.post) as resp:
                if resp.status != accepted:
                    load.refused.append(resp.status)
                    return
                answer = await acknowledgement(resp)
            # Acknowledged: the whole answer reached the client.
            load.acknowledged[write.key] = answer
            if len(load.acknowledged) >= KILL_AFTER_ACKS and not killed.is_set():
                load.in_flight_at_kill = load.in_flight - 1
                killed.set()
                server.proc.kill()  # SIGKILL: no shutdown handler runs
        except (TimeoutError, aiohttp.ClientError):
            pass  # the crash: never acknowledged, so it may or may not be stored
        finally:
            load.in_flight -= 1
            slots.release()

    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        tasks = []
        for n in range(MAX_REQUESTS):
            await slots.acquire()
            if killed.is_set():
                slots.release()
                break
            tasks.append(asyncio.create_task(send(session, n)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=DEADLINE_SECONDS)
    return load


async def register_until_killed(base_url: str, server: FedcoopProcess) -> Load:
    """Register apps concurrently; SIGKILL the server once KILL_AFTER_ACKS have been answered."""

    def registration(n: int) -> Attempt:
        name = f"crash-{n:04d}"
        return Attempt(name, base_url + "/api/v1/apps", {"json": {"client_name": name, **APP_FORM}})

    async def client_id(resp: aiohttp.ClientResponse) -> str:
        return str((await resp.json())["client_id"])

    return await load_until_killed(server, registration, 200, client_id)


def stored_apps(database: Path) -> dict[str, str]:
    conn = sqlite3.connect(database)
    try:
        return {name: cid for name, cid in conn.execute("SELECT name, client_id FROM oauth_apps")}
    finally:
        conn.close()


async def test_every_acknowledged_write_survives_sigkill(tmp_path: Path) -> None:
    # Given a served instance
    port = free_port()
    data_dir = tmp_path / "instance"
    base_url = init_instance(data_dir, port)
    server = start_server(data_dir, port)
    try:
        # when many concurrent writes run and the server is SIGKILLed in the middle of them
        started = time.monotonic()
        load = await register_until_killed(base_url, server)
        assert server.kill() == -9, "the server died of the SIGKILL, not before it"
        assert time.monotonic() - started < DEADLINE_SECONDS + 5
    finally:
        server.stop()
    assert load.refused == [], "every write was valid"
    assert len(load.acknowledged) >= KILL_AFTER_ACKS, server.output()
    assert load.in_flight_at_kill > 0, "the kill must land while requests are in flight"
    assert len(load.attempted) > len(load.acknowledged), "some writes were cut off"

    # then the instance restarts on the same data and takes new writes
    restarted = start_server(data_dir, port)
    try:
        after = http_request(
            "POST",
            base_url + "/api/v1/apps",
            body=b'{"client_name": "after-restart", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}',
            headers={"Content-Type": "application/json"},
        )
        assert after.status == 200, after.body
        assert restarted.terminate(timeout=10) == 0, restarted.output()
    finally:
        restarted.stop()

    # and `fedcoop check` passes
    check = run_fedcoop("check", "--data-dir", str(data_dir), timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "FAIL" not in check.stdout

    # and every acknowledged write is there, with the client_id it was answered with
    stored = stored_apps(data_dir / "fedcoop.sqlite3")
    lost = {name for name, cid in load.acknowledged.items() if stored.get(name) != cid}
    assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {sorted(lost)[:5]}"
    # (a write may be committed with its answer cut off; nothing appears that was never sent)
    assert set(stored) <= load.attempted | {"after-restart"}
    assert "after-restart" in stored


# the inbox: batched intake writes --------------------------------------------------------------
async def deliver_until_killed(
    base_url: str, server: FedcoopProcess, senders: list[Sender]
) -> Load:
    """POST signed activities concurrently; SIGKILL once KILL_AFTER_ACKS were answered 202."""
    host = base_url.split("://", 1)[1]

    def delivery(n: int) -> Attempt:
        activity_id, body, headers = signed_create(
            senders[n % len(senders)], host, base_url + "/users/alice"
        )
        return Attempt(activity_id, base_url + "/inbox", {"data": body, "headers": headers})

    async def accepted(resp: aiohttp.ClientResponse) -> str:
        await resp.read()
        return str(resp.status)

    return await load_until_killed(server, delivery, 202, accepted)


async def test_every_accepted_inbox_activity_survives_sigkill(tmp_path: Path) -> None:
    # Given a served instance that knows five remote actors' keys
    port = free_port()
    data_dir = tmp_path / "instance"
    base_url = init_instance(data_dir, port)
    senders = seed_senders(data_dir)
    server = start_server(data_dir, port)
    try:
        # when signed activities arrive concurrently and the server is SIGKILLed among them
        load = await deliver_until_killed(base_url, server, senders)
        assert server.kill() == -9, "the server died of the SIGKILL, not before it"
    finally:
        server.stop()
    assert load.refused == [], "every activity was valid"
    assert len(load.acknowledged) >= KILL_AFTER_ACKS, server.output()
    assert load.in_flight_at_kill > 0, "the kill must land while requests are in flight"

    # then every activity answered 202 is stored, once
    conn = sqlite3.connect(data_dir / "fedcoop.sqlite3")
    try:
        stored = {uri for (uri,) in conn.execute("SELECT activity_uri FROM inbox_items")}
    finally:
        conn.close()
    lost = set(load.acknowledged) - stored
    assert not lost, f"{len(lost)} accepted activities lost, e.g. {sorted(lost)[:3]}"
    assert stored <= load.attempted
    check = run_fedcoop("check", "--data-dir", str(data_dir), timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
