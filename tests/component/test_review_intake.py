"""Reviews from another instance through the real inbox, and the rules that make one count.

A fake remote instance (real keys, real signatures) holds bob, who worked for alice here under
an agreement driven through the marketplace domain. Each rule is tested by breaking it: the
review (or Move) is refused and nothing changes.
"""

from __future__ import annotations

import copy
import sqlite3
from decimal import Decimal
from typing import Any

import pytest

from fedcoop import clock, ids
from fedcoop.activitypub.proofs import sign_document
from fedcoop.activitypub.vocab import PUBLIC
from fedcoop.config import Settings
from fedcoop.federation.review_intake import import_reviews_of
from fedcoop.federation.review_publishing import submit_review
from fedcoop.federation.review_to_as import REVIEW_CONTEXT, document_digest
from fedcoop.gigs import agreements, applications, offers, reputation, reviews
from fedcoop.gigs.offers import GigDraft
from fedcoop.gigs.reviews import ReviewDraft
from fedcoop.social import follows
from tests.component.test_social_handlers import Instance, applied, refused
from tests.support.fake_remote import FakeRemote, RemoteActor, deliver


@pytest.fixture
async def remote(aiohttp_server: Any) -> FakeRemote:
    return await FakeRemote.start(aiohttp_server)


@pytest.fixture
async def here(aiohttp_client: Any, settings: Settings) -> Instance:
    from fedcoop.app import make_app
    from fedcoop.web.state import WORKERS

    client = await aiohttp_client(make_app(settings))
    await client.app[WORKERS].stop()  # the tests drive the workers themselves
    return Instance(client, settings)


GIG = GigDraft(
    purpose="request",
    title="Deliveries",
    description="",
    unit="hour",
    price=Decimal("20"),
    currency="EUR",
    available=Decimal("40"),
    minimum=Decimal("1"),
)


async def agreement_with(
    here: Instance, worker: RemoteActor, *, complete: bool = True
) -> agreements.Agreement:
    """alice (here) and a remote worker, through the marketplace domain."""
    alice = await here.local("alice")
    worker_row = await here.ctx.fetcher.get_actor(worker.uri)
    uris = here.ctx.uris

    def drive(conn: sqlite3.Connection) -> agreements.Agreement:
        gig = offers.create_gig(conn, uris, poster_id=alice.id, coop_id=None, draft=GIG)
        app = applications.apply(
            conn,
            uris,
            gig_id=gig.id,
            worker_id=worker_row.id,
            quantity=Decimal("2"),
            offer_uri=worker.new_id("offers"),
        )
        agreement = agreements.accept(conn, uris, app.id, alice.id).agreement
        assert agreement is not None
        if complete:
            agreements.record_completion(
                conn, uris, agreement.id, worker_row.id, completion_uri=worker.new_id("events")
            )
            agreement = agreements.record_payment(conn, uris, agreement.id, alice.id)
        return agreement

    return await here.write(drive)


def review_note(
    author: RemoteActor, subject_uri: str, agreement_uri: str, rating: int = 4
) -> dict[str, Any]:
    """A review Note signed by `author`'s Ed25519 key, as a fedcoop peer sends it."""
    note = {
        "@context": REVIEW_CONTEXT,
        "id": author.new_id("reviews"),
        "type": "Note",
        "attributedTo": author.uri,
        "published": clock.iso_seconds(clock.now()),
        "context": agreement_uri,
        "itemReviewed": subject_uri,
        "reviewRating": {
            "type": "Rating",
            "ratingValue": rating,
            "bestRating": 5,
            "worstRating": 1,
        },
        "criteria": [
            {
                "type": "Rating",
                "reviewAspect": "pay_fairness",
                "ratingValue": 5,
                "bestRating": 5,
                "worstRating": 1,
            }
        ],
        "content": f"<p>{rating}/5 <script>alert(1)</script>fair</p>",
        "tag": [{"type": "Mention", "href": subject_uri}],
        "to": [subject_uri, PUBLIC],
    }
    return sign_document(note, author.ed_key, author.ed_key_id, clock.now())


def objects(activity: dict[str, Any]) -> dict[str, Any]:
    obj = activity.get("object")
    return obj if isinstance(obj, dict) else {}


async def stored_reviews(here: Instance) -> list[reviews.Review]:
    rows = await here.read(lambda c: c.execute("SELECT id FROM reviews ORDER BY id").fetchall())
    return [await here.read(lambda c, i=r[0]: reviews.get_review(c, i)) for r in rows]


