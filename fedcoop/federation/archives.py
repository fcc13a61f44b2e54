"""A person's archive (`fedcoop export` / `fedcoop import`): everything they own, signed.

The archive is ONE JSON document (docs/decisions/0008-archives.md):

    {"@context": [...], "type": "fedcoop:Archive", "format": ARCHIVE_FORMAT, "exportedAt",
     "actor": the actor document (keys, alsoKnownAs, reputation),
     "notes": [Note], "gigs": [Proposal], "applications": [Offer],
     "agreements": [Agreement, with the poster's proof when this instance is the poster's],
     "reviewsReceived": [signed review Note], "reviewsWritten": [signed review Note],
     "following": [actor id], "followers": [actor id],
     "proof": FEP-8b32 eddsa-jcs-2022 by the person's Ed25519 key}

Importing verifies EVERY proof before writing anything, and refuses the whole archive when one
fails: the archive's own (the key fetched from the exporting actor's origin, or our cache), each
agreement's (the poster's key), and each review's with every review rule of
`review_intake.check_review` (the reviewer's key, the agreement completed between the parties).
It then restores what makes a person portable: profile, the old account as an alias and
former identity (so its reviews count for the new account), and the reviews. Notes, gigs,
applications and agreements are checked and listed, not re-published: their ids stay with the
instance that issued them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ed25519

from fedcoop.accounts import coops
from fedcoop.accounts.actors import (
    Actor,
    get_actor,
    get_actor_by_uri,
    get_local_actor,
    local_private_keys,
    update_profile,
)
from fedcoop.activitypub.documents import first_id
from fedcoop.activitypub.keys import load_ed25519_private_key_pem
from fedcoop.activitypub.proofs import ProofError, proof_verification_method, sign_document
from fedcoop.activitypub.proofs import verify_document as verify_proof
from fedcoop.activitypub.vocab import AS_CONTEXT, DATA_INTEGRITY_CONTEXT
from fedcoop.errors import AppError, NotFound
from fedcoop.federation.actor_to_as import actor_to_as
from fedcoop.federation.agreement_to_as import agreement_to_as, offer_to_as, signed_agreement
from fedcoop.federation.context import FederationContext
from fedcoop.federation.gig_to_as import gig_to_proposal
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.note_to_as import note_to_as
from fedcoop.federation.review_intake import (
    Checked,
    ReviewRejected,
    ReviewUndecided,
    check_review,
)
from fedcoop.federation.review_to_as import REVIEW_TERMS, document_digest
from fedcoop.federation.sanitize import plain_text, sanitize_html
from fedcoop.gigs import agreements, applications, moves, offers, reputation, reviews, skills
from fedcoop.social import follows, notes
from fedcoop.social.paging import Page
from fedcoop.uris import Uris

ARCHIVE_FORMAT: Final = "https://fedcoop.org/ns/archive/1"
ARCHIVE_TYPE: Final = "fedcoop:Archive"
ARCHIVE_CONTEXT: Final[list[object]] = [AS_CONTEXT, DATA_INTEGRITY_CONTEXT, REVIEW_TERMS]
MAX_ITEMS: Final = 100_000
_NOTE_PAGE: Final = 40


class ArchiveRefused(Exception):
    """The archive is not taken; nothing was written. The message says what failed."""


# export -----------------------------------------------------------------------------------------


def _all_notes(conn: sqlite3.Connection, author_id: str) -> list[notes.Note]:
    found: list[notes.Note] = []
    before: str | None = None
    while len(found) < MAX_ITEMS:
        page = notes.notes_by_author(conn, author_id, Page(max_id=before, limit=_NOTE_PAGE))
        if not page:
            break
        found.extend(page)
        before = page[-1].id
    return found


def _actor(conn: sqlite3.Connection, actor_id: str) -> Actor:
    actor = get_actor(conn, actor_id)
    if actor is None:
        raise NotFound("no such actor")
    return actor


def _gig_docs(conn: sqlite3.Connection, uris: Uris, actor: Actor) -> list[dict[str, Any]]:
    out = []
    for gig in offers.gigs_by_poster(conn, actor.id, limit=MAX_ITEMS):
        coop = get_actor(conn, gig.coop_id) if gig.coop_id else None
        labels = skills.labels_for(conn, gig.skills)
        out.append(gig_to_proposal(gig, actor, coop, labels, uris.base))
    return out


def _application_docs(conn: sqlite3.Connection, actor: Actor) -> list[dict[str, Any]]:
    out = []
    for application in applications.applications_by_worker(conn, actor.id, limit=MAX_ITEMS):
        gig = offers.get_gig(conn, application.gig_id)
        if gig is None or application.quantity is None:
            continue
        out.append(offer_to_as(application, gig, actor, _actor(conn, gig.poster_id)))
    return out


def _agreement_docs(conn: sqlite3.Connection, now: datetime, actor: Actor) -> list[dict[str, Any]]:
    out = []
    for agreement in agreements.agreements_of(conn, actor.id, limit=MAX_ITEMS):
        poster = _actor(conn, agreement.poster_id)
        doc = agreement_to_as(
            agreement, agreement.gig_uri, poster, _actor(conn, agreement.worker_id)
        )
        if poster.local:  # the poster's own instance signs its agreements
            doc = signed_agreement(doc, poster, local_private_keys(conn, poster.id)[1], now)
        out.append(doc)
    return out


def build_archive(
    conn: sqlite3.Connection, uris: Uris, username: str, now: datetime
) -> dict[str, Any]:
    """The signed archive of a local person (inside one read, so it is one snapshot)."""
    actor = get_local_actor(conn, username)
    if actor is None or actor.type == "Application":
        raise NotFound(f"no local account {username!r}")
    admins = coops.coop_staff(conn, actor.id) if actor.type == "Group" else []
    actor_doc = actor_to_as(
        actor, uris, admins=admins, reputation=reputation.reputation(conn, actor.id).as_dict()
    )
    actor_doc.pop("@context", None)
    ids = reputation.identity_ids(conn, actor.id)
    received = reviews.reviews_about(conn, ids, limit=MAX_ITEMS, include_unverified=False)
    written = [r for r in reviews.reviews_by_reviewer(conn, actor.id) if r.published]
    archive: dict[str, Any] = {
        "@context": ARCHIVE_CONTEXT,
        "type": ARCHIVE_TYPE,
        "format": ARCHIVE_FORMAT,
        "exportedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "actor": actor_doc,
        "notes": [
            note_to_as(
                n,
                actor,
                mentioned=notes.mentions(conn, n.id),
                addressees=notes.note_addressees(conn, n.id),
            )
            for n in _all_notes(conn, actor.id)
        ],
        "gigs": _gig_docs(conn, uris, actor),
        "applications": _application_docs(conn, actor),
        "agreements": _agreement_docs(conn, now, actor),
        "reviewsReceived": [r.document for r in received if r.document],
        "reviewsWritten": [r.document for r in written if r.document],
        "following": [a.uri for a in follows.following(conn, actor.id)],
        "followers": [a.uri for a in follows.followers(conn, actor.id)],
    }
    if actor.ed25519_key_id is None:
        raise ArchiveRefused("this account has no Ed25519 key to sign with")
    key = load_ed25519_private_key_pem(local_private_keys(conn, actor.id)[1])
    return sign_document(archive, key, actor.ed25519_key_id, now)


# import ------------------------------------------------------------------------------------------


@dataclass
class VerifiedArchive:
    old: Actor
    actor_doc: dict[str, Any]
    reviews: list[tuple[Checked, dict[str, Any]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


async def _signer_key(
    ctx: FederationContext, doc: dict[str, Any], controller: str, what: str
) -> ed25519.Ed25519PublicKey:
    """The Ed25519 key of `controller` that signed `doc` (fetched or cached), or refuse."""
    try:
        method = proof_verification_method(doc)
        owner, key = await ctx.fetcher.get_public_key(method)
    except ProofError as exc:
        raise ArchiveRefused(f"{what}: no usable proof ({exc.reason})") from None
    except FetchError as exc:
        raise ArchiveRefused(f"{what}: the signer's key cannot be had ({exc.reason})") from None
    if owner.uri != controller or owner.ed25519_key_id != method:
        raise ArchiveRefused(f"{what}: not signed by {controller}")
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ArchiveRefused(f"{what}: not an Ed25519 key")
    return key


async def _check_proof(
    ctx: FederationContext, doc: dict[str, Any], controller: str, what: str
) -> None:
    key = await _signer_key(ctx, doc, controller, what)
    try:
        verify_proof(doc, key)
    except ProofError as exc:
        raise ArchiveRefused(f"{what}: the proof does not verify ({exc.reason})") from None


def _items(archive: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = archive.get(name, [])
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ArchiveRefused(f"{name} is not a list")
    if not all(isinstance(item, dict) for item in value):
        raise ArchiveRefused(f"{name} holds something that is not an object")
    return value


async def verify_archive(ctx: FederationContext, archive: Any) -> VerifiedArchive:
    """Every proof of the archive, checked; raises ArchiveRefused at the first failure."""
    if not isinstance(archive, dict) or archive.get("format") != ARCHIVE_FORMAT:
        raise ArchiveRefused("not a fedcoop archive")
    actor_doc = archive.get("actor")
    old_uri = first_id(actor_doc)
    if not isinstance(actor_doc, dict) or not old_uri:
        raise ArchiveRefused("the archive names no actor")
    await _check_proof(ctx, archive, old_uri, "the archive")
    old = await ctx.fetcher.get_actor(old_uri) if not ctx.uris.is_local(old_uri) else None
    if old is None:
        old = await ctx.db.read(lambda c: _local_by_uri(c, old_uri))
    verified = VerifiedArchive(old=old, actor_doc=actor_doc)
    for doc in _items(archive, "agreements"):
        if "proof" in doc:
            poster = first_id(doc.get("attributedTo"))
            await _check_proof(ctx, doc, str(poster), f"agreement {doc.get('id')}")
    for name in ("reviewsReceived", "reviewsWritten"):
        for doc in _items(archive, name):
            try:
                checked = await check_review(ctx, doc)
            except (ReviewRejected, ReviewUndecided) as exc:
                raise ArchiveRefused(f"review {doc.get('id')}: {exc}") from None
            involved = {checked.reviewer.uri, checked.subject.uri}
            if old_uri not in involved:
                raise ArchiveRefused(f"review {doc.get('id')} is not about this person")
            verified.reviews.append((checked, doc))
    for name in ("notes", "gigs", "applications", "agreements", "following", "followers"):
        verified.counts[name] = len(archive.get(name) or [])
    verified.counts["reviews"] = len(verified.reviews)
    return verified


def _local_by_uri(conn: sqlite3.Connection, uri: str) -> Actor:
    found = get_actor_by_uri(conn, uri)
    if found is None:
        raise ArchiveRefused("the archive's actor is unknown here")
    return found


@dataclass(frozen=True)
class RestoreSummary:
    old_uri: str
    reviews_added: int
    counts: dict[str, int]


def restore_archive(
    conn: sqlite3.Connection, uris: Uris, username: str, verified: VerifiedArchive
) -> RestoreSummary:
    """Write what a verified archive restores into local account `username`, in one write."""
    user = get_local_actor(conn, username)
    if user is None or user.type != "Person":
        raise NotFound(f"no local person {username!r}: create the account first")
    if user.id == verified.old.id:
        raise ArchiveRefused("this archive is of this very account")
    name = plain_text(str(verified.actor_doc.get("name") or ""), 200)
    summary = sanitize_html(str(verified.actor_doc.get("summary") or "")[:10_000])
    update_profile(
        conn, user.id, display_name=name or user.display_name, summary=summary or user.summary
    )
    moves.set_aliases(conn, user.id, [*user.also_known_as, verified.old.uri])
    moves.link_identities(conn, verified.old.id, user.id, "archive")
    added = 0
    for checked, doc in verified.reviews:
        if uris.is_local(checked.claim.uri):
            continue  # a review this instance issued itself: it is here already
        remote = reviews.RemoteReview(
            uri=checked.claim.uri,
            agreement_uri=checked.claim.agreement_uri,
            reviewer_id=checked.reviewer.id,
            subject_id=checked.subject.id,
            reviewer_role=checked.role,
            rating=checked.claim.rating,
            criteria=checked.claim.criteria,
            content=checked.claim.content,
            written_at=checked.claim.written_at,
            document=doc,
            digest=document_digest(doc),
            skills=checked.skills,
        )
        try:
            _, created = reviews.store_remote_review(conn, remote, verified=True)
        except AppError:
            continue  # the reviewer's review of that agreement is here already
        added += int(created)
    return RestoreSummary(verified.old.uri, added, dict(verified.counts))
