"""The outbox: events become stored activities and one delivery row per distinct inbox.

Renderers are the test ones of tests/support/fake_inboxes.py (`note.created` with the
audience spelled out in the payload), registered in a fresh registry given to the worker.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from fedcoop.activitypub.keys import generate_rsa_private_key, public_key_to_pem
from fedcoop.config import Settings
from fedcoop.federation.outbox import MAX_ATTEMPTS
from tests.support.fake_inboxes import Sender

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FEP_MARKET = "https://w3id.org/fep/0837"
AS2 = {"Accept": "application/activity+json"}


@pytest.fixture
async def sender(aiohttp_client: Any, settings: Settings) -> AsyncIterator[Sender]:
    s = await Sender.start(aiohttp_client, settings)
    yield s
    await s.close()


async def deliveries(sender: Sender) -> list[tuple[str, str]]:
    """(inbox, activity type / object type) of every delivery row."""
    rows = await sender.rows(
        "SELECT deliveries.inbox, activities.body FROM deliveries "
        "JOIN activities ON activities.id = deliveries.activity_id ORDER BY deliveries.inbox"
    )
    return [(r[0], json.loads(r[1])["object"]["type"]) for r in rows]


async def event_row(sender: Sender, event_id: str) -> Any:
    (row,) = await sender.rows("SELECT * FROM events WHERE id = ?", event_id)
    return row


async def test_followers_sharing_an_inbox_get_one_delivery(sender: Sender) -> None:
    # given three followers on one host with a shared inbox, two on a host without one
    for name in ("a", "b", "c"):
        await sender.add_remote(
            f"https://one.example/users/{name}", shared_inbox="https://one.example/inbox"
        )
    for name in ("d", "e"):
        await sender.add_remote(f"https://two.example/users/{name}")
    # when alice posts and the outbox runs
    event_id = await sender.emit(text="hello")
    assert await sender.outbox().run_once() == 1
    # then one activity is stored and there are three deliveries, all queued
    (activity,) = await sender.rows("SELECT * FROM activities")
    assert activity["uri"] == sender.ctx.uris.object("activities", event_id)
    assert activity["type"] == "Create" and activity["public"] == 1
    assert activity["event_id"] == event_id and activity["actor_id"] == sender.alice_id
    assert json.loads(activity["body"])["object"]["content"] == "hello"
    assert [inbox for inbox, _ in await deliveries(sender)] == [
        "https://one.example/inbox",
        "https://two.example/users/d/inbox",
        "https://two.example/users/e/inbox",
    ]
    rows = await sender.rows("SELECT host, state FROM deliveries ORDER BY inbox")
    assert [tuple(r) for r in rows] == [
        ("one.example", "queued"),
        ("two.example", "queued"),
        ("two.example", "queued"),
    ]
    assert (await event_row(sender, event_id))["state"] == "published"
    # and a second run finds nothing to do
    assert await sender.outbox().run_once() == 0


async def test_local_actors_and_our_own_host_are_skipped(sender: Sender) -> None:
    # given a local follower (the coop), a stale remote row whose inbox is on our host,
    # and an explicit local recipient
    own = sender.ctx.uris
    await sender.execute(
        "INSERT INTO follows (id, follower_id, followee_id, state, created_at) "
        "SELECT 'F1', id, ?, 'accepted', '2026-01-01' FROM actors WHERE username = 'velo'",
        sender.alice_id,
    )
    await sender.add_remote("https://elsewhere.example/users/x", shared_inbox=own.shared_inbox())
    await sender.add_remote("https://far.example/users/y")
    # when alice posts to her followers and to the coop by name
    await sender.emit(to=[own.group("velo")])
    await sender.outbox().run_once()
    # then only the truly remote follower gets a delivery
    assert [inbox for inbox, _ in await deliveries(sender)] == ["https://far.example/users/y/inbox"]


async def test_blocked_domains_get_no_delivery(sender: Sender) -> None:
    await sender.add_remote("https://bad.example/users/troll")
    await sender.add_remote("https://sub.bad.example/users/troll2")
    await sender.add_remote("https://good.example/users/friend")
    await sender.ctx.policy.block("bad.example")
    await sender.emit()
    await sender.outbox().run_once()
    assert [i for i, _ in await deliveries(sender)] == ["https://good.example/users/friend/inbox"]


async def test_dual_rendering_follows_what_each_recipient_implements(sender: Sender) -> None:
    # given one follower whose server implements the marketplace FEP and one whose does not
    await sender.add_remote("https://market.example/users/m", implements=(FEP_MARKET,))
    await sender.add_remote("https://plain.example/users/p")
    # when a Proposal that requires the FEP is published with a Note fallback
    await sender.emit(type="Proposal", requires=[FEP_MARKET], fallback=True)
    await sender.outbox().run_once()
    # then each gets the rendering it understands; only the full one is listed publicly
    assert await deliveries(sender) == [
        ("https://market.example/users/m/inbox", "Proposal"),
        ("https://plain.example/users/p/inbox", "Note"),
    ]
    rows = await sender.rows("SELECT uri, public FROM activities ORDER BY id")
    assert [r["public"] for r in rows] == [1, 0]
    assert rows[1]["uri"] == rows[0]["uri"] + "/note"


async def test_without_a_fallback_only_capable_recipients_get_it(sender: Sender) -> None:
    await sender.add_remote("https://market.example/users/m", implements=(FEP_MARKET,))
    await sender.add_remote("https://plain.example/users/p")
    await sender.emit(type="Proposal", requires=[FEP_MARKET])
    await sender.outbox().run_once()
    assert await deliveries(sender) == [("https://market.example/users/m/inbox", "Proposal")]
    assert len(await sender.rows("SELECT * FROM activities")) == 1


async def test_an_unknown_recipient_is_fetched_before_the_write(
    sender: Sender, aiohttp_server: Any
) -> None:
    # given a remote actor this instance has never seen, served by its own server
    app = sender.inboxes().app()
    documents: dict[str, dict[str, Any]] = {}
    app.router.add_get("/{tail:.*}", serve_documents(documents))
    server = await aiohttp_server(app, host="127.0.0.1")
    carol = f"http://127.0.0.1:{server.port}/users/carol"
    documents["/users/carol"] = actor_document(carol)
    # when alice addresses her by name only
    await sender.emit(to=[carol], followers=False)
    await sender.outbox().run_once()
    # then the actor is now stored and her inbox has a delivery
    (actor,) = await sender.rows("SELECT inbox, local FROM actors WHERE uri = ?", carol)
    assert (actor["inbox"], actor["local"]) == (f"{carol}/inbox", 0)
    assert [i for i, _ in await deliveries(sender)] == [f"{carol}/inbox"]


async def test_an_unreachable_recipient_delays_the_event_then_is_left_out(sender: Sender) -> None:
    # given a follower, and an explicit recipient whose server does not answer
    await sender.add_remote("https://far.example/users/y")
    gone = "http://127.0.0.1:9/users/nobody"
    event_id = await sender.emit(to=[gone])
    # when the outbox runs: the event waits for the recipient, a few times
    for attempt in range(1, MAX_ATTEMPTS):
        await sender.outbox().run_once()
        row = await event_row(sender, event_id)
        assert (row["state"], row["attempts"]) == ("pending", attempt)
        assert gone in row["last_error"]
        assert await deliveries(sender) == []
        sender.clock.advance(hours=1)
    # then on the last attempt it is published without them
    await sender.outbox().run_once()
    row = await event_row(sender, event_id)
    assert row["state"] == "published" and gone in row["last_error"]
    assert [i for i, _ in await deliveries(sender)] == ["https://far.example/users/y/inbox"]


async def test_a_failing_renderer_is_retried_then_the_event_fails(sender: Sender) -> None:
    await sender.add_remote("https://far.example/users/y")
    event_id = await sender.emit("note.updated")
    for _ in range(MAX_ATTEMPTS):
        assert await sender.outbox().run_once() == 1
        sender.clock.advance(hours=1)
    row = await event_row(sender, event_id)
    assert (row["state"], row["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert "renderer bug" in row["last_error"]
    assert await sender.rows("SELECT * FROM activities") == []
    assert await sender.outbox().run_once() == 0


async def test_published_activities_are_served_at_their_ids(sender: Sender) -> None:
    await sender.add_remote("https://plain.example/users/p")
    event_id = await sender.emit(text="public words")
    hidden_id = await sender.emit(text="quiet words", public=False)
    await sender.outbox().run_once()
    client = sender.client
    resp = await client.get(f"/activities/{event_id}", headers=AS2)
    assert resp.status == 200
    assert resp.content_type == "application/activity+json"
    doc = await resp.json(content_type=None)
    assert doc["id"] == sender.ctx.uris.object("activities", event_id)
    assert doc["object"]["content"] == "public words"
    for missing in (hidden_id, "01NOSUCHACTIVITY000000000"):
        resp = await client.get(f"/activities/{missing}", headers=AS2)
        assert resp.status == 404


async def test_the_outbox_collection_lists_public_activities_newest_first(
    sender: Sender,
) -> None:
    # given 45 public posts and one unlisted one
    for n in range(45):
        await sender.emit(text=f"post {n}")
    await sender.emit(text="unlisted", public=False)
    while await sender.outbox().run_once():
        pass
    client = sender.client
    # when the outbox collection is read
    resp = await client.get("/users/alice/outbox", headers=AS2)
    collection = await resp.json(content_type=None)
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 45
    assert collection["first"] == sender.ctx.uris.person("alice") + "/outbox?page=true"
    resp = await client.get("/users/alice/outbox?page=true", headers=AS2)
    page = await resp.json(content_type=None)
    # then pages hold the posts newest first, and `next` continues where the page ended
    texts = [item["object"]["content"] for item in page["orderedItems"]]
    assert texts == [f"post {n}" for n in range(44, 4, -1)]
    next_path = page["next"].split(sender.ctx.uris.base, 1)[1]
    rest = await (await client.get(next_path, headers=AS2)).json(content_type=None)
    assert [i["object"]["content"] for i in rest["orderedItems"]] == [
        f"post {n}" for n in range(4, -1, -1)
    ]
    assert "next" not in rest


def actor_document(uri: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri,
        "type": "Person",
        "preferredUsername": uri.rsplit("/", 1)[1],
        "inbox": f"{uri}/inbox",
        "publicKey": {
            "id": f"{uri}#main-key",
            "owner": uri,
            "publicKeyPem": public_key_to_pem(generate_rsa_private_key().public_key()),
        },
    }


def serve_documents(documents: dict[str, dict[str, Any]]) -> Handler:
    async def get(request: web.Request) -> web.Response:
        doc = documents.get(request.path)
        if doc is None:
            return web.Response(status=404)
        return web.json_response(doc, content_type="application/activity+json")

    return get
