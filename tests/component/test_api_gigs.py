"""The native marketplace API (`/api/fedcoop/v1/`) as a dispatch app or a shop uses it: bearer
tokens with scopes, JSON and form bodies, 422 naming the field, exact amounts as strings,
paging with a Link header, and one agreement when two acceptances race for the last slot.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from fedcoop.accounts import accounts
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.uris import Uris
from tests.support.tokens import bearer, issue_token

API = "/api/fedcoop/v1"
GIG = {
    "title": "Deliver bread rounds, Vieux Lyon",
    "description": "Early rounds before the shops open.",
    "unit": "hour",
    "price": "18.50",
    "currency": "EUR",
    "available": "8",
    "minimum": "2",
    "place_name": "Vieux Lyon",
    "latitude": 45.762,
    "longitude": 4.827,
    "starts_at": "2030-06-01T05:00:00Z",
    "ends_at": "2030-06-01T09:00:00Z",
}


class Api:
    """A client plus one token per member: `await api.post("alice", "/gigs", json=...)`."""

    def __init__(self, client: Any, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    async def call(self, method: str, who: str | None, path: str, **kw: Any) -> Any:
        headers = bearer(self.tokens[who]) if who else {}
        return await self.client.request(method, API + path, headers=headers, **kw)

    async def ok(self, method: str, who: str, path: str, status: int = 200, **kw: Any) -> Any:
        resp = await self.call(method, who, path, **kw)
        body = await resp.json()
        assert resp.status == status, body
        return body

    async def refused(self, method: str, who: str | None, path: str, status: int, **kw: Any) -> Any:
        resp = await self.call(method, who, path, **kw)
        body = await resp.json()
        assert resp.status == status, body
        assert body["error"]
        return body

    async def gig(self, who: str = "alice", **over: Any) -> dict[str, Any]:
        return dict(await self.ok("POST", who, "/gigs", 201, json={**GIG, **over}))


@pytest.fixture
async def api(aiohttp_client: Any, settings: Settings) -> Api:
    uris = Uris(settings.instance.scheme, settings.instance.domain)
    Database(settings.database_path).write_sync(
        lambda conn: [
            accounts.create_account(conn, uris, name, f"password-{name}-1")
            for name in ("bob", "carol")
        ]
    )
    tokens = {name: issue_token(settings, name) for name in ("alice", "bob", "carol")}
    tokens["bob_reader"] = issue_token(settings, "bob", "read:gigs")
    tokens["bob_broad"] = issue_token(settings, "bob", "read write")
    tokens["app"] = issue_token(settings, None, "read:gigs write:gigs")
    return Api(await aiohttp_client(make_app(settings)), tokens)


# authorisation -----------------------------------------------------------------------------


async def test_tokens_and_scopes_are_required(api: Api) -> None:
    # no token: 401 with the RFC 6750 challenge
    resp = await api.call("GET", None, "/gigs")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await api.client.get(API + "/gigs", headers=bearer("nonsense"))).status == 401
    # a read-only token cannot write; `read`/`write` cover read:gigs/write:gigs
    await api.refused("POST", "bob_reader", "/gigs", 403, json=GIG)
    assert (await api.gig("bob_broad"))["poster"]["username"] == "bob"
    # an app's own token reads the public board but cannot act as a member
    assert len(await api.ok("GET", "app", "/gigs")) == 1
    await api.refused("POST", "app", "/gigs", 422, json=GIG)
    await api.refused("GET", "app", "/applications", 422)


# gigs --------------------------------------------------------------------------------------


async def test_post_a_gig_with_json_or_a_form(api: Api, settings: Settings) -> None:
    gig = await api.gig()
    assert isinstance(gig["id"], str) and gig["uri"].endswith("/gigs/" + gig["id"])
    assert (gig["price"], gig["available"], gig["remaining"], gig["minimum"]) == (
        "18.5",
        "8",
        "8",
        "2",
    )
    assert gig["description"] == "<p>Early rounds before the shops open.</p>"
    assert gig["place"] == {"name": "Vieux Lyon", "latitude": 45.762, "longitude": 4.827}
    assert gig["state"] == "open" and gig["poster"]["handle"].startswith("alice@")
    # a form body with the skill named by its slug
    form = {**GIG, "latitude": "45.762", "longitude": "4.827", "skills": "bike-courier"}
    gig = await api.ok("POST", "alice", "/gigs", 201, data=form)
    assert [s["label"] for s in gig["skills"]] == ["Bike courier"]
    fetched = await api.ok("GET", "bob", f"/gigs/{gig['id']}")
    assert fetched == gig


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"price": "cheap"}, "price"),
        ({"price": -3}, "price"),
        ({"available": "7.5"}, "available"),
        ({"minimum": "10"}, "minimum"),
        ({"currency": "XXX"}, "currency"),
        ({"unit": "week"}, "unit"),
        ({"ends_at": "2030-06-01T04:00:00Z"}, "ends_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"latitude": 95}, "latitude"),
        ({"place_name": "", "remote": False}, "place_name"),
        ({"skills": ["https://elsewhere.example/skills/juggling"]}, "skills"),
        ({"skills": "not-a-skill"}, "skills"),
        ({"coop_id": "01JDZZZZZZZZZZZZZZZZZZZZZZ"}, "coop_id"),
        ({"visibility": "secret"}, "visibility"),
        ({"unit_based": "maybe"}, "unit_based"),
    ],
)
async def test_refused_gigs_name_the_field_and_leave_nothing(
    api: Api, change: dict[str, Any], field: str
) -> None:
    body = await api.refused("POST", "alice", "/gigs", 422, json={**GIG, **change})
    assert body["field"] == field
    assert await api.ok("GET", "alice", "/gigs") == []


async def test_the_board_filters_and_pages_with_a_link_header(api: Api) -> None:
    ids = [(await api.gig(title=f"Round {n}"))["id"] for n in range(3)]
    await api.gig(
        title="Website for a bakery",
        description="A small shop site.",
        remote=True,
        place_name="",
        price="40",
    )
    first = await api.call("GET", "bob", "/gigs?limit=2&words=round")
    page = await first.json()
    assert [g["id"] for g in page] == [ids[2], ids[1]]  # newest first
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"')
    next_url = re.match(r"<([^>]+)>", link)
    assert next_url and "max_id=" + ids[1] in next_url.group(1)
    next_path = "/" + next_url.group(1).split("//", 1)[1].split("/", 1)[1]
    second = await api.client.get(next_path, headers=bearer(api.tokens["bob"]))
    assert [g["id"] for g in await second.json()] == [ids[0]]
    assert "Link" not in second.headers
    remote = await api.ok("GET", "bob", "/gigs?remote_only=true")
    assert [g["title"] for g in remote] == ["Website for a bakery"]
    paid = await api.ok("GET", "bob", "/gigs?min_hourly=20&currency=EUR")
    assert [g["title"] for g in paid] == ["Website for a bakery"]
    for query, field in [("sort=best", "sort"), ("limit=0", "limit"), ("near_lat=45", "near_lat")]:
        assert (await api.refused("GET", "bob", f"/gigs?{query}", 422))["field"] == field


async def test_patch_changes_only_what_is_sent_and_delete_withdraws(api: Api) -> None:
    gig = await api.gig()
    patched = await api.ok("PATCH", "alice", f"/gigs/{gig['id']}", json={"title": "Bread, Sunday"})
    assert patched["title"] == "Bread, Sunday"
    assert {k: patched[k] for k in ("price", "description", "place", "starts_at")} == {
        k: gig[k] for k in ("price", "description", "place", "starts_at")
    }
    closed = await api.ok("PATCH", "alice", f"/gigs/{gig['id']}", data={"state": "closed"})
    assert closed["state"] == "closed"
    await api.refused("PATCH", "bob", f"/gigs/{gig['id']}", 403, json={"title": "Mine now"})
    body = await api.refused("PATCH", "alice", f"/gigs/{gig['id']}", 422, json={"state": "gone"})
    assert body["field"] == "state"
    withdrawn = await api.ok("DELETE", "alice", f"/gigs/{gig['id']}")
    assert withdrawn["state"] == "withdrawn"
    await api.refused("GET", "alice", f"/gigs/{gig['id']}", 404)
    await api.refused("GET", "alice", "/gigs/not-an-id", 404)


# applications and agreements ---------------------------------------------------------------


async def test_apply_checks_whole_units_minimum_capacity_and_who(api: Api) -> None:
    gig = await api.gig()
    path = f"/gigs/{gig['id']}/applications"
    body = await api.refused("POST", "bob", path, 422, json={"quantity": "2.5"})
    assert body["field"] == "quantity" and "whole number of hours" in body["error"]
    assert (await api.refused("POST", "bob", path, 422, json={"quantity": 1}))[
        "field"
    ] == "quantity"
    assert (await api.refused("POST", "bob", path, 422, json={}))["field"] == "quantity"
    await api.refused("POST", "bob", path, 409, json={"quantity": "12"})
    await api.refused("POST", "alice", path, 403, json={"quantity": "2"})
    assert await api.ok("GET", "bob", "/applications") == []
    # numbers are read through their decimal text
    application = await api.ok("POST", "bob", path, 201, json={"quantity": 4, "cover_note": "Hi"})
    assert (application["quantity"], application["amount"]) == ("4", "74")
    assert application["state"] == "pending" and application["gig"]["id"] == gig["id"]
    await api.refused("POST", "bob", path, 409, json={"quantity": "2"})  # one pending each


async def test_the_whole_lifecycle_through_the_api(api: Api) -> None:
    gig = await api.gig()
    path = f"/gigs/{gig['id']}/applications"
    bob_app = await api.ok("POST", "bob", path, 201, data={"quantity": "2"})
    carol_app = await api.ok("POST", "carol", path, 201, json={"quantity": "4"})
    # the poster sees both, the workers only their own
    assert len(await api.ok("GET", "alice", path)) == 2
    await api.refused("GET", "bob", path, 403)
    assert [a["id"] for a in await api.ok("GET", "bob", "/applications")] == [bob_app["id"]]
    received = await api.ok("GET", "alice", "/applications?role=poster")
    assert [a["id"] for a in received] == [carol_app["id"], bob_app["id"]]
    await api.refused("GET", "carol", f"/applications/{bob_app['id']}", 404)

    # accept bob, decline carol with a reason
    agreement = await api.ok("POST", "alice", f"/applications/{bob_app['id']}/accept")
    assert (agreement["quantity"], agreement["amount"], agreement["currency"]) == ("2", "37", "EUR")
    assert agreement["state"] == "active" and agreement["worker"]["username"] == "bob"
    declined = await api.ok(
        "POST", "alice", f"/applications/{carol_app['id']}/reject", json={"reason": "Full"}
    )
    assert (declined["state"], declined["reason"]) == ("rejected", "Full")
    await api.refused("POST", "alice", f"/applications/{carol_app['id']}/accept", 409)
    assert (await api.ok("GET", "bob", f"/applications/{bob_app['id']}"))["agreement_id"] == (
        agreement["id"]
    )

    # the agreement belongs to its two parties only
    apath = f"/agreements/{agreement['id']}"
    assert (await api.ok("GET", "bob", apath))["amount"] == "37"
    await api.refused("GET", "carol", apath, 404)
    assert [a["id"] for a in await api.ok("GET", "alice", "/agreements")] == [agreement["id"]]
    # the poster cannot record the worker's completion, nor the worker the payment
    await api.refused("POST", "alice", apath + "/completion", 403)
    await api.refused("POST", "bob", apath + "/payment", 403)
    assert (await api.ok("POST", "bob", apath + "/completion"))["state"] == "delivered"
    done = await api.ok("POST", "alice", apath + "/payment")
    assert done["state"] == "completed" and done["paid"] and done["receipt_uri"]
    # terms are frozen once an application was accepted
    await api.refused("PATCH", "alice", f"/gigs/{gig['id']}", 409, json={"price": "10"})

    # bob was told at each step
    kinds = [n["type"] for n in await api.ok("GET", "bob", "/notifications")]
    assert kinds[:2] == ["agreement_payment", "application_accepted"]
    accepted = (await api.ok("GET", "bob", "/notifications"))[1]
    assert accepted["url"].endswith(apath) and accepted["from"]["username"] == "alice"
    assert "application" in [n["type"] for n in await api.ok("GET", "alice", "/notifications")]


async def test_withdraw_cancel_and_dispute(api: Api) -> None:
    gig = await api.gig(available="8", minimum="2")
    path = f"/gigs/{gig['id']}/applications"
    first = await api.ok("POST", "bob", path, 201, json={"quantity": "2"})
    await api.refused("POST", "carol", f"/applications/{first['id']}/withdraw", 404)
    assert (await api.ok("POST", "bob", f"/applications/{first['id']}/withdraw"))["state"] == (
        "withdrawn"
    )
    second = await api.ok("POST", "bob", path, 201, json={"quantity": "8"})
    agreement = await api.ok("POST", "alice", f"/applications/{second['id']}/accept")
    assert (await api.ok("GET", "alice", f"/gigs/{gig['id']}"))["state"] == "filled"
    apath = f"/agreements/{agreement['id']}"
    assert (await api.ok("POST", "bob", apath + "/dispute"))["state"] == "disputed"
    assert (await api.ok("POST", "alice", apath + "/cancel"))["state"] == "cancelled"
    # cancelling gave the capacity back
    reopened = await api.ok("GET", "alice", f"/gigs/{gig['id']}")
    assert (reopened["state"], reopened["remaining"]) == ("open", "8")


async def test_two_concurrent_acceptances_of_the_last_slot_give_one_agreement(api: Api) -> None:
    # Given a gig with room for one application, and two applications for all of it
    gig = await api.gig(available="4", minimum="4")
    path = f"/gigs/{gig['id']}/applications"
    a1 = await api.ok("POST", "bob", path, 201, json={"quantity": "4"})
    a2 = await api.ok("POST", "carol", path, 201, json={"quantity": "4"})
    # When the poster's app accepts both at the same moment
    responses = await asyncio.gather(
        api.call("POST", "alice", f"/applications/{a1['id']}/accept"),
        api.call("POST", "alice", f"/applications/{a2['id']}/accept"),
    )
    # Then one gets the agreement and the other 409, and that application is rejected
    assert sorted(r.status for r in responses) == [200, 409]
    refused = next(r for r in responses if r.status == 409)
    assert "capacity" in (await refused.json())["error"]
    states = sorted(a["state"] for a in await api.ok("GET", "alice", path))
    assert states == ["accepted", "rejected"]
    assert len(await api.ok("GET", "alice", "/agreements")) == 1


# skills ------------------------------------------------------------------------------------


async def test_skills_are_listed_and_admins_add_more(api: Api, settings: Settings) -> None:
    shipped = await api.ok("GET", "app", "/skills")
    assert {"slug": "translation", "label": "Translation"}.items() <= next(
        s for s in shipped if s["slug"] == "translation"
    ).items()
    added = await api.ok(
        "POST", "alice", "/skills", 201, json={"slug": "sign-language", "label": "Sign language"}
    )
    assert added["uri"] == f"http://{settings.instance.domain}/skills/sign-language"
    await api.refused("POST", "bob", "/skills", 403, json={"slug": "welding", "label": "Welding"})
    await api.refused("POST", "alice", "/skills", 409, json={"slug": "sign-language", "label": "x"})
    body = await api.refused(
        "POST", "alice", "/skills", 422, data={"slug": "Bad Slug", "label": "x"}
    )
    assert body["field"] == "slug"
    # and a gig can name the new skill
    gig = await api.gig(skills=[added["uri"]])
    assert gig["skills"] == [{"uri": added["uri"], "label": "Sign language"}]
