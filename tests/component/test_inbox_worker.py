"""The inbox worker: routing, outcomes, retries; and `resolve_embedded` for handlers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db.inbox_queries import NewInboxItem, StoredItem, get_item, store_items
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.registry import InboxItem, Registry, Reject
from fedcoop.federation.inbox import resolve_embedded
from fedcoop.federation.inbox_worker import InboxItemStates, InboxWorker, retry_delay
from fedcoop.web.state import DB, FEDERATION, URIS, WORKERS
from tests.support.fake_remote import FakeRemote, RemoteActor, deliver


@pytest.fixture
async def remote(aiohttp_server: Any) -> FakeRemote:
    return await FakeRemote.start(aiohttp_server)


@pytest.fixture
async def bob(remote: FakeRemote) -> RemoteActor:
    return remote.add_actor("bob")


@pytest.fixture
async def app_client(aiohttp_client: Any, settings: Settings) -> Any:
    client = await aiohttp_client(make_app(settings))
    await client.server.app[WORKERS].stop()  # the tests drive the worker themselves
    return client


@pytest.fixture
def ctx(app_client: Any) -> FederationContext:
    return app_client.server.app[FEDERATION]


async def put(ctx: FederationContext, actor: RemoteActor, activity: dict[str, Any]) -> str:
    """Store an item as intake would have (the worker's tests start after intake)."""
    obj = activity.get("object")
    item = NewInboxItem(
        activity_uri=activity["id"],
        activity_type=activity["type"],
        object_type=obj.get("type") if isinstance(obj, dict) else None,
        object_uri=obj.get("id") if isinstance(obj, dict) else obj,
        actor_uri=actor.uri,
        signer_uri=actor.uri,
        auth="cavage",
        recipient=None,
        body=json.dumps(activity),
    )
    outcome, item_id = await ctx.db.write_batched(store_items, item)
    assert outcome == "stored" and item_id is not None
    return item_id


async def item(ctx: FederationContext, item_id: str) -> StoredItem:
    found = await ctx.db.read(lambda c: get_item(c, item_id))
    assert found is not None
    return found


def test_inbox_item_states_are_declared() -> None:
    assert InboxItemStates.initial == "received"
    assert InboxItemStates.terminal() == {"processed", "ignored", "failed"}
    assert "received" in InboxItemStates.transitions["received"]


def test_retry_delay_grows_and_is_capped() -> None:
    delays = [retry_delay(n) for n in range(1, 8)]
    assert delays[0] == timedelta(seconds=10)
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(hours=1)


async def test_item_is_routed_by_activity_and_object_type(
    ctx: FederationContext, bob: RemoteActor
) -> None:
    # given a registry with one route, whose handler records what it was given
    registry = Registry()
    seen: list[InboxItem] = []

    @registry.handles("Create", "Note")
    async def on_note(_ctx: FederationContext, handled: InboxItem) -> str:
        seen.append(handled)
        return "applied: noted"

    activity = bob.create()
    item_id = await put(ctx, bob, activity)
    # when the worker runs
    done = await InboxWorker(ctx, registry=registry).run_once()
    # then the handler got the activity, and the item is processed with the handler's outcome
    assert done == 1
    assert [(i.id, i.activity, i.signer_uri, i.attempts) for i in seen] == [
        (item_id, activity, bob.uri, 1)
    ]
    stored = await item(ctx, item_id)
    assert (stored.state, stored.outcome) == ("processed", "applied: noted")
    # and nothing is left to do
    assert await InboxWorker(ctx, registry=registry).run_once() == 0


async def test_unrouted_item_is_ignored_with_its_route(
    ctx: FederationContext, bob: RemoteActor
) -> None:
    item_id = await put(ctx, bob, bob.activity("Like", "http://elsewhere.test/notes/1"))
    await InboxWorker(ctx, registry=Registry()).run_once()
    stored = await item(ctx, item_id)
    assert (stored.state, stored.outcome) == ("ignored", "no handler for ('Like', None)")


async def test_wildcard_route_catches_any_object_type(
    ctx: FederationContext, bob: RemoteActor
) -> None:
    registry = Registry()

    @registry.handles("Announce", "*")
    async def on_announce(_ctx: FederationContext, _item: InboxItem) -> str:
        return "applied: boosted"

    announce = bob.activity("Announce", {"id": "http://elsewhere.test/q/1", "type": "Question"})
    item_id = await put(ctx, bob, announce)
    await InboxWorker(ctx, registry=registry).run_once()
    assert (await item(ctx, item_id)).outcome == "applied: boosted"


async def test_rejected_item_fails_at_once(ctx: FederationContext, bob: RemoteActor) -> None:
    registry = Registry()
    calls = 0

    @registry.handles("Create", "Note")
    async def refuse(_ctx: FederationContext, _item: InboxItem) -> str:
        nonlocal calls
        calls += 1
        raise Reject("not yours")

    item_id = await put(ctx, bob, bob.create())
    worker = InboxWorker(ctx, registry=registry, now=lambda: clock.now() + timedelta(days=1))
    await worker.run_once()
    await worker.run_once()
    stored = await item(ctx, item_id)
    assert (stored.state, stored.outcome, calls) == ("failed", "rejected: not yours", 1)


async def test_failing_handler_is_retried_with_backoff_then_fails(
    ctx: FederationContext, bob: RemoteActor
) -> None:
    # given a handler that always breaks (a peer that never answers)
    registry = Registry()
    calls = 0

    @registry.handles("Create", "Note")
    async def broken(_ctx: FederationContext, _item: InboxItem) -> str:
        nonlocal calls
        calls += 1
        raise ConnectionError("peer down")

    item_id = await put(ctx, bob, bob.create())
    now = clock.now()
    worker = InboxWorker(ctx, registry=registry, max_attempts=3, now=lambda: now)
    # when it first runs, the item stays received and is scheduled for later
    await worker.run_once()
    stored = await item(ctx, item_id)
    assert (stored.state, stored.attempts) == ("received", 1)
    assert stored.last_error == "ConnectionError: peer down"
    assert clock.parse_iso(stored.next_attempt_at) >= now + retry_delay(1) - timedelta(seconds=1)
    # and it is not tried again before its time
    assert await worker.run_once() == 0
    # when time passes, it is tried again, and after the last attempt it fails for good
    for attempt in (2, 3):
        now += timedelta(hours=2)
        assert await worker.run_once() == 1
        assert (await item(ctx, item_id)).attempts == attempt
    stored = await item(ctx, item_id)
    assert stored.state == "failed"
    assert stored.outcome is not None and stored.outcome.startswith("gave up after 3")
    assert calls == 3


async def test_one_actors_items_apply_in_arrival_order(
    ctx: FederationContext, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given bob's Follow and Undo, and carol's activities, all ready at once
    carol = remote.add_actor("carol")
    registry = Registry()
    order: list[tuple[str, str]] = []

    @registry.handles("Follow", None)
    @registry.handles("Undo", None)
    async def record(_ctx: FederationContext, handled: InboxItem) -> str:
        order.append((handled.actor_uri, handled.activity_type))
        return "applied"

    target = "http://elsewhere.test/users/zoe"
    for actor in (bob, carol):
        follow = actor.activity("Follow", target)
        await put(ctx, actor, follow)
        await put(ctx, actor, actor.activity("Undo", follow["id"]))
    await InboxWorker(ctx, registry=registry).run_once()
    for actor in (bob, carol):
        mine = [kind for who, kind in order if who == actor.uri]
        assert mine == ["Follow", "Undo"]


async def test_signed_note_to_a_member_is_applied_by_the_real_handler(
    app_client: Any, settings: Settings, ctx: FederationContext, bob: RemoteActor
) -> None:
    # given bob sends alice a note through her inbox
    alice = app_client.server.app[URIS].person("alice")
    activity = bob.create(bob.note("Hi Alice", to=[alice]))
    resp = await deliver(app_client, settings.base_url, "/users/alice/inbox", bob, activity)
    assert resp.status == 202
    # when the worker runs with the real handlers
    assert await InboxWorker(ctx).run_once() == 1
    # then the note is applied
    stored = await app_client.server.app[DB].read(
        lambda c: c.execute(
            "SELECT state, outcome FROM inbox_items WHERE activity_uri = ?", (activity["id"],)
        ).fetchone()
    )
    assert stored["state"] == "processed"
    assert stored["outcome"].startswith("applied")


# resolve_embedded ------------------------------------------------------------------------------
async def test_embedded_object_by_the_actor_is_taken_as_sent(
    ctx: FederationContext, remote: FakeRemote, bob: RemoteActor
) -> None:
    activity = bob.create()
    assert await resolve_embedded(ctx, activity) == activity["object"]
    assert remote.hits == 0


async def test_someone_elses_object_is_fetched_from_its_origin(
    ctx: FederationContext, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given bob announces carol's note, embedding a version carol never wrote
    carol = remote.add_actor("carol")
    original = carol.note("the real text")
    remote.put(original["id"], original)
    forged = original | {"content": "<p>forged</p>"}
    # when a handler resolves it
    resolved = await resolve_embedded(ctx, bob.activity("Announce", forged))
    # then it gets the note as its origin serves it
    assert resolved == original
    assert ("GET", "/notes/" + original["id"].rsplit("/", 1)[1]) in remote.requests


async def test_bare_object_id_is_fetched(
    ctx: FederationContext, remote: FakeRemote, bob: RemoteActor
) -> None:
    carol = remote.add_actor("carol")
    original = carol.note()
    remote.put(original["id"], original)
    assert await resolve_embedded(ctx, bob.activity("Announce", original["id"])) == original


@pytest.mark.parametrize("served", ["missing", "other_id", "other_host_author"])
async def test_object_its_origin_does_not_vouch_for_is_dropped(
    ctx: FederationContext, remote: FakeRemote, bob: RemoteActor, served: str
) -> None:
    carol = remote.add_actor("carol")
    note = carol.note()
    if served == "missing":
        remote.put(note["id"], None, status=404)
    elif served == "other_id":
        remote.put(note["id"], note | {"id": remote.url("/notes/another")})
    else:
        remote.put(note["id"], note | {"attributedTo": "http://elsewhere.test/users/eve"})
    assert await resolve_embedded(ctx, bob.activity("Announce", note)) is None


async def test_object_on_our_own_host_is_never_fetched(
    ctx: FederationContext, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    ours = {"id": f"{settings.base_url}/notes/1", "type": "Note", "attributedTo": bob.uri}
    assert await resolve_embedded(ctx, bob.activity("Announce", ours)) is None
    assert remote.hits == 0
