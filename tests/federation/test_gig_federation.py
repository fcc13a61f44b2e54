"""The whole gig lifecycle between two real instances (issue 4, "Done when").

Coop velo on A posts a gig; bob on B follows velo, sees the gig on B's board, applies from B;
alice (velo's admin) accepts on A; both instances hold the same Agreement; bob records
completion; alice records payment; the receipt arrives. At every step the states agree.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.accounts.actors import local_private_keys
from fedcoop.activitypub.vocab import GIG_CONTEXT
from fedcoop.federation.agreement_to_as import signed_agreement
from fedcoop.gigs import agreements, applications, board, gig_replies, offers
from fedcoop.gigs.offers import GigDraft
from fedcoop.social import follows
from tests.support.federation import Federation, Node

pytestmark = pytest.mark.federation


def gig_draft(**over: Any) -> GigDraft:
    base: dict[str, Any] = dict(
        purpose="request",
        title="Cargo-bike deliveries, Saturday market",
        description="<p>Riders with their own cargo bike.</p>",
        unit="hour",
        price=Decimal("18.50"),
        currency="EUR",
        available=Decimal("8"),
        minimum=Decimal("2"),
        place_name="Lyon",
        latitude=45.76,
        longitude=4.84,
        starts_at="2026-12-05T08:00:00Z",
        ends_at="2026-12-05T16:00:00Z",
    )
    base.update(over)
    return GigDraft(**base)


async def follow_coop(fed: Federation, follower: str, on: Node, coop: str, at: Node) -> None:
    me = await on.local(follower)
    coop_actor = await at.local(coop)
    remote = await on.ctx.fetcher.get_actor(coop_actor.uri)
    await on.write(lambda c: follows.follow(c, me.id, remote.id))
    await fed.settle()
    assert await on.read(lambda c: follows.is_following(c, me.id, remote.id))


async def post_gig(node: Node, poster: str, coop: str, **over: Any) -> offers.Gig:
    author = await node.local(poster)
    group = await node.local(coop)
    return await node.write(
        lambda c: offers.create_gig(
            c, node.ctx.uris, poster_id=author.id, coop_id=group.id, draft=gig_draft(**over)
        )
    )


async def gig_on(node: Node, uri: str) -> offers.Gig:
    gig = await node.read(lambda c: offers.get_gig_by_uri(c, uri))
    assert gig is not None, f"{node.name} does not know {uri}"
    return gig


async def agreement_on(node: Node, uri: str) -> agreements.Agreement:
    found = await node.read(lambda c: agreements.get_agreement_by_uri(c, uri))
    assert found is not None, f"{node.name} has no agreement {uri}"
    return found


async def test_gig_lifecycle_across_two_instances(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    await follow_coop(federation, "bob", b, "velo", a)

    # coop velo on A posts a gig
    gig = await post_gig(a, "alice", "velo")
    await federation.settle()

    # bob, who follows velo, sees it on B's board, with the same terms
    bob = await b.local("bob")
    found = await b.read(lambda c: board.search(c, board.BoardQuery(viewer_id=bob.id)))
    assert [g.uri for g in found] == [gig.uri]
    remote_gig = found[0]
    assert offers.gig_terms(remote_gig) == offers.gig_terms(gig)
    assert not remote_gig.local and remote_gig.skills == gig.skills
    velo_on_b = await b.known((await a.local("velo")).uri)
    assert velo_on_b is not None and remote_gig.coop_id == velo_on_b.id

    # bob applies from B: an Offer travels to alice
    mine = await b.write(
        lambda c: applications.apply(
            c,
            b.ctx.uris,
            gig_id=remote_gig.id,
            worker_id=bob.id,
            quantity=Decimal("2"),
            cover_note="I have a cargo bike.",
        )
    )
    await federation.settle()
    received = await a.read(lambda c: applications.applications_for_gig(c, gig.id))
    assert [(r.uri, r.state, r.quantity, r.amount) for r in received] == [
        (mine.uri, "pending", Decimal("2"), Decimal("37"))
    ]
    assert received[0].cover_note == "I have a cargo bike."

    # alice accepts on A; both instances hold the same agreement
    alice = await a.local("alice")
    outcome = await a.write(lambda c: agreements.accept(c, a.ctx.uris, received[0].id, alice.id))
    assert outcome.agreement is not None
    await federation.settle()
    on_a = await agreement_on(a, outcome.agreement.uri)
    on_b = await agreement_on(b, outcome.agreement.uri)
    assert on_a.terms() == on_b.terms()
    assert (on_a.state, on_b.state) == ("active", "active")
    assert (await b.read(lambda c: applications.get_application(c, mine.id))).state == "accepted"  # type: ignore[union-attr]
    accept = json.loads(
        (await a.sql("SELECT body FROM activities WHERE type = 'Accept' ORDER BY id DESC"))[0][0]
    )
    assert accept["result"]["proof"]["cryptosuite"] == "eddsa-jcs-2022"

    # bob records completion on B
    await b.write(lambda c: agreements.record_completion(c, b.ctx.uris, on_b.id, bob.id))
    await federation.settle()
    on_a = await agreement_on(a, on_a.uri)
    on_b = await agreement_on(b, on_b.uri)
    assert (on_a.state, on_b.state) == ("delivered", "delivered")
    assert on_a.completion_uri == on_b.completion_uri

    # alice confirms and records payment on A; the receipt arrives on B
    await a.write(lambda c: agreements.record_payment(c, a.ctx.uris, on_a.id, alice.id))
    await federation.settle()
    on_a = await agreement_on(a, on_a.uri)
    on_b = await agreement_on(b, on_b.uri)
    assert (on_a.state, on_b.state) == ("completed", "completed")
    assert on_a.paid and on_b.paid
    assert on_a.receipt_uri and on_a.receipt_uri == on_b.receipt_uri
    assert on_a.payment_uri == on_b.payment_uri


async def test_capacity_race_gives_one_agreement_and_one_reject(federation: Federation) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    await follow_coop(federation, "bob", b, "velo", a)
    await follow_coop(federation, "carol", c, "velo", a)
    gig = await post_gig(a, "alice", "velo", available=Decimal("4"), minimum=Decimal("4"))
    await federation.settle()
    for node, who in ((b, "bob"), (c, "carol")):
        worker = await node.local(who)
        remote_gig = await gig_on(node, gig.uri)
        await node.write(
            lambda conn, g=remote_gig, w=worker, n=node: applications.apply(
                conn, n.ctx.uris, gig_id=g.id, worker_id=w.id, quantity=Decimal("4")
            )
        )
    await federation.settle()
    received = await a.read(lambda conn: applications.applications_for_gig(conn, gig.id))
    assert len(received) == 2
    alice = await a.local("alice")
    outcomes = await asyncio.gather(
        *(
            a.write(lambda conn, r=r: agreements.accept(conn, a.ctx.uris, r.id, alice.id))
            for r in received
        )
    )
    assert sorted(o.accepted for o in outcomes) == [False, True]
    await federation.settle()
    states = sorted(
        [
            (await node.read(lambda conn: applications.applications_by_worker(conn, w.id)))[0].state
            for node, w in ((b, await b.local("bob")), (c, await c.local("carol")))
        ]
    )
    assert states == ["accepted", "rejected"]
    # the gig shows as filled on the followers' side too
    for node in (b, c):
        assert (await gig_on(node, gig.uri)).state == "filled"


async def test_bad_offers_leave_nothing_behind(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    await follow_coop(federation, "bob", b, "velo", a)
    gig = await post_gig(a, "alice", "velo")
    await federation.settle()
    bob = await b.local("bob")
    alice_inbox = (await a.local("alice")).inbox
    assert alice_inbox

    def offer(qty: str, amount: str, n: int) -> dict[str, Any]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "type": "Offer",
            "id": f"{b.base_url}/activities/bad-offer-{n}",
            "actor": bob.uri,
            "to": [f"{a.base_url}/users/alice"],
            "object": {
                "type": "Agreement",
                "stipulates": {
                    "type": "Commitment",
                    "satisfies": gig.uri + "#primary",
                    "resourceQuantity": {"hasUnit": "hour", "hasNumericalValue": qty},
                },
                "stipulatesReciprocal": {
                    "type": "Commitment",
                    "satisfies": gig.uri + "#reciprocal",
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": amount},
                },
            },
        }

    # not a whole number of hours; amount not price x quantity
    assert await b.post_signed(bob.id, alice_inbox, offer("2.5", "46.25", 1)) == 202
    assert await b.post_signed(bob.id, alice_inbox, offer("2", "30", 2)) == 202
    await federation.settle()
    assert await a.sql("SELECT * FROM applications") == []
    failed = await a.sql("SELECT last_error FROM inbox_items WHERE activity_type = 'Offer'")
    assert len(failed) == 2 and all("Offer refused" in (r[0] or "") for r in failed)
    # B is told with a Reject of each Offer
    rejects = await b.sql("SELECT body FROM inbox_items WHERE activity_type = 'Reject'")
    assert len(rejects) == 2

    # an Accept of an Offer never sent, from someone who is not the poster: nothing stored
    alice_on_b = await b.remote(a, "alice")
    fake_accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Accept",
        "id": f"{a.base_url}/activities/fake-accept",
        "actor": alice_on_b.uri,
        "object": f"{b.base_url}/applications/01NEVERSENT0000000000000000",
        "result": {"type": "Agreement", "id": f"{a.base_url}/agreements/fake"},
    }
    alice = await a.local("alice")
    assert await a.post_signed(alice.id, bob.inbox or "", fake_accept) == 202
    await federation.settle()
    assert await b.sql("SELECT * FROM agreements") == []


async def test_a_members_reply_to_a_remote_gig_applies(federation: Federation) -> None:
    """bob on B replies (as from a Mastodon client) to velo's gig, which B knows only as a
    Proposal: the reply names the gig's id, travels to A, and becomes a pending application."""
    a, b = federation["A"], federation["B"]
    await follow_coop(federation, "bob", b, "velo", a)
    gig = await post_gig(a, "alice", "velo")
    await federation.settle()
    bob = await b.local("bob")
    remote_gig = await gig_on(b, gig.uri)
    reply = await b.write(
        lambda c: gig_replies.reply_to_gig(
            c, b.ctx.uris, remote_gig.id, bob.id, "I can do 2 hours on Saturday."
        )
    )
    assert reply.application is None  # the gig lives elsewhere: A decides
    await federation.settle()
    received = await a.read(lambda c: applications.applications_for_gig(c, gig.id))
    assert [(r.state, r.structured) for r in received] == [("pending", False)]
    assert received[0].worker_id == (await a.known(bob.uri)).id  # type: ignore[union-attr]


