"""A fake remote ActivityPub instance on 127.0.0.1, with real keys, for component tests.

`FakeRemote` is an `aiohttp` app started with pytest-aiohttp's `aiohttp_server`. It serves the
actor documents of the remote actors it holds (an RSA-2048 `publicKey` and an Ed25519
`assertionMethod` Multikey, both generated in the test), any extra object documents a test
puts on it, and counts every request it answers, so a test can assert that fedcoop made no
request at all (a blocked domain) or exactly one (a key fetch). The actors sign with the real
signing functions: draft-cavage, RFC 9421, or an FEP-8b32 proof.

    remote = await FakeRemote.start(aiohttp_server)
    bob = remote.add_actor("bob")
    body, headers = bob.sign_post(activity, inbox_url)   # then POST them with any client
    assert remote.hits == 1
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fedcoop import clock, ids
from fedcoop.activitypub.httpsig_cavage import sign_request
from fedcoop.activitypub.httpsig_rfc9421 import sign_request_rfc9421
from fedcoop.activitypub.keys import (
    generate_ed25519_private_key,
    generate_rsa_private_key,
    public_key_to_pem,
)
from fedcoop.activitypub.multikey import public_key_to_multibase
from fedcoop.activitypub.proofs import sign_document
from fedcoop.activitypub.vocab import (
    AP_MEDIA_TYPE,
    AS_CONTEXT,
    MULTIKEY_CONTEXT,
    PUBLIC,
    SECURITY_CONTEXT,
)

Scheme = Literal["cavage", "rfc9421"]
ServerFactory = Callable[..., Awaitable[Any]]  # pytest-aiohttp's `aiohttp_server`
AS2_CONTENT_TYPE = AP_MEDIA_TYPE


@dataclass
class RemoteActor:
    """One actor of the fake instance, holding its private keys."""

    remote: FakeRemote = field(repr=False)
    name: str
    rsa_key: rsa.RSAPrivateKey
    ed_key: ed25519.Ed25519PrivateKey
    uri: str = ""

    def __post_init__(self) -> None:
        self.uri = self.remote.url(f"/users/{self.name}")

    @property
    def key_id(self) -> str:
        return self.uri + "#main-key"

    @property
    def ed_key_id(self) -> str:
        return self.uri + "#ed25519-key"

    @property
    def public_key_pem(self) -> str:
        return public_key_to_pem(self.rsa_key.public_key())

    @property
    def ed_multibase(self) -> str:
        return public_key_to_multibase(self.ed_key.public_key())

    def document(self) -> dict[str, Any]:
        return {
            "@context": [AS_CONTEXT, SECURITY_CONTEXT, MULTIKEY_CONTEXT],
            "id": self.uri,
            "type": "Person",
            "preferredUsername": self.name,
            "name": self.name.title(),
            "inbox": self.uri + "/inbox",
            "outbox": self.uri + "/outbox",
            "followers": self.uri + "/followers",
            "following": self.uri + "/following",
            "endpoints": {"sharedInbox": self.remote.url("/inbox")},
            "publicKey": {
                "id": self.key_id,
                "type": "CryptographicKey",
                "owner": self.uri,
                "publicKeyPem": self.public_key_pem,
            },
            "assertionMethod": [
                {
                    "id": self.ed_key_id,
                    "type": "Multikey",
                    "controller": self.uri,
                    "publicKeyMultibase": self.ed_multibase,
                }
            ],
        }

    # activities ----------------------------------------------------------------------------
    def new_id(self, kind: str = "activities") -> str:
        return self.remote.url(f"/{kind}/{ids.new_id()}")

    def note(self, content: str = "Hello", *, to: list[str] | None = None) -> dict[str, Any]:
        return {
            "id": self.new_id("notes"),
            "type": "Note",
            "attributedTo": self.uri,
            "content": f"<p>{content}</p>",
            "published": clock.iso_seconds(clock.now()),
            "to": to or [PUBLIC],
        }

    def create(self, obj: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        obj = obj if obj is not None else self.note()
        return {
            "@context": AS_CONTEXT,
            "id": self.new_id(),
            "type": "Create",
            "actor": self.uri,
            "object": obj,
            "to": obj.get("to", [PUBLIC]),
            **extra,
        }

    def activity(self, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        return {
            "@context": AS_CONTEXT,
            "id": self.new_id(),
            "type": kind,
            "actor": self.uri,
            "object": obj,
            **extra,
        }

    # signing ---------------------------------------------------------------------------------
    def sign_post(
        self,
        activity: dict[str, Any] | bytes,
        inbox_url: str,
        *,
        scheme: Scheme = "cavage",
        now: datetime | None = None,
        key_id: str | None = None,
        content_type: str = AS2_CONTENT_TYPE,
        sign_query: bool = True,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a signed POST of `activity` to `inbox_url`."""
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        return body, signed_headers(
            "POST",
            inbox_url,
            body,
            key_id or self.key_id,
            self.rsa_key,
            scheme=scheme,
            now=now,
            content_type=content_type,
            sign_query=sign_query,
        )

    def with_proof(
        self, activity: dict[str, Any], *, now: datetime | None = None
    ) -> dict[str, Any]:
        """A copy of `activity` carrying an FEP-8b32 `eddsa-jcs-2022` proof by this actor."""
        return sign_document(activity, self.ed_key, self.ed_key_id, now or clock.now())


