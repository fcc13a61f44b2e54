"""Portable, verifiable, two-way reputation across three real instances (issue 6, "Done when").

A hosts coop velo and alice (the poster), B bob (the worker), C carol, who follows both of
them. A completed agreement between alice and bob is driven through federation; both reviews
stay sealed until both are in, then are visible with verified proofs on A, B and C (C learns of
them only through federation). Then bob moves from B to a new account on C, and C shows his
reputation with the old reviews, all verified.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from fedcoop.accounts import accounts
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.multikey import public_key_from_multibase
from fedcoop.activitypub.proofs import verify_document
from fedcoop.errors import UsageError
from fedcoop.federation import moving
from fedcoop.federation.review_publishing import answer_review, submit_review
from fedcoop.gigs import agreements, applications, offers, reputation, reviews
from fedcoop.gigs.reviews import ReviewDraft
from fedcoop.portability import export_user, import_archive
from fedcoop.social import follows
from tests.federation.test_gig_federation import agreement_on, follow_coop, post_gig
from tests.support.federation import Federation, Node

pytestmark = pytest.mark.federation

AS2 = "application/activity+json"


async def follow(fed: Federation, who: str, on: Node, whom: str, at: Node) -> None:
    me = await on.local(who)
    them = await on.remote(at, whom)
    await on.write(lambda c: follows.follow(c, me.id, them.id))
    await fed.settle()
    assert await on.read(lambda c: follows.is_following(c, me.id, them.id))


async def completed_agreement(fed: Federation) -> tuple[str, str, str]:
    """The whole gig lifecycle through federation; (agreement uri, id on A, id on B)."""
    a, b = fed["A"], fed["B"]
    await follow_coop(fed, "bob", b, "velo", a)
    gig = await post_gig(a, "alice", "velo")
    await fed.settle()
    bob = await b.local("bob")
    remote_gig = await b.read(lambda c: offers.get_gig_by_uri(c, gig.uri))
    assert remote_gig is not None
    await b.write(
        lambda c: applications.apply(
            c, b.ctx.uris, gig_id=remote_gig.id, worker_id=bob.id, quantity=Decimal("2")
        )
    )
    await fed.settle()
    received = await a.read(lambda c: applications.applications_for_gig(c, gig.id))
    alice = await a.local("alice")
    outcome = await a.write(lambda c: agreements.accept(c, a.ctx.uris, received[0].id, alice.id))
    assert outcome.agreement is not None
    await fed.settle()
    on_b = await agreement_on(b, outcome.agreement.uri)
    await b.write(lambda c: agreements.record_completion(c, b.ctx.uris, on_b.id, bob.id))
    await fed.settle()
    await a.write(
        lambda c: agreements.record_payment(c, a.ctx.uris, outcome.agreement.id, alice.id)  # type: ignore[union-attr]
    )
    await fed.settle()
    on_a = await agreement_on(a, outcome.agreement.uri)
    on_b = await agreement_on(b, outcome.agreement.uri)
    assert (on_a.state, on_b.state) == ("completed", "completed")
    return on_a.uri, on_a.id, on_b.id


async def reviews_on(node: Node, agreement_uri: str) -> dict[str, reviews.Review]:
    """The reviews of an agreement a node holds, by the reviewer's username."""
    found = await node.read(lambda c: reviews.reviews_of_agreement(c, agreement_uri))
    out = {}
    for review in found:
        rows = await node.sql("SELECT username FROM actors WHERE id = ?", review.reviewer_id)
        out[rows[0][0]] = review
    return out


def assert_proof_verifies(review: reviews.Review, reviewer: Actor) -> None:
    assert review.document is not None
    assert review.document["proof"]["verificationMethod"] == reviewer.ed25519_key_id
    assert reviewer.ed25519_multibase is not None
    verify_document(review.document, public_key_from_multibase(reviewer.ed25519_multibase))


async def get_as2(url: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Accept": AS2}) as resp,
    ):
        assert resp.status == 200, url
        return await resp.json(content_type=None)