async def _pending_offer(fed: Federation) -> tuple[offers.Gig, applications.Application]:
    """bob on B has applied to velo's gig on A; returns (A's gig, B's application)."""
    a, b = fed["A"], fed["B"]
    await follow_coop(fed, "bob", b, "velo", a)
    gig = await post_gig(a, "alice", "velo")
    await fed.settle()
    bob = await b.local("bob")
    remote_gig = await gig_on(b, gig.uri)
    mine = await b.write(
        lambda c: applications.apply(
            c, b.ctx.uris, gig_id=remote_gig.id, worker_id=bob.id, quantity=Decimal("2")
        )
    )
    await fed.settle()
    return gig, mine


def _accept(
    actor_uri: str,
    activity_id: str,
    offer_uri: str,
    agreement_uri: str,
    gig_uri: str,
    quantity: str,
    amount: str,
) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Accept",
        "id": activity_id,
        "actor": actor_uri,
        "object": offer_uri,
        "result": {
            "type": "Agreement",
            "id": agreement_uri,
            "attributedTo": actor_uri,
            "stipulates": {
                "type": "Commitment",
                "satisfies": gig_uri + "#primary",
                "resourceQuantity": {"hasUnit": "hour", "hasNumericalValue": quantity},
            },
            "stipulatesReciprocal": {
                "type": "Commitment",
                "satisfies": gig_uri + "#reciprocal",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": amount},
            },
        },
    }