async def test_a_signed_review_of_a_completed_agreement_counts(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    agreement = await agreement_with(here, bob)
    note = review_note(bob, alice.uri, agreement.uri)
    assert applied(await here.receive(bob, bob.create(note))) == "applied: review stored"
    (stored,) = await stored_reviews(here)
    assert stored.verified and stored.published and stored.reviewer_role == "worker"
    assert stored.criteria == {"pay_fairness": 5}
    assert "<script>" not in stored.content  # sanitised on the way in
    assert stored.document == note  # kept exactly as signed
    rep = await here.read(lambda c: reputation.reputation(c, alice.id))
    assert (rep.count, rep.mean) == (1, 4.0)


async def test_no_completed_agreement_behind_it_changes_nothing(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    ongoing = await agreement_with(here, bob, complete=False)
    # an agreement still active here
    outcome = refused(await here.receive(bob, bob.create(review_note(bob, alice.uri, ongoing.uri))))
    assert "not completed" in outcome
    # an agreement its claimed origin does not know
    ghost = remote.url(f"/agreements/{ids.new_id()}")
    outcome = refused(await here.receive(bob, bob.create(review_note(bob, alice.uri, ghost))))
    assert "agreement" in outcome
    # an agreement whose origin says it is completed, but between other people
    carol = remote.add_actor("carol")
    other = remote.url(f"/agreements/{ids.new_id()}")
    remote.put(
        other,
        {
            "@context": REVIEW_CONTEXT,
            "id": other,
            "type": "Agreement",
            "attributedTo": carol.uri,
            "stipulates": {"type": "Commitment", "provider": bob.uri, "receiver": carol.uri},
            "preview": {"type": "Note", "name": "Completed"},
        },
    )
    outcome = refused(await here.receive(bob, bob.create(review_note(bob, alice.uri, other))))
    assert "parties" in outcome
    assert await stored_reviews(here) == []


async def test_a_rating_altered_after_signing_changes_nothing(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    agreement = await agreement_with(here, bob)
    note = review_note(bob, alice.uri, agreement.uri, rating=1)
    note["reviewRating"]["ratingValue"] = 5
    assert "proof does not verify" in refused(await here.receive(bob, bob.create(note)))
    unsigned = review_note(bob, alice.uri, agreement.uri)
    del unsigned["proof"]
    assert "no usable proof" in refused(await here.receive(bob, bob.create(unsigned)))
    assert await stored_reviews(here) == []


async def test_a_review_by_one_instance_delivered_by_another_changes_nothing(
    here: Instance, remote: FakeRemote, aiohttp_server: Any
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    agreement = await agreement_with(here, bob)
    elsewhere = await FakeRemote.start(aiohttp_server)
    mallory = elsewhere.add_actor("mallory")
    note = review_note(bob, alice.uri, agreement.uri)
    # mallory relays bob's genuine review as her own Create
    relayed = mallory.create(copy.deepcopy(note))
    resp = await deliver(here.client, here.settings.base_url, "/inbox", mallory, relayed)
    assert resp.status == 400  # attributedTo is not the sender
    # or claims to be bob, signing with her own key
    forged = bob.create(copy.deepcopy(note))
    resp = await deliver(here.client, here.settings.base_url, "/inbox", mallory, forged)
    assert resp.status == 401
    assert await stored_reviews(here) == []


async def test_a_second_review_of_the_same_agreement_changes_nothing(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    agreement = await agreement_with(here, bob)
    applied(await here.receive(bob, bob.create(review_note(bob, alice.uri, agreement.uri, 5))))
    second = review_note(bob, alice.uri, agreement.uri, rating=1)
    assert "already reviewed" in refused(await here.receive(bob, bob.create(second)))
    assert [r.rating for r in await stored_reviews(here)] == [5]


async def test_a_move_without_also_known_as_changes_nothing(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    squatter = remote.add_actor("squatter")  # does not list bob in alsoKnownAs
    alice = await here.local("alice")
    bob_row = await here.ctx.fetcher.get_actor(bob.uri)
    await here.write(lambda c: follows.follow(c, alice.id, bob_row.id))
    await here.write(lambda c: follows.mark_accepted(c, bob_row.id, follower_id=alice.id))
    move = bob.activity("Move", bob.uri, target=squatter.uri)
    assert "alsoKnownAs" in refused(await here.receive(bob, move))
    # nor may anyone move someone else
    other = squatter.activity("Move", bob.uri, target=squatter.uri)
    assert "only move itself" in refused(await here.receive(squatter, other))
    assert await here.read(lambda c: follows.is_following(c, alice.id, bob_row.id))
    links = await here.read(lambda c: c.execute("SELECT count(*) FROM identity_links").fetchone())
    assert links[0] == 0
    # with the alias in place the same Move is honoured: alice follows the new account
    doc = squatter.document() | {"alsoKnownAs": [bob.uri]}
    remote.put(squatter.uri, doc)
    applied(await here.receive(bob, bob.activity("Move", bob.uri, target=squatter.uri)))
    new_row = await here.ctx.fetcher.get_actor(squatter.uri)
    assert not await here.read(lambda c: follows.is_following(c, alice.id, bob_row.id))
    followed = await here.read(lambda c: follows.find_follow(c, alice.id, new_row.id))
    assert followed is not None  # requested from the new account (pending its Accept)


async def test_sealed_then_revealed_and_a_changed_reveal_is_not_counted(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    agreement = await agreement_with(here, bob)
    # alice reviews first: sealed, and only the seal goes to bob
    mine = await submit_review(
        here.ctx.db,
        here.ctx.uris,
        agreement_id=agreement.id,
        reviewer_id=alice.id,
        draft=ReviewDraft(3, "ok"),
    )
    published = await here.published()
    (seal,) = [a for a in published if objects(a).get("type") == "SealedReview"]
    assert seal["object"]["digestMultibase"] == document_digest(mine.document)
    assert not {"reviewRating", "content", "criteria"} & set(seal["object"])  # nothing revealed
    # bob's instance seals his review, then reveals a different one
    note = review_note(bob, alice.uri, agreement.uri, rating=5)
    sealed = {
        "id": note["id"] + "/seal",
        "type": "SealedReview",
        "attributedTo": bob.uri,
        "context": agreement.uri,
        "review": note["id"],
        "digestMultibase": document_digest(note),
        "to": [alice.uri],
    }
    applied(await here.receive(bob, bob.create(sealed)))
    # both are in: alice's review is published, and goes to bob with its proof
    assert (await here.read(lambda c: reviews.get_review(c, mine.id))).published
    out = [a for a in await here.published() if objects(a).get("reviewRating")]
    assert out[-1]["object"]["proof"]["verificationMethod"].endswith("#ed25519-key")
    changed = review_note(bob, alice.uri, agreement.uri, rating=1)
    changed["id"] = note["id"]
    changed = sign_document(
        {k: v for k, v in changed.items() if k != "proof"}, bob.ed_key, bob.ed_key_id, clock.now()
    )
    assert "(unverified)" in applied(await here.receive(bob, bob.create(changed)))
    # delivered again, it still does not count
    again = applied(await here.receive(bob, bob.create(changed)))
    assert again == "ignored: the review differs from its seal"
    rep = await here.read(lambda c: reputation.reputation(c, alice.id))
    assert rep.count == 0


def remote_agreement(remote: FakeRemote, poster: RemoteActor, worker: RemoteActor) -> str:
    """An agreement on the remote instance, completed, as its origin serves it."""
    uri = remote.url(f"/agreements/{ids.new_id()}")
    remote.put(
        uri,
        {
            "@context": REVIEW_CONTEXT,
            "id": uri,
            "type": "Agreement",
            "attributedTo": poster.uri,
            "stipulates": {"type": "Commitment", "provider": worker.uri, "receiver": poster.uri},
            "preview": {"type": "Note", "name": "Completed"},
        },
    )
    return uri


async def test_reviews_collection_import_takes_only_what_verifies(
    here: Instance, remote: FakeRemote
) -> None:
    # Given bob's collection lists two reviews about him by carol, one altered after signing,
    # and one about somebody else
    bob, carol = remote.add_actor("bob"), remote.add_actor("carol")
    good = review_note(carol, bob.uri, remote_agreement(remote, carol, bob), rating=4)
    forged = review_note(carol, bob.uri, remote_agreement(remote, carol, bob), rating=2)
    forged["reviewRating"]["ratingValue"] = 5
    unrelated = review_note(bob, carol.uri, remote_agreement(remote, carol, bob), rating=1)
    collection = bob.uri + "/reviews"
    remote.put(bob.uri, bob.document() | {"reviews": collection})
    remote.put(
        collection,
        {
            "id": collection,
            "type": "OrderedCollection",
            "totalItems": 3,
            "first": {"type": "OrderedCollectionPage", "orderedItems": [good, forged, unrelated]},
        },
    )
    # when this instance reads it
    report = await import_reviews_of(here.ctx, bob.uri)
    # then only the review that verifies is taken, and it counts for bob
    assert (report.taken, report.refused) == (1, 2)
    assert [(r.rating, r.verified) for r in await stored_reviews(here)] == [(4, True)]
    bob_row = await here.ctx.fetcher.get_actor(bob.uri)
    rep = await here.read(lambda c: reputation.reputation(c, bob_row.id))
    assert (rep.count, rep.mean) == (1, 4.0)
    # and reading it again changes nothing
    again = await import_reviews_of(here.ctx, bob.uri)
    assert again.taken == 0 and len(await stored_reviews(here)) == 1
