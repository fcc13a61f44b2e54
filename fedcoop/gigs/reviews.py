"""Reviews of completed agreements: both directions, one per party, sealed until both are in.

A review exists only for an agreement whose completion (delivery and payment, the receipt) was
observed here: the worker rates the poster (pay fairness, clarity, respect, paid on time), the
poster rates the worker (quality, reliability, communication), each with an overall rating
from 1 to 5 and a text. Each party reviews an agreement once.

Double-blind: a local review is `sealed` when written and `published` (sealed -> published,
`ReviewStates`) once both parties' reviews are in, or 14 days after it was written. "In" means
a review row here, or, for a party on another instance, a seal: that instance's commitment
(the digest of the signed review) received without the review itself. When the revealed review
arrives later its digest must match the seal, so nobody can change a review after reading the
other one. Once the other party's review is published the window is closed: a party who has
not reviewed by then cannot review any more (they would be answering what they read).

Reviews from other instances arrive already published and are stored with `verified` set by
the federation layer (proof by the reviewer's key, agreement completed with both as parties);
only verified, published reviews count (`fedcoop.gigs.reputation`). The signed document is
kept as received, so it can be served again and checked anywhere.

The subject may answer a review publicly, once; anyone signed in may report one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from fedcoop import clock, ids
from fedcoop.db.jobs import StateGraph, transition
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.gigs.agreements import Agreement, get_agreement_by_uri, require_agreement
from fedcoop.social import events
from fedcoop.uris import Uris

# What each side rates, by the role of the one who writes the review.
WORKER_CRITERIA: Final = ("pay_fairness", "clarity", "respect", "paid_on_time")
POSTER_CRITERIA: Final = ("quality", "reliability", "communication")
CRITERIA: Final[Mapping[str, tuple[str, ...]]] = {
    "worker": WORKER_CRITERIA,
    "poster": POSTER_CRITERIA,
}
CRITERION_LABELS: Final = {
    "pay_fairness": "Pay fairness",
    "clarity": "Clarity",
    "respect": "Respect",
    "paid_on_time": "Paid on time",
    "quality": "Quality",
    "reliability": "Reliability",
    "communication": "Communication",
}
BEST, WORST = 5, 1
SEAL_WINDOW: Final = timedelta(days=14)
MAX_TEXT: Final = 5000
MAX_REPORT: Final = 2000


class ReviewStates(StateGraph):
    """Local reviews start sealed; remote ones are stored published (they arrive revealed)."""

    name = "review"
    initial = "sealed"
    transitions = {"sealed": frozenset({"published"}), "published": frozenset()}


@dataclass(frozen=True)
class ReviewDraft:
    rating: int
    text: str = ""
    criteria: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Review:
    id: str
    uri: str
    agreement_uri: str
    agreement_id: str | None
    reviewer_id: str
    subject_id: str
    reviewer_role: str
    rating: int
    criteria: dict[str, int]
    skills: tuple[str, ...]
    text: str
    content: str
    local: bool
    state: str
    verified: bool
    unverified_reason: str | None
    document: dict[str, Any] | None
    written_at: str
    published_at: str | None
    created_at: str

    @property
    def sealed(self) -> bool:
        return self.state == "sealed"

    @property
    def published(self) -> bool:
        return self.state == "published"


@dataclass(frozen=True)
class Reply:
    id: str
    uri: str
    review_id: str
    author_id: str
    text: str
    content: str
    local: bool
    published_at: str


@dataclass(frozen=True)
class Report:
    id: str
    review_id: str
    reporter_id: str | None
    reason: str
    state: str
    created_at: str


@dataclass(frozen=True)
class RemoteReview:
    """A review from elsewhere, read from its signed document by the federation layer."""

    uri: str
    agreement_uri: str
    reviewer_id: str
    subject_id: str
    reviewer_role: str
    rating: int
    criteria: Mapping[str, int]
    content: str
    written_at: str
    document: Mapping[str, Any]
    digest: str  # of the signed document, compared with the seal when there was one
    skills: tuple[str, ...] = ()


# A function that turns a freshly stored local review into its signed document (the
# federation layer signs with the reviewer's key); the domain stores what it returns.
Signer = Callable[[Review], dict[str, Any]]


def _review(row: sqlite3.Row) -> Review:
    return Review(
        id=row["id"],
        uri=row["uri"],
        agreement_uri=row["agreement_uri"],
        agreement_id=row["agreement_id"],
        reviewer_id=row["reviewer_id"],
        subject_id=row["subject_id"],
        reviewer_role=row["reviewer_role"],
        rating=int(row["rating"]),
        criteria={str(k): int(v) for k, v in json.loads(row["criteria"]).items()},
        skills=tuple(json.loads(row["skills"])),
        text=row["text"],
        content=row["content"],
        local=bool(row["local"]),
        state=row["state"],
        verified=bool(row["verified"]),
        unverified_reason=row["unverified_reason"],
        document=json.loads(row["document"]) if row["document"] else None,
        written_at=row["written_at"],
        published_at=row["published_at"],
        created_at=row["created_at"],
    )


def _reply(row: sqlite3.Row) -> Reply:
    return Reply(
        id=row["id"],
        uri=row["uri"],
        review_id=row["review_id"],
        author_id=row["author_id"],
        text=row["text"],
        content=row["content"],
        local=bool(row["local"]),
        published_at=row["published_at"],
    )


# validation --------------------------------------------------------------------------------


def _score(value: Any, field_name: str) -> int:
    # bool is an int in Python; a JSON `true` is not a rating.
    if isinstance(value, bool) or not isinstance(value, int) or not WORST <= value <= BEST:
        raise ValidationError(f"a whole number from {WORST} to {BEST}", field=field_name)
    return value


def check_draft(role: str, draft: ReviewDraft) -> dict[str, int]:
    """The draft's criteria, checked against what a reviewer in `role` rates."""
    _score(draft.rating, "rating")
    if len(draft.text) > MAX_TEXT:
        raise ValidationError(f"at most {MAX_TEXT} characters", field="text")
    allowed = CRITERIA[role]
    criteria: dict[str, int] = {}
    for name, value in draft.criteria.items():
        if name not in allowed:
            raise ValidationError(f"a {role} rates {', '.join(allowed)}", field=f"criteria.{name}")
        criteria[name] = _score(value, f"criteria.{name}")
    return criteria


