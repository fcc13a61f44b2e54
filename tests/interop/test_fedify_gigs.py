"""Gigs as Fedify sees them (issue 4, interop): the Fedify peer follows coop velo and gets
the companion Note (not the Proposal) with its FEP-e232 Link tag; a reply from the peer's
actor to that Note becomes a pending application; the Proposal URL answers AS2 JSON to
signed and unsigned GETs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from fedcoop.config import Settings
from fedcoop.gigs import applications, offers
from fedcoop.gigs.offers import GigDraft
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


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


async def wait_for(predicate: Callable[[], Any], fed: Federation, *, within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        await fed.settle()
        found = await asyncio.to_thread(predicate)
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


async def peer_follows_velo(peer: FedifyPeer, node: Node, fed: Federation) -> None:
    velo = await node.local("velo")
    reply = await peer.acall("POST", "/_peer/follow", body={"actor": velo.uri})
    assert reply.ok, f"{reply.data}\n{peer.diagnostics()}"
    await wait_for(lambda: any(f["state"] == "accepted" for f in peer.following()), fed)


def gig_draft() -> GigDraft:
    return GigDraft(
        purpose="request",
        title="Cargo-bike deliveries",
        description="<p>Own bike</p>",
        unit="hour",
        price=Decimal("18"),
        currency="EUR",
        available=Decimal("8"),
        minimum=Decimal("2"),
        place_name="Lyon",
    )


async def test_peer_gets_the_note_and_a_reply_applies(fedify_peer: FedifyPeer, node: Node) -> None:
    fed = Federation([node])
    await peer_follows_velo(fedify_peer, node, fed)
    velo = await node.local("velo")
    # the coop itself posts a gig
    gig = await node.write(
        lambda c: offers.create_gig(
            c, node.ctx.uris, poster_id=velo.id, coop_id=velo.id, draft=gig_draft()
        )
    )
    received = await wait_for(
        lambda: [a for a in fedify_peer.received()["activities"] if a["objectId"] == gig.note_uri],
        fed,
    )
    note = received[0]["raw"]["object"]
    assert note["type"] == "Note"
    links = [t for t in as_list(note["tag"]) if t["type"] == "Link"]
    assert links and links[0]["href"] == gig.uri
    assert links[0]["rel"] == "https://w3id.org/valueflows/ont/vf#Proposal"
    assert not [a for a in fedify_peer.received()["activities"] if a["objectType"] == "Proposal"]

    # the peer's actor replies to the Note: a pending application without terms
    reply = await fedify_peer.acall(
        "POST",
        "/_peer/send",
        body={
            "inboxes": [velo.inbox],
            "content": "<p>@velo I would like 4 hours</p>",
            "inReplyTo": gig.note_uri,
            "mentions": [velo.uri],
        },
    )
    assert reply.ok, f"{reply.data}\n{fedify_peer.diagnostics()}"
    await fed.settle()
    found = await node.read(lambda c: applications.applications_for_gig(c, gig.id))
    assert [(a.state, a.structured) for a in found] == [("pending", False)]
    worker = await node.known(fedify_peer.actor)
    assert worker is not None and found[0].worker_id == worker.id


async def test_proposal_url_answers_as2_to_signed_and_unsigned_gets(
    fedify_peer: FedifyPeer, make_instance: Callable[..., Settings]
) -> None:
    """Fedify cannot parse a vf:Proposal (not in its vocabulary), so the peer checks the
    companion Note; the Proposal itself is fetched with a plain GET and with a GET signed by
    another fedcoop instance, against an instance with authorized fetch on and off."""
    nodes = []
    for name, secure in (("open", False), ("strict", True)):
        port = free_port()
        settings = make_instance(
            f"{LOOPBACK}:{port}",
            coop="velo",
            admin="alice",
            extra={"federation": {"authorized_fetch": secure}},
        )
        nodes.append(Node(name, settings, port))
    for n in nodes:
        await n.start()
    try:
        for n in nodes:
            velo = await n.local("velo")
            gig = await n.write(
                lambda c, n=n, velo=velo: offers.create_gig(
                    c, n.ctx.uris, poster_id=velo.id, coop_id=velo.id, draft=gig_draft()
                )
            )
            other = nodes[0] if n is nodes[1] else nodes[1]
            signer = await other.ctx.fetcher.signers.instance()
            final, doc = await other.ctx.http.get_json(gig.uri, sign_as=signer)
            assert final == gig.uri and doc["type"] == "Proposal" and doc["id"] == gig.uri
            async with (
                aiohttp.ClientSession() as session,
                session.get(gig.uri, headers={"Accept": "application/activity+json"}) as resp,
            ):
                assert resp.status == (401 if n.name == "strict" else 200)
                if resp.status == 200:
                    assert resp.content_type == "application/activity+json"
                    assert (await resp.json())["type"] == "Proposal"
            for signed in (False, True):
                reply = await asyncio.to_thread(
                    fedify_peer.lookup, gig.note_uri or "", signed=signed
                )
                expected = 404 if (n.name == "strict" and not signed) else 200
                assert reply.status == expected, f"{reply.data}\n{fedify_peer.diagnostics()}"
                if expected == 200:
                    assert reply.data["type"] == "Note"
    finally:
        for n in nodes:
            await n.stop()
