"""Gigs, coop votes and marketplace events as a Mastodon client sees them.

Alice (admin of coop velo) posts gigs for velo; dora, a member, follows velo from her client.
A gig is a status with a card and skill tags, replying to it applies, the marketplace's events
are `mention` notifications whose status explains them, and a poll is a coop vote.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from fedcoop.accounts import accounts, coops
from fedcoop.accounts.actors import get_local_actor
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.gigs import applications, governance, offers, skills
from fedcoop.gigs.offers import GigDraft
from fedcoop.web.state import DB, URIS
from tests.component.test_mastodon_api import login
from tests.component.test_oauth import bearer
from tests.conftest import ADMIN_PASSWORD

T = TypeVar("T")
TITLE = "Cargo-bike deliveries, Saturday market"


class Market:
    """The running app's database, for the domain steps the client does not take."""

    def __init__(self, client: Any) -> None:
        self.app = client.server.app

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.app[DB].write(fn)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.app[DB].read(fn)

    async def person(self, username: str, *, member_of: str | None = None) -> None:
        uris = self.app[URIS]

        def make(conn: sqlite3.Connection) -> None:
            account = accounts.create_account(conn, uris, username, ADMIN_PASSWORD)
            if member_of:
                coop = get_local_actor(conn, member_of)
                assert coop is not None
                coops.add_role(conn, coop.id, account.actor_id, "member")

        await self.write(make)

    async def post_gig(self, poster: str = "alice", coop: str = "velo") -> offers.Gig:
        uris = self.app[URIS]

        def post(conn: sqlite3.Connection) -> offers.Gig:
            skills.ensure_shipped(conn, uris)
            author, group = get_local_actor(conn, poster), get_local_actor(conn, coop)
            assert author is not None and group is not None
            draft = GigDraft(
                purpose="request",
                title=TITLE,
                description="<p>Riders with their own cargo bike.</p>",
                unit="hour",
                price=Decimal("18.50"),
                currency="EUR",
                available=Decimal("8"),
                minimum=Decimal("2"),
                place_name="Lyon",
                skills=(skills.skill_uri(uris, "cargo-bike-courier"),),
            )
            return offers.create_gig(conn, uris, poster_id=author.id, coop_id=group.id, draft=draft)

        return await self.write(post)


@pytest.fixture
async def market(aiohttp_client: Any, settings: Settings) -> tuple[Any, Market]:
    client = await aiohttp_client(make_app(settings))
    market = Market(client)
    await market.person("dora", member_of="velo")
    return client, market


async def get_json(client: Any, path: str, token: str, **params: Any) -> Any:
    resp = await client.get(path, params=params, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def follow(client: Any, token: str, acct: str) -> None:
    found = await get_json(client, "/api/v1/accounts/lookup", token, acct=acct)
    resp = await client.post(f"/api/v1/accounts/{found['id']}/follow", headers=bearer(token))
    assert (await resp.json())["following"] is True


# gigs -----------------------------------------------------------------------------------------


async def test_a_gig_of_a_followed_coop_is_a_status_with_a_card_and_skill_tags(
    market: tuple[Any, Market],
) -> None:
    client, m = market
    dora = await login(client, "dora")
    await follow(client, dora, "velo")
    # When alice posts a gig for velo
    gig = await m.post_gig()
    # Then it is on dora's home timeline as alice's status, the companion Note's text
    home = await get_json(client, "/api/v1/timelines/home", dora)
    status = next(s for s in home if s["id"] == gig.id)
    assert status["account"]["acct"] == "alice"
    assert TITLE in status["content"] and "Reply to this post to apply" in status["content"]
    assert status["uri"] == gig.note_uri and status["url"] == gig.url
    # with a card for the gig page and its skill as a tag
    assert status["card"]["url"] == gig.url and status["card"]["title"] == TITLE
    assert status["card"]["provider_name"] == "Vélo Coop"
    assert [t["name"] for t in status["tags"]] == ["cargobikecourier"]
    # And the same status by id, on the tag timeline, and as a `status` notification
    by_id = await get_json(client, f"/api/v1/statuses/{gig.id}", dora)
    assert by_id["card"] == status["card"]
    tagged = await get_json(client, "/api/v1/timelines/tag/cargobikecourier", dora)
    assert [s["id"] for s in tagged] == [gig.id]
    notes = await get_json(client, "/api/v1/notifications", dora)
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("status", gig.id)]
    # A gig posted before the follow is not announced
    only_mentions = await get_json(client, "/api/v1/notifications", dora, **{"types[]": "mention"})
    assert only_mentions == []