def role_in(agreement: Agreement, actor_id: str) -> str:
    """`worker` or `poster`: the part `actor_id` plays in the agreement."""
    if actor_id == agreement.worker_id:
        return "worker"
    if actor_id == agreement.poster_id:
        return "poster"
    raise Forbidden("only the parties to an agreement review it")


def counterpart(agreement: Agreement, actor_id: str) -> str:
    return agreement.poster_id if role_in(agreement, actor_id) == "worker" else agreement.worker_id


# lookups -----------------------------------------------------------------------------------


def get_review(conn: sqlite3.Connection, review_id: str) -> Review | None:
    row = conn.execute("SELECT * FROM reviews WHERE id = ?", (review_id,)).fetchone()
    return _review(row) if row else None


def get_review_by_uri(conn: sqlite3.Connection, uri: str) -> Review | None:
    row = conn.execute("SELECT * FROM reviews WHERE uri = ?", (uri,)).fetchone()
    return _review(row) if row else None


def require_review(conn: sqlite3.Connection, review_id: str) -> Review:
    found = get_review(conn, review_id)
    if found is None:
        raise NotFound("no such review")
    return found


def review_by(conn: sqlite3.Connection, agreement_uri: str, reviewer_id: str) -> Review | None:
    row = conn.execute(
        "SELECT * FROM reviews WHERE agreement_uri = ? AND reviewer_id = ?",
        (agreement_uri, reviewer_id),
    ).fetchone()
    return _review(row) if row else None


def reviews_of_agreement(conn: sqlite3.Connection, agreement_uri: str) -> list[Review]:
    rows = conn.execute(
        "SELECT * FROM reviews WHERE agreement_uri = ? ORDER BY id", (agreement_uri,)
    ).fetchall()
    return [_review(r) for r in rows]


def reviews_about(
    conn: sqlite3.Connection,
    subject_ids: Sequence[str],
    *,
    before: str | None = None,
    limit: int = 40,
    include_unverified: bool = True,
) -> list[Review]:
    """Published reviews about any of `subject_ids` (an actor and its former identities),
    newest first, strictly older than the id `before`."""
    if not subject_ids:
        return []
    marks = ",".join("?" * len(subject_ids))
    verified = "" if include_unverified else " AND verified = 1"
    rows = conn.execute(
        f"SELECT * FROM reviews WHERE subject_id IN ({marks}) AND state = 'published'"
        f"{verified} AND id < ? ORDER BY id DESC LIMIT ?",
        (*subject_ids, before or "~", limit),
    ).fetchall()
    return [_review(r) for r in rows]