async def test_an_accept_from_anyone_but_the_poster_changes_nothing(
    federation: Federation,
) -> None:
    b, c = federation["B"], federation["C"]
    gig, mine = await _pending_offer(federation)
    carol = await c.local("carol")
    bob = await b.local("bob")
    forged = _accept(
        carol.uri,
        f"{c.base_url}/activities/forged",
        mine.uri,
        f"{c.base_url}/agreements/forged",
        gig.uri,
        "2",
        "37",
    )
    assert await c.post_signed(carol.id, bob.inbox or "", forged) == 202
    await federation.settle()
    assert await b.sql("SELECT * FROM agreements") == []
    assert (await b.read(lambda conn: applications.get_application(conn, mine.id))).state == (  # type: ignore[union-attr]
        "pending"
    )
    failed = await b.sql("SELECT state FROM inbox_items WHERE activity_uri = ?", forged["id"])
    assert [r[0] for r in failed] == ["failed"]


async def test_an_accept_whose_amounts_differ_changes_nothing(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    gig, mine = await _pending_offer(federation)
    alice = await a.local("alice")
    bob = await b.local("bob")
    # signed by the poster, with a valid proof, but 4 hours instead of the 2 offered

    accept = _accept(
        alice.uri,
        f"{a.base_url}/activities/greedy",
        mine.uri,
        f"{a.base_url}/agreements/greedy",
        gig.uri,
        "4",
        "74",
    )
    _, ed_pem = await a.read(lambda conn: local_private_keys(conn, alice.id))
    result = signed_agreement(
        {"@context": GIG_CONTEXT, **accept["result"]},
        alice,
        ed_pem,
        clock.now(),
    )
    accept["@context"] = GIG_CONTEXT
    accept["result"] = {k: v for k, v in result.items() if k != "@context"}
    assert await a.post_signed(alice.id, bob.inbox or "", accept) == 202
    await federation.settle()
    assert await b.sql("SELECT * FROM agreements") == []
    rows = await b.sql(
        "SELECT state, last_error FROM inbox_items WHERE activity_uri = ?", accept["id"]
    )
    assert rows[0][0] == "failed" and "differ" in (rows[0][1] or "")


async def test_a_proposal_whose_id_is_on_another_host_is_refused(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    await follow_coop(federation, "bob", b, "velo", a)
    alice = await a.local("alice")
    velo = await a.local("velo")
    proposal = {
        "type": "Proposal",
        "id": f"{b.base_url}/gigs/not-alices",
        "attributedTo": alice.uri,
        "purpose": "request",
        "name": "Spoofed gig",
        "content": "",
        "publishes": {
            "type": "Intent",
            "id": f"{b.base_url}/gigs/not-alices#primary",
            "action": "deliverService",
            "resourceQuantity": {"hasUnit": "hour", "hasNumericalValue": "1"},
        },
        "reciprocal": {
            "type": "Intent",
            "id": f"{b.base_url}/gigs/not-alices#reciprocal",
            "action": "transfer",
            "resourceConformsTo": "https://www.wikidata.org/wiki/Q4916",
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "10"},
        },
        "audience": velo.uri,
    }
    create = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Create",
        "id": f"{a.base_url}/activities/spoof",
        "actor": alice.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": proposal,
    }
    bob = await b.local("bob")
    status = await a.post_signed(alice.id, bob.inbox or "", create)
    assert status in (400, 403)
    await federation.settle()
    assert await b.sql("SELECT * FROM gigs WHERE uri = ?", proposal["id"]) == []
    assert await b.sql("SELECT * FROM inbox_items WHERE activity_uri = ?", create["id"]) == []
