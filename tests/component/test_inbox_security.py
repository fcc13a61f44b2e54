"""Inbox intake, the refusing side: every rule of PROTOCOL.md sections 2 and 3.

Each test asserts the status, that no inbox item was stored, and how many requests fedcoop made
to the fake remote (none, for everything that must be refused before any network work).
"""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import timedelta
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.activitypub.digest import make_digest_header
from fedcoop.activitypub.httpsig_cavage import sign_request
from fedcoop.activitypub.httpsig_rfc9421 import sign_request_rfc9421
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db.inbox_queries import count_items
from fedcoop.web.state import DB, FEDERATION, WORKERS
from tests.support.fake_remote import FakeRemote, RemoteActor, deliver

AS2 = "application/activity+json"


@pytest.fixture
async def remote(aiohttp_server: Any) -> FakeRemote:
    return await FakeRemote.start(aiohttp_server)


@pytest.fixture
async def bob(remote: FakeRemote) -> RemoteActor:
    return remote.add_actor("bob")


@pytest.fixture
async def inbox(aiohttp_client: Any, settings: Settings) -> Any:
    client = await aiohttp_client(make_app(settings))
    await client.server.app[WORKERS].stop()  # what intake stored stays there to count
    return client


async def rows(client: Any) -> int:
    return int(await client.server.app[DB].read(count_items))


async def refused(resp: Any, status: int, reason: str) -> None:
    assert resp.status == status
    assert reason in await resp.text()


