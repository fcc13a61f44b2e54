"""Local reviews, answers and reports: the services pages and the API call.

Writing a review signs it at once with the reviewer's Ed25519 key (the signed document is the
commitment its seal announces, so it never changes afterwards) and stores it sealed; the domain
unseals it when both parties' reviews are in. `ReviewSealWorker` publishes the reviews whose
14 days have passed (`fedcoop.gigs.reviews.SEAL_WINDOW`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Final

from fedcoop import clock
from fedcoop.accounts.actors import get_actor, local_private_keys
from fedcoop.db import Database
from fedcoop.errors import NotFound
from fedcoop.federation.review_to_as import reply_html, signed_review_note
from fedcoop.federation.workers import Worker
from fedcoop.gigs import review_answers, reviews
from fedcoop.gigs.reviews import Reply, Report, Review, ReviewDraft
from fedcoop.uris import Uris

WORKER_NAME: Final = "review-seals"


def _signer(conn: sqlite3.Connection, now: datetime) -> reviews.Signer:
    def sign(review: Review) -> dict[str, object]:
        reviewer = get_actor(conn, review.reviewer_id)
        subject = get_actor(conn, review.subject_id)
        if reviewer is None or subject is None:
            raise NotFound("no such actor")
        _, ed_pem = local_private_keys(conn, reviewer.id)
        return signed_review_note(review, reviewer, subject, ed_pem, now)

    return sign


def write_review(
    conn: sqlite3.Connection,
    uris: Uris,
    *,
    agreement_id: str,
    reviewer_id: str,
    draft: ReviewDraft,
    now: datetime | None = None,
) -> Review:
    """Inside a write: store, sign and (if both are in) publish a local party's review."""
    moment = now or clock.now()
    return reviews.write_review(
        conn,
        uris,
        agreement_id=agreement_id,
        reviewer_id=reviewer_id,
        draft=draft,
        sign=_signer(conn, moment),
        now=moment,
    )


async def submit_review(
    db: Database, uris: Uris, *, agreement_id: str, reviewer_id: str, draft: ReviewDraft
) -> Review:
    return await db.write(
        lambda conn: write_review(
            conn, uris, agreement_id=agreement_id, reviewer_id=reviewer_id, draft=draft
        )
    )


async def answer_review(
    db: Database, uris: Uris, *, review_id: str, author_id: str, text: str
) -> Reply:
    def write(conn: sqlite3.Connection) -> Reply:
        review = reviews.require_review(conn, review_id)
        reviewer = get_actor(conn, review.reviewer_id)
        if reviewer is None:
            raise NotFound("no such review")
        return review_answers.answer_review(
            conn,
            uris,
            review_id=review_id,
            author_id=author_id,
            text=text,
            content=reply_html(text.strip(), reviewer),
        )

    return await db.write(write)


async def report_review(db: Database, *, review_id: str, reporter_id: str, reason: str) -> Report:
    return await db.write(
        lambda conn: review_answers.report_review(
            conn, review_id=review_id, reporter_id=reporter_id, reason=reason
        )
    )


class ReviewSealWorker:
    """Publishes sealed reviews whose window has passed; `run_once()` for tests."""

    def __init__(self, db: Database, *, now: Callable[[], datetime] = clock.now) -> None:
        self.db = db
        self._now = now

    def worker(self, poll_seconds: float = 3600.0) -> Worker:
        return Worker(WORKER_NAME, self.run_once, poll_seconds)

    async def run_once(self) -> int:
        now = self._now()
        return await self.db.write(lambda conn: reviews.unseal_expired(conn, now))