def count_about(
    conn: sqlite3.Connection, subject_ids: Sequence[str], *, include_unverified: bool = True
) -> int:
    if not subject_ids:
        return 0
    marks = ",".join("?" * len(subject_ids))
    verified = "" if include_unverified else " AND verified = 1"
    row = conn.execute(
        f"SELECT count(*) FROM reviews WHERE subject_id IN ({marks}) AND state = 'published'"
        f"{verified}",
        tuple(subject_ids),
    ).fetchone()
    return int(row[0])


def reviews_by_reviewer(conn: sqlite3.Connection, reviewer_id: str) -> list[Review]:
    """Everything `reviewer_id` wrote, sealed ones included (the author may see their own)."""
    rows = conn.execute(
        "SELECT * FROM reviews WHERE reviewer_id = ? ORDER BY id DESC", (reviewer_id,)
    ).fetchall()
    return [_review(r) for r in rows]


def list_reviews(
    conn: sqlite3.Connection,
    *,
    subject_ids: Sequence[str] = (),
    reviewer_id: str | None = None,
    agreement_uri: str | None = None,
    before: str | None = None,
    limit: int = 40,
) -> list[Review]:
    """Published reviews filtered by subject, reviewer and/or agreement, newest first."""
    clauses, params = ["state = 'published'", "id < ?"], [before or "~"]
    if subject_ids:
        clauses.append(f"subject_id IN ({','.join('?' * len(subject_ids))})")
        params.extend(subject_ids)
    if reviewer_id:
        clauses.append("reviewer_id = ?")
        params.append(reviewer_id)
    if agreement_uri:
        clauses.append("agreement_uri = ?")
        params.append(agreement_uri)
    rows = conn.execute(
        f"SELECT * FROM reviews WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [_review(r) for r in rows]


def reply_to(conn: sqlite3.Connection, review_id: str) -> Reply | None:
    row = conn.execute("SELECT * FROM review_replies WHERE review_id = ?", (review_id,)).fetchone()
    return _reply(row) if row else None


def get_reply(conn: sqlite3.Connection, reply_id: str) -> Reply | None:
    row = conn.execute("SELECT * FROM review_replies WHERE id = ?", (reply_id,)).fetchone()
    return _reply(row) if row else None


def get_report(conn: sqlite3.Connection, report_id: str) -> Report | None:
    row = conn.execute("SELECT * FROM review_reports WHERE id = ?", (report_id,)).fetchone()
    if row is None:
        return None
    return Report(
        row["id"],
        row["review_id"],
        row["reporter_id"],
        row["reason"],
        row["state"],
        row["created_at"],
    )


def has_seal(conn: sqlite3.Connection, agreement_uri: str, reviewer_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM review_seals WHERE agreement_uri = ? AND reviewer_id = ?",
            (agreement_uri, reviewer_id),
        ).fetchone()
        is not None
    )


def under_review(conn: sqlite3.Connection, agreement_uri: str) -> bool:
    """Has a review of this agreement been written (a review row here, or a seal)?"""
    return (
        conn.execute(
            "SELECT 1 FROM reviews WHERE agreement_uri = ? UNION ALL "
            "SELECT 1 FROM review_seals WHERE agreement_uri = ? LIMIT 1",
            (agreement_uri, agreement_uri),
        ).fetchone()
        is not None
    )


def _seal_digest(conn: sqlite3.Connection, agreement_uri: str, reviewer_id: str) -> str | None:
    row = conn.execute(
        "SELECT digest FROM review_seals WHERE agreement_uri = ? AND reviewer_id = ?",
        (agreement_uri, reviewer_id),
    ).fetchone()
    return str(row[0]) if row else None


def agreement_skills(conn: sqlite3.Connection, agreement: Agreement) -> tuple[str, ...]:
    """The skills of the gig behind an agreement, when this instance holds the gig."""
    rows = conn.execute(
        "SELECT gig_skills.skill_uri FROM gig_skills JOIN gigs ON gigs.id = gig_skills.gig_id "
        "WHERE gigs.id = ? OR gigs.uri = ? ORDER BY gig_skills.skill_uri",
        (agreement.gig_id or "", agreement.gig_uri),
    ).fetchall()
    return tuple(dict.fromkeys(r[0] for r in rows))


# writing a review --------------------------------------------------------------------------


