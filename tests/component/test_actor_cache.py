"""The actor and key cache (PROTOCOL.md §2): what is stored, when it is reused, when keys change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fedcoop.accounts.actors import get_actor_by_uri, get_local_actor
from fedcoop.activitypub.httpsig import SignatureError, parse_signature_headers, sign_request
from fedcoop.activitypub.keys import generate_rsa_private_key, public_key_to_pem
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.federation.context import FederationContext
from fedcoop.federation.fetcher import FetchBudget, Fetcher
from fedcoop.federation.http_client import FetchError
from fedcoop.social.remote_actors import (
    LocalActorConflict,
    RemoteActorRecord,
    upsert_remote_actor,
)
from fedcoop.web.state import FEDERATION
from tests.support.fake_peer import FakePeer, RemoteActor, remote_actor, serve_actor, start_peer


@pytest.fixture
async def peer(aiohttp_server: Any) -> FakePeer:
    return await start_peer(aiohttp_server)


@pytest.fixture
async def fed(aiohttp_client: Any, settings: Settings) -> FederationContext:
    client = await aiohttp_client(make_app(settings))
    return client.app[FEDERATION]


async def stored(fed: FederationContext, uri: str) -> Any:
    return await fed.db.read(lambda conn: get_actor_by_uri(conn, uri))


async def refused(coro: Any) -> str:
    with pytest.raises(FetchError) as info:
        await coro
    return info.value.reason


def rotate_key(actor: RemoteActor) -> None:
    actor.private_key = generate_rsa_private_key()
    actor.doc["publicKey"] = dict(
        actor.doc["publicKey"], publicKeyPem=public_key_to_pem(actor.private_key.public_key())
    )


def signed_get(actor: RemoteActor, host: str, path: str = "/users/alice/outbox") -> Any:
    now = datetime.now(UTC)
    headers = sign_request("GET", path, {"Host": host}, None, actor.key_id, actor.private_key, now)
    return parse_signature_headers("GET", path, headers | {"Host": host}, None), now


async def test_a_fetched_actor_is_stored_with_what_federation_needs(
    fed: FederationContext, peer: FakePeer
) -> None:
    actor = remote_actor(
        peer.base,
        "Ana",
        summary='<p>Hi <script>alert(1)</script><a href="https://x.example">x</a></p>',
        manuallyApprovesFollowers=True,
        alsoKnownAs=[peer.url("/users/old")],
        movedTo={"id": peer.url("/users/new")},
        generator={
            "type": "Application",
            "implements": [{"href": "https://w3id.org/fep/0837", "name": "Marketplace"}],
        },
    )
    serve_actor(peer, actor)

    got = await fed.fetcher.get_actor(actor.id)

    assert (got.uri, got.type, got.username, got.local) == (actor.id, "Person", "Ana", False)
    assert got.host == peer.base.removeprefix("http://")
    assert got.inbox == actor.id + "/inbox"
    assert got.shared_inbox == peer.url("/inbox")
    assert got.public_key_id == actor.key_id
    assert got.manually_approves
    assert got.implements == [{"href": "https://w3id.org/fep/0837", "name": "Marketplace"}]
    assert got.also_known_as == [peer.url("/users/old")]
    assert got.moved_to == peer.url("/users/new")
    assert "<script>" not in got.summary and "alert" not in got.summary
    # The second lookup is answered from the cache.
    assert (await fed.fetcher.get_actor(actor.id)).id == got.id
    assert len(peer.hits) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "Note"}, "bad_actor"),
        ({"inbox": None}, "bad_actor"),
        ({"preferredUsername": "a b"}, "bad_actor"),
        ({"publicKey": {"id": "K", "owner": "https://other.example/users/x"}}, "bad_actor"),
    ],
)
async def test_invalid_actor_documents_are_not_stored(
    fed: FederationContext, peer: FakePeer, change: dict[str, Any], reason: str
) -> None:
    actor = remote_actor(peer.base)
    actor.doc.update(change)
    serve_actor(peer, actor)
    assert await refused(fed.fetcher.get_actor(actor.id)) == reason
    assert await stored(fed, actor.id) is None


async def test_a_key_owned_by_someone_else_is_refused(
    fed: FederationContext, peer: FakePeer
) -> None:
    actor = remote_actor(peer.base)
    actor.doc["publicKey"]["owner"] = peer.url("/users/mallory")
    serve_actor(peer, actor)
    assert await refused(fed.fetcher.get_public_key(actor.key_id)) == "bad_actor"
    assert await stored(fed, actor.id) is None


async def test_public_key_lookup_fetches_once_then_uses_the_cache(
    fed: FederationContext, peer: FakePeer
) -> None:
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)
    owner, key = await fed.fetcher.get_public_key(actor.key_id)
    assert owner.uri == actor.id
    assert public_key_to_pem(key) == actor.doc["publicKey"]["publicKeyPem"]
    await fed.fetcher.get_public_key(actor.key_id)
    assert len(peer.hits) == 1
    assert peer.hits[0].path_qs == "/users/ana"  # the fragment is not sent


async def test_acct_key_ids_are_refused_without_a_fetch(fed: FederationContext) -> None:
    assert await refused(fed.fetcher.get_public_key("acct:ana@peer.example")) == "bad_key"


async def test_a_key_document_leads_to_its_owner(fed: FederationContext, peer: FakePeer) -> None:
    actor = remote_actor(peer.base)
    key_url = peer.url("/keys/1")
    pem = actor.doc["publicKey"]["publicKeyPem"]
    actor.doc["publicKey"] = key_url  # the actor names its key by id only
    serve_actor(peer, actor)
    peer.document("/keys/1", {"id": key_url, "owner": actor.id, "publicKeyPem": pem})

    owner, key = await fed.fetcher.get_public_key(key_url)

    assert owner.uri == actor.id
    assert public_key_to_pem(key) == pem
    assert (await stored(fed, actor.id)).public_key_id == key_url


async def test_a_key_document_whose_owner_does_not_list_it_is_refused(
    fed: FederationContext, peer: FakePeer
) -> None:
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)  # lists #main-key, not /keys/1
    stray = generate_rsa_private_key().public_key()
    key_url = peer.document(
        "/keys/1",
        {"id": peer.url("/keys/1"), "owner": actor.id, "publicKeyPem": public_key_to_pem(stray)},
    )
    assert await refused(fed.fetcher.get_public_key(key_url)) == "bad_key"
    assert await stored(fed, actor.id) is None


async def test_refreshing_an_actor_keeps_its_cached_key(
    fed: FederationContext, peer: FakePeer
) -> None:
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)
    first = await fed.fetcher.get_actor(actor.id)
    old_pem = first.public_key_pem
    rotate_key(actor)
    actor.doc["name"] = "Ana Renamed"

    refreshed = await fed.fetcher.get_actor(actor.id, refresh=True)

    assert refreshed.display_name == "Ana Renamed"
    assert refreshed.public_key_pem == old_pem


async def test_a_signed_update_from_the_actor_changes_its_key(
    fed: FederationContext, peer: FakePeer
) -> None:
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)
    await fed.fetcher.get_actor(actor.id)
    rotate_key(actor)

    with pytest.raises(FetchError) as info:
        await fed.fetcher.update_actor_from_document(actor.doc, signer_uri=peer.url("/users/eve"))
    assert info.value.reason == "id_mismatch"
    updated = await fed.fetcher.update_actor_from_document(actor.doc, signer_uri=actor.id)

    assert updated.public_key_pem == actor.doc["publicKey"]["publicKeyPem"].strip()
    assert len(peer.hits) == 1  # the Update carried the document: nothing was fetched


async def test_a_failed_verification_refetches_the_key_once_per_five_minutes(
    fed: FederationContext, peer: FakePeer, settings: Settings
) -> None:
    clock = [1000.0]
    fetcher = Fetcher(
        db=fed.db,
        uris=fed.uris,
        settings=settings,
        http=fed.http,
        policy=fed.policy,
        signers=fed.fetcher.signers,
        monotonic=lambda: clock[0],
    )
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)
    await fetcher.get_actor(actor.id)
    rotate_key(actor)  # the peer rotated its key; our cache holds the old one
    parsed, now = signed_get(actor, settings.instance.domain)

    assert (await fetcher.verify_signature(parsed, now)).uri == actor.id
    assert len(peer.hits) == 2  # the cached key failed, so it was fetched again

    rotate_key(actor)
    parsed, now = signed_get(actor, settings.instance.domain)
    clock[0] += 60
    with pytest.raises(SignatureError) as info:
        await fetcher.verify_signature(parsed, now)
    assert info.value.reason == "bad_signature"
    assert len(peer.hits) == 2  # too soon: no refetch

    clock[0] += 300
    assert (await fetcher.verify_signature(parsed, now)).uri == actor.id
    assert len(peer.hits) == 3


async def test_a_stale_signature_costs_no_key_fetch(
    fed: FederationContext, peer: FakePeer, settings: Settings
) -> None:
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)
    parsed, now = signed_get(actor, settings.instance.domain)
    with pytest.raises(SignatureError) as info:
        await fed.fetcher.verify_signature(parsed, now.replace(year=now.year + 1))
    assert info.value.reason == "expired"
    assert peer.hits == []


async def test_the_fetch_budget_caps_fetches_per_activity(
    fed: FederationContext, peer: FakePeer
) -> None:
    for n in range(3):
        serve_actor(peer, remote_actor(peer.base, f"user{n}"))
    budget = FetchBudget(limit=2)
    await fed.fetcher.get_actor(peer.url("/users/user0"), budget=budget)
    await fed.fetcher.get_actor(peer.url("/users/user1"), budget=budget)
    assert await refused(fed.fetcher.get_actor(peer.url("/users/user2"), budget=budget)) == (
        "budget_exhausted"
    )
    assert len(peer.hits) == 2


async def test_local_actors_and_keys_never_touch_the_network(
    fed: FederationContext, settings: Settings
) -> None:
    alice = await fed.db.read(lambda conn: get_local_actor(conn, "alice"))
    assert alice is not None and alice.public_key_id is not None
    assert (await fed.fetcher.get_actor(alice.uri)).id == alice.id
    owner, _ = await fed.fetcher.get_public_key(alice.public_key_id)
    assert owner.id == alice.id
    assert await refused(fed.fetcher.fetch_object(alice.uri)) == "local"


async def test_a_remote_document_cannot_claim_a_local_actor(
    fed: FederationContext, peer: FakePeer, settings: Settings
) -> None:
    alice_uri = f"{settings.base_url}/users/alice"
    actor = remote_actor(peer.base, id=alice_uri, inbox=peer.url("/steal"))
    with pytest.raises(FetchError) as info:
        await fed.fetcher.update_actor_from_document(actor.doc, signer_uri=alice_uri)
    assert info.value.reason == "local"
    # The store refuses too, should any caller get past the fetcher's host check.
    record = RemoteActorRecord(alice_uri, "Person", "alice", "x", inbox=peer.url("/steal"))
    with pytest.raises(LocalActorConflict):
        await fed.db.write(lambda c: upsert_remote_actor(c, record, keys_may_change=True))
    alice = await stored(fed, alice_uri)
    assert alice.local and alice.inbox == alice_uri + "/inbox"


async def test_two_actors_with_one_name_on_a_host_both_fit(
    fed: FederationContext, peer: FakePeer
) -> None:
    # Lemmy serves /u/x and /c/x with the same preferredUsername.
    person = remote_actor(peer.base, "x")
    group = remote_actor(peer.base, "x", id=peer.url("/c/x"), type="Group")
    group.doc["publicKey"] = dict(group.doc["publicKey"], id=peer.url("/c/x#main-key"))
    group.doc["publicKey"]["owner"] = peer.url("/c/x")
    serve_actor(peer, person)
    peer.document("/c/x", group.doc)
    first = await fed.fetcher.get_actor(person.id)
    second = await fed.fetcher.get_actor(group.id)
    assert first.username == "x"
    assert second.username.startswith("x~") and second.type == "Group"
    assert (await fed.fetcher.get_actor(group.id, refresh=True)).username == second.username
