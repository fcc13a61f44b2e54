"""Reviews on a real database: who may review, sealing, publication, answers, reports and the
reputation that comes out, with real signatures (the reviewer's Ed25519 key)."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.accounts import accounts, coops
from fedcoop.accounts.actors import get_actor
from fedcoop.activitypub.multikey import public_key_from_multibase
from fedcoop.activitypub.proofs import ProofError, verify_document
from fedcoop.app import open_database
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.federation.review_publishing import ReviewSealWorker, write_review
from fedcoop.gigs import (
    agreements,
    applications,
    moves,
    offers,
    reputation,
    review_answers,
    reviews,
    skills,
)
from fedcoop.gigs.offers import GigDraft
from fedcoop.gigs.reviews import ReviewDraft
from fedcoop.social import blocks, domain_policies
from fedcoop.uris import Uris


def gig_draft() -> GigDraft:
    return GigDraft(
        purpose="request",
        title="Cargo-bike deliveries",
        description="<p>Saturday market.</p>",
        unit="hour",
        price=Decimal("18"),
        currency="EUR",
        available=Decimal("40"),
        minimum=Decimal("2"),
    )


@pytest.fixture
def world(settings: Any) -> Any:
    db = open_database(settings)
    db.start()
    uris = Uris(settings.instance.scheme, settings.instance.domain)

    def setup(conn: sqlite3.Connection) -> dict[str, Any]:
        skills.ensure_shipped(conn, uris)
        alice = accounts.get_account_by_username(conn, "alice")
        bob = accounts.create_account(conn, uris, "bob", "password-bob-1")
        carol = accounts.create_account(conn, uris, "carol", "password-carol-1")
        coop = coops.get_coop(conn, "velo")
        assert alice and coop
        return {
            "alice": alice.actor_id,
            "bob": bob.actor_id,
            "carol": carol.actor_id,
            "coop": coop.actor.id,
        }

    people = db.write_sync(setup)
    yield db, uris, people
    db.close()


def completed_agreement(
    conn: sqlite3.Connection, uris: Uris, poster: str, worker: str, *, complete: bool = True
) -> agreements.Agreement:
    """Drive the marketplace domain: post, apply, accept, deliver, pay."""
    bike = skills.skill_uri(uris, "bike-courier")
    gig = offers.create_gig(
        conn,
        uris,
        poster_id=poster,
        coop_id=None,
        draft=GigDraft(**{**gig_draft().__dict__, "skills": (bike,)}),
    )
    app = applications.apply(conn, uris, gig_id=gig.id, worker_id=worker, quantity=Decimal("2"))
    agreement = agreements.accept(conn, uris, app.id, poster).agreement
    assert agreement is not None
    if complete:
        agreements.record_completion(conn, uris, agreement.id, worker)
        agreement = agreements.record_payment(conn, uris, agreement.id, poster)
    return agreement


def review(db: Any, uris: Uris, agreement_id: str, who: str, rating: int = 5, **kw: Any) -> Any:
    draft = ReviewDraft(rating=rating, text=kw.pop("text", "Great work"), **kw)
    return db.write(
        lambda c: write_review(c, uris, agreement_id=agreement_id, reviewer_id=who, draft=draft)
    )


async def kinds(db: Any) -> list[str]:
    return await db.read(lambda c: [r[0] for r in c.execute("SELECT kind FROM events ORDER BY id")])


async def test_only_parties_of_a_completed_agreement_review(world: Any) -> None:
    db, uris, p = world
    open_one = await db.write(
        lambda c: completed_agreement(c, uris, p["alice"], p["bob"], complete=False)
    )
    with pytest.raises(Conflict, match="completed"):
        await review(db, uris, open_one.id, p["bob"])
    done = await db.write(lambda c: completed_agreement(c, uris, p["alice"], p["bob"]))
    with pytest.raises(Forbidden):
        await review(db, uris, done.id, p["carol"])
    with pytest.raises(NotFound):
        await review(db, uris, "01NOSUCHAGREEMENT000000000", p["bob"])
    count = await db.read(lambda c: c.execute("SELECT count(*) FROM reviews").fetchone()[0])
    assert count == 0


async def test_each_side_rates_its_own_criteria_from_1_to_5(world: Any) -> None:
    db, uris, p = world
    done = await db.write(lambda c: completed_agreement(c, uris, p["alice"], p["bob"]))
    with pytest.raises(ValidationError) as err:  # a worker rates pay, not quality
        await review(db, uris, done.id, p["bob"], criteria={"quality": 4})
    assert err.value.field == "criteria.quality"
    with pytest.raises(ValidationError):
        await review(db, uris, done.id, p["bob"], rating=6)
    with pytest.raises(ValidationError):
        await review(db, uris, done.id, p["bob"], rating=True)
    made = await review(db, uris, done.id, p["bob"], criteria={"pay_fairness": 5, "respect": 4})
    assert made.reviewer_role == "worker" and made.criteria == {"pay_fairness": 5, "respect": 4}
    with pytest.raises(ValidationError):
        await review(db, uris, done.id, p["alice"], criteria={"paid_on_time": 5})


async def test_sealed_until_both_are_in_then_published_together(world: Any) -> None:
    db, uris, p = world
    done = await db.write(lambda c: completed_agreement(c, uris, p["alice"], p["bob"]))
    # Given the worker reviews first
    first = await review(db, uris, done.id, p["bob"], 4, text="Fair and clear")
    assert first.sealed and first.published_at is None
    sealed = await db.read(lambda c: reviews.reviews_about(c, [p["alice"]]))
    assert sealed == []  # nobody sees a sealed review
    # when the poster reviews too
    second = await review(db, uris, done.id, p["alice"], 5, criteria={"quality": 5})
    # then both are published at once, each with its own event
    both = await db.read(lambda c: reviews.reviews_of_agreement(c, done.uri))
    assert {r.state for r in both} == {"published"}
    assert second.published
    assert (await kinds(db))[-2:] == ["review.published", "review.published"]
    # and nobody reviews the same agreement twice
    with pytest.raises(Conflict, match="already reviewed"):
        await review(db, uris, done.id, p["bob"], 1)


async def test_each_review_is_signed_by_its_reviewer(world: Any) -> None:
    db, uris, p = world
    done = await db.write(lambda c: completed_agreement(c, uris, p["alice"], p["bob"]))
    made = await review(db, uris, done.id, p["bob"], 4, criteria={"clarity": 3})
    bob = await db.read(lambda c: get_actor(c, p["bob"]))
    doc = made.document
    assert doc["proof"]["verificationMethod"] == bob.ed25519_key_id
    assert doc["reviewRating"]["ratingValue"] == 4
    assert doc["context"] == done.uri and doc["itemReviewed"].endswith("/users/alice")
    assert doc["criteria"] == [
        {
            "type": "Rating",
            "reviewAspect": "clarity",
            "ratingValue": 3,
            "bestRating": 5,
            "worstRating": 1,
        }
    ]
    key = public_key_from_multibase(bob.ed25519_multibase)
    verify_document(doc, key)
    altered = json.loads(json.dumps(doc))
    altered["reviewRating"]["ratingValue"] = 5
    with pytest.raises(ProofError):
        verify_document(altered, key)


async def test_a_lone_review_is_published_after_14_days_and_closes_the_window(
    world: Any,
) -> None:
    db, uris, p = world
    done = await db.write(lambda c: completed_agreement(c, uris, p["alice"], p["bob"]))
    made = await review(db, uris, done.id, p["alice"], 2)
    written = clock.parse_iso(made.written_at)
    early = ReviewSealWorker(db, now=lambda: written + timedelta(days=13))
    assert await early.run_once() == 0
    late = ReviewSealWorker(db, now=lambda: written + timedelta(days=14, seconds=1))
    assert await late.run_once() == 1
    published = await db.read(lambda c: reviews.get_review(c, made.id))
    assert published.published
    # The other party read it: too late to answer with a review of their own.
    with pytest.raises(Conflict, match="window has closed"):
        await review(db, uris, done.id, p["bob"], 1)


async def test_answer_and_report(world: Any) -> None:
    db, uris, p = world
    done = await db.write(lambda c: completed_agreement(c, uris, p["alice"], p["bob"]))
    mine = await review(db, uris, done.id, p["alice"], 2, text="Late twice")
    await review(db, uris, done.id, p["bob"], 5)
    with pytest.raises(Forbidden):  # only the subject answers
        await db.write(
            lambda c: review_answers.answer_review(
                c, uris, review_id=mine.id, author_id=p["carol"], text="?", content="?"
            )
        )
    answer = await db.write(
        lambda c: review_answers.answer_review(
            c,
            uris,
            review_id=mine.id,
            author_id=p["bob"],
            text="The bridge was closed",
            content="<p>The bridge was closed</p>",
        )
    )
    assert answer.uri.startswith(uris.base)
    with pytest.raises(Conflict):
        await db.write(
            lambda c: review_answers.answer_review(
                c, uris, review_id=mine.id, author_id=p["bob"], text="again", content="again"
            )
        )
    report = await db.write(
        lambda c: review_answers.report_review(
            c, review_id=mine.id, reporter_id=p["carol"], reason="unfair"
        )
    )
    found = await db.read(review_answers.open_reports)
    assert [r.id for r in found] == [report.id]


async def test_reputation_counts_only_what_it_should(world: Any) -> None:
    db, uris, p = world
    # Given carol did three agreements for alice and bob in a month, all reviewed 5/5 by alice
    for _ in range(3):
        agr = await db.write(lambda c: completed_agreement(c, uris, p["alice"], p["carol"]))
        await review(db, uris, agr.id, p["alice"], 5)
        await review(db, uris, agr.id, p["carol"], 5)
    agr = await db.write(lambda c: completed_agreement(c, uris, p["bob"], p["carol"]))
    await review(db, uris, agr.id, p["bob"], 3, criteria={"quality": 3})
    await review(db, uris, agr.id, p["carol"], 4)
    rep = await db.read(lambda c: reputation.reputation(c, p["carol"]))
    # then alice's three reviews within 30 days count once
    assert rep.count == 2
    assert rep.mean == pytest.approx(4.0)
    assert rep.counterparts == 2 and rep.instances == 1
    assert rep.criteria["quality"].mean == 3.0
    assert [s.label for s in rep.skills] == ["Bike courier"]
    # when the instance blocks bob (a moderation block), his review stops counting
    instance = await db.read(
        lambda c: c.execute("SELECT id FROM actors WHERE type = 'Application'").fetchone()[0]
    )
    await db.write(lambda c: blocks.block(c, instance, p["bob"]))
    rep = await db.read(lambda c: reputation.reputation(c, p["carol"]))
    assert rep.count == 1 and rep.mean == 5.0
    # but carol's own block of alice hides nothing about carol
    await db.write(lambda c: blocks.block(c, p["carol"], p["alice"]))
    assert (await db.read(lambda c: reputation.reputation(c, p["carol"]))).count == 1
    # and a blocked domain removes its reviewers
    await db.write(lambda c: domain_policies.set_policy(c, uris.domain, "block"))
    assert (await db.read(lambda c: reputation.reputation(c, p["carol"]))).count == 0


async def test_reviews_about_a_former_identity_count_for_the_new_one(world: Any) -> None:
    db, uris, p = world
    agr = await db.write(lambda c: completed_agreement(c, uris, p["alice"], p["bob"]))
    await review(db, uris, agr.id, p["alice"], 4)
    await review(db, uris, agr.id, p["bob"], 5)
    assert (await db.read(lambda c: reputation.reputation(c, p["carol"]))).count == 0
    # Given carol's account lists bob's as an alias, and bob moves to carol's
    bob_uri = (await db.read(lambda c: get_actor(c, p["bob"]))).uri
    await db.write(lambda c: moves.set_aliases(c, p["carol"], [bob_uri]))
    await db.write(lambda c: moves.move_out(c, uris, p["bob"], p["carol"]))
    # then bob's old reviews count for carol
    rep = await db.read(lambda c: reputation.reputation(c, p["carol"]))
    assert rep.count == 1 and rep.mean == 4.0
    assert (await kinds(db))[-2:] == ["actor.moved", "actor.updated"]