async def test_replying_to_a_gig_status_applies_and_the_poster_hears_of_it(
    market: tuple[Any, Market],
) -> None:
    client, m = market
    gig = await m.post_gig()
    dora, alice = await login(client, "dora"), await login(client)
    # When dora replies to the gig's status from her client
    resp = await client.post(
        "/api/v1/statuses",
        json={"status": "I have a cargo bike, count me in", "in_reply_to_id": gig.id},
        headers=bearer(dora),
    )
    assert resp.status == 200, await resp.text()
    reply = await resp.json()
    assert reply["in_reply_to_id"] == gig.id
    assert reply["in_reply_to_account_id"] == (await get_json(
        client, "/api/v1/accounts/lookup", dora, acct="alice"))["id"]  # fmt: skip
    # Then an application without terms exists, made with that reply
    found = await m.read(lambda c: applications.applications_for_gig(c, gig.id))
    assert [(a.state, a.quantity, a.structured) for a in found] == [("pending", None, False)]
    assert found[0].reply_note_uri == reply["uri"]
    # And alice is told with a mention whose status is dora's reply
    notes = await get_json(client, "/api/v1/notifications", alice)
    assert [(n["type"], n["account"]["acct"], n["status"]["id"]) for n in notes] == [
        ("mention", "dora", reply["id"])
    ]
    # And the reply hangs under the gig in both directions
    context = await get_json(client, f"/api/v1/statuses/{reply['id']}/context", dora)
    assert [s["id"] for s in context["ancestors"]] == [gig.id]
    below = await get_json(client, f"/api/v1/statuses/{gig.id}/context", alice)
    assert [s["id"] for s in below["descendants"]] == [reply["id"]]
    assert (await get_json(client, f"/api/v1/statuses/{gig.id}", alice))["replies_count"] == 1


async def test_marketplace_events_are_mentions_that_explain_themselves(
    market: tuple[Any, Market],
) -> None:
    client, m = market
    gig = await m.post_gig()
    dora = await login(client, "dora")
    await client.post(
        "/api/v1/statuses",
        json={"status": "Me please", "in_reply_to_id": gig.id},
        headers=bearer(dora),
    )
    found = await m.read(lambda c: applications.applications_for_gig(c, gig.id))
    # When alice declines the application
    await m.write(
        lambda c: applications.reject(c, found[0].id, gig.poster_id, "Only two riders needed")
    )
    # Then dora gets a mention from alice whose status says so, linking the gig
    notes = await get_json(client, "/api/v1/notifications", dora)
    assert [(n["type"], n["account"]["acct"]) for n in notes] == [("mention", "alice")]
    event = notes[0]["status"]
    assert "declined your application" in event["content"] and TITLE in event["content"]
    assert "Only two riders needed" in event["content"]
    assert event["visibility"] == "direct" and event["in_reply_to_id"] == gig.id
    # The event status can be opened, by dora only
    shown = await get_json(client, f"/api/v1/statuses/{event['id']}", dora)
    assert shown["content"] == event["content"]
    alice = await login(client)
    other = await client.get(f"/api/v1/statuses/{event['id']}", headers=bearer(alice))
    assert other.status == 404
    # And the Mastodon types filter them as mentions
    assert await get_json(client, "/api/v1/notifications", dora, **{"types[]": "follow"}) == []
    excluded = await get_json(
        client, "/api/v1/notifications", dora, **{"exclude_types[]": "mention"}
    )
    assert excluded == []


# polls ----------------------------------------------------------------------------------------


