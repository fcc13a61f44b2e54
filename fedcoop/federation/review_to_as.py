"""Reviews <-> ActivityStreams: the signed review `Note`, its seal, the subject's answer, the
report `Flag` and the `Move`; and remote review documents read back into claims.

A review is a `Note` (so Mastodon, GoToSocial and Mitra show it as a post that mentions the
reviewee) with schema.org `reviewRating`/`itemReviewed`, `context` = the Agreement, the
per-criterion ratings as extra `Rating`s with `reviewAspect` (`criteria`, fedcoop's term), and
an FEP-8b32 `eddsa-jcs-2022` proof by the reviewer's Ed25519 key. The document carries its own
`@context` and is embedded unchanged in its `Create`, so the proof verifies wherever the Note
is copied (a reviews collection, an export archive).

The seal (`SealedReview`, fedcoop's own type, which other software ignores) tells the other
party's instance that a review is written, with `digestMultibase` = multibase(multihash
sha2-256) of the JCS form of the signed Note: a commitment revealed when the Note is published.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import base58

from fedcoop import clock
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.documents import first_id, first_str, types_of
from fedcoop.activitypub.keys import load_ed25519_private_key_pem
from fedcoop.activitypub.proofs import canonical_json, sign_document
from fedcoop.activitypub.vocab import AS_CONTEXT, DATA_INTEGRITY_CONTEXT, PUBLIC, VF_TERMS
from fedcoop.federation.sanitize import sanitize_html
from fedcoop.gigs.reviews import BEST, CRITERIA, WORST, Reply, Review

REVIEW_TERMS: Final[dict[str, object]] = {
    **VF_TERMS,
    "reviewAspect": "schema:reviewAspect",
    "fedcoop": "https://fedcoop.org/ns#",
    "criteria": {"@id": "fedcoop:criteria", "@container": "@set"},
    "review": {"@id": "fedcoop:review", "@type": "@id"},
    "SealedReview": "fedcoop:SealedReview",
    "digestMultibase": "https://w3id.org/security#digestMultibase",
}
REVIEW_CONTEXT: Final[list[object]] = [AS_CONTEXT, DATA_INTEGRITY_CONTEXT, REVIEW_TERMS]
SEALED_TYPE: Final = "SealedReview"
MAX_CONTENT: Final = 20_000
# multihash code and length of a sha2-256 digest
_SHA256_MULTIHASH: Final = b"\x12\x20"
# Agreement status names on the wire (AGREEMENT_STATUS_NAMES in fedcoop.gigs.states).
COMPLETED_NAMES: Final = frozenset({"Completed"})
FACTS_SUFFIX: Final = "/facts"


class ReviewRefused(ValueError):
    """A document that cannot be taken as a review; the message says why."""


def _rating(value: int, aspect: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "Rating"}
    if aspect:
        doc["reviewAspect"] = aspect
    doc.update({"ratingValue": value, "bestRating": BEST, "worstRating": WORST})
    return doc


def mention_html(subject: Actor) -> str:
    href = html.escape(subject.url or subject.uri, quote=True)
    name = html.escape(subject.username)
    return (
        f'<span class="h-card"><a href="{href}" class="u-url mention">@<span>{name}</span>'
        "</a></span>"
    )


def review_content(review: Review, subject: Actor) -> str:
    text = html.escape(review.text).replace("\n", "<br>")
    tail = f" {text}" if text else ""
    return f"<p>{mention_html(subject)} {review.rating}/{BEST}{tail}</p>"


def review_note(review: Review, reviewer: Actor, subject: Actor) -> dict[str, Any]:
    """The unsigned review Note (PROTOCOL.md section 5, "Reviews and reputation")."""
    doc: dict[str, Any] = {
        "@context": REVIEW_CONTEXT,
        "id": review.uri,
        "type": "Note",
        "attributedTo": reviewer.uri,
        "published": clock.iso_seconds(clock.parse_iso(review.written_at)),
        "url": review.uri,
        "context": review.agreement_uri,
        "itemReviewed": subject.uri,
        "reviewRating": _rating(review.rating),
        "content": review_content(review, subject),
        "tag": [{"type": "Mention", "href": subject.uri, "name": f"@{subject.handle}"}],
        "to": [subject.uri, PUBLIC],
        "cc": [reviewer.followers] if reviewer.followers else [],
    }
    if review.criteria:
        doc["criteria"] = [_rating(v, k) for k, v in sorted(review.criteria.items())]
    return doc


def signed_review_note(
    review: Review, reviewer: Actor, subject: Actor, ed25519_pem: str, created: datetime
) -> dict[str, Any]:
    if reviewer.ed25519_key_id is None:
        raise ValueError("the reviewer has no Ed25519 key")
    key = load_ed25519_private_key_pem(ed25519_pem)
    return sign_document(
        review_note(review, reviewer, subject), key, reviewer.ed25519_key_id, created
    )


def document_digest(doc: Mapping[str, Any]) -> str:
    """multibase(base58btc, multihash(sha2-256, JCS(doc))): the seal's commitment."""
    digest = hashlib.sha256(canonical_json(dict(doc))).digest()
    return "z" + base58.b58encode(_SHA256_MULTIHASH + digest).decode("ascii")


