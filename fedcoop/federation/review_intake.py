"""Reviews from elsewhere: what makes one count, whoever delivered it.

A review counts here only when all of these hold (PROTOCOL.md section 5):
1. it has the review shape (`review_to_as.as_to_review_claim`), its id is on its author's host;
2. its FEP-8b32 proof verifies with the key named by `proof.verificationMethod`, and that key
   is the author's Ed25519 `assertionMethod` key (controller = the author), fetched from the
   author's own origin: the proof, not the messenger, vouches for the review, so a review read
   from someone else's `reviews` collection or an export archive is as good as one delivered;
3. the Agreement named in `context` is completed and has the author and the subject as its two
   parties: checked on our own row when this instance holds the agreement, otherwise on the
   document fetched from its origin (which must be the poster's host);
4. it is the author's first review of that agreement.

A review that breaks a rule is refused (`ReviewRejected`) and nothing is stored. One that cannot
be checked now because a peer does not answer raises `ReviewUndecided`: the inbox retries it;
when retries run out, or during a collection import, it is kept with `verified = 0` and a
reason, and never counts.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ed25519

from fedcoop import clock
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.activitypub.documents import first_id, types_of
from fedcoop.activitypub.hosts import HostError, host_of
from fedcoop.activitypub.proofs import ProofError, proof_verification_method, verify_document
from fedcoop.errors import AppError
from fedcoop.federation.as_to_gig import ShapeError, as_to_gig_draft
from fedcoop.federation.as_to_note import NoteRefused, as_to_note_draft
from fedcoop.federation.context import FederationContext
from fedcoop.federation.fetcher import FetchBudget
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.review_to_as import (
    FACTS_SUFFIX,
    SEALED_TYPE,
    AgreementFacts,
    ReviewClaim,
    ReviewRefused,
    as_to_agreement_facts,
    as_to_review_claim,
    document_digest,
    is_review,
)
from fedcoop.gigs import review_answers, reviews
from fedcoop.gigs.agreements import get_agreement_by_uri

log = logging.getLogger(__name__)

# Fetches one review may cause: the author's key, the subject, the agreement, its gig.
REVIEW_FETCH_BUDGET: Final = 6
MAX_COLLECTION_PAGES: Final = 10
MAX_COLLECTION_ITEMS: Final = 400


class ReviewRejected(Exception):
    """The review breaks a rule: nothing is stored."""


class ReviewUndecided(Exception):
    """A peer needed to check the review did not answer: try again later."""


@dataclass(frozen=True)
class Checked:
    claim: ReviewClaim
    reviewer: Actor
    subject: Actor
    role: str
    skills: tuple[str, ...]


def _host(uri: str) -> str:
    try:
        return host_of(uri)
    except HostError:
        raise ReviewRejected(f"not a usable URL: {uri[:100]}") from None


def _fetch_failed(exc: FetchError, what: str) -> Exception:
    if exc.transient:
        return ReviewUndecided(f"{what}: {exc.reason}")
    return ReviewRejected(f"{what}: {exc.reason}")


# the checks -----------------------------------------------------------------------------------


async def check_review(
    ctx: FederationContext, doc: dict[str, Any], budget: FetchBudget | None = None
) -> Checked:
    """Run every rule of the module docstring; raises ReviewRejected or ReviewUndecided."""
    budget = budget or FetchBudget(REVIEW_FETCH_BUDGET)
    try:
        claim = as_to_review_claim(doc)
    except ReviewRefused as exc:
        raise ReviewRejected(str(exc)) from None
    if _host(claim.uri) != _host(claim.reviewer_uri):
        raise ReviewRejected("a review's id is on its author's host")
    reviewer = await _verify_proof(ctx, doc, claim, budget)
    subject = await _actor(ctx, claim.subject_uri, budget, "the review's subject")
    role, skills = await _check_agreement(ctx, claim, reviewer, subject, budget)
    return Checked(claim, reviewer, subject, role, skills)


async def _actor(ctx: FederationContext, uri: str, budget: FetchBudget, what: str) -> Actor:
    try:
        return await ctx.fetcher.get_actor(uri, budget=budget)
    except FetchError as exc:
        raise _fetch_failed(exc, what) from None


async def _verify_proof(
    ctx: FederationContext, doc: dict[str, Any], claim: ReviewClaim, budget: FetchBudget
) -> Actor:
    try:
        method = proof_verification_method(doc)
    except ProofError as exc:
        raise ReviewRejected(f"no usable proof ({exc.reason})") from None
    if _host(method) != _host(claim.reviewer_uri):
        raise ReviewRejected("the proof's key is not on the author's host")
    try:
        owner, key = await ctx.fetcher.get_public_key(method, budget=budget)
    except FetchError as exc:
        raise _fetch_failed(exc, "the author's key") from None
    if owner.uri != claim.reviewer_uri or owner.ed25519_key_id != method:
        raise ReviewRejected("the proof is not by the author's assertionMethod key")
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ReviewRejected("the proof's key is not an Ed25519 key")
    try:
        verify_document(doc, key)
    except ProofError as exc:
        if exc.reason != "bad_signature" or owner.local:
            raise ReviewRejected(f"the proof does not verify ({exc.reason})") from None
        # The author may have rotated its key since we cached it: fetch it again, once.
        try:
            fresh = await ctx.fetcher.refetch_key(method)
        except FetchError as again:
            raise _fetch_failed(again, "the author's key") from None
        if fresh is None or not isinstance(fresh[1], ed25519.Ed25519PublicKey):
            raise ReviewRejected("the proof does not verify (bad_signature)") from None
        try:
            verify_document(doc, fresh[1])
        except ProofError as final:
            raise ReviewRejected(f"the proof does not verify ({final.reason})") from None
    return owner


async def _check_agreement(
    ctx: FederationContext,
    claim: ReviewClaim,
    reviewer: Actor,
    subject: Actor,
    budget: FetchBudget,
) -> tuple[str, tuple[str, ...]]:
    """(reviewer's role, skills) when the agreement is completed between the two."""
    held = await ctx.db.read(lambda conn: _held_agreement(conn, claim.agreement_uri))
    if held is not None:
        poster_uri, worker_uri, state = held
        if {poster_uri, worker_uri} != {reviewer.uri, subject.uri}:
            raise ReviewRejected("the author and the subject are not the agreement's parties")
        if state != "completed":
            raise ReviewRejected("the agreement is not completed")
        return ("worker" if reviewer.uri == worker_uri else "poster"), ()
    if ctx.uris.is_local(claim.agreement_uri):
        raise ReviewRejected("no such agreement here")
    facts = await _agreement_facts(ctx, claim.agreement_uri, budget)
    if facts.uri != claim.agreement_uri:
        raise ReviewRejected("the agreement document speaks for another agreement")
    if not facts.poster_uri or _host(facts.poster_uri) != _host(claim.agreement_uri):
        raise ReviewRejected("the agreement is not its poster's")
    if facts.parties() != {reviewer.uri, subject.uri}:
        raise ReviewRejected("the author and the subject are not the agreement's parties")
    if not facts.completed:
        raise ReviewRejected("the agreement is not completed")
    role = "worker" if reviewer.uri == facts.worker_uri else "poster"
    return role, await _gig_skills(ctx, facts.gig_uri, budget)


async def _agreement_facts(ctx: FederationContext, uri: str, budget: FetchBudget) -> AgreementFacts:
    """The agreement as its origin shows it to us. An agreement's terms may be private to its
    parties (fedcoop answers others 404): then its public facts, `AGREEMENT/facts`."""
    try:
        try:
            doc = await ctx.fetcher.fetch_object(uri, budget=budget)
        except FetchError as exc:
            if exc.transient or exc.status not in (401, 403, 404):
                raise
            doc = await ctx.fetcher.fetch_object(uri + FACTS_SUFFIX, budget=budget)
        return as_to_agreement_facts(doc)
    except FetchError as exc:
        raise _fetch_failed(exc, "the agreement") from None
    except ReviewRefused as exc:
        raise ReviewRejected(str(exc)) from None


def _held_agreement(conn: sqlite3.Connection, uri: str) -> tuple[str, str, str] | None:
    agreement = get_agreement_by_uri(conn, uri)
    if agreement is None:
        return None
    poster, worker = get_actor(conn, agreement.poster_id), get_actor(conn, agreement.worker_id)
    if poster is None or worker is None:
        return None
    return poster.uri, worker.uri, agreement.state


async def _gig_skills(
    ctx: FederationContext, gig_uri: str | None, budget: FetchBudget
) -> tuple[str, ...]:
    """The skills of the agreement's gig, for per-skill means; none when it cannot be had."""
    if not gig_uri or ctx.uris.is_local(gig_uri):
        return ()
    try:
        doc = await ctx.fetcher.fetch_object(gig_uri, budget=budget)
        return tuple(as_to_gig_draft(doc).draft.skills)
    except (FetchError, ShapeError, AppError):
        return ()


# storing ---------------------------------------------------------------------------------------


def _remote(checked: Checked, doc: dict[str, Any]) -> reviews.RemoteReview:
    claim = checked.claim
    return reviews.RemoteReview(
        uri=claim.uri,
        agreement_uri=claim.agreement_uri,
        reviewer_id=checked.reviewer.id,
        subject_id=checked.subject.id,
        reviewer_role=checked.role,
        rating=claim.rating,
        criteria=claim.criteria,
        content=claim.content,
        written_at=claim.written_at,
        document=doc,
        digest=document_digest(doc),
        skills=checked.skills,
    )


async def _store(
    ctx: FederationContext, remote: reviews.RemoteReview, *, verified: bool, reason: str | None
) -> str:
    def write(conn: sqlite3.Connection) -> str:
        try:
            stored, created = reviews.store_remote_review(
                conn, remote, verified=verified, unverified_reason=reason
            )
        except AppError as exc:  # a second review of the same agreement by the same party
            raise ReviewRejected(exc.safe_message) from None
        if not created:
            return "ignored: review already stored"
        return "applied: review stored" + ("" if stored.verified else " (unverified)")

    return await ctx.db.write(write)


async def take_review(
    ctx: FederationContext,
    doc: dict[str, Any],
    *,
    keep_undecided: bool,
    budget: FetchBudget | None = None,
) -> str:
    """Check and store one review document; the outcome names what happened.

    Raises ReviewRejected (nothing stored); ReviewUndecided unless `keep_undecided`, in which
    case the review is stored unverified when its author and subject can be had."""
    uri = doc.get("id")
    if isinstance(uri, str) and ctx.uris.is_local(uri):
        return "ignored: our own review"
    known = await ctx.db.read(lambda conn: reviews.get_review_by_uri(conn, str(uri)))
    if known is not None and (known.verified or known.document != doc):
        return "ignored: review already stored"
    try:
        checked = await check_review(ctx, doc, budget)
    except ReviewUndecided as exc:
        if not keep_undecided:
            raise
        return await _keep_unverified(ctx, doc, str(exc))
    if known is not None:
        digest = document_digest(doc)
        if not await ctx.db.write(lambda conn: reviews.mark_verified(conn, known.id, digest)):
            return "ignored: the review differs from its seal"
        return "applied: review verified"
    return await _store(ctx, _remote(checked, doc), verified=True, reason=None)


async def _keep_unverified(ctx: FederationContext, doc: dict[str, Any], reason: str) -> str:
    claim = as_to_review_claim(doc)
    budget = FetchBudget(2)
    try:
        reviewer = await ctx.fetcher.get_actor(claim.reviewer_uri, budget=budget)
        subject = await ctx.fetcher.get_actor(claim.subject_uri, budget=budget)
    except FetchError:
        raise ReviewUndecided(reason) from None
    held = await ctx.db.read(lambda conn: _held_agreement(conn, claim.agreement_uri))
    role = "worker" if held and held[1] == reviewer.uri else "poster"
    checked = Checked(claim, reviewer, subject, role, ())
    return await _store(ctx, _remote(checked, doc), verified=False, reason=reason[:300])


# seals --------------------------------------------------------------------------------------


def is_seal(obj: Any) -> bool:
    return isinstance(obj, dict) and SEALED_TYPE in types_of(obj)


async def take_seal(ctx: FederationContext, obj: dict[str, Any], sender: Actor) -> str:
    """The other party's instance says its review is written (content withheld)."""
    agreement_uri = first_id(obj.get("context"))
    review_uri = first_id(obj.get("review"))
    digest = obj.get("digestMultibase")
    if not agreement_uri or not review_uri or not isinstance(digest, str) or len(digest) > 200:
        raise ReviewRejected("a seal names its agreement, its review and a digest")
    if first_id(obj.get("attributedTo")) not in (None, sender.uri):
        raise ReviewRejected("a seal is its author's")
    if _host(review_uri) != _host(sender.uri):
        raise ReviewRejected("a sealed review's id is on its author's host")

    def write(conn: sqlite3.Connection) -> str:
        try:
            added = reviews.receive_seal(
                conn,
                agreement_uri=agreement_uri.split("#")[0],
                reviewer_id=sender.id,
                review_uri=review_uri,
                digest=digest,
                now=clock.now(),
            )
        except AppError as exc:
            raise ReviewRejected(exc.safe_message) from None
        return "applied: seal stored" if added else "ignored: seal already stored"

    return await ctx.db.write(write)


# replies -----------------------------------------------------------------------------------


async def take_reply(ctx: FederationContext, obj: dict[str, Any], author: Actor) -> str | None:
    """A Note answering a review we hold, by that review's subject; None when it is not one."""
    parent = first_id(obj.get("inReplyTo"))
    if parent is None:
        return None
    review = await ctx.db.read(lambda conn: reviews.get_review_by_uri(conn, parent))
    if review is None:
        return None
    if review.subject_id != author.id:
        return None  # someone else's reply to a review: an ordinary note
    try:
        draft = as_to_note_draft(obj, author)
    except NoteRefused as exc:
        raise ReviewRejected(str(exc)) from None
    published = draft.published_at or clock.now_iso()

    def write(conn: sqlite3.Connection) -> str:
        stored = review_answers.store_remote_reply(
            conn,
            review_uri=parent,
            author_id=author.id,
            uri=draft.uri,
            content=draft.content,
            published_at=published,
        )
        return "applied: review answered" if stored else "ignored: review already answered"

    return await ctx.db.write(write)


# collections ---------------------------------------------------------------------------------


@dataclass
class ImportReport:
    taken: int = 0
    refused: int = 0
    unverified: int = 0
    reasons: list[str] = field(default_factory=list)


async def import_reviews_of(ctx: FederationContext, actor_uri: str) -> ImportReport:
    """Read an actor's `reviews` collection from its origin and take every review about it
    (each checked as above; the collection's host vouches for nothing)."""
    report = ImportReport()
    try:
        actor_doc = await ctx.fetcher.fetch_object(actor_uri)
    except FetchError as exc:
        report.reasons.append(f"actor: {exc.reason}")
        return report
    collection = first_id(actor_doc.get("reviews"))
    if not collection or _host(collection) != _host(actor_uri):
        report.reasons.append("no reviews collection")
        return report
    seen = 0
    async for item in _collection_items(ctx, collection, report):
        seen += 1
        if seen > MAX_COLLECTION_ITEMS:
            break
        if not is_review(item) or first_id(item.get("itemReviewed")) != actor_uri:
            report.refused += 1
            continue
        try:
            outcome = await take_review(ctx, item, keep_undecided=True)
        except (ReviewRejected, ReviewUndecided) as exc:
            report.refused += 1
            report.reasons.append(str(exc))
            continue
        if "unverified" in outcome:
            report.unverified += 1
        elif outcome.startswith("applied"):
            report.taken += 1
    return report


async def _collection_items(ctx: FederationContext, uri: str, report: ImportReport) -> Any:
    try:
        doc = await ctx.fetcher.fetch_object(uri)
    except FetchError as exc:
        report.reasons.append(f"collection: {exc.reason}")
        return
    page: Any = doc.get("first")
    items = doc.get("orderedItems") or doc.get("items") or []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            yield item
    for _ in range(MAX_COLLECTION_PAGES):
        if isinstance(page, dict):
            current: dict[str, Any] = page
        elif isinstance(page, str) and _host(page) == _host(uri):
            try:
                current = await _fetch_page(ctx, page)
            except FetchError as exc:
                report.reasons.append(f"page: {exc.reason}")
                return
        else:
            return
        items = current.get("orderedItems") or current.get("items") or []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                yield item
        page = current.get("next")


async def _fetch_page(ctx: FederationContext, url: str) -> dict[str, Any]:
    return await ctx.fetcher.fetch_object(url)


# the inbox hook --------------------------------------------------------------------------------


async def review_outcome(
    ctx: FederationContext, obj: Any, sender: Actor, *, last_attempt: bool
) -> str | None:
    """For a verified `Create(Note)` object: the outcome when the Note is a review or the
    answer to one we hold, None when it is an ordinary note. Raises ReviewRejected, or
    ReviewUndecided (retry) unless this is the last attempt, when an unverifiable review is
    kept unverified."""
    if not isinstance(obj, dict):
        return None
    if is_review(obj):
        if first_id(obj.get("attributedTo")) != sender.uri:
            raise ReviewRejected("a review is delivered by its author")
        return await take_review(ctx, obj, keep_undecided=last_attempt)
    return await take_reply(ctx, obj, sender)
