"""Authorized fetch: with `federation.authorized_fetch` on, objects and collections need a signed
GET from a host we federate with; actors, keys and discovery stay public."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from fedcoop.activitypub.httpsig import sign_request, sign_request_rfc9421
from fedcoop.activitypub.keys import generate_rsa_private_key
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.web.state import FEDERATION
from tests.support.fake_peer import FakePeer, RemoteActor, remote_actor, serve_actor, start_peer

AS2 = {"Accept": "application/activity+json"}
COLLECTION = "/users/alice/followers"


@pytest.fixture
def locked(make_instance: Callable[..., Settings]) -> Settings:
    return make_instance(extra={"federation": {"authorized_fetch": True}})


@pytest.fixture
async def app_client(aiohttp_client: Any, locked: Settings) -> Any:
    return await aiohttp_client(make_app(locked))


@pytest.fixture
async def peer(aiohttp_server: Any) -> FakePeer:
    return await start_peer(aiohttp_server)


@pytest.fixture
def ana(peer: FakePeer) -> RemoteActor:
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)
    return actor


def signed(actor: RemoteActor, settings: Settings, path: str, **kwargs: Any) -> dict[str, str]:
    host = settings.instance.domain
    headers = {"Host": host, **AS2}
    key = kwargs.pop("key", actor.private_key)
    now = kwargs.pop("now", datetime.now(UTC))
    headers |= sign_request("GET", path, headers, None, actor.key_id, key, now, **kwargs)
    return headers


async def test_unsigned_requests_for_collections_get_401(app_client: Any) -> None:
    resp = await app_client.get(COLLECTION, headers=AS2)
    assert resp.status == 401
    assert "error" in await resp.json(content_type=None)
    # The collection answers AS2 whatever the Accept header: still refused.
    assert (await app_client.get(COLLECTION)).status == 401
    assert (await app_client.get(COLLECTION + "?page=true", headers=AS2)).status == 401


async def test_a_signed_get_is_served(
    app_client: Any, locked: Settings, ana: RemoteActor, peer: FakePeer
) -> None:
    resp = await app_client.get(COLLECTION, headers=signed(ana, locked, COLLECTION))
    assert resp.status == 200
    assert (await resp.json(content_type=None))["type"] == "OrderedCollection"
    assert "Signature" in resp.headers.getall("Vary")
    # With a query string too, and the key came from the cache the second time.
    path = COLLECTION + "?page=true"
    assert (await app_client.get(path, headers=signed(ana, locked, path))).status == 200
    assert len(peer.hits) == 1


async def test_an_rfc9421_signed_get_is_served(
    app_client: Any, locked: Settings, ana: RemoteActor
) -> None:
    headers = {"Host": locked.instance.domain, **AS2}
    headers |= sign_request_rfc9421(
        "GET",
        locked.base_url + COLLECTION,
        headers,
        None,
        ana.key_id,
        ana.private_key,
        datetime.now(UTC),
    )
    assert (await app_client.get(COLLECTION, headers=headers)).status == 200


async def test_bad_signatures_get_401(app_client: Any, locked: Settings, ana: RemoteActor) -> None:
    forged = signed(ana, locked, COLLECTION, key=generate_rsa_private_key())
    assert (await app_client.get(COLLECTION, headers=forged)).status == 401
    stale = signed(ana, locked, COLLECTION, now=datetime(2020, 1, 1, tzinfo=UTC))
    assert (await app_client.get(COLLECTION, headers=stale)).status == 401
    other_path = signed(ana, locked, "/users/alice/following")
    assert (await app_client.get(COLLECTION, headers=other_path)).status == 401


async def test_a_signer_from_a_blocked_host_gets_401_without_a_key_fetch(
    app_client: Any, locked: Settings, ana: RemoteActor, peer: FakePeer
) -> None:
    await app_client.app[FEDERATION].policy.block("127.0.0.1")
    resp = await app_client.get(COLLECTION, headers=signed(ana, locked, COLLECTION))
    assert resp.status == 401
    assert peer.hits == []


async def test_actors_keys_and_discovery_stay_public(app_client: Any, locked: Settings) -> None:
    domain = locked.instance.domain
    for path, headers in [
        ("/users/alice", AS2),
        ("/coops/velo", AS2),
        ("/actor", AS2),
        ("/@alice", AS2),
        (f"/.well-known/webfinger?resource=acct:alice@{domain}", {}),
        ("/.well-known/nodeinfo", {}),
        ("/.well-known/host-meta", {}),
        ("/nodeinfo/2.1", {}),
    ]:
        resp = await app_client.get(path, headers=headers, allow_redirects=False)
        assert resp.status == 200, path
    # The actor document carries the key peers need to verify our signatures.
    doc = await (await app_client.get("/users/alice", headers=AS2)).json(content_type=None)
    assert "publicKeyPem" in doc["publicKey"]


async def test_html_pages_stay_public(app_client: Any) -> None:
    for path in ("/", "/@alice", "/users/alice"):
        resp = await app_client.get(path, headers={"Accept": "text/html"})
        assert resp.status == 200, path
        assert resp.content_type == "text/html"


async def test_without_authorized_fetch_collections_are_public(client: Any) -> None:
    # The control: the same request on an instance with the setting off.
    assert (await client.get(COLLECTION, headers=AS2)).status == 200