def signed_headers(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    *,
    scheme: Scheme = "cavage",
    now: datetime | None = None,
    content_type: str = AS2_CONTENT_TYPE,
    sign_query: bool = True,
) -> dict[str, str]:
    """Headers of a request to `url` (including `Host`, as a reverse proxy passes it on)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    moment = now or clock.now()
    headers = {"Host": parts.netloc, "Content-Type": content_type}
    if scheme == "rfc9421":
        added = sign_request_rfc9421(method, url, headers, body, key_id, private_key, moment)
    else:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise TypeError("draft-cavage signing here uses the RSA key")
        added = sign_request(
            method, path, headers, body, key_id, private_key, moment, sign_query=sign_query
        )
    return headers | added


async def deliver(
    client: Any,
    base_url: str,
    path: str,
    actor: RemoteActor,
    activity: dict[str, Any] | bytes,
    **sign: Any,
) -> Any:
    """POST `activity` signed by `actor` to `path` of the instance at `base_url` (whose
    public URL is what the actor signs), through pytest-aiohttp's test `client`."""
    body, headers = actor.sign_post(activity, base_url + path, **sign)
    return await client.post(path, data=body, headers=headers)


@dataclass
class FakeRemote:
    """The fake instance: its server, actors, extra documents and request log."""

    base: str = ""
    actors: dict[str, RemoteActor] = field(default_factory=dict)
    documents: dict[str, tuple[int, dict[str, Any] | None]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    server: Any = None

    @classmethod
    async def start(cls, aiohttp_server: ServerFactory) -> FakeRemote:
        remote = cls()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", remote._serve)
        remote.server = await aiohttp_server(app, host="127.0.0.1")
        remote.base = f"http://127.0.0.1:{remote.server.port}"
        return remote

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    @property
    def hits(self) -> int:
        return len(self.requests)

    def url(self, path: str) -> str:
        return self.base + path

    def add_actor(self, name: str) -> RemoteActor:
        actor = RemoteActor(self, name, generate_rsa_private_key(), generate_ed25519_private_key())
        self.actors[name] = actor
        return actor

    def put(self, uri: str, doc: dict[str, Any] | None, status: int = 200) -> None:
        """Serve `doc` (AS2) at `uri`'s path; `None` with a status answers that status."""
        self.documents[urlsplit(uri).path] = (status, doc)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        path = request.path
        if path in self.documents:
            status, doc = self.documents[path]
            if doc is None:
                return web.Response(status=status)
            return _as2(doc, status)
        if path.startswith("/users/"):
            actor = self.actors.get(path.removeprefix("/users/"))
            if actor is not None:
                return _as2(actor.document())
        if request.method == "POST":
            return web.Response(status=202)
        return web.Response(status=404)


def _as2(doc: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(doc).encode(), status=status, content_type=AS2_CONTENT_TYPE)
