"""What review pages and JSON answers show, loaded inside one read: reviews with their
parties and answers, an actor's reputation, and the review form's state for an agreement."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.errors import NotFound
from fedcoop.gigs import reputation, reviews
from fedcoop.gigs.agreements import Agreement, require_agreement
from fedcoop.gigs.reputation import Reputation
from fedcoop.gigs.reviews import CRITERIA, CRITERION_LABELS, Reply, Review

PROFILE_REVIEWS = 20


@dataclass(frozen=True)
class ReviewView:
    review: Review
    reviewer: Actor
    subject: Actor
    reply: Reply | None

    @property
    def criteria_labels(self) -> list[tuple[str, int]]:
        return [(CRITERION_LABELS.get(k, k), v) for k, v in sorted(self.review.criteria.items())]


@dataclass(frozen=True)
class ReviewSection:
    """Reviews and reputation shown on a profile."""

    reputation: Reputation
    reviews: list[ReviewView]
    total: int
    former: list[Actor]  # former identities whose reviews count here


@dataclass(frozen=True)
class ReviewForm:
    """The review part of an agreement page, for one viewer."""

    agreement: Agreement
    counterpart: Actor
    role: str | None
    criteria: list[tuple[str, str]]  # (name, label) this viewer rates
    refusal: str | None  # why the viewer may not review now (None: the form is shown)
    mine: Review | None  # the viewer's own review, sealed or not
    reviews: list[ReviewView]  # the published reviews of this agreement


def _actor(conn: sqlite3.Connection, actor_id: str) -> Actor:
    actor = get_actor(conn, actor_id)
    if actor is None:
        raise NotFound("no such actor")
    return actor


def review_view(conn: sqlite3.Connection, review: Review) -> ReviewView:
    return ReviewView(
        review,
        _actor(conn, review.reviewer_id),
        _actor(conn, review.subject_id),
        reviews.reply_to(conn, review.id),
    )


def review_views(conn: sqlite3.Connection, found: Iterable[Review]) -> list[ReviewView]:
    return [review_view(conn, r) for r in found]


def profile_section(conn: sqlite3.Connection, actor_id: str) -> ReviewSection:
    ids = reputation.identity_ids(conn, actor_id)
    latest = reviews.reviews_about(conn, ids, limit=PROFILE_REVIEWS)
    former = [a for a in (get_actor(conn, i) for i in ids[1:]) if a is not None]
    return ReviewSection(
        reputation.reputation(conn, actor_id),
        review_views(conn, latest),
        reviews.count_about(conn, ids),
        former,
    )


def reputations(conn: sqlite3.Connection, actor_ids: Iterable[str]) -> dict[str, Reputation]:
    """Reputation per actor, for lists (gig posters, applicants)."""
    return {i: reputation.reputation(conn, i) for i in dict.fromkeys(actor_ids)}


def review_form(conn: sqlite3.Connection, agreement_id: str, viewer_id: str) -> ReviewForm:
    agreement = require_agreement(conn, agreement_id)
    if viewer_id not in (agreement.poster_id, agreement.worker_id):
        raise NotFound("There is no such agreement here.")
    role = reviews.role_in(agreement, viewer_id)
    published = [r for r in reviews.reviews_of_agreement(conn, agreement.uri) if r.published]
    return ReviewForm(
        agreement=agreement,
        counterpart=_actor(conn, reviews.counterpart(agreement, viewer_id)),
        role=role,
        criteria=[(name, CRITERION_LABELS[name]) for name in CRITERIA[role]],
        refusal=reviews.may_review(conn, agreement, viewer_id),
        mine=reviews.review_by(conn, agreement.uri, viewer_id),
        reviews=review_views(conn, published),
    )


def published_review(conn: sqlite3.Connection, review_id: str) -> ReviewView:
    review = reviews.get_review(conn, review_id)
    if review is None or not review.published:
        raise NotFound("There is no such review here.")
    return review_view(conn, review)


# JSON (native API) ----------------------------------------------------------------------------


def actor_json(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "uri": actor.uri, "acct": actor.handle, "name": actor.display_name}


def review_json(view: ReviewView) -> dict[str, Any]:
    review = view.review
    return {
        "id": review.id,
        "uri": review.uri,
        "agreement": review.agreement_uri,
        "reviewer": actor_json(view.reviewer),
        "subject": actor_json(view.subject),
        "reviewer_role": review.reviewer_role,
        "rating": review.rating,
        "criteria": review.criteria,
        "skills": list(review.skills),
        "content": review.content,
        "state": review.state,
        "verified": review.verified,
        "unverified_reason": review.unverified_reason,
        "written_at": review.written_at,
        "published_at": review.published_at,
        "reply": (
            {
                "uri": view.reply.uri,
                "content": view.reply.content,
                "published_at": view.reply.published_at,
            }
            if view.reply
            else None
        ),
        # The signed Note, so a client can check the proof itself (absent while sealed).
        "document": review.document if review.published else None,
    }
