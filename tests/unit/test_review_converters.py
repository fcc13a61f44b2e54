"""Review documents: what is read as a review, what is refused, and the seal's commitment."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fedcoop.federation.review_to_as import (
    ReviewRefused,
    as_to_agreement_facts,
    as_to_review_claim,
    document_digest,
    is_review,
)

AGR = "https://a.example/agreements/01J"


def note(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "https://b.example/reviews/1",
        "type": "Note",
        "attributedTo": "https://b.example/users/bob",
        "published": "2026-09-06T09:10:00Z",
        "context": AGR,
        "itemReviewed": "https://a.example/users/alice",
        "reviewRating": {"type": "Rating", "ratingValue": 4, "bestRating": 5, "worstRating": 1},
        "criteria": [
            {"type": "Rating", "reviewAspect": "pay_fairness", "ratingValue": "5"},
            {"type": "Rating", "reviewAspect": "made_up", "ratingValue": 1},
        ],
        "content": '<p>Fair <script>x()</script><a href="javascript:x">pay</a></p>',
    }
    doc.update(over)
    return doc


def test_a_review_note_is_read_into_a_claim() -> None:
    claim = as_to_review_claim(note())
    assert (claim.reviewer_uri, claim.subject_uri, claim.agreement_uri) == (
        "https://b.example/users/bob",
        "https://a.example/users/alice",
        AGR,
    )
    assert claim.rating == 4
    assert claim.criteria == {"pay_fairness": 5}  # unknown aspects are ignored
    assert "script" not in claim.content and "javascript" not in claim.content
    assert claim.written_at == "2026-09-06T09:10:00.000Z"


@pytest.mark.parametrize(
    ("rating", "expected"),
    [(5, 5), ("3", 3), (2.0, 2), ([{"ratingValue": 1}], 1)],
)
def test_ratings_as_peers_write_them(rating: Any, expected: int) -> None:
    value = rating if isinstance(rating, list) else {"type": "Rating", "ratingValue": rating}
    assert as_to_review_claim(note(reviewRating=value)).rating == expected


@pytest.mark.parametrize(
    "rating",
    [
        {"ratingValue": 6},
        {"ratingValue": 0},
        {"ratingValue": True},
        {"ratingValue": 4.5},
        {"ratingValue": "five"},
        {"ratingValue": 8, "bestRating": 10},  # another scale is not rescaled
        "5",
    ],
)
def test_ratings_that_are_refused(rating: Any) -> None:
    with pytest.raises(ReviewRefused):
        as_to_review_claim(note(reviewRating=rating))


def test_what_is_not_a_review() -> None:
    assert not is_review(note(type="Article"))
    assert not is_review({k: v for k, v in note().items() if k != "reviewRating"})
    assert not is_review({k: v for k, v in note().items() if k != "context"})
    with pytest.raises(ReviewRefused):
        as_to_review_claim(note(itemReviewed="https://b.example/users/bob"))  # self-review
    with pytest.raises(ReviewRefused):
        as_to_review_claim(note(published="yesterday"))
    with pytest.raises(ReviewRefused):
        as_to_review_claim(note(id="ftp://b.example/reviews/1"))


def test_the_seal_digest_changes_with_any_byte_and_not_with_key_order() -> None:
    doc = note()
    reordered = dict(reversed(list(doc.items())))
    assert document_digest(doc) == document_digest(reordered)
    assert document_digest(doc).startswith("zQm")  # base58btc multihash sha2-256
    changed = copy.deepcopy(doc)
    changed["reviewRating"]["ratingValue"] = 5
    assert document_digest(changed) != document_digest(doc)


def test_agreement_facts_from_the_agreement_or_its_facts_document() -> None:
    agreement = {
        "id": AGR,
        "type": "Agreement",
        "attributedTo": "https://a.example/users/alice",
        "stipulates": {"provider": "https://b.example/users/bob", "satisfies": AGR + "x#primary"},
        "preview": {"type": "Note", "name": "Completed"},
    }
    facts = as_to_agreement_facts(agreement)
    assert facts.completed and facts.uri == AGR
    assert facts.parties() == {"https://a.example/users/alice", "https://b.example/users/bob"}
    assert facts.gig_uri == AGR + "x"
    published = as_to_agreement_facts(agreement | {"id": AGR + "/facts", "context": AGR})
    assert published.uri == AGR
    assert not as_to_agreement_facts(agreement | {"preview": {"name": "Delivered"}}).completed
    with pytest.raises(ReviewRefused):
        as_to_agreement_facts(agreement | {"type": "Note"})
