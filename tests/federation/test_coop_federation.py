"""Cooperatives across three real instances: membership, admission by vote, governance.

A hosts the coop velo (admin alice), B the coop rail (bob), C the coop bus (carol). Every
request between them is a real signed HTTP request; `settle()` lets each step travel.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from fedcoop import clock
from fedcoop.accounts import accounts
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.multikey import public_key_from_multibase
from fedcoop.activitypub.proofs import verify_document
from fedcoop.federation.affiliations import shown_memberships
from fedcoop.federation.proposal_closer import ProposalCloser
from fedcoop.gigs import decisions, governance, membership
from fedcoop.gigs.governance import ProposalDraft
from tests.support.federation import Federation, Node

pytestmark = pytest.mark.federation

AS2 = "application/activity+json"


async def get_as2(url: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Accept": AS2}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def get_html(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


async def coop_of(node: Node, name: str) -> Actor:
    return await node.local(name)


async def remote_coop(node: Node, other: Node, name: str) -> Actor:
    return await node.ctx.fetcher.get_actor(f"{other.base_url}/coops/{name}")


async def ask_to_join(fed: Federation, home: Node, who: str, host: Node, coop: str) -> str:
    """`who` on `home` sends a Join to `coop` on `host`; returns the membership id on host."""
    person = await home.local(who)
    coop_there = await remote_coop(home, host, coop)
    await home.write(lambda c: membership.send_join(c, home.ctx.uris, person.id, coop_there.id))
    await fed.settle()
    coop_actor = await coop_of(host, coop)
    person_there = await host.known(person.uri)
    assert person_there is not None
    found = await host.read(lambda c: membership.find_membership(c, coop_actor.id, person_there.id))
    assert found is not None
    return found.id


async def admit(fed: Federation, host: Node, admin: str, membership_id: str) -> None:
    admin_actor = await host.local(admin)
    await host.write(lambda c: membership.admit(c, membership_id, by_actor_id=admin_actor.id))
    await fed.settle()


async def home_membership(home: Node, who: str, host: Node, coop: str) -> membership.Membership:
    person = await home.local(who)
    coop_there = await remote_coop(home, host, coop)
    found = await home.read(lambda c: membership.find_membership(c, coop_there.id, person.id))
    assert found is not None
    return found


async def coop_names_shown(node: Node, person: Actor) -> dict[str, str]:
    shown = await shown_memberships(node.ctx, person)
    return {s.coop.uri: s.role for s in shown if s.verified}


async def bob_joins_velo(fed: Federation) -> None:
    a, b = fed["A"], fed["B"]
    request_id = await ask_to_join(fed, b, "bob", a, "velo")
    assert (await home_membership(b, "bob", a, "velo")).state == "pending"
    await admit(fed, a, "alice", request_id)


# membership ---------------------------------------------------------------------------------


async def test_a_worker_on_b_joins_coop_a_by_admin_approval(federation: Federation) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    velo = await coop_of(a, "velo")
    bob = await b.local("bob")
    # Given bob on B asks to join velo on A (admission by admin approval)
    request_id = await ask_to_join(federation, b, "bob", a, "velo")
    # then velo holds a pending request and B waits for the answer
    ((pending, requester),) = await a.read(lambda conn: membership.pending_requests(conn, velo.id))
    assert pending.id == request_id and requester.uri == bob.uri
    assert (await home_membership(b, "bob", a, "velo")).state == "pending"
    # when alice, velo's admin, admits him
    await admit(federation, a, "alice", request_id)
    # then B records the membership with velo's signed Relationship
    on_b = await home_membership(b, "bob", a, "velo")
    assert (on_b.state, on_b.role) == ("active", "member")
    assert on_b.relationship is not None and "proof" in json.loads(on_b.relationship)
    # and velo's affiliations list bob, signed by velo's own key
    status, page = await get_as2(f"{a.base_url}/coops/velo/affiliations?page=true")
    assert status == 200
    (relationship,) = [r for r in page["orderedItems"] if r["subject"] == bob.uri]
    assert relationship["relationship"] == "member" and relationship["object"] == velo.uri
    assert velo.ed25519_multibase is not None
    verify_document(relationship, public_key_from_multibase(velo.ed25519_multibase))
    # and bob's profile lists velo on B (his home) and on C (checked against velo)
    assert (await coop_names_shown(b, bob)).get(velo.uri) == "member"
    bob_on_c = await c.remote(b, "bob")
    assert (await coop_names_shown(c, bob_on_c)).get(velo.uri) == "member"
    status, page_html = await get_html(f"{c.base_url}/@bob@{b.domain}")
    assert status == 200 and "velo" in page_html
    status, page_html = await get_html(f"{b.base_url}/@bob")
    assert status == 200 and "velo" in page_html


async def test_leaving_ends_the_membership_everywhere(federation: Federation) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    velo = await coop_of(a, "velo")
    bob = await b.local("bob")
    await bob_joins_velo(federation)
    velo_on_b = await remote_coop(b, a, "velo")
    # When bob leaves velo from B
    await b.write(lambda conn: membership.send_leave(conn, bob.id, velo_on_b.id))
    await federation.settle()
    # then velo no longer lists him, and C (checking afresh) shows no membership
    bob_on_a = await a.known(bob.uri)
    assert bob_on_a is not None
    assert not await a.read(lambda conn: membership.is_member(conn, velo.id, bob_on_a.id))
    bob_on_c = await c.remote(b, "bob")
    assert velo.uri not in await coop_names_shown(c, bob_on_c)


async def test_admission_by_member_vote_on_c(federation: Federation) -> None:
    a, c = federation["A"], federation["C"]
    bus = await coop_of(c, "bus")
    carol = await c.local("carol")
    alice = await a.local("alice")
    await c.write(
        lambda conn: conn.execute(
            "UPDATE coops SET admission = 'vote' WHERE actor_id = ?", (bus.id,)
        )
    )
    # Given alice on A asks to join bus on C, which admits by member vote
    await ask_to_join(federation, a, "alice", c, "bus")
    (proposal,) = await c.read(lambda conn: governance.list_proposals(conn, bus.id))
    assert proposal.kind == "admit" and proposal.is_open
    # when carol votes yes and the vote closes
    voted = await c.write(
        lambda conn: governance.cast_vote(conn, c.ctx.uris, proposal.id, carol.id, "Yes")
    )
    assert voted.counted
    later = clock.now() + timedelta(days=8)
    assert await ProposalCloser(c.ctx, now=lambda: later).run_once() == 1
    await federation.settle()
    # then alice is a member of bus, on C and at home on A (vouched for by bus)
    alice_on_c = await c.known(alice.uri)
    assert alice_on_c is not None
    assert await c.read(lambda conn: membership.is_member(conn, bus.id, alice_on_c.id))
    assert (await home_membership(a, "alice", c, "bus")).state == "active"
    assert (await coop_names_shown(a, alice)).get(bus.uri) == "member"


# governance -----------------------------------------------------------------------------------


async def test_a_proposal_on_a_is_decided_by_members_on_a_b_and_c(
    federation: Federation,
) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    velo = await coop_of(a, "velo")
    alice, bob, carol = await a.local("alice"), await b.local("bob"), await c.local("carol")
    # Given bob (on B) and carol (on C) are members of velo, and erin (on B) is not
    await bob_joins_velo(federation)
    carol_request = await ask_to_join(federation, c, "carol", a, "velo")
    await admit(federation, a, "alice", carol_request)
    await b.write(
        lambda conn: accounts.create_account(conn, b.ctx.uris, "erin", "a long password 1")
    )
    erin = await b.local("erin")
    # when alice puts a proposal to velo's members
    draft = ProposalDraft(
        kind="text",
        title="Buy a second cargo bike?",
        body="From the solidarity fund.",
        ends_at=clock.now() + timedelta(hours=1),
    )
    proposal = await a.write(
        lambda conn: governance.open_proposal(conn, a.ctx.uris, velo.id, draft, author_id=alice.id)
    )
    assert proposal.electorate_size == 3
    await federation.settle()
    # then B and C hold the Question as a proposal of velo
    copy_b = await b.read(lambda conn: governance.get_proposal_by_uri(conn, proposal.uri))
    copy_c = await c.read(lambda conn: governance.get_proposal_by_uri(conn, proposal.uri))
    assert copy_b is not None and copy_c is not None
    assert copy_b.options == copy_c.options == ["Yes", "No"] and copy_b.is_open
    # when alice votes on A, bob from B and carol from C, and erin (not a member) from B
    await a.write(lambda conn: governance.cast_vote(conn, a.ctx.uris, proposal.id, alice.id, "Yes"))
    for node, voter, option in ((b, bob, "Yes"), (c, carol, "No"), (b, erin, "No")):
        copy = await node.read(lambda conn: governance.get_proposal_by_uri(conn, proposal.uri))
        assert copy is not None
        sent = await node.write(
            lambda conn, n=node, p=copy, v=voter, o=option: governance.cast_vote(
                conn, n.ctx.uris, p.id, v.id, o
            )
        )
        assert sent.reason == "sent"
    await federation.settle()
    # and bob tries a second vote, straight to velo's inbox, as a Mastodon client would
    second = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{b.base_url}/activities/second-vote",
        "type": "Create",
        "actor": bob.uri,
        "to": [velo.uri],
        "object": {
            "id": f"{b.base_url}/votes/second-vote",
            "type": "Note",
            "name": "No",
            "inReplyTo": proposal.uri,
            "attributedTo": bob.uri,
            "to": [velo.uri],
        },
    }
    assert await b.post_signed(bob.id, velo.inbox or "", second) == 202
    await federation.settle()
    # then velo counted exactly one vote per member: erin's and bob's second changed nothing
    counted = await a.read(
        lambda conn: governance.current_tally(conn, governance.require_proposal(conn, proposal.id))
    )
    assert counted == {"Yes": 2, "No": 1}
    outcomes = await a.sql(
        "SELECT outcome FROM inbox_items WHERE outcome LIKE '%vote%' ORDER BY received_at"
    )
    assert sorted(r[0] for r in outcomes) == sorted(
        [
            "applied: vote counted",
            "applied: vote counted",
            "ignored: vote refused, not eligible: not a member when the vote opened",
            "ignored: vote refused, already voted",
        ]
    )
    # when the vote closes
    later = clock.now() + timedelta(hours=2)
    assert await ProposalCloser(a.ctx, now=lambda: later).run_once() == 1
    await federation.settle()
    # then the tally and the decision are the same on all three instances
    results = []
    for node in (a, b, c):

        def load(conn: Any) -> tuple[Any, ...]:
            p = governance.get_proposal_by_uri(conn, proposal.uri)
            assert p is not None
            d = decisions.get_decision(conn, p.id)
            assert d is not None, "no decision recorded"
            return (
                p.state,
                governance.current_tally(conn, p),
                d.outcome,
                d.winning_option,
                d.votes_cast,
                d.electorate,
                d.quorum_met,
                d.threshold_met,
            )

        results.append(await node.read(load))
    assert results[0] == ("closed", {"Yes": 2, "No": 1}, "adopted", "Yes", 3, 3, True, True)
    assert results[1] == results[0] and results[2] == results[0]


# members-only reach ---------------------------------------------------------------------------


async def test_a_members_only_gig_reaches_remote_members_and_not_followers(
    federation: Federation,
) -> None:
    from decimal import Decimal

    from fedcoop.gigs import offers
    from fedcoop.gigs.offers import GigDraft
    from fedcoop.social import follows

    a, b, c = federation["A"], federation["B"], federation["C"]
    velo, alice, carol = await coop_of(a, "velo"), await a.local("alice"), await c.local("carol")
    # Given bob on B is a member of velo, and carol on C only follows it
    await bob_joins_velo(federation)
    velo_on_c = await remote_coop(c, a, "velo")
    await c.write(lambda conn: follows.follow(conn, carol.id, velo_on_c.id))
    await federation.settle()
    # when alice posts a gig for velo's members only
    draft = GigDraft(
        purpose="request",
        title="Members' shift swap",
        description="<p>Saturday cover</p>",
        unit="hour",
        price=Decimal("18"),
        currency="EUR",
        available=Decimal("4"),
        minimum=Decimal("1"),
        place_name="Lyon",
        visibility="members",
    )
    gig = await a.write(
        lambda conn: offers.create_gig(
            conn, a.ctx.uris, poster_id=alice.id, coop_id=velo.id, draft=draft
        )
    )
    await federation.settle()
    # then it was delivered to B (bob's server) and not to C (a follower's), nor made public
    rows = await a.sql(
        "SELECT deliveries.host, activities.public FROM deliveries JOIN activities "
        "ON activities.id = deliveries.activity_id WHERE activities.object_uri IN (?, ?)",
        gig.uri,
        gig.note_uri or "",
    )
    assert {r[0] for r in rows} == {b.domain}
    assert not any(r[1] for r in rows)
    on_b = await b.read(lambda conn: offers.get_gig_by_uri(conn, gig.uri))
    assert on_b is not None and on_b.visibility == "members"
    assert await c.read(lambda conn: offers.get_gig_by_uri(conn, gig.uri)) is None
