"""Gig <-> AS2: the Proposal round-trips, Mitra-style shapes are read, HTML is sanitised."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from fedcoop.accounts.actors import Actor
from fedcoop.federation.as_to_gig import ShapeError, as_to_gig_draft, as_to_offer_terms
from fedcoop.federation.gig_to_as import gig_to_note, gig_to_proposal
from fedcoop.gigs.offers import Gig

BASE = "https://a.example"


def actor(name: str, kind: str = "Person") -> Actor:
    uri = f"{BASE}/{'coops' if kind == 'Group' else 'users'}/{name}"
    return Actor(
        id=name,
        uri=uri,
        type=kind,
        username=name,
        host="a.example",
        local=True,
        display_name=name,
        summary="",
        url=None,
        inbox=uri + "/inbox",
        outbox=None,
        shared_inbox=None,
        followers=uri + "/followers",
        following=None,
        manually_approves=False,
        public_key_id=None,
        public_key_pem=None,
        ed25519_key_id=None,
        ed25519_multibase=None,
        implements=[],
        also_known_as=[],
        moved_to=None,
        created_at="",
        updated_at="",
    )


def gig(**over: Any) -> Gig:
    base: dict[str, Any] = dict(
        id="g1",
        uri=f"{BASE}/gigs/g1",
        url=f"{BASE}/gigs/g1",
        note_uri=f"{BASE}/gigs/g1/note",
        local=True,
        poster_id="alice",
        coop_id="velo",
        purpose="request",
        title="Cargo-bike deliveries",
        description="<p>Own bike needed</p>",
        place_name="Grenoble",
        latitude=45.188,
        longitude=5.711,
        remote=False,
        starts_at="2026-12-05T08:00:00Z",
        ends_at="2026-12-05T16:00:00Z",
        unit="hour",
        unit_quantity=Decimal("1"),
        price=Decimal("18.50"),
        currency="EUR",
        available=Decimal("8"),
        minimum=Decimal("2"),
        unit_based=True,
        visibility="public",
        state="open",
        published_at="2026-11-29T10:00:00Z",
        updated_at="2026-11-29T10:00:00Z",
        deleted_at=None,
        skills=(f"{BASE}/skills/cargo-bike-courier",),
        remaining=Decimal("8"),
    )
    base.update(over)
    return Gig(**base)


def test_proposal_round_trip_keeps_terms() -> None:
    doc = gig_to_proposal(
        gig(),
        actor("alice"),
        actor("velo", "Group"),
        {f"{BASE}/skills/cargo-bike-courier": "Cargo-bike courier"},
        BASE,
    )
    assert doc["publishes"]["id"] == f"{BASE}/gigs/g1#primary"
    assert doc["reciprocal"]["resourceQuantity"] == {"hasUnit": "one", "hasNumericalValue": "18.5"}
    assert doc["reciprocal"]["resourceConformsTo"] == "https://www.wikidata.org/wiki/Q4916"
    assert isinstance(doc["type"], str) and doc["audience"] == f"{BASE}/coops/velo"
    back = as_to_gig_draft(doc)
    assert back.draft.price == Decimal("18.5") and back.draft.currency == "EUR"
    assert back.draft.available == 8 and back.draft.minimum == 2 and back.draft.unit == "hour"
    assert back.draft.skills == (f"{BASE}/skills/cargo-bike-courier",)
    assert back.draft.latitude == 45.188 and not back.draft.remote


def test_mitra_style_numbers_and_single_values() -> None:
    doc = gig_to_proposal(gig(), actor("alice"), None, {}, BASE)
    mitra = copy.deepcopy(doc)
    mitra["publishes"] = [mitra["publishes"]]
    mitra["publishes"][0]["availableQuantity"]["hasNumericalValue"] = 8
    mitra["reciprocal"]["resourceQuantity"]["hasNumericalValue"] = 18.5
    back = as_to_gig_draft(mitra)
    assert back.draft.available == Decimal("8") and back.draft.price == Decimal("18.5")


def test_bad_shapes_are_refused() -> None:
    doc = gig_to_proposal(gig(), actor("alice"), None, {}, BASE)
    for mutate, field in (
        (
            lambda d: d["reciprocal"].update(resourceConformsTo="https://x/coin"),
            "reciprocal.resourceConformsTo",
        ),
        (
            lambda d: d["publishes"]["resourceQuantity"].update(hasNumericalValue="-1"),
            "publishes.resourceQuantity",
        ),
        (lambda d: d.update(purpose="steal"), "purpose"),
        (
            lambda d: d["publishes"]["availableQuantity"].update(hasNumericalValue="7.5"),
            "available",
        ),
    ):
        bad = copy.deepcopy(doc)
        mutate(bad)
        with pytest.raises(ShapeError) as err:
            as_to_gig_draft(bad)
        assert err.value.field == field


def test_remote_html_is_sanitised() -> None:
    doc = gig_to_proposal(gig(), actor("alice"), None, {}, BASE)
    doc["content"] = (
        '<p onclick="x()">Hi<script>alert(1)</script>'
        '<a href="javascript:alert(1)">x</a><a href="https://ok">ok</a></p>'
    )
    clean = as_to_gig_draft(doc).draft.description
    assert "script" not in clean and "onclick" not in clean and "javascript" not in clean
    assert 'href="https://ok"' in clean and "nofollow" in clean


def test_companion_note_links_the_proposal() -> None:
    note = gig_to_note(
        gig(),
        actor("alice"),
        actor("velo", "Group"),
        {f"{BASE}/skills/cargo-bike-courier": "Cargo-bike courier"},
        BASE,
    )
    assert note["type"] == "Note" and note["id"] == f"{BASE}/gigs/g1/note"
    link = next(t for t in note["tag"] if t["type"] == "Link")
    assert link["href"] == f"{BASE}/gigs/g1"
    assert link["rel"] == "https://w3id.org/valueflows/ont/vf#Proposal"
    assert "Reply to this post to apply" in note["content"]
    assert "18.50 EUR/hour" in note["content"]
    filled = gig_to_note(
        gig(state="filled", updated_at="2026-11-30T10:00:00Z"), actor("alice"), None, {}, BASE
    )
    assert "[filled]" in filled["content"] and filled["updated"] == "2026-11-30T10:00:00Z"


def test_offer_terms() -> None:
    terms = as_to_offer_terms(
        {
            "type": "Agreement",
            "stipulates": {
                "type": "Commitment",
                "satisfies": f"{BASE}/gigs/g1#primary",
                "resourceQuantity": {"hasUnit": "hour", "hasNumericalValue": 6},
            },
            "stipulatesReciprocal": {
                "satisfies": f"{BASE}/gigs/g1#reciprocal",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "111"},
            },
        }
    )
    assert terms.quantity == 6 and terms.amount == Decimal("111")
    with pytest.raises(ShapeError):
        as_to_offer_terms({"type": "Agreement"})
