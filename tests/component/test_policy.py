"""Federation policy: blocks cover subdomains, allowlist mode, and no network work for a
blocked host (PROTOCOL.md §3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from fedcoop.accounts.actors import get_actor_by_uri, get_local_actor
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.federation.context import FederationContext
from fedcoop.federation.fetcher import Fetcher
from fedcoop.federation.http_client import FederationClient, FetchError
from fedcoop.federation.policy import Policy
from fedcoop.federation_admin import block_domain
from fedcoop.web.state import FEDERATION
from tests.support.fake_peer import FakePeer, MapResolver, remote_actor, start_peer

NAMES = ("evil.test", "sub.evil.test", "notevil.test", "good.test", "a.good.test")


async def start(aiohttp_client: Any, settings: Settings) -> FederationContext:
    client = await aiohttp_client(make_app(settings))
    return client.app[FEDERATION]


@pytest.fixture
async def fed(aiohttp_client: Any, settings: Settings) -> FederationContext:
    return await start(aiohttp_client, settings)


@pytest.fixture
async def peer(aiohttp_server: Any) -> FakePeer:
    return await start_peer(aiohttp_server)


class Named:
    """A fetcher whose DNS maps test names to the fake peer on 127.0.0.1."""

    def __init__(self, fed: FederationContext, peer: FakePeer) -> None:
        self.port = peer.base.rsplit(":", 1)[1]
        self.resolver = MapResolver(dict.fromkeys(NAMES, "127.0.0.1"))
        self.http = FederationClient(fed.settings, fed.policy, resolver=self.resolver)
        self.fetcher = Fetcher(
            db=fed.db,
            uris=fed.uris,
            settings=fed.settings,
            http=self.http,
            policy=fed.policy,
            signers=fed.fetcher.signers,
        )

    def url(self, name: str, path: str) -> str:
        return f"http://{name}:{self.port}{path}"


@pytest.fixture
async def named(fed: FederationContext, peer: FakePeer) -> AsyncIterator[Named]:
    n = Named(fed, peer)
    await n.http.start()
    yield n
    await n.http.close()


def serve_named_actor(peer: FakePeer, named: Named, name: str) -> str:
    actor = remote_actor(named.url(name, ""))
    peer.document("/users/ana", actor.doc)
    return actor.id


async def test_a_blocked_domain_and_its_subdomains_get_no_request_at_all(
    fed: FederationContext, peer: FakePeer, named: Named
) -> None:
    await fed.policy.block("evil.test", "spam")
    for host in ("evil.test", "sub.evil.test"):
        actor_id = named.url(host, "/users/ana")
        for attempt in (
            named.http.get_json(actor_id),
            named.fetcher.fetch_object(actor_id),
            named.fetcher.get_actor(actor_id),
            named.fetcher.get_public_key(actor_id + "#main-key"),
            named.fetcher.refetch_key(actor_id + "#main-key"),
        ):
            with pytest.raises(FetchError) as info:
                await attempt
            assert info.value.reason == "blocked"
        assert await fed.db.read(lambda c, a=actor_id: get_actor_by_uri(c, a)) is None
    assert named.resolver.asked == []  # not even a DNS lookup
    assert peer.hits == []


async def test_a_lookalike_domain_is_not_blocked(
    fed: FederationContext, peer: FakePeer, named: Named
) -> None:
    await fed.policy.block("evil.test")
    actor_id = serve_named_actor(peer, named, "notevil.test")
    assert (await named.fetcher.get_actor(actor_id)).host == f"notevil.test:{named.port}"
    assert len(peer.hits) == 1


async def test_deliveries_to_a_blocked_host_are_refused(
    fed: FederationContext, peer: FakePeer, named: Named
) -> None:
    await fed.policy.block("EVIL.test.")  # normalised like any host
    alice = await fed.db.read(lambda c: get_local_actor(c, "alice"))
    assert alice is not None
    signer = await fed.fetcher.signers.for_actor(alice.id)
    with pytest.raises(FetchError) as info:
        await named.http.post(named.url("sub.evil.test", "/inbox"), b"{}", signer)
    assert (info.value.reason, info.value.transient) == ("blocked", False)
    assert peer.hits == []


async def test_block_rules_cover_subdomains_and_ports(fed: FederationContext) -> None:
    policy = fed.policy
    await policy.block("evil.test")
    await policy.block("127.0.0.1:8002")
    assert await policy.is_blocked("evil.test")
    assert await policy.is_blocked("deep.sub.evil.test")
    assert await policy.is_blocked("EVIL.TEST.:8443")
    assert await policy.is_blocked("xn--evil.test") is True  # junk: refused, not compared
    assert not await policy.is_blocked("notevil.test")
    assert not await policy.is_blocked("evil.test.example")
    assert await policy.is_blocked("127.0.0.1:8002")
    assert not await policy.is_blocked("127.0.0.1:8003")
    assert await policy.is_blocked("evil.test@good.test")  # unnormalisable: refused

    assert await policy.unblock("evil.test")
    assert not await policy.is_blocked("sub.evil.test")
    assert not await policy.unblock("evil.test")


async def test_allowlist_mode_allows_only_allowed_domains_and_ourselves(
    aiohttp_client: Any, make_instance: Callable[..., Settings], peer: FakePeer
) -> None:
    settings = make_instance(extra={"federation": {"mode": "allowlist"}})
    fed = await start(aiohttp_client, settings)
    policy = fed.policy
    await policy.allow("good.test")

    assert not await policy.is_blocked("good.test")
    assert not await policy.is_blocked("a.good.test")
    assert await policy.is_blocked("other.test")
    assert await policy.is_blocked("notgood.test")
    assert not await policy.is_blocked(settings.instance.domain)
    # A block inside an allowed domain still wins.
    await policy.block("bad.good.test")
    assert await policy.is_blocked("x.bad.good.test")

    n = Named(fed, peer)
    async with n.http:
        with pytest.raises(FetchError) as info:
            await n.fetcher.get_actor(n.url("notevil.test", "/users/ana"))
        assert info.value.reason == "blocked"
        actor_id = serve_named_actor(peer, n, "a.good.test")
        assert (await n.fetcher.get_actor(actor_id)).uri == actor_id
    assert len(peer.hits) == 1


async def test_a_block_made_by_the_command_line_reaches_a_running_server(
    fed: FederationContext, settings: Settings
) -> None:
    policy = Policy(fed.db, settings, ttl=0.05)
    assert not await policy.is_blocked("evil.test")  # rules now cached

    await asyncio.to_thread(block_domain, settings.data_dir, "evil.test")

    await asyncio.sleep(0.1)
    assert await policy.is_blocked("sub.evil.test")