# signatures (PROTOCOL.md section 2) --------------------------------------------------------------
async def test_unsigned_is_401(inbox: Any, remote: FakeRemote, bob: RemoteActor) -> None:
    body = json.dumps(bob.create()).encode()
    resp = await inbox.post("/inbox", data=body, headers={"Content-Type": AS2})
    await refused(resp, 401, "unsigned")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_wrong_digest_is_401_before_any_fetch(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given a correctly signed request whose body was changed on the way
    body, headers = bob.sign_post(bob.create(), settings.base_url + "/inbox")
    tampered = body.replace(b"Hello", b"Jello")
    resp = await inbox.post("/inbox", data=tampered, headers=headers)
    await refused(resp, 401, "bad_digest")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_digest_not_covered_by_the_signature_is_401(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given a POST signed over (request-target) host date only, with a Digest added unsigned
    body = json.dumps(bob.create()).encode()
    headers = {"Host": settings.instance.domain, "Content-Type": AS2}
    headers |= sign_request("POST", "/inbox", headers, None, bob.key_id, bob.rsa_key, clock.now())
    headers["Digest"] = make_digest_header(body)
    resp = await inbox.post("/inbox", data=body, headers=headers)
    await refused(resp, 401, "headers_not_covered")
    assert await rows(inbox) == 0
    assert remote.hits == 0


@pytest.mark.parametrize(("shift", "reason"), [(-2, "expired"), (2, "future")])
async def test_date_two_hours_off_is_401_before_any_fetch(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor, shift: int, reason: str
) -> None:
    moment = clock.now() + timedelta(hours=shift)
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create(), now=moment)
    await refused(resp, 401, reason)
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_passed_expires_is_401(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given an RFC 9421 signature made 10 minutes ago that expired a minute ago
    now = clock.now()
    body = json.dumps(bob.create()).encode()
    headers = {"Host": settings.instance.domain, "Content-Type": AS2}
    headers |= sign_request_rfc9421(
        "POST",
        settings.base_url + "/inbox",
        headers,
        body,
        bob.key_id,
        bob.rsa_key,
        now - timedelta(minutes=10),
        expires=now - timedelta(minutes=1),
    )
    resp = await inbox.post("/inbox", data=body, headers=headers)
    await refused(resp, 401, "expired")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_signer_who_is_not_the_actor_is_401(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given carol, on bob's own instance, signs an activity that claims bob as its actor
    carol = remote.add_actor("carol")
    resp = await deliver(inbox, settings.base_url, "/inbox", carol, bob.create())
    await refused(resp, 401, "signer_mismatch")
    assert await rows(inbox) == 0


async def test_key_on_another_host_than_the_actor_is_401_without_fetch(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    activity = bob.create()
    key_id = "http://elsewhere.test/users/bob#main-key"
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity, key_id=key_id)
    await refused(resp, 401, "signer_mismatch")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_acct_key_id_is_401_without_fetch(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    key_id = f"acct:bob@{remote.host}"
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create(), key_id=key_id)
    await refused(resp, 401, "acct_keyid")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_rfc9421_that_does_not_verify_is_401_never_2xx(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given an RFC 9421 signature made with a key that is not the one bob publishes
    impostor = remote.add_actor("impostor")
    body = json.dumps(bob.create()).encode()
    headers = {"Host": settings.instance.domain, "Content-Type": AS2}
    headers |= sign_request_rfc9421(
        "POST",
        settings.base_url + "/inbox",
        headers,
        body,
        bob.key_id,
        impostor.rsa_key,
        clock.now(),
    )
    resp = await inbox.post("/inbox", data=body, headers=headers)
    # then it is 401 (so that Fedify falls back to draft-cavage), even with a refetched key
    await refused(resp, 401, "bad_signature")
    assert await rows(inbox) == 0


async def test_rfc9421_over_another_target_uri_is_401(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given a signature over the URI fedcoop would have if it ignored its configured domain
    body = json.dumps(bob.create()).encode()
    headers = {"Host": settings.instance.domain, "Content-Type": AS2}
    headers |= sign_request_rfc9421(
        "POST", "https://other.test/inbox", headers, body, bob.key_id, bob.rsa_key, clock.now()
    )
    resp = await inbox.post("/inbox", data=body, headers=headers)
    await refused(resp, 401, "bad_signature")
    assert await rows(inbox) == 0


async def test_cavage_signature_over_the_path_without_query_is_accepted(
    inbox: Any, settings: Settings, bob: RemoteActor
) -> None:
    # given Fedify's way: (request-target) signed without the query string
    path = "/inbox?x=1"
    resp = await deliver(inbox, settings.base_url, path, bob, bob.create(), sign_query=False)
    assert resp.status == 202
    # and Mastodon's way, with the query, is accepted as well
    resp = await deliver(inbox, settings.base_url, path, bob, bob.create())
    assert resp.status == 202
    assert await rows(inbox) == 2


async def test_tampered_proof_is_401(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given a proof-carrying activity whose note was changed after signing
    activity = bob.with_proof(bob.create())
    activity["object"]["content"] = "<p>Something else</p>"
    resp = await inbox.post(
        "/inbox", data=json.dumps(activity).encode(), headers={"Content-Type": AS2}
    )
    await refused(resp, 401, "bad_proof")
    assert await rows(inbox) == 0


async def test_proof_by_another_actor_is_401(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given carol's valid proof on an activity that claims bob as its actor
    carol = remote.add_actor("carol")
    activity = carol.with_proof(bob.create())
    resp = await inbox.post(
        "/inbox", data=json.dumps(activity).encode(), headers={"Content-Type": AS2}
    )
    await refused(resp, 401, "signer_mismatch")
    assert await rows(inbox) == 0


# origin rules (PROTOCOL.md section 3) --------------------------------------------------------------
async def test_activity_id_on_another_host_than_its_actor_is_400(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    activity = bob.create(id="http://elsewhere.test/activities/1")
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity)
    await refused(resp, 400, "origin_mismatch")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_created_object_from_another_origin_and_author_is_400(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    note = bob.note() | {
        "id": "http://elsewhere.test/notes/1",
        "attributedTo": "http://elsewhere.test/users/eve",
    }
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create(note))
    await refused(resp, 400, "object_origin_mismatch")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_created_object_attributed_to_someone_else_is_400(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    note = bob.note() | {"attributedTo": remote.url("/users/carol")}
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create(note))
    await refused(resp, 400, "attribution_mismatch")
    assert await rows(inbox) == 0
    assert remote.hits == 0


@pytest.mark.parametrize("claim", ["activity", "actor", "object"])
async def test_claiming_an_id_on_our_own_host_is_403(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor, claim: str
) -> None:
    ours = settings.base_url
    activity = bob.create()
    if claim == "activity":
        activity["id"] = f"{ours}/activities/forged"
    elif claim == "actor":
        activity["actor"] = f"{ours}/users/alice"
    else:
        activity["object"] = {**activity["object"], "id": f"{ours}/notes/forged"}
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity)
    await refused(resp, 403, "local_id_claimed")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_delete_of_our_own_object_from_outside_is_403(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    activity = bob.activity("Delete", f"{settings.base_url}/notes/01HZZZZZZZZZZZZZZZZZZZZZZZ")
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity)
    await refused(resp, 403, "local_id_claimed")
    assert await rows(inbox) == 0


# blocked domains --------------------------------------------------------------------------------
async def _remote_actor_rows(inbox: Any, host: str) -> int:
    def count(conn: Any) -> int:
        return int(
            conn.execute("SELECT count(*) FROM actors WHERE host = ?", (host,)).fetchone()[0]
        )

    return await inbox.server.app[DB].read(count)


async def test_blocked_domain_is_403_before_any_request(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given the remote's host is blocked (a block without a port covers every port)
    await inbox.server.app[FEDERATION].policy.block("127.0.0.1")
    # when bob, who is not known yet, delivers a correctly signed activity
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create())
    # then it is refused without fetching his key or storing anything about him
    await refused(resp, 403, "blocked_domain")
    assert remote.hits == 0
    assert await rows(inbox) == 0
    assert await _remote_actor_rows(inbox, remote.host) == 0


async def test_blocked_domain_covers_subdomains(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    await inbox.server.app[FEDERATION].policy.block("blocked.test")
    activity = bob.create()
    activity["actor"] = "http://social.blocked.test/users/bob"
    activity["id"] = "http://social.blocked.test/activities/1"
    activity["object"] |= {
        "id": "http://social.blocked.test/notes/1",
        "attributedTo": activity["actor"],
    }
    key_id = "http://social.blocked.test/users/bob#main-key"
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity, key_id=key_id)
    await refused(resp, 403, "blocked_domain")
    assert remote.hits == 0
    assert await rows(inbox) == 0
    assert await _remote_actor_rows(inbox, "social.blocked.test") == 0


async def test_blocked_key_host_is_403_before_any_request(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given the activity names an actor on an allowed host, but the key is on a blocked one
    await inbox.server.app[FEDERATION].policy.block("127.0.0.1")
    port = remote.host.split(":")[1]
    actor = f"http://localhost:{port}/users/bob"
    activity = bob.create() | {"actor": actor, "id": f"http://localhost:{port}/activities/1"}
    activity["object"] |= {"id": f"http://localhost:{port}/notes/1", "attributedTo": actor}
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity)
    await refused(resp, 403, "blocked_domain")
    assert remote.hits == 0
    assert await rows(inbox) == 0


async def test_proof_from_a_blocked_domain_is_403_before_any_request(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    await inbox.server.app[FEDERATION].policy.block("127.0.0.1")
    activity = bob.with_proof(bob.create())
    resp = await inbox.post(
        "/inbox", data=json.dumps(activity).encode(), headers={"Content-Type": AS2}
    )
    await refused(resp, 403, "blocked_domain")
    assert remote.hits == 0


# size, media type and JSON ------------------------------------------------------------------------
async def test_body_over_the_limit_is_413(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    note = bob.note("x" * (1024 * 1024))
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, bob.create(note))
    await refused(resp, 413, "too_large")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_chunked_body_over_the_limit_is_413(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given a body sent without Content-Length: the cap applies while reading
    note = bob.note("y" * (2 * 1024 * 1024))
    body, headers = bob.sign_post(bob.create(note), settings.base_url + "/inbox")

    async def chunks() -> Any:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    resp = await inbox.post("/inbox", data=chunks(), headers=headers)
    assert resp.status == 413
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_compressed_body_inflating_over_the_limit_is_413(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor
) -> None:
    # given a 2 MiB body that gzip shrinks to a few KiB: its Content-Length is small, the
    # cap applies to what aiohttp inflates
    note = bob.note("z" * (2 * 1024 * 1024))
    body, headers = bob.sign_post(bob.create(note), settings.base_url + "/inbox")
    packed = gzip.compress(body)
    assert len(packed) < 64 * 1024
    resp = await inbox.post("/inbox", data=packed, headers=headers | {"Content-Encoding": "gzip"})
    assert resp.status == 413
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_body_shorter_than_its_content_length_is_refused(
    inbox: Any, settings: Settings, bob: RemoteActor
) -> None:
    body, headers = bob.sign_post(bob.create(), settings.base_url + "/inbox")
    host, port = inbox.server.host, inbox.server.port
    reader, writer = await asyncio.open_connection(host, port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(
        f"POST /inbox HTTP/1.1\r\n{head}Content-Length: {len(body) + 10}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    writer.write_eof()  # the client stops sending 10 bytes early
    answer = await reader.read()  # aiohttp drops the request (or answers 400)
    writer.close()
    assert not answer.startswith(b"HTTP/1.1 2")
    assert await rows(inbox) == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"type": "Create", "id": ', "malformed_json"),
        (b"\xff\xfe not json", "malformed_json"),
        (b'["Create"]', "not_object"),
        (b'{"id": "http://127.0.0.1:1/a", "actor": "http://127.0.0.1:1/u"}', "missing_type"),
        (b'{"type": "Create", "actor": "http://127.0.0.1:1/u"}', "missing_id"),
        (b'{"type": "Create", "id": "http://127.0.0.1:1/a"}', "missing_actor"),
    ],
)
async def test_malformed_activity_is_400(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor, body: bytes, reason: str
) -> None:
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, body)
    await refused(resp, 400, reason)
    assert await rows(inbox) == 0
    assert remote.hits == 0


@pytest.mark.parametrize("keyword", ["@graph", "@included", "@reverse"])
async def test_jsonld_graph_keywords_are_400(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor, keyword: str
) -> None:
    activity = bob.create()
    activity["object"][keyword] = [{"id": remote.url("/notes/hidden"), "type": "Note"}]
    resp = await deliver(inbox, settings.base_url, "/inbox", bob, activity)
    await refused(resp, 400, "jsonld_keyword")
    assert await rows(inbox) == 0
    assert remote.hits == 0


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/html"]
)
async def test_wrong_content_type_is_415(
    inbox: Any, settings: Settings, remote: FakeRemote, bob: RemoteActor, content_type: str
) -> None:
    resp = await deliver(
        inbox, settings.base_url, "/inbox", bob, bob.create(), content_type=content_type
    )
    await refused(resp, 415, "unsupported_media_type")
    assert await rows(inbox) == 0
    assert remote.hits == 0


async def test_duplicate_activity_id_is_applied_once(
    inbox: Any, settings: Settings, bob: RemoteActor
) -> None:
    activity = bob.create()
    statuses = [
        (await deliver(inbox, settings.base_url, "/inbox", bob, activity)).status for _ in range(3)
    ]
    assert statuses == [202, 202, 202]
    assert await rows(inbox) == 1