def may_review(conn: sqlite3.Connection, agreement: Agreement, reviewer_id: str) -> str | None:
    """None when `reviewer_id` may review `agreement` now, else the reason they may not."""
    if reviewer_id not in (agreement.poster_id, agreement.worker_id):
        return "only the parties to an agreement review it"
    if agreement.state != "completed":
        return "reviews open once the agreement is completed (delivered and paid)"
    if review_by(conn, agreement.uri, reviewer_id) is not None:
        return "you have already reviewed this agreement"
    other = review_by(conn, agreement.uri, counterpart(agreement, reviewer_id))
    if other is not None and other.published:
        return "the review window has closed: the other party's review is already published"
    return None


def write_review(
    conn: sqlite3.Connection,
    uris: Uris,
    *,
    agreement_id: str,
    reviewer_id: str,
    draft: ReviewDraft,
    sign: Signer,
    now: datetime | None = None,
) -> Review:
    """A local party reviews a completed agreement; the review is sealed, and published at
    once if the other party's review (or seal) is already in."""
    moment = now or clock.now()
    agreement = require_agreement(conn, agreement_id)
    role = role_in(agreement, reviewer_id)
    criteria = check_draft(role, draft)
    refusal = may_review(conn, agreement, reviewer_id)
    if refusal is not None:
        raise Conflict(refusal)
    subject_id = counterpart(agreement, reviewer_id)
    review_id = ids.new_id()
    stamp = clock.iso(moment)
    conn.execute(
        """INSERT INTO reviews (id, uri, agreement_uri, agreement_id, reviewer_id, subject_id,
               reviewer_role, rating, criteria, skills, text, local, state, verified,
               written_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 1, ?, ?, ?)""",
        (
            review_id,
            uris.object("reviews", review_id),
            agreement.uri,
            agreement.id,
            reviewer_id,
            subject_id,
            role,
            draft.rating,
            json.dumps(criteria, sort_keys=True),
            json.dumps(list(agreement_skills(conn, agreement))),
            draft.text.strip(),
            ReviewStates.initial,
            stamp,
            stamp,
            stamp,
        ),
    )
    document = sign(require_review(conn, review_id))
    conn.execute(
        "UPDATE reviews SET document = ?, content = ? WHERE id = ?",
        (json.dumps(document), str(document.get("content") or ""), review_id),
    )
    if not _is_local_actor(conn, subject_id):
        # Tell the other party's instance that this review is written, without revealing it.
        events.emit(conn, "review.sealed", reviewer_id, review_id)
    publish_if_both_in(conn, agreement.uri, moment)
    return require_review(conn, review_id)


def _is_local_actor(conn: sqlite3.Connection, actor_id: str) -> bool:
    row = conn.execute("SELECT local FROM actors WHERE id = ?", (actor_id,)).fetchone()
    return bool(row and row[0])


def _is_in(conn: sqlite3.Connection, agreement_uri: str, party_id: str) -> bool:
    found = review_by(conn, agreement_uri, party_id)
    if found is not None:
        return found.local or found.verified
    return has_seal(conn, agreement_uri, party_id)


def publish_if_both_in(conn: sqlite3.Connection, agreement_uri: str, now: datetime) -> int:
    """Unseal this agreement's local reviews when both parties' reviews (or seals) are in."""
    agreement = get_agreement_by_uri(conn, agreement_uri)
    if agreement is None:
        return 0
    parties = (agreement.poster_id, agreement.worker_id)
    if not all(_is_in(conn, agreement.uri, party) for party in parties):
        return 0
    published = 0
    for review in reviews_of_agreement(conn, agreement.uri):
        if review.sealed:
            published += unseal(conn, review, now)
    return published


def unseal(conn: sqlite3.Connection, review: Review, now: datetime) -> int:
    """sealed -> published; the outbox then sends the signed review everywhere it goes."""
    moved = transition(
        conn,
        "reviews",
        review.id,
        ReviewStates,
        "sealed",
        "published",
        published_at=clock.iso(now),
        updated_at=clock.iso(now),
    )
    if moved:
        events.emit(conn, "review.published", review.reviewer_id, review.id)
    return int(moved)


def unseal_expired(conn: sqlite3.Connection, now: datetime) -> int:
    """Publish the sealed reviews written more than 14 days ago; returns how many."""
    cutoff = clock.iso(now - SEAL_WINDOW)
    rows = conn.execute(
        "SELECT * FROM reviews WHERE state = 'sealed' AND written_at <= ? ORDER BY written_at",
        (cutoff,),
    ).fetchall()
    return sum(unseal(conn, _review(row), now) for row in rows)


# from other instances ------------------------------------------------------------------------


