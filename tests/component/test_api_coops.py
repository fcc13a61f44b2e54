"""The cooperatives API (`/api/fedcoop/v1/coops…`, `/proposals…`, `/memberships`): joining,
answering requests, proposals, votes, decisions and federation actions, with bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.accounts import accounts
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.gigs import decisions
from fedcoop.uris import Uris
from fedcoop.web.openapi import document
from fedcoop.web.state import DB
from tests.support.tokens import bearer, issue_token

API = "/api/fedcoop/v1"


class Api:
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
        return body


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
    return Api(await aiohttp_client(make_app(settings)), tokens)


async def test_reading_a_coop_needs_a_token(api: Api) -> None:
    await api.refused("GET", None, "/coops/velo", 401)
    coop = await api.ok("GET", "bob", "/coops/velo")
    assert (coop["name"], coop["admission"], coop["members_count"]) == ("velo", "approval", 1)
    assert coop["fee_rate"] == "0"
    await api.refused("GET", "bob", "/coops/nope", 404)


async def test_join_by_approval_and_answers_only_from_admins(api: Api) -> None:
    joined = await api.ok("POST", "bob", "/coops/velo/join")
    assert joined["decided"] == "waiting for an admin"
    assert joined["membership"]["state"] == "pending"
    # a reader token cannot act; carol is not an admin
    await api.refused("POST", "bob_reader", "/coops/velo/join", 403)
    await api.refused("GET", "carol", "/coops/velo/requests", 403)
    (request,) = await api.ok("GET", "alice", "/coops/velo/requests")
    await api.refused("POST", "carol", f"/coops/velo/requests/{request['id']}/admit", 403)
    admitted = await api.ok("POST", "alice", f"/coops/velo/requests/{request['id']}/admit")
    assert admitted["state"] == "active"
    members = await api.ok("GET", "carol", "/coops/velo/members")
    assert sorted((m["actor"]["username"], m["role"]) for m in members) == [
        ("alice", "admin"),
        ("bob", "member"),
    ]
    mine = await api.ok("GET", "bob", "/memberships")
    assert [(m["coop"]["username"], m["state"], m["verified"]) for m in mine] == [
        ("velo", "active", True)
    ]


async def test_proposal_votes_and_decision(api: Api) -> None:
    (await api.ok("POST", "bob", "/coops/velo/join"))
    (request,) = await api.ok("GET", "alice", "/coops/velo/requests")
    await api.ok("POST", "alice", f"/coops/velo/requests/{request['id']}/admit")
    # carol is no member: she cannot propose
    body = {"kind": "fee", "title": "Fee to 3%", "rate": "3%", "days": 1, "threshold": "simple"}
    await api.refused("POST", "carol", "/coops/velo/proposals", 403, json=body)
    bad = await api.refused(
        "POST", "bob", "/coops/velo/proposals", 422, json={**body, "rate": "300%"}
    )
    assert bad["field"] == "rate"
    made = await api.ok("POST", "bob", "/coops/velo/proposals", 201, json=body)
    assert (made["kind"], made["options"], made["electorate"]) == ("fee", ["Yes", "No"], 2)
    votes = f"/proposals/{made['id']}/votes"
    assert (await api.ok("POST", "alice", votes, json={"option": "Yes"}))["counted"]
    second = await api.ok("POST", "alice", votes, json={"option": "No"})
    assert second == {"counted": False, "reason": "already voted"}
    outsider = await api.ok("POST", "carol", votes, json={"option": "No"})
    assert not outsider["counted"]
    shown = await api.ok("GET", "alice", f"/proposals/{made['id']}")
    assert (shown["tally"], shown["my_vote"], shown["can_vote"]) == (
        {"Yes": 1, "No": 0},
        "Yes",
        False,
    )
    # the vote closes: adopted with 1 of 2 (quorum 50%), and the fee changes
    later = clock.now() + timedelta(days=2)
    await api.client.server.app[DB].write(lambda c: decisions.close_due(c, later))
    (entry,) = await api.ok("GET", "carol", "/coops/velo/decisions")
    assert (entry["outcome"], entry["turnout"], entry["effect"]) == (
        "adopted",
        50,
        "fee rate set to 0.03",
    )
    assert (await api.ok("GET", "carol", "/coops/velo"))["fee_rate"] == "0.03"


async def test_federation_decisions_are_applied_by_an_admin(api: Api) -> None:
    body = {
        "kind": "federate",
        "title": "Federate with friends.example",
        "domain": "friends.example",
    }
    made = await api.ok("POST", "alice", "/coops/velo/proposals", 201, json=body)
    await api.ok("POST", "alice", f"/proposals/{made['id']}/votes", json={"option": "Yes"})
    later = clock.now() + timedelta(days=8)
    await api.client.server.app[DB].write(lambda c: decisions.close_due(c, later))
    (action,) = await api.ok("GET", "alice", "/coops/velo/policy-actions")
    assert (action["domain"], action["policy"], action["state"]) == (
        "friends.example",
        "allow",
        "pending",
    )
    applied = await api.ok("POST", "alice", f"/coops/velo/policy-actions/{action['id']}/apply")
    assert applied["state"] == "applied"
    await api.refused("POST", "alice", f"/coops/velo/policy-actions/{action['id']}/dismiss", 409)


def test_every_coop_route_is_described_in_the_openapi_document(settings: Settings) -> None:
    app = make_app(settings)
    described = document("https://x.example")["paths"]
    for resource in app.router.resources():
        path = resource.canonical
        if not path.startswith(API) or (
            "coops" not in path and not path.startswith((API + "/proposals", API + "/memberships"))
        ):
            continue
        relative = path.removeprefix(API)
        assert relative in described, f"{path} is not in the OpenAPI document"
        for route in resource:
            if route.method != "HEAD":
                assert route.method.lower() in described[relative], f"{route.method} {path}"