async def test_a_poll_opens_a_coop_vote_in_which_members_vote_once(
    market: tuple[Any, Market],
) -> None:
    client, m = market
    await m.person("erin")  # not a member of velo
    alice, dora, erin = [await login(client, name) for name in ("alice", "dora", "erin")]
    # When alice posts a poll as a form, the way Rails-style clients send one
    resp = await client.post(
        "/api/v1/statuses",
        data={
            "status": "Buy a second cargo bike? @velo",
            "poll[options][]": ["Yes", "No"],
            "poll[expires_in]": "3600",
        },
        headers=bearer(alice),
    )
    assert resp.status == 200, await resp.text()
    status = await resp.json()
    poll = status["poll"]
    assert [o["title"] for o in poll["options"]] == ["Yes", "No"]
    assert poll["multiple"] is False and poll["expired"] is False
    # Then velo holds a proposal with those options, which is the poll
    proposal = await m.read(lambda c: governance.get_proposal(c, poll["id"]))
    assert proposal is not None and proposal.options == ["Yes", "No"]
    assert proposal.title.startswith("Buy a second cargo bike?")
    # And it is on dora's home timeline
    home = await get_json(client, "/api/v1/timelines/home", dora)
    assert status["id"] in [s["id"] for s in home]
    # When dora votes "Yes" with a form body
    voted = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", data={"choices[]": "0"}, headers=bearer(dora)
    )
    assert voted.status == 200, await voted.text()
    after = await voted.json()
    assert after["voted"] is True and after["own_votes"] == [0]
    assert [o["votes_count"] for o in after["options"]] == [1, 0]
    # Then a second vote of hers is refused and changes nothing
    again = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", json={"choices": [1]}, headers=bearer(dora)
    )
    assert again.status == 422
    # And someone outside the coop cannot vote
    outsider = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", json={"choices": [1]}, headers=bearer(erin)
    )
    assert outsider.status == 403
    # alice votes with JSON; the poll counts both
    await client.post(
        f"/api/v1/polls/{poll['id']}/votes", json={"choices": [1]}, headers=bearer(alice)
    )
    shown = await get_json(client, f"/api/v1/polls/{poll['id']}", alice)
    assert [o["votes_count"] for o in shown["options"]] == [1, 1] and shown["own_votes"] == [1]


async def test_polls_that_cannot_be_a_coop_vote_are_422(market: tuple[Any, Market]) -> None:
    client, m = market
    await m.person("erin")
    erin, alice = await login(client, "erin"), await login(client)
    cases = [
        (erin, {"status": "Lunch?", "poll": {"options": ["a", "b"], "expires_in": 600}}),
        (
            alice,
            {
                "status": "Both?",
                "poll": {"options": ["a", "b"], "expires_in": 600, "multiple": True},
            },
        ),
        (alice, {"status": "Short", "poll": {"options": ["a", "b"], "expires_in": 5}}),
        (alice, {"status": "Long", "poll": {"options": ["a", "b"], "expires_in": 10**12}}),
        (alice, {"status": "One", "poll": {"options": ["a"], "expires_in": 600}}),
    ]
    for token, body in cases:
        resp = await client.post("/api/v1/statuses", json=body, headers=bearer(token))
        assert resp.status == 422, body


# search ---------------------------------------------------------------------------------------


async def test_search_finds_people_gigs_and_skills_here(market: tuple[Any, Market]) -> None:
    client, m = market
    gig = await m.post_gig()
    dora = await login(client, "dora")
    # Accounts by the start of a name (local first), with v1 and v2 alike
    found = await get_json(client, "/api/v2/search", dora, q="dor", type="accounts")
    assert [a["acct"] for a in found["accounts"]] == ["dora"]
    assert found["statuses"] == [] and found["hashtags"] == []
    v1 = await get_json(client, "/api/v1/accounts/search", dora, q="@velo")
    assert [(a["acct"], a["group"]) for a in v1] == [("velo", True)]
    # A handle of this instance resolves without any network, as toot asks for it
    domain = client.server.app[URIS].domain
    resolved = await get_json(
        client, "/api/v2/search", dora, q=f"alice@{domain}", type="accounts", resolve="true"
    )
    assert [a["acct"] for a in resolved["accounts"]] == ["alice"]
    # Gigs by their words, skills as hashtags
    everything = await get_json(client, "/api/v2/search", dora, q="cargo")
    assert [s["id"] for s in everything["statuses"]] == [gig.id]
    assert [t["name"] for t in everything["hashtags"]] == ["cargobikecourier"]
    by_url = await get_json(client, "/api/v2/search", dora, q=gig.uri, type="statuses")
    assert [s["id"] for s in by_url["statuses"]] == [gig.id]
    bad = await client.get("/api/v2/search", params={"q": "x", "type": "lists"})
    assert bad.status == 422