async def test_two_way_reviews_travel_sealed_then_verified_and_follow_a_move(
    federation: Federation,
) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    # carol on C follows the two future reviewers: C hears of reviews only through federation
    await follow(federation, "carol", c, "alice", a)
    await follow(federation, "carol", c, "bob", b)
    agreement_uri, on_a_id, on_b_id = await completed_agreement(federation)
    alice, bob = await a.local("alice"), await b.local("bob")

    # alice reviews bob: sealed; B hears only that it is written
    await submit_review(
        a.ctx.db,
        a.ctx.uris,
        agreement_id=on_a_id,
        reviewer_id=alice.id,
        draft=ReviewDraft(4, "Reliable, a bit late once", {"quality": 5, "reliability": 3}),
    )
    await federation.settle()
    assert {k: r.state for k, r in (await reviews_on(a, agreement_uri)).items()} == {
        "alice": "sealed"
    }
    assert await reviews_on(b, agreement_uri) == {}
    assert await reviews_on(c, agreement_uri) == {}
    seals = await b.sql(
        "SELECT review_uri FROM review_seals WHERE agreement_uri = ?", agreement_uri
    )
    assert len(seals) == 1
    assert (await b.read(lambda cn: reputation.reputation(cn, bob.id))).count == 0

    # bob reviews alice: both are in, so both are published, everywhere
    await submit_review(
        b.ctx.db,
        b.ctx.uris,
        agreement_id=on_b_id,
        reviewer_id=bob.id,
        draft=ReviewDraft(5, "Fair pay, clear brief", {"pay_fairness": 5, "paid_on_time": 5}),
    )
    await federation.settle()
    for node in (a, b, c):
        held = await reviews_on(node, agreement_uri)
        assert set(held) == {"alice", "bob"}, node.name
        assert all(r.published and r.verified for r in held.values()), node.name
        alice_there = await node.known(alice.uri)
        bob_there = await node.known(bob.uri)
        assert alice_there is not None and bob_there is not None
        assert_proof_verifies(held["alice"], alice_there)
        assert_proof_verifies(held["bob"], bob_there)
        assert held["alice"].rating == 4 and held["alice"].criteria == {
            "quality": 5,
            "reliability": 3,
        }
        bob_rep = await node.read(lambda cn: reputation.reputation(cn, bob_there.id))
        assert (bob_rep.count, bob_rep.mean) == (1, 4.0), node.name
    # the reviews collection on B lists the review about bob with its proof, as signed
    collection = await get_as2(bob.uri + "/reviews")
    page = await get_as2(collection["first"])
    assert collection["totalItems"] == 1
    assert page["orderedItems"][0]["proof"]["verificationMethod"] == alice.ed25519_key_id
    # and bob's actor document carries the reputation extension
    actor_doc = await get_as2(bob.uri)
    assert actor_doc["reviews"] == bob.uri + "/reviews"
    assert actor_doc["reputation"]["count"] == 1

    # bob answers alice's review in public: the answer reaches A, beside the review
    on_b = (await reviews_on(b, agreement_uri))["alice"]
    await answer_review(
        b.ctx.db, b.ctx.uris, review_id=on_b.id, author_id=bob.id, text="The bridge was shut"
    )
    await federation.settle()
    on_a = (await reviews_on(a, agreement_uri))["alice"]
    answer = await a.read(lambda cn: reviews.reply_to(cn, on_a.id))
    assert answer is not None and "The bridge was shut" in answer.content

    # bob moves from B to a new account on C
    new_bob = await c.write(
        lambda cn: accounts.actor_of(
            cn, accounts.create_account(cn, c.ctx.uris, "bob", "password-bob-on-c")
        )
    )
    await moving.set_aliases(c.ctx, new_bob.id, [bob.uri])
    await moving.move_out(b.ctx, bob.id, new_bob.uri)
    await federation.settle()

    # C honoured the Move: carol now follows the new account, and its reputation has the
    # old reviews, all verified
    carol = await c.local("carol")
    assert await c.read(lambda cn: follows.is_following(cn, carol.id, new_bob.id))
    rep = await c.read(lambda cn: reputation.reputation(cn, new_bob.id))
    assert (rep.count, rep.mean, rep.counterparts) == (1, 4.0, 1)
    assert rep.criteria["reliability"].mean == 3.0
    carried = await c.read(
        lambda cn: reviews.reviews_about(cn, reputation.identity_ids(cn, new_bob.id))
    )
    assert [(r.rating, r.verified) for r in carried] == [(4, True)]
    alice_on_c = await c.known(alice.uri)
    assert alice_on_c is not None
    assert_proof_verifies(carried[0], alice_on_c)
    # B shows the old account as moved
    assert (await b.local("bob")).moved_to == new_bob.uri
    move = await get_as2(bob.uri)
    assert move["movedTo"] == new_bob.uri


async def test_export_then_import_verifies_every_proof(
    federation: Federation, tmp_path: Any
) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    agreement_uri, on_a_id, on_b_id = await completed_agreement(federation)
    alice, bob = await a.local("alice"), await b.local("bob")
    await submit_review(
        a.ctx.db,
        a.ctx.uris,
        agreement_id=on_a_id,
        reviewer_id=alice.id,
        draft=ReviewDraft(5, "Spot on", {"quality": 5}),
    )
    await submit_review(
        b.ctx.db, b.ctx.uris, agreement_id=on_b_id, reviewer_id=bob.id, draft=ReviewDraft(4, "ok")
    )
    await federation.settle()

    # bob exports everything he owns on B
    archive_path = export_user(b.settings.data_dir, "bob", tmp_path / "bob.json")
    archive = json.loads(archive_path.read_text())
    assert archive["proof"]["verificationMethod"] == bob.ed25519_key_id
    assert [r["reviewRating"]["ratingValue"] for r in archive["reviewsReceived"]] == [5]
    assert [r["reviewRating"]["ratingValue"] for r in archive["reviewsWritten"]] == [4]
    assert len(archive["applications"]) == 1 and len(archive["agreements"]) == 1

    # a new account on C; a tampered archive is refused and writes nothing
    await c.write(lambda cn: accounts.create_account(cn, c.ctx.uris, "bobby", "password-bobby-1"))
    tampered = json.loads(json.dumps(archive))
    tampered["reviewsReceived"][0]["reviewRating"]["ratingValue"] = 1
    bad_path = tmp_path / "tampered.json"
    bad_path.write_text(json.dumps(tampered))
    with pytest.raises(UsageError, match="refused"):
        await import_archive(c.settings.data_dir, "bobby", bad_path)
    assert await c.sql("SELECT * FROM reviews") == []
    assert await c.sql("SELECT * FROM identity_links") == []

    # the genuine one is taken: bobby's reputation on C carries bob's reviews, all verified
    summary = await import_archive(c.settings.data_dir, "bobby", archive_path)
    assert summary.old_uri == bob.uri and summary.counts["reviews"] == 2
    bobby = await c.local("bobby")
    assert bobby.also_known_as == [bob.uri]
    rep = await c.read(lambda cn: reputation.reputation(cn, bobby.id))
    assert (rep.count, rep.mean) == (1, 5.0)
    held = await reviews_on(c, agreement_uri)
    assert set(held) == {"alice", "bob"} and all(r.verified for r in held.values())