def receive_seal(
    conn: sqlite3.Connection,
    *,
    agreement_uri: str,
    reviewer_id: str,
    review_uri: str,
    digest: str,
    now: datetime,
) -> bool:
    """The other party's instance says its review of an agreement we hold is written.

    Only for an agreement this instance holds, completed, between the reviewer and a local
    party; False when it was already known. Unseals the local party's review if it is in.
    """
    agreement = get_agreement_by_uri(conn, agreement_uri)
    if agreement is None:
        raise NotFound("no such agreement here")
    if agreement.state != "completed":
        raise Conflict("that agreement is not completed here")
    other = counterpart(agreement, reviewer_id)  # Forbidden for a non-party
    if not _is_local_actor(conn, other):
        raise Forbidden("the other party to that agreement is not on this instance")
    cur = conn.execute(
        "INSERT OR IGNORE INTO review_seals (agreement_uri, reviewer_id, review_uri, digest, "
        "received_at) VALUES (?, ?, ?, ?, ?)",
        (agreement.uri, reviewer_id, review_uri, digest, clock.iso(now)),
    )
    publish_if_both_in(conn, agreement.uri, now)
    return cur.rowcount == 1


def store_remote_review(
    conn: sqlite3.Connection,
    remote: RemoteReview,
    *,
    verified: bool,
    unverified_reason: str | None = None,
    now: datetime | None = None,
) -> tuple[Review, bool]:
    """Keep a review from elsewhere (published); (review, created?). A second review of the
    same agreement by the same party is refused (Conflict) and changes nothing."""
    moment = now or clock.now()
    existing = get_review_by_uri(conn, remote.uri)
    if existing is not None:
        return existing, False
    if review_by(conn, remote.agreement_uri, remote.reviewer_id) is not None:
        raise Conflict("this party has already reviewed this agreement")
    if remote.reviewer_role not in CRITERIA:
        raise ValidationError("unknown reviewer role", field="reviewer_role")
    sealed_digest = _seal_digest(conn, remote.agreement_uri, remote.reviewer_id)
    if verified and sealed_digest is not None and sealed_digest != remote.digest:
        verified, unverified_reason = False, "differs from the review sealed earlier"
    agreement = get_agreement_by_uri(conn, remote.agreement_uri)
    skills = remote.skills or (agreement_skills(conn, agreement) if agreement else ())
    review_id = ids.new_id()
    stamp = clock.iso(moment)
    conn.execute(
        """INSERT INTO reviews (id, uri, agreement_uri, agreement_id, reviewer_id, subject_id,
               reviewer_role, rating, criteria, skills, content, local, state, verified,
               unverified_reason, document, written_at, published_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'published', ?, ?, ?, ?, ?, ?, ?)""",
        (
            review_id,
            remote.uri,
            remote.agreement_uri,
            agreement.id if agreement else None,
            remote.reviewer_id,
            remote.subject_id,
            remote.reviewer_role,
            _score(remote.rating, "rating"),
            json.dumps({k: _score(v, k) for k, v in remote.criteria.items()}, sort_keys=True),
            json.dumps(list(skills)),
            remote.content,
            int(verified),
            None if verified else (unverified_reason or "not verified"),
            json.dumps(dict(remote.document)),
            remote.written_at,
            stamp,
            stamp,
            stamp,
        ),
    )
    if verified:
        publish_if_both_in(conn, remote.agreement_uri, moment)
    return require_review(conn, review_id), True


def mark_verified(conn: sqlite3.Connection, review_id: str, digest: str) -> bool:
    """A review kept unverified (its origin could not be reached) was checked later; like
    any verified review, it may complete the pair that unseals ours. False (and unchanged)
    when it differs from the review sealed earlier: that never counts."""
    review = require_review(conn, review_id)
    sealed = _seal_digest(conn, review.agreement_uri, review.reviewer_id)
    if sealed is not None and sealed != digest:
        return False
    conn.execute(
        "UPDATE reviews SET verified = 1, unverified_reason = NULL, updated_at = ? WHERE id = ?",
        (clock.now_iso(), review_id),
    )
    publish_if_both_in(conn, review.agreement_uri, clock.now())
    return True


def delete_remote_review(conn: sqlite3.Connection, uri: str, author_id: str) -> bool:
    """Its author deleted a review from elsewhere: it goes (and stops counting)."""
    review = get_review_by_uri(conn, uri)
    if review is None or review.local:
        return False
    if review.reviewer_id != author_id:
        raise Forbidden("only its author can delete a review")
    conn.execute("DELETE FROM reviews WHERE id = ?", (review.id,))
    return True
