"""Inbox intake, the accepting side: signed activities are stored durably before 202.

A fake remote instance on loopback serves real actor documents; its actors sign with real
draft-cavage, RFC 9421 and FEP-8b32 signatures.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db.inbox_queries import (
    add_tombstone,
    count_items,
    get_item_by_activity,
)
from fedcoop.web.state import DB, URIS, WORKERS
from tests.support.fake_remote import FakeRemote, RemoteActor, deliver


@pytest.fixture
async def remote(aiohttp_server: Any) -> FakeRemote:
    return await FakeRemote.start(aiohttp_server)


@pytest.fixture
async def bob(remote: FakeRemote) -> RemoteActor:
    return remote.add_actor("bob")


async def _instance(aiohttp_client: Any, settings: Settings, *, workers: bool = False) -> Any:
    """The app under test; its background workers stopped unless asked for, so that what
    intake stored is still there to see."""
    client = await aiohttp_client(make_app(settings))
    if not workers:
        await client.server.app[WORKERS].stop()
    return client


@pytest.fixture
async def inbox(aiohttp_client: Any, settings: Settings) -> Any:
    return await _instance(aiohttp_client, settings)


async def rows(client: Any) -> int:
    return int(await client.server.app[DB].read(count_items))


async def stored(client: Any, activity_id: str) -> Any:
    return await client.server.app[DB].read(lambda c: get_item_by_activity(c, activity_id))


async def test_signed_create_is_stored_with_its_signer_before_202(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given a Create(Note) signed by bob (draft-cavage)
    activity = bob.create()
    # when it is posted to the shared inbox
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity)
    # then it is accepted, and already stored as received, with who signed it and how
    assert resp.status == 202
    item = await stored(inbox, activity["id"])
    assert item is not None
    assert (item.state, item.signer_uri, item.auth) == ("received", bob.uri, "cavage")
    assert (item.activity_type, item.object_type, item.recipient) == ("Create", "Note", None)
    assert item.activity() == activity
    # and bob's key was fetched once, from his actor document
    assert remote.requests == [("GET", "/users/bob")]


async def test_known_key_is_not_fetched_again(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    for _ in range(3):
        resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create())
        assert resp.status == 202
    assert remote.hits == 1
    assert await rows(inbox) == 3


async def test_personal_coop_and_instance_inboxes_record_their_recipient(
    inbox: Any, settings: Settings, bob: RemoteActor
) -> None:
    uris = inbox.server.app[URIS]
    cases = {
        "/users/alice/inbox": uris.person("alice"),
        "/coops/velo/inbox": uris.group("velo"),
        "/actor/inbox": uris.instance_actor(),
    }
    for path, recipient in cases.items():
        activity = bob.create()
        resp = await deliver(inbox, settings.base_url, path, bob, activity)
        assert resp.status == 202, path
        item = await stored(inbox, activity["id"])
        assert item.recipient == recipient


async def test_unknown_local_actor_inbox_is_404(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    for path in ("/users/nobody/inbox", "/coops/alice/inbox", "/users/velo/inbox"):
        resp = await deliver(inbox, settings.base_url, path, bob, bob.create())
        assert resp.status == 404, path
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_duplicate_activity_is_accepted_once(
    inbox: Any, settings: Settings, bob: RemoteActor
) -> None:
    activity = bob.create()
    first = await deliver(inbox, settings.base_url, "/inbox", bob, activity)
    again = await deliver(inbox, settings.base_url, "/users/alice/inbox", bob, activity)
    assert (first.status, again.status) == (202, 202)
    assert await rows(inbox) == 1
    # the first delivery's row stands
    assert (await stored(inbox, activity["id"])).recipient is None


async def test_create_of_a_deleted_object_is_dropped(
    inbox: Any, settings: Settings, bob: RemoteActor
) -> None:
    # given a note that was deleted (its tombstone is kept)
    note = bob.note()
    await inbox.server.app[DB].write(lambda c: add_tombstone(c, note["id"], "Note"))
    # when a (replayed) Create of it arrives
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create(note))
    # then it is answered 202 and nothing is stored
    assert resp.status == 202
    assert await rows(inbox) == 0


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/ld+json",
        "application/json; charset=utf-8",
    ],
)
async def test_accepted_content_types(
    inbox: Any, settings: Settings, bob: RemoteActor, content_type: str
) -> None:
    resp = await deliver(
        inbox, settings.base_url, "/inbox", bob, bob.create(), content_type=content_type
    )
    assert resp.status == 202


async def test_rfc9421_signature_is_accepted(
    inbox: Any, settings: Settings, bob: RemoteActor
) -> None:
    activity = bob.create()
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity, scheme="rfc9421")
    assert resp.status == 202
    assert (await stored(inbox, activity["id"])).auth == "rfc9421"


async def test_proof_without_http_signature_is_accepted(
    inbox: Any, settings: Settings, bob: RemoteActor
) -> None:
    # given an activity carrying bob's FEP-8b32 proof, posted with no HTTP signature
    activity = bob.with_proof(bob.create())
    body = json.dumps(activity).encode()
    resp = await inbox.post(
        "/inbox", data=body, headers={"Content-Type": "application/activity+json"}
    )
    # then the proof authenticates it
    assert resp.status == 202
    item = await stored(inbox, activity["id"])
    assert (item.auth, item.signer_uri) == ("proof", bob.uri)


async def test_forwarded_activity_with_the_actors_proof_is_accepted(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given carol (same instance) forwards bob's activity, which carries bob's proof
    carol = remote.add_actor("carol")
    activity = bob.with_proof(bob.create())
    resp = await deliver(inbox, settings.base_url, "/inbox", carol, activity)
    # then carol's signature does not authorise it, but bob's proof does
    assert resp.status == 202
    item = await stored(inbox, activity["id"])
    assert (item.auth, item.signer_uri) == ("proof", bob.uri)


async def test_rotated_key_is_refetched_once(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given bob's key is cached
    assert (await deliver(inbox, settings.base_url, "/inbox", bob, bob.create())).status == 202
    # when bob rotates his key and signs with the new one
    from fedcoop.activitypub.keys import generate_rsa_private_key

    bob.rsa_key = generate_rsa_private_key()
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create())
    # then the failure with the cached key leads to one refetch, and the activity is accepted
    assert resp.status == 202
    assert remote.requests == [("GET", "/users/bob"), ("GET", "/users/bob")]


async def test_busy_storage_answers_503_with_retry_after(
    aiohttp_client: Any, make_instance: Callable[..., Settings], bob: RemoteActor
) -> None:
    # given another process holds the write lock longer than the writer waits for it
    settings = make_instance(extra={"database": {"busy_timeout_ms": 50}})
    inbox = await _instance(aiohttp_client, settings)
    assert (await deliver(inbox, settings.base_url, "/inbox", bob, bob.create())).status == 202
    blocker = sqlite3.connect(settings.database_path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        # when an activity arrives
        resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create())
        # then the sender is asked to retry, and nothing pretends to be stored
        assert resp.status == 503
        assert int(resp.headers["Retry-After"]) > 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert await rows(inbox) == 1


async def test_stored_activity_wakes_the_inbox_worker(
    aiohttp_client: Any, settings: Settings, bob: RemoteActor
) -> None:
    # given the app with its background workers running (the inbox worker polls every 5 s)
    inbox = await _instance(aiohttp_client, settings, workers=True)
    alice = inbox.server.app[URIS].person("alice")
    activity = bob.create(bob.note("Hi Alice", to=[alice]))
    # when a note for alice is accepted
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity)
    assert resp.status == 202
    # then the worker applies it well before its next poll
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2.0
    item = await stored(inbox, activity["id"])
    while item.state == "received" and loop.time() < deadline:
        await asyncio.sleep(0.02)
        item = await stored(inbox, activity["id"])
    assert item.state == "processed", (item.state, item.outcome)


async def test_self_delete_of_an_actor_that_is_gone_is_dropped_with_202(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given bob's account was deleted: his actor document (and key) answers 410
    remote.put(bob.uri, None, status=410)
    delete = bob.activity("Delete", bob.uri)
    # when his server announces the deletion, signed with the key that is gone
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, delete)
    # then it is answered 202 (so that it is not retried) and nothing is stored
    assert resp.status == 202
    assert await rows(inbox) == 0
    # but an RFC 9421 request that cannot be verified is never answered 2xx
    again = bob.activity("Delete", bob.uri)
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, again, scheme="rfc9421")
    assert resp.status == 401
    # and neither is anything else that cannot be verified
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create())
    assert resp.status == 401
