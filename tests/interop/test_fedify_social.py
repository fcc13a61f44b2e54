"""Follows and notes with Fedify (issue 3, interop).

The Fedify peer follows a fedcoop member and a coop and receives their notes; a fedcoop member
follows the peer's actor and receives its notes; each side verifies the other's signatures.
Fedify delivers with RFC 9421 first: fedcoop verifies it (the stored inbox item says which
scheme authenticated it); the peer's raw draft-cavage deliveries are verified too. An RFC 9421
request fedcoop cannot verify is answered 401, never 2xx, so Fedify falls back to
draft-cavage: tests/component/test_inbox_security.py sends such requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from fedcoop.config import Settings
from fedcoop.social import follows, notes, timelines
from tests.support.federation import LOOPBACK, Federation, Node
from tests.support.peer import FedifyPeer
from tests.support.processes import free_port

pytestmark = pytest.mark.interop


@pytest.fixture
async def node(make_instance: Callable[..., Settings]) -> AsyncIterator[Node]:
    port = free_port()
    settings = make_instance(f"{LOOPBACK}:{port}", coop="velo", admin="alice")
    instance = Node("A", settings, port)
    await instance.start()
    try:
        yield instance
    finally:
        await instance.stop()


async def eventually(check: Callable[[], Any], fed: Federation, *, within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        await fed.settle()
        found = await asyncio.to_thread(check)
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


async def test_peer_follows_a_member_and_a_coop_and_gets_their_notes(
    fedify_peer: FedifyPeer, node: Node
) -> None:
    fed = Federation([node])
    alice = await node.local("alice")
    velo = await node.local("velo")
    for actor in (alice, velo):
        reply = await fedify_peer.acall("POST", "/_peer/follow", body={"actor": actor.uri})
        assert reply.ok, f"{reply.data}\n{fedify_peer.diagnostics()}"
    await eventually(
        lambda: len([f for f in fedify_peer.following() if f["state"] == "accepted"]) == 2, fed
    )
    # fedcoop verified the peer's RFC 9421 signatures (its first try with a new origin)
    auths = await node.sql("SELECT auth FROM inbox_items WHERE activity_type = 'Follow'")
    assert [r[0] for r in auths] == ["rfc9421", "rfc9421"]
    assert await node.read(lambda c: follows.count_followers(c, alice.id)) == 1

    # alice and the coop post; the peer verifies our signatures and stores both notes
    for author, text in ((alice, "Hello from alice"), (velo, "News from the coop")):
        await node.write(lambda c, a=author, t=text: notes.post_note(c, node.ctx.uris, a.id, t))
    received = await eventually(
        lambda: (
            [a for a in fedify_peer.received()["activities"] if a["type"] == "Create"]
            if len(fedify_peer.received()["activities"]) >= 2
            else None
        ),
        fed,
    )
    contents = sorted(a["content"] for a in received)
    assert any("Hello from alice" in c for c in contents), contents
    assert any("News from the coop" in c for c in contents), contents
    assert {a["actor"] for a in received} == {alice.uri, velo.uri}
    assert fedify_peer.rejected()["count"] == 0, fedify_peer.diagnostics()


async def test_member_follows_the_peer_and_gets_its_notes(
    fedify_peer: FedifyPeer, node: Node
) -> None:
    fed = Federation([node])
    alice = await node.local("alice")
    peer_actor = await node.ctx.fetcher.get_actor(fedify_peer.actor)
    await node.write(lambda c: follows.follow(c, alice.id, peer_actor.id))
    await fed.settle()
    await eventually(lambda: fedify_peer.followers(), fed)
    assert await node.read(lambda c: follows.is_following(c, alice.id, peer_actor.id))

    # the peer posts through Fedify (RFC 9421 first) and with a raw draft-cavage delivery
    sent = await fedify_peer.acall(
        "POST",
        "/_peer/send",
        body={"inboxes": [alice.inbox], "content": "<p>Hello from Fedify</p>"},
    )
    assert sent.ok, f"{sent.data}\n{fedify_peer.diagnostics()}"
    note_id = f"{fedify_peer.url}/notes/cavage-1"
    raw = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Create",
        "id": f"{fedify_peer.url}/activities/cavage-1",
        "actor": fedify_peer.actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "type": "Note",
            "id": note_id,
            "attributedTo": fedify_peer.actor,
            "content": "<p>Signed the old way</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "published": "2026-11-29T10:00:00Z",
        },
    }
    delivered = await fedify_peer.acall(
        "POST", "/_peer/deliver", body={"inboxes": [alice.inbox], "activity": raw}
    )
    assert delivered.ok and delivered.data["results"][0]["status"] == 202, delivered.data
    await fed.settle()
    rows = await node.sql(
        "SELECT auth FROM inbox_items WHERE activity_type = 'Create' ORDER BY received_at"
    )
    assert [r[0] for r in rows] == ["rfc9421", "cavage"]
    home = await node.read(lambda c: timelines.home(c, alice.id))
    texts = " ".join(n.content for n in home)
    assert "Hello from Fedify" in texts and "Signed the old way" in texts
