"""Outgoing requests and fetched documents obey PROTOCOL.md §4 (and §2 for signed requests).

Each refusal is checked together with its consequence: the fake remote counts its hits, so a
refused request is shown never to have reached the network, and the database is shown to hold
no actor from a refused document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from fedcoop.accounts.actors import get_actor_by_uri, get_instance_actor, get_local_actor
from fedcoop.activitypub.digest import verify_digest_header
from fedcoop.activitypub.httpsig import SignatureError, parse_signature_headers, verify_parsed
from fedcoop.activitypub.keys import PublicKey, load_public_key_pem
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.federation.context import FederationContext
from fedcoop.federation.http_client import FederationClient, FetchError, redirect_target
from fedcoop.web.state import FEDERATION
from tests.support.fake_peer import (
    AP,
    FakePeer,
    MapResolver,
    remote_actor,
    self_signed_tls,
    serve_actor,
    start_peer,
)

LD_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
async def peer(aiohttp_server: Any) -> FakePeer:
    return await start_peer(aiohttp_server)


async def start(aiohttp_client: Any, settings: Settings) -> FederationContext:
    client = await aiohttp_client(make_app(settings))
    return client.app[FEDERATION]


@pytest.fixture
async def fed(aiohttp_client: Any, settings: Settings) -> FederationContext:
    return await start(aiohttp_client, settings)


def note(url: str, **extra: Any) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": url, "type": "Note", **extra}


async def stored(fed: FederationContext, uri: str) -> Any:
    return await fed.db.read(lambda conn: get_actor_by_uri(conn, uri))


async def refused(coro: Any) -> str:
    with pytest.raises(FetchError) as info:
        await coro
    return info.value.reason


# addresses -------------------------------------------------------------------------------------
async def test_loopback_is_refused_without_allow_private_network(
    aiohttp_client: Any, make_instance: Callable[..., Settings], peer: FakePeer
) -> None:
    fed = await start(aiohttp_client, make_instance(allow_private_network=False))
    url = peer.document("/notes/1", note(peer.url("/notes/1")))
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)

    assert await refused(fed.http.get_json(url)) == "forbidden_address"
    # A name resolving to loopback is refused at connect time, by the connector's resolver.
    by_name = url.replace("127.0.0.1", "localhost")
    assert await refused(fed.http.get_json(by_name)) == "forbidden_address"
    assert await refused(fed.fetcher.get_actor(actor.id)) == "forbidden_address"

    assert peer.hits == []
    assert await stored(fed, actor.id) is None


async def test_loopback_is_fetched_when_allowed(fed: FederationContext, peer: FakePeer) -> None:
    # The control for the test above: the same request goes through on a local federation.
    url = peer.document("/notes/1", note(peer.url("/notes/1")))
    final, doc = await fed.http.get_json(url)
    assert (final, doc["id"]) == (url, url)
    assert len(peer.hits) == 1


async def test_dns_rebinding_to_loopback_is_refused_at_connect_time(
    make_instance: Callable[..., Settings], peer: FakePeer, aiohttp_client: Any
) -> None:
    settings = make_instance(allow_private_network=False)
    fed = await start(aiohttp_client, settings)
    peer.document("/notes/1", note("x"))
    port = peer.base.rsplit(":", 1)[1]
    # A public-looking name that (now) resolves to 127.0.0.1: only the resolver can tell.
    names = MapResolver({"rebind.example": "127.0.0.1"})
    async with FederationClient(settings, fed.policy, resolver=names) as http:
        reason = await refused(http.get_json(f"http://rebind.example:{port}/notes/1"))
    assert reason == "forbidden_address"
    assert names.asked == ["rebind.example"]
    assert peer.hits == []


async def test_user_info_and_shorthand_hosts_are_refused_before_connecting(
    fed: FederationContext, peer: FakePeer
) -> None:
    peer.document("/notes/1", note("x"))
    port = peer.base.rsplit(":", 1)[1]
    for url in (
        f"http://evil.example@127.0.0.1:{port}/notes/1",
        f"http://127.1:{port}/notes/1",
        f"http://127.0.0.1:{port}\\@evil.example/notes/1",
        f"http://127.0.0.1:{port}/notes/1 x",
        "ftp://127.0.0.1/notes/1",
    ):
        assert await refused(fed.http.get_json(url)) == "bad_url", url
    assert peer.hits == []


# redirects -------------------------------------------------------------------------------------
async def test_redirect_to_another_origin_is_not_followed(
    fed: FederationContext, peer: FakePeer, aiohttp_server: Any
) -> None:
    other = await start_peer(aiohttp_server)
    target = other.document("/notes/1", note(other.url("/notes/1")))
    peer.redirect("/notes/1", target)

    assert await refused(fed.fetcher.fetch_object(peer.url("/notes/1"))) == (
        "cross_origin_redirect"
    )
    assert peer.hits_on("/notes/1") == 1
    assert other.hits == []


async def test_a_redirected_object_must_carry_the_id_it_was_asked_by(
    fed: FederationContext, peer: FakePeer
) -> None:
    # Same origin, but the document at the end names itself differently from what we asked.
    peer.redirect("/notes/1", peer.url("/notes/2"))
    peer.document("/notes/2", note(peer.url("/notes/2")))
    assert await refused(fed.fetcher.fetch_object(peer.url("/notes/1"))) == "id_mismatch"


def chain(peer: FakePeer, redirects: int) -> str:
    for n in range(redirects):
        peer.redirect(f"/r{n}", peer.url(f"/r{n + 1}"))
    return peer.document(f"/r{redirects}", note(peer.url(f"/r{redirects}")))


async def test_five_redirects_are_followed(fed: FederationContext, peer: FakePeer) -> None:
    end = chain(peer, 5)
    final, doc = await fed.http.get_json(peer.url("/r0"))
    assert final == end == doc["id"]
    assert len(peer.hits) == 6


async def test_a_sixth_redirect_is_refused_and_not_followed(
    fed: FederationContext, peer: FakePeer
) -> None:
    chain(peer, 6)
    assert await refused(fed.http.get_json(peer.url("/r0"))) == "too_many_redirects"
    assert len(peer.hits) == 6
    assert peer.hits_on("/r6") == 0


def test_redirect_targets_refuse_https_to_http() -> None:
    assert redirect_target("https://a.example/x", "/y") == "https://a.example/y"
    assert redirect_target("https://a.example/x", "https://b.example/y#f") == "https://b.example/y"
    assert redirect_target("http://a.example/x", "https://a.example/x") == "https://a.example/x"
    with pytest.raises(FetchError) as info:
        redirect_target("https://a.example/x", "http://a.example/x")
    assert info.value.reason == "downgrade"


async def test_https_to_http_downgrade_is_refused(
    aiohttp_client: Any, aiohttp_server: Any, make_instance: Callable[..., Settings]
) -> None:
    server_tls, client_tls = self_signed_tls()
    secure = await start_peer(aiohttp_server, ssl=server_tls)
    plain = await start_peer(aiohttp_server)
    settings = make_instance(http=False)  # an https instance (loopback still allowed)
    fed = await start(aiohttp_client, settings)
    secure.document("/notes/ok", note(secure.url("/notes/ok")))
    plain_url = plain.document("/notes/1", note(plain.url("/notes/1")))
    secure.redirect("/notes/1", plain_url)

    async with FederationClient(settings, fed.policy, ssl_context=client_tls) as http:
        final, _ = await http.get_json(secure.url("/notes/ok"))  # https itself works
        assert final.startswith("https://")
        assert await refused(http.get_json(secure.url("/notes/1"))) == "downgrade"
        # And plain http is refused outright on an https instance.
        assert await refused(http.get_json(plain_url)) == "bad_scheme"
    assert plain.hits == []


# content ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/html", "application/ld+json", "text/plain"],
)
async def test_wrong_content_type_is_not_an_activitypub_document(
    fed: FederationContext, peer: FakePeer, content_type: str
) -> None:
    actor = remote_actor(peer.base)
    peer.document("/users/ana", actor.doc, content_type=content_type)
    assert await refused(fed.fetcher.get_actor(actor.id)) == "bad_content_type"
    assert await stored(fed, actor.id) is None


async def test_ld_json_with_the_activitystreams_profile_is_accepted(
    fed: FederationContext, peer: FakePeer
) -> None:
    actor = remote_actor(peer.base)
    peer.document("/users/ana", actor.doc, content_type=LD_AS)
    assert (await fed.fetcher.get_actor(actor.id)).uri == actor.id


async def test_a_body_over_the_limit_is_cut_off_and_refused(
    fed: FederationContext, peer: FakePeer
) -> None:
    actor = remote_actor(peer.base)
    padding = "x" * (64 * 1024)
    written = {"bytes": 0, "finished": False}

    async def endless(request: web.Request) -> web.StreamResponse:
        # No Content-Length: the limit must be enforced while reading, not from a header.
        resp = web.StreamResponse(headers={"Content-Type": AP})
        await resp.prepare(request)
        body = dict(actor.doc, padding=[padding] * 1024)  # ~64 MiB
        data = (str(body).replace("'", '"')).encode()
        for start in range(0, len(data), 64 * 1024):
            await resp.write(data[start : start + 64 * 1024])
            written["bytes"] = start
        written["finished"] = True
        return resp

    peer.routes["/users/ana"] = endless
    assert await refused(fed.fetcher.get_actor(actor.id)) == "too_large"
    assert not written["finished"]
    assert await stored(fed, actor.id) is None


async def test_a_declared_length_over_the_limit_is_refused_unread(
    fed: FederationContext, peer: FakePeer
) -> None:
    big = b"{" + b" " * (1024 * 1024 + 10) + b"}"

    async def declared(request: web.Request) -> web.StreamResponse:
        return web.Response(body=big, content_type=AP)

    peer.routes["/notes/big"] = declared
    assert await refused(fed.http.get_json(peer.url("/notes/big"))) == "too_large"


async def test_a_document_whose_id_is_not_its_url_is_refused(
    fed: FederationContext, peer: FakePeer, aiohttp_server: Any
) -> None:
    peer.document("/notes/1", note(peer.url("/notes/2")))
    assert await refused(fed.fetcher.fetch_object(peer.url("/notes/1"))) == "id_mismatch"
    # An actor document served by one origin claiming an id on another.
    other = await start_peer(aiohttp_server)
    impostor = remote_actor(other.base)
    peer.document("/users/ana", impostor.doc)
    assert await refused(fed.fetcher.get_actor(peer.url("/users/ana"))) == "id_mismatch"
    assert await stored(fed, impostor.id) is None
    assert other.hits == []


@pytest.mark.parametrize("keyword", ["@graph", "@included", "@reverse"])
async def test_json_ld_keywords_are_refused(
    fed: FederationContext, peer: FakePeer, keyword: str
) -> None:
    actor = remote_actor(peer.base, **{keyword: [{"id": peer.url("/users/other")}]})
    serve_actor(peer, actor)
    assert await refused(fed.fetcher.get_actor(actor.id)) == "jsonld_keyword"
    assert await stored(fed, actor.id) is None
    nested = note(peer.url("/notes/1"), tag=[{"type": "Mention", keyword: {}}])
    peer.document("/notes/1", nested)
    assert await refused(fed.fetcher.fetch_object(peer.url("/notes/1"))) == "jsonld_keyword"


async def test_errors_and_non_json_are_classified(fed: FederationContext, peer: FakePeer) -> None:
    async def gone(request: web.Request) -> web.StreamResponse:
        return web.Response(status=410)

    async def garbage(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"<html>", content_type=AP)

    async def array(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"[1, 2]", content_type=AP)

    peer.routes |= {"/gone": gone, "/garbage": garbage, "/array": array}
    with pytest.raises(FetchError) as info:
        await fed.http.get_json(peer.url("/gone"))
    assert (info.value.reason, info.value.status, info.value.transient) == ("http_410", 410, False)
    assert await refused(fed.http.get_json(peer.url("/garbage"))) == "not_json"
    assert await refused(fed.http.get_json(peer.url("/array"))) == "not_json"


async def test_a_slow_peer_times_out(fed: FederationContext, peer: FakePeer) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.json_response({}, content_type=AP)

    peer.routes["/slow"] = slow
    async with FederationClient(fed.settings, fed.policy, total_timeout=0.3) as http:
        with pytest.raises(FetchError) as info:
            await http.get_json(peer.url("/slow"))
    assert (info.value.reason, info.value.transient) == ("timeout", True)


# signed requests -------------------------------------------------------------------------------
async def instance_key(fed: FederationContext) -> PublicKey:
    actor = await fed.db.read(get_instance_actor)
    assert actor is not None and actor.public_key_pem is not None
    return load_public_key_pem(actor.public_key_pem)


async def test_get_with_query_retried_once_over_the_path_alone(
    fed: FederationContext, peer: FakePeer
) -> None:
    key = await instance_key(fed)
    verified: list[bool] = []

    async def fedify_like(request: web.Request) -> web.StreamResponse:
        # Fedify verifies (request-target) without the query string.
        try:
            parsed = parse_signature_headers("GET", request.path, request.headers, None)
            verify_parsed(parsed, key, datetime.now(UTC))
        except SignatureError:
            verified.append(False)
            return web.Response(status=401)
        verified.append(True)
        return web.json_response(note(peer.url(request.path_qs)), content_type=AP)

    peer.routes["/outbox"] = fedify_like
    signer = await fed.fetcher.signers.instance()
    url = peer.url("/outbox?page=true")
    final, doc = await fed.http.get_json(url, sign_as=signer)

    assert doc["id"] == final == url
    assert verified == [False, True]
    assert [hit.path_qs for hit in peer.hits] == ["/outbox?page=true"] * 2
    assert all(signer.key_id in hit.headers["Signature"] for hit in peer.hits)


async def test_a_401_without_a_query_is_not_retried(fed: FederationContext, peer: FakePeer) -> None:
    async def locked(request: web.Request) -> web.StreamResponse:
        return web.Response(status=401)

    peer.routes["/private"] = locked
    signer = await fed.fetcher.signers.instance()
    assert await refused(fed.http.get_json(peer.url("/private"), sign_as=signer)) == "http_401"
    assert await refused(fed.http.get_json(peer.url("/private?x=1"))) == "http_401"  # unsigned
    assert len(peer.hits) == 2


async def test_fetches_are_signed_by_the_instance_actor(
    fed: FederationContext, peer: FakePeer
) -> None:
    key = await instance_key(fed)
    actor = remote_actor(peer.base)
    serve_actor(peer, actor)
    await fed.fetcher.get_actor(actor.id)
    [hit] = peer.hits
    parsed = parse_signature_headers("GET", hit.path_qs, hit.headers, None)
    verify_parsed(parsed, key, datetime.now(UTC))
    assert parsed.covered == ("(request-target)", "host", "date")
    assert hit.headers["Accept"].startswith("application/activity+json")
    assert hit.headers["User-Agent"].startswith("fedcoop/")


# deliveries ------------------------------------------------------------------------------------
async def test_post_is_signed_afresh_each_attempt_with_a_digest(
    fed: FederationContext, peer: FakePeer
) -> None:
    alice = await fed.db.read(lambda conn: get_local_actor(conn, "alice"))
    assert alice is not None and alice.public_key_pem is not None
    key = load_public_key_pem(alice.public_key_pem)
    bodies: list[bytes] = []

    async def inbox(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        bodies.append(body)
        parsed = parse_signature_headers("POST", request.path_qs, request.headers, body)
        verify_parsed(parsed, key, parsed.created)
        verify_digest_header(body, request.headers["Digest"])
        assert request.content_type == AP
        return web.Response(status=202)

    peer.routes["/inbox"] = inbox
    times = iter([datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, 0, 5, tzinfo=UTC)])
    signer = await fed.fetcher.signers.for_actor(alice.id)
    async with FederationClient(fed.settings, fed.policy, now=lambda: next(times)) as http:
        first = await http.post(peer.url("/inbox"), b'{"type":"Follow"}', signer)
        second = await http.post(peer.url("/inbox"), b'{"type":"Follow"}', signer)

    assert (first.status, first.ok, first.error) == (202, True, None)
    assert second.ok
    dates = [hit.headers["Date"] for hit in peer.hits]
    assert dates == ["Tue, 01 Jan 2030 00:00:00 GMT", "Tue, 01 Jan 2030 00:05:00 GMT"]
    assert peer.hits[0].headers["Signature"] != peer.hits[1].headers["Signature"]
    assert 'headers="(request-target) host date digest"' in peer.hits[0].headers["Signature"]


async def test_post_reports_status_and_retry_after(fed: FederationContext, peer: FakePeer) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    later = "Tue, 01 Jan 2030 00:10:00 GMT"

    def answer(status: int, retry_after: str) -> Any:
        async def respond(request: web.Request) -> web.StreamResponse:
            return web.Response(
                status=status, text="slow down", headers={"Retry-After": retry_after}
            )

        return respond

    peer.routes |= {"/busy": answer(429, "120"), "/down": answer(503, later)}
    peer.redirect("/moved", peer.url("/elsewhere"))
    alice = await fed.db.read(lambda conn: get_local_actor(conn, "alice"))
    assert alice is not None
    signer = await fed.fetcher.signers.for_actor(alice.id)
    async with FederationClient(fed.settings, fed.policy, now=lambda: now) as http:
        busy = await http.post(peer.url("/busy"), b"{}", signer)
        down = await http.post(peer.url("/down"), b"{}", signer)
        moved = await http.post(peer.url("/moved"), b"{}", signer)

    assert (busy.status, busy.retry_after, busy.ok) == (429, 120.0, False)
    assert busy.error is not None and "slow down" in busy.error
    assert down.retry_after == timedelta(minutes=10).total_seconds()
    assert moved.status == 302  # deliveries never follow redirects
    assert peer.hits_on("/elsewhere") == 0


async def test_post_to_a_refused_address_raises_without_connecting(
    aiohttp_client: Any, make_instance: Callable[..., Settings], peer: FakePeer
) -> None:
    fed = await start(aiohttp_client, make_instance(allow_private_network=False))
    alice = await fed.db.read(lambda conn: get_local_actor(conn, "alice"))
    assert alice is not None
    signer = await fed.fetcher.signers.for_actor(alice.id)
    with pytest.raises(FetchError) as info:
        await fed.http.post(peer.url("/inbox"), b"{}", signer)
    assert (info.value.reason, info.value.transient) == ("forbidden_address", False)
    assert peer.hits == []
