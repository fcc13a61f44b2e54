"""The delivery worker against fake remote inboxes on loopback that verify every signature.

The workers are driven with `run_once()` and a settable clock (which also dates the
signatures), except in the restart test, where the real supervisor of a new app does the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.federation.retry import backoff
from fedcoop.web.state import DB
from tests.support.fake_inboxes import FakeInboxes, Reply, Sender


@pytest.fixture
async def sender(aiohttp_client: Any, settings: Settings) -> AsyncIterator[Sender]:
    s = await Sender.start(aiohttp_client, settings)
    yield s
    await s.close()


async def serve(aiohttp_server: Any, inboxes: FakeInboxes, port: int | None = None) -> str:
    server = await aiohttp_server(inboxes.app(), host="127.0.0.1", port=port)
    return f"http://127.0.0.1:{server.port}"


async def follower_at(sender: Sender, base: str, name: str = "bob") -> str:
    uri = f"{base}/users/{name}"
    await sender.add_remote(uri)
    return uri


async def publish(sender: Sender, **payload: Any) -> list[Any]:
    """Emit a note, run the outbox, and return the queued delivery rows."""
    await sender.emit(**payload)
    assert await sender.outbox().run_once() == 1
    return await sender.rows("SELECT * FROM deliveries ORDER BY inbox")


async def delivery(sender: Sender) -> Any:
    (row,) = await sender.rows("SELECT * FROM deliveries")
    return row


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_delivery_is_signed_sent_once_and_marked_sent(
    sender: Sender, aiohttp_server: Any
) -> None:
    # given a remote follower of alice whose server verifies signatures
    inboxes = sender.inboxes()
    base = await serve(aiohttp_server, inboxes)
    await follower_at(sender, base)
    await publish(sender, text="first post")
    # when the delivery worker runs (twice: the second run finds nothing left)
    worker = sender.delivery()
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    # then the inbox got the Create once, signed by alice's key, and the row is sent
    assert inboxes.rejected == []
    (got,) = inboxes.delivered
    assert got.path == "/users/bob/inbox"
    assert got.key_id == sender.ctx.uris.person("alice") + "#main-key"
    assert got.activity["type"] == "Create"
    assert got.activity["object"]["content"] == "first post"
    assert got.headers["Content-Type"] == "application/activity+json"
    row = await delivery(sender)
    assert (row["state"], row["attempts"], row["last_status"]) == ("sent", 1, 202)
    assert row["sent_at"] is not None and row["locked_until"] is None
    (host,) = await sender.rows("SELECT * FROM hosts")
    assert host["consecutive_failures"] == 0 and host["last_success_at"] is not None


async def test_429_waits_for_retry_after(sender: Sender, aiohttp_server: Any) -> None:
    inboxes = sender.inboxes(script=[Reply(429, {"Retry-After": "600"})])
    await follower_at(sender, await serve(aiohttp_server, inboxes))
    await publish(sender)
    before = sender.clock()
    await sender.delivery().run_once()
    row = await delivery(sender)
    assert (row["state"], row["last_status"]) == ("queued", 429)
    assert clock.parse_iso(row["next_attempt_at"]) >= before + timedelta(seconds=600)
    # nothing is retried before Retry-After has passed
    sender.clock.advance(seconds=590)
    assert await sender.delivery().run_once() == 0
    sender.clock.advance(seconds=20)
    assert await sender.delivery().run_once() == 1
    assert (await delivery(sender))["state"] == "sent"
    # a rate limit says nothing bad about the host
    (host,) = await sender.rows("SELECT * FROM hosts")
    assert host["consecutive_failures"] == 0


async def test_503_then_202_is_sent_on_the_second_pass_with_a_new_date(
    sender: Sender, aiohttp_server: Any
) -> None:
    inboxes = sender.inboxes(script=[Reply(503)])
    await follower_at(sender, await serve(aiohttp_server, inboxes))
    await publish(sender)
    await sender.delivery().run_once()
    assert (await delivery(sender))["state"] == "queued"
    sender.clock.advance(minutes=5)
    await sender.delivery().run_once()
    row = await delivery(sender)
    assert (row["state"], row["attempts"], row["last_status"]) == ("sent", 2, 202)
    first, second = inboxes.delivered
    assert first.activity == second.activity
    assert first.date != second.date  # signed again, not replayed
    assert inboxes.rejected == []


async def test_500_backs_off_and_counts_against_the_host(
    sender: Sender, aiohttp_server: Any
) -> None:
    inboxes = sender.inboxes(script=[Reply(500), Reply(500)])
    await follower_at(sender, await serve(aiohttp_server, inboxes))
    await publish(sender)
    now = sender.clock()
    await sender.delivery().run_once()
    row = await delivery(sender)
    assert (row["state"], row["last_status"]) == ("queued", 500)
    assert clock.parse_iso(row["next_attempt_at"]) == now + backoff(1)
    sender.clock.advance(seconds=31)
    await sender.delivery().run_once()
    row = await delivery(sender)
    assert clock.parse_iso(row["next_attempt_at"]) == sender.clock() + backoff(2)
    (host,) = await sender.rows("SELECT * FROM hosts")
    assert host["consecutive_failures"] == 2 and host["cooldown_until"] is None


@pytest.mark.parametrize("status", [404, 410])
async def test_gone_or_missing_inbox_fails_at_once(
    sender: Sender, aiohttp_server: Any, status: int
) -> None:
    inboxes = sender.inboxes(script=[Reply(status)])
    await follower_at(sender, await serve(aiohttp_server, inboxes))
    await publish(sender)
    await sender.delivery().run_once()
    row = await delivery(sender)
    assert (row["state"], row["last_status"]) == ("failed", status)
    sender.clock.advance(days=3)
    assert await sender.delivery().run_once() == 0
    assert len(inboxes.delivered) == 1


async def test_a_host_that_is_down_gets_the_delivery_when_it_comes_back(
    sender: Sender, aiohttp_server: Any
) -> None:
    # given a follower whose server is not listening yet
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    await follower_at(sender, base)
    await publish(sender)
    await sender.delivery().run_once()
    row = await delivery(sender)
    assert (row["state"], row["last_status"]) == ("queued", None)
    assert "connection" in row["last_error"]
    # when the server comes up and the retry time has come
    inboxes = sender.inboxes()
    await serve(aiohttp_server, inboxes, port=port)
    sender.clock.advance(minutes=1)
    await sender.delivery().run_once()
    # then the activity arrives
    assert (await delivery(sender))["state"] == "sent"
    assert len(inboxes.delivered) == 1


async def test_a_host_blocked_after_queueing_is_skipped_without_a_request(
    sender: Sender, aiohttp_server: Any
) -> None:
    inboxes = sender.inboxes()
    base = await serve(aiohttp_server, inboxes)
    await follower_at(sender, base)
    await publish(sender)
    await sender.ctx.policy.block(base.removeprefix("http://"))
    await sender.delivery().run_once()
    assert (await delivery(sender))["state"] == "skipped"
    assert inboxes.delivered == []


async def test_per_host_concurrency_is_bounded(sender: Sender, aiohttp_server: Any) -> None:
    inboxes = sender.inboxes(delay=0.05)
    base = await serve(aiohttp_server, inboxes)
    for i in range(12):
        await follower_at(sender, base, f"f{i}")
    await publish(sender)
    worker = sender.delivery(per_host=3)
    while await worker.run_once():
        pass
    assert len(inboxes.delivered) == 12
    assert inboxes.max_in_flight == 3


async def test_a_failing_host_cools_down_then_one_probe_reopens_it(
    sender: Sender, aiohttp_server: Any
) -> None:
    # given a host that answers 502 until it has failed more than twice (for the test) over
    # more than no time (for the test)
    inboxes = sender.inboxes(script=[Reply(502)] * 20)
    base = await serve(aiohttp_server, inboxes)
    for name in ("a", "b", "c", "d"):
        await follower_at(sender, base, name)
    await publish(sender)
    worker = sender.delivery(per_host=1, max_host_failures=2, failing_for=timedelta(0))
    for _ in range(5):
        await worker.run_once()
        sender.clock.advance(minutes=5)
        (host,) = await sender.rows("SELECT * FROM hosts")
        if host["cooldown_until"] is not None:
            break
    assert host["consecutive_failures"] > 2
    cooldown_until = clock.parse_iso(host["cooldown_until"])
    assert cooldown_until > sender.clock()
    inboxes.script.clear()  # from now on the host would answer 202
    # when deliveries come due during the cool-down, they are deferred without a request
    sent_before = len(inboxes.delivered)
    await sender.execute("UPDATE deliveries SET next_attempt_at = ?", clock.iso(sender.clock()))
    worker = sender.delivery(max_host_failures=2, failing_for=timedelta(0))
    assert await worker.run_once() == 4
    assert len(inboxes.delivered) == sent_before
    for row in await sender.rows("SELECT * FROM deliveries"):
        assert row["state"] == "queued"
        assert clock.parse_iso(row["next_attempt_at"]) >= cooldown_until
    # when the cool-down is over, exactly one delivery goes, as a probe
    sender.clock.t = cooldown_until + timedelta(seconds=1)
    await sender.execute("UPDATE deliveries SET next_attempt_at = ?", clock.iso(sender.clock()))
    await worker.run_once()
    assert len(inboxes.delivered) == sent_before + 1
    # then its success ends the cool-down and releases the rest at once
    (host,) = await sender.rows("SELECT * FROM hosts")
    assert (host["consecutive_failures"], host["cooldown_until"]) == (0, None)
    await worker.run_once()
    states = [r["state"] for r in await sender.rows("SELECT * FROM deliveries")]
    assert states == ["sent"] * 4
    assert inboxes.rejected == []


async def test_stopping_the_worker_hands_unstarted_deliveries_back(
    sender: Sender, aiohttp_server: Any
) -> None:
    # given four deliveries to a slow host, two in flight and two claimed, waiting for a slot
    inboxes = sender.inboxes(delay=5)
    base = await serve(aiohttp_server, inboxes)
    for i in range(4):
        await follower_at(sender, base, f"f{i}")
    await publish(sender)
    pumping = asyncio.create_task(sender.delivery(per_host=2).pump())
    async with asyncio.timeout(5):
        while inboxes.in_flight < 2:  # noqa: ASYNC110 - waiting for the fake server
            await asyncio.sleep(0.01)
    # when the worker is stopped
    pumping.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pumping
    # then the two it never started are free again, their attempt not counted
    rows = await sender.rows("SELECT attempts, locked_until IS NULL FROM deliveries")
    assert sorted(tuple(r) for r in rows) == [(0, 1), (0, 1), (1, 0), (1, 0)]


async def test_queued_deliveries_survive_a_restart(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings
) -> None:
    # given deliveries queued (one of them claimed by a worker that then died)
    first = await Sender.start(aiohttp_client, settings)
    inboxes = first.inboxes()
    base = await serve(aiohttp_server, inboxes)
    await follower_at(first, base, "bob")
    await first.add_remote(f"{base}/users/carol")
    await publish(first)
    await inboxes.key(first.ctx.uris.person("alice") + "#main-key")  # cached by the receiver
    await first.ctx.db.write(
        lambda conn: conn.execute(
            "UPDATE deliveries SET locked_until = ?, attempts = 1 WHERE inbox LIKE '%carol%'",
            (clock.iso(clock.now() - timedelta(seconds=1)),),
        )
    )
    await first.close()
    await first.client.close()  # the app stops: workers, HTTP client, database
    # when a new app starts on the same data directory
    second = await aiohttp_client(make_app(settings))
    db = second.app[DB]

    async def states() -> list[str]:
        rows = await db.read(
            lambda conn: conn.execute("SELECT state FROM deliveries ORDER BY inbox").fetchall()
        )
        return [r[0] for r in rows]

    # then its own workers send both
    await wait_for(states, ["sent", "sent"])
    assert sorted(inboxes.paths()) == ["/users/bob/inbox", "/users/carol/inbox"]
    assert inboxes.rejected == []


async def wait_for(probe: Callable[[], Awaitable[Any]], expected: Any) -> None:
    found = None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while (found := await probe()) != expected:  # noqa: ASYNC110 - polling the DB
                await asyncio.sleep(0.02)
    assert found == expected
