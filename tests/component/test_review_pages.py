"""Reviews as members meet them: the form on a completed agreement, the profile's reputation,
answers and reports, the native API, and the AS2 documents other servers read."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

import pytest

from fedcoop.accounts.actors import get_local_actor
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.gigs import agreements, applications, offers, review_answers, reviews
from fedcoop.gigs.offers import GigDraft
from fedcoop.web.state import DB, URIS
from tests.component.test_gig_pages import PASSWORDS, add_members, sign_in_as, submit, text_of
from tests.component.test_oauth import bearer, password_token, register

AS2 = {"Accept": "application/activity+json"}
API = "/api/fedcoop/v1"


@pytest.fixture
async def site(aiohttp_client: Any, settings: Settings) -> Any:
    add_members(settings, "bob", "carol")
    return await aiohttp_client(make_app(settings))


async def completed(site: Any) -> agreements.Agreement:
    """alice posted, bob worked, both sides recorded: a completed agreement."""
    db, uris = site.server.app[DB], site.server.app[URIS]

    def drive(conn: sqlite3.Connection) -> agreements.Agreement:
        alice, bob = get_local_actor(conn, "alice"), get_local_actor(conn, "bob")
        assert alice and bob
        gig = offers.create_gig(
            conn,
            uris,
            poster_id=alice.id,
            coop_id=None,
            draft=GigDraft(
                purpose="request",
                title="Deliveries",
                description="",
                unit="hour",
                price=Decimal("18"),
                currency="EUR",
                available=Decimal("8"),
                minimum=Decimal("2"),
            ),
        )
        app = applications.apply(conn, uris, gig_id=gig.id, worker_id=bob.id, quantity=Decimal("2"))
        made = agreements.accept(conn, uris, app.id, alice.id).agreement
        assert made is not None
        agreements.record_completion(conn, uris, made.id, bob.id)
        return agreements.record_payment(conn, uris, made.id, alice.id)

    return await db.write(drive)


async def token_for(site: Any, username: str) -> str:
    app = await register(site, scopes="read write")
    body = await password_token(
        site, app, username=username, password=PASSWORDS[username], scope="read write"
    )
    return str(body["access_token"])


async def actor_id(site: Any, username: str) -> str:
    found = await site.server.app[DB].read(lambda c: get_local_actor(c, username))
    return str(found.id)


async def test_review_form_api_profile_and_documents(site: Any) -> None:
    agreement = await completed(site)
    form_path = f"/agreements/{agreement.id}/review"

    # bob reviews alice with the form: sealed, and said so
    await sign_in_as(site, "bob")
    page = await text_of(site, form_path)
    assert "Pay fairness" in page and "Quality" not in page
    resp = await submit(
        site,
        form_path,
        form_path,
        {"rating": "5", "criteria.pay_fairness": "4", "criteria.clarity": "", "text": "Fair"},
    )
    assert resp.status == 303, await resp.text()
    assert "sealed" in await text_of(site, form_path)
    (sealed,) = await site.server.app[DB].read(
        lambda c: reviews.reviews_of_agreement(c, agreement.uri)
    )
    assert (await site.get(f"/reviews/{sealed.id}", headers=AS2)).status == 404

    # alice reviews bob through the API; a bad rating is a 422 naming the field
    token = await token_for(site, "alice")
    url = f"{API}/agreements/{agreement.id}/review"
    bad = await site.post(url, json={"rating": 9}, headers=bearer(token))
    assert bad.status == 422 and (await bad.json())["field"] == "rating"
    assert (await site.post(url, json={"rating": 4})).status == 401
    made = await site.post(
        url, json={"rating": 4, "text": "Quick", "criteria": {"quality": 5}}, headers=bearer(token)
    )
    assert made.status == 201, await made.text()
    body = await made.json()
    # both are in: both published
    assert (
        body["state"] == "published" and body["document"]["proof"]["type"] == "DataIntegrityProof"
    )
    twice = await site.post(url, json={"rating": 1}, headers=bearer(token))
    assert twice.status == 409

    # the reputation, in the API, the profile and bob's actor document
    bob_id = await actor_id(site, "bob")
    rep = await (await site.get(f"{API}/actors/{bob_id}/reputation")).json()
    assert rep["reputation"]["count"] == 1 and rep["reputation"]["criteria"]["quality"]["mean"] == 5
    listed = await (await site.get(f"{API}/reviews", params={"subject": bob_id})).json()
    assert [r["rating"] for r in listed] == [4]
    profile = await text_of(site, "/@bob")
    assert "Reputation" in profile and "Quick" in profile and "verified" in profile
    bob_doc = await (await site.get("/users/bob", headers=AS2)).json()
    assert bob_doc["reputation"]["count"] == 1 and bob_doc["reviews"].endswith("/users/bob/reviews")

    # the reviews collection lists the signed Note
    collection = await (await site.get("/users/bob/reviews", headers=AS2)).json()
    assert collection["totalItems"] == 1
    first = collection["first"].split("/users/", 1)[1]
    page_doc = await (await site.get(f"/users/{first}", headers=AS2)).json()
    assert page_doc["orderedItems"][0]["id"] == body["uri"]
    assert page_doc["orderedItems"][0]["proof"] == body["document"]["proof"]
    review_id = body["id"]
    assert (await (await site.get(f"/reviews/{review_id}", headers=AS2)).json()) == body["document"]

    # bob answers alice's review of him in public; carol reports it
    answer = await submit(
        site,
        f"/reviews/{review_id}",
        f"/reviews/{review_id}/reply",
        {"text": "Thanks, the bridge was closed"},
    )
    assert answer.status == 303
    await sign_in_as(site, "carol")
    page = await text_of(site, f"/reviews/{review_id}")
    assert "the bridge was closed" in page and "Answer in public" not in page
    report = await submit(
        site, f"/reviews/{review_id}", f"/reviews/{review_id}/report", {"reason": "not fair"}
    )
    assert report.status == 303
    found = await site.server.app[DB].read(review_answers.open_reports)
    assert [r.reason for r in found] == ["not fair"]

    # the public facts of the reviewed agreement: parties and status, no terms
    facts = await (await site.get(f"/agreements/{agreement.id}/facts", headers=AS2)).json()
    assert facts["preview"]["name"] == "Completed" and "stipulatesReciprocal" not in facts
    assert facts["context"] == agreement.uri


async def test_aliases_through_the_api(site: Any) -> None:
    token = await token_for(site, "carol")
    bob_uri = (await (await site.get("/users/bob", headers=AS2)).json())["id"]
    resp = await site.put(
        f"{API}/account/also_known_as", json={"also_known_as": [bob_uri]}, headers=bearer(token)
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["also_known_as"] == [bob_uri]
    carol_doc = await (await site.get("/users/carol", headers=AS2)).json()
    assert carol_doc["alsoKnownAs"] == [bob_uri]
    bad = await site.put(
        f"{API}/account/also_known_as",
        json={"also_known_as": ["javascript:x"]},
        headers=bearer(token),
    )
    assert bad.status == 422