def sealed_review(review: Review, reviewer: Actor, subject: Actor, digest: str) -> dict[str, Any]:
    return {
        "id": review.uri + "/seal",
        "type": SEALED_TYPE,
        "attributedTo": reviewer.uri,
        "context": review.agreement_uri,
        "itemReviewed": subject.uri,
        "review": review.uri,
        "digestMultibase": digest,
        "to": [subject.uri],
    }


def reply_note(reply: Reply, author: Actor, review: Review, reviewer: Actor) -> dict[str, Any]:
    """The subject's public answer: a Note in reply to the review, mentioning the reviewer."""
    text = html.escape(reply.text).replace("\n", "<br>")
    return {
        "id": reply.uri,
        "type": "Note",
        "attributedTo": author.uri,
        "published": clock.iso_seconds(clock.parse_iso(reply.published_at)),
        "inReplyTo": review.uri,
        "context": review.agreement_uri,
        "content": f"<p>{mention_html(reviewer)} {text}</p>",
        "tag": [{"type": "Mention", "href": reviewer.uri, "name": f"@{reviewer.handle}"}],
        "to": [PUBLIC],
        "cc": [reviewer.uri, *([author.followers] if author.followers else [])],
    }


def reply_html(text: str, reviewer: Actor) -> str:
    return f"<p>{mention_html(reviewer)} {html.escape(text).replace(chr(10), '<br>')}</p>"


# reading remote reviews ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewClaim:
    """What a review document says, before anything about it is believed."""

    uri: str
    reviewer_uri: str
    subject_uri: str
    agreement_uri: str
    rating: int
    criteria: dict[str, int]
    content: str
    written_at: str


