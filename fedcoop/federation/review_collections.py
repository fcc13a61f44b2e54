"""AS2 documents about reviews: an actor's `reviews` collection, one review, the reputation
extension of actor documents, and the public facts of a reviewed agreement.

`ACTOR/reviews` is a paged `OrderedCollection` of the published, verified reviews about the
actor and its former identities, each item the signed Note exactly as its author signed it, so
anyone can check every proof and recompute the reputation with their own rules (PROTOCOL.md
section 5). Reviews not verified here are left out: we do not pass on what we could not check.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fedcoop.accounts.actors import Actor, get_actor, get_local_actor
from fedcoop.db import Database
from fedcoop.errors import NotFound
from fedcoop.federation.collections import PAGE_SIZE, collection_document, collection_page
from fedcoop.federation.review_to_as import agreement_facts
from fedcoop.gigs import reputation, reviews
from fedcoop.gigs.agreements import get_agreement
from fedcoop.gigs.states import AGREEMENT_STATUS_NAMES
from fedcoop.uris import Uris


def reviews_url(actor: Actor) -> str:
    return actor.uri + "/reviews"


def reputation_extension(conn: sqlite3.Connection, actor: Actor) -> dict[str, Any]:
    """The actor document's documented extension (`fedcoop:reputation`)."""
    return reputation.reputation(conn, actor.id).as_dict()


def _verified_page(
    conn: sqlite3.Connection, subject_ids: list[str], before: str | None
) -> list[tuple[str, Any]]:
    found = reviews.reviews_about(
        conn, subject_ids, before=before, limit=PAGE_SIZE, include_unverified=False
    )
    return [(r.id, r.document) for r in found if r.document is not None]


async def reviews_collection(
    db: Database, kind: str, username: str, *, page: bool, max_id: str | None
) -> dict[str, Any]:
    def load(conn: sqlite3.Connection) -> tuple[str, int, list[tuple[str, Any]]]:
        actor = get_local_actor(conn, username)
        if actor is None or actor.type != kind:
            raise NotFound("no such actor")
        ids = reputation.identity_ids(conn, actor.id)
        items = _verified_page(conn, ids, max_id) if page else []
        return reviews_url(actor), reviews.count_about(conn, ids, include_unverified=False), items

    uri, total, items = await db.read(load)
    if not page:
        return collection_document(uri, total)
    return collection_page(uri, max_id, items, total=total)


async def review_document(db: Database, uris: Uris, review_id: str) -> dict[str, Any]:
    """A local, published review as signed (404 while sealed: it does not exist yet)."""
    uri = uris.object("reviews", review_id)
    review = await db.read(lambda conn: reviews.get_review_by_uri(conn, uri))
    if review is None or not review.local or not review.published or review.document is None:
        raise NotFound("no such review")
    return review.document


async def agreement_facts_document(db: Database, uris: Uris, agreement_id: str) -> dict[str, Any]:
    """`AGREEMENT/facts` of a local agreement once a review of it is written (here, or sealed
    elsewhere: a review is always sealed, and its seal sent here, before it is published), so
    it only repeats what a published review makes public; 404 otherwise."""

    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        agreement = get_agreement(conn, agreement_id)
        if agreement is None or not agreement.local:
            raise NotFound("no such agreement")
        if not reviews.under_review(conn, agreement.uri):
            raise NotFound("no such agreement")
        poster, worker = get_actor(conn, agreement.poster_id), get_actor(conn, agreement.worker_id)
        if poster is None or worker is None:
            raise NotFound("no such agreement")
        status = AGREEMENT_STATUS_NAMES.get(agreement.state, agreement.state)
        return agreement_facts(agreement.uri, poster.uri, worker.uri, status)

    return await db.read(load)
