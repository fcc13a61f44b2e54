"""Coops as Fedify sees them (issue 5, interop): the Fedify peer follows coop velo and receives
the coop's Announce of a member's gig; the peer's actor joins velo (Join -> Accept + Add of a
signed Relationship), receives the proposal as a Question, and its vote, sent the way Mastodon
votes (a Note reply with `name` = the option), counts once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.config import Settings
from fedcoop.gigs import governance, membership, offers
from fedcoop.gigs.governance import ProposalDraft
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


async def wait_for(predicate: Callable[[], Any], fed: Federation, *, within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        await fed.settle()
        found = await asyncio.to_thread(predicate)
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


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


def of_type(peer: FedifyPeer, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = peer.activities(kind)["activities"]
    return found


def object_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


async def test_peer_follows_the_coop_and_gets_its_announced_gigs(
    fedify_peer: FedifyPeer, node: Node
) -> None:
    fed = Federation([node])
    velo, alice = await node.local("velo"), await node.local("alice")
    reply = await fedify_peer.acall("POST", "/_peer/follow", body={"actor": velo.uri})
    assert reply.ok, f"{reply.data}\n{fedify_peer.diagnostics()}"
    await wait_for(lambda: any(f["state"] == "accepted" for f in fedify_peer.following()), fed)
    # alice, a member, posts a gig with audience = velo
    gig = await node.write(
        lambda c: offers.create_gig(
            c, node.ctx.uris, poster_id=alice.id, coop_id=velo.id, draft=gig_draft()
        )
    )
    announces = await wait_for(
        lambda: [a for a in of_type(fedify_peer, "Announce") if a["actor"] == velo.uri],
        fed,
    )
    raw = announces[0]["raw"]
    announced = raw["object"]
    inner = announced.get("object") if isinstance(announced, dict) else None
    assert object_id(inner) in (gig.uri, gig.note_uri), raw


async def test_peer_joins_the_coop_and_its_vote_counts(fedify_peer: FedifyPeer, node: Node) -> None:
    fed = Federation([node])
    velo, alice = await node.local("velo"), await node.local("alice")
    # the peer's actor asks to join; alice admits it
    reply = await fedify_peer.acall("POST", "/_peer/join", body={"group": velo.uri})
    assert reply.ok, f"{reply.data}\n{fedify_peer.diagnostics()}"
    await fed.settle()
    ((request, requester),) = await node.read(lambda c: membership.pending_requests(c, velo.id))
    assert requester.uri == fedify_peer.actor
    await node.write(lambda c: membership.admit(c, request.id, by_actor_id=alice.id))
    await wait_for(lambda: [j for j in fedify_peer.joins() if j["state"] == "accepted"], fed)
    adds = await wait_for(lambda: of_type(fedify_peer, "Add"), fed)
    relationship = adds[0]["raw"]["object"]
    assert relationship["subject"] == fedify_peer.actor and "proof" in relationship
    # alice puts a question to the members: the peer receives it
    draft = ProposalDraft(
        kind="text", title="Night shifts?", ends_at=clock.now() + timedelta(hours=1)
    )
    proposal = await node.write(
        lambda c: governance.open_proposal(c, node.ctx.uris, velo.id, draft, author_id=alice.id)
    )
    await wait_for(
        lambda: [a for a in fedify_peer.received()["activities"] if a["objectId"] == proposal.uri],
        fed,
    )

    def vote(option: str) -> Any:
        return fedify_peer.call(
            "POST",
            "/_peer/send",
            body={
                "inboxes": [velo.inbox],
                "to": [velo.uri],
                "content": None,
                "name": option,
                "inReplyTo": proposal.uri,
            },
        )

    # the peer votes Yes, then tries No: the first vote counts, once
    for option in ("Yes", "No"):
        sent = await asyncio.to_thread(vote, option)
        assert sent.ok, f"{sent.data}\n{fedify_peer.diagnostics()}"
        await fed.settle()
    counted = await node.read(
        lambda c: governance.current_tally(c, governance.require_proposal(c, proposal.id))
    )
    assert counted == {"Yes": 1, "No": 0}