def is_review(obj: Any) -> bool:
    """A Note with a `reviewRating` and an Agreement as `context`: taken as a review."""
    return (
        isinstance(obj, dict)
        and "Note" in types_of(obj)
        and "reviewRating" in obj
        and first_id(obj.get("context")) is not None
    )


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ReviewRefused(f"{what} is not a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ReviewRefused(f"{what} is not a whole number")
    if not WORST <= number <= BEST:
        raise ReviewRefused(f"{what} is not between {WORST} and {BEST}")
    return number


def _rating_value(rating: Any, what: str) -> int:
    if isinstance(rating, list) and len(rating) == 1:
        rating = rating[0]
    if not isinstance(rating, dict):
        raise ReviewRefused(f"{what} is not a Rating")
    for bound, expected in (("bestRating", BEST), ("worstRating", WORST)):
        if bound in rating and _bound(rating[bound]) != expected:
            raise ReviewRefused(f"{what} uses another scale than {WORST} to {BEST}")
    return _int(rating.get("ratingValue"), what)


def _bound(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_to_review_claim(obj: Mapping[str, Any]) -> ReviewClaim:
    """Read a review Note; raises ReviewRefused when it does not have the review shape."""
    doc = dict(obj)
    if not is_review(doc):
        raise ReviewRefused("not a review Note")
    uri, reviewer, subject = doc.get("id"), first_id(doc.get("attributedTo")), None
    subject = first_id(doc.get("itemReviewed"))
    agreement = first_id(doc.get("context"))
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise ReviewRefused("a review needs an http(s) id")
    if not reviewer or not subject or not agreement:
        raise ReviewRefused("a review names its author, its subject and its agreement")
    if reviewer == subject:
        raise ReviewRefused("nobody reviews themselves")
    criteria: dict[str, int] = {}
    for item in doc.get("criteria") or []:
        if isinstance(item, dict) and isinstance(item.get("reviewAspect"), str):
            aspect = item["reviewAspect"]
            if any(aspect in names for names in CRITERIA.values()):
                criteria[aspect] = _rating_value(item, f"criterion {aspect}")
    published = first_str(doc.get("published"))
    try:
        written = clock.iso(clock.parse_iso(published)) if published else None
    except ValueError:
        written = None
    if written is None:
        raise ReviewRefused("a review needs a published date")
    content = first_str(doc.get("content")) or ""
    return ReviewClaim(
        uri=uri,
        reviewer_uri=reviewer,
        subject_uri=subject,
        agreement_uri=agreement.split("#")[0],
        rating=_rating_value(doc.get("reviewRating"), "reviewRating"),
        criteria=criteria,
        content=sanitize_html(content[:MAX_CONTENT]),
        written_at=written,
    )


@dataclass(frozen=True)
class AgreementFacts:
    """What an Agreement document fetched from its origin says about itself."""

    uri: str
    poster_uri: str | None
    worker_uri: str | None
    status: str | None
    gig_uri: str | None

    @property
    def completed(self) -> bool:
        return self.status in COMPLETED_NAMES

    def parties(self) -> frozenset[str]:
        return frozenset(p for p in (self.poster_uri, self.worker_uri) if p)


def as_to_agreement_facts(doc: Mapping[str, Any]) -> AgreementFacts:
    """An FEP-0837 Agreement: the poster is its author (and the primary commitment's
    receiver), the worker the primary commitment's provider; its status is `preview.name`,
    as in `Update(Agreement)` (PROTOCOL.md section 5)."""
    if "Agreement" not in types_of(dict(doc)):
        raise ReviewRefused("the review's context is not an Agreement")
    primary = doc.get("stipulates")
    if isinstance(primary, list) and primary:
        primary = primary[0]
    primary = primary if isinstance(primary, dict) else {}
    preview = doc.get("preview")
    status = first_str(preview.get("name")) if isinstance(preview, dict) else None
    satisfies = first_id(primary.get("satisfies"))
    uri = doc.get("id")
    if isinstance(uri, str) and uri.endswith(FACTS_SUFFIX):
        uri = first_id(doc.get("context"))  # the facts document speaks for its agreement
    return AgreementFacts(
        uri=uri if isinstance(uri, str) else "",
        poster_uri=first_id(doc.get("attributedTo")) or first_id(primary.get("receiver")),
        worker_uri=first_id(primary.get("provider")),
        status=status,
        gig_uri=satisfies.split("#")[0] if satisfies else None,
    )


def agreement_facts(
    agreement_uri: str, poster_uri: str, worker_uri: str, status_name: str
) -> dict[str, Any]:
    """The public facts of an agreement under review: who its parties are and its status,
    without its terms (which stay private to the parties). Served at `AGREEMENT/facts`, for
    verifiers that the agreement itself does not answer."""
    return {
        "@context": REVIEW_CONTEXT,
        "id": agreement_uri + FACTS_SUFFIX,
        "type": "Agreement",
        "context": agreement_uri,
        "attributedTo": poster_uri,
        "stipulates": {
            "id": agreement_uri + "#primary",
            "type": "Commitment",
            "provider": worker_uri,
            "receiver": poster_uri,
        },
        "preview": {"type": "Note", "name": status_name},
    }


# moves and reports ---------------------------------------------------------------------------


def move_activity(uri: str, old: Actor, target_uri: str) -> dict[str, Any]:
    """FEP-7628 `Move{object: OLD, target: NEW}`, sent by OLD to its followers."""
    return {
        "@context": AS_CONTEXT,
        "id": uri,
        "type": "Move",
        "actor": old.uri,
        "object": old.uri,
        "target": target_uri,
        "to": [old.followers] if old.followers else [PUBLIC],
    }


def flag_activity(
    uri: str, instance_actor: Actor, reviewer_uri: str, review_uri: str, reason: str
) -> dict[str, Any]:
    """A report (Mastodon's shape: from the instance actor, the accused and the object)."""
    return {
        "@context": AS_CONTEXT,
        "id": uri,
        "type": "Flag",
        "actor": instance_actor.uri,
        "object": [reviewer_uri, review_uri],
        "content": reason,
        "to": [reviewer_uri],
    }
