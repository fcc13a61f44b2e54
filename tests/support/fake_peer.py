"""A fake remote server for federation tests: canned documents on 127.0.0.1, every hit counted.

Security tests assert on `hits` to show that a refused request never reached the network.
`MapResolver` stands in for DNS (names -> loopback), so tests can use real host names
(subdomains, rebinding) while all traffic stays on loopback.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from fedcoop.activitypub.keys import generate_rsa_private_key, public_key_to_pem

AP = "application/activity+json"
Responder = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Hit:
    method: str
    path_qs: str
    headers: dict[str, str]


@dataclass
class FakePeer:
    """Serves `routes[path]` (path without query); anything else is 404. Counts every hit."""

    routes: dict[str, Responder] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    base: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(Hit(request.method, request.path_qs, dict(request.headers)))
        responder = self.routes.get(request.path)
        if responder is None:
            return web.Response(status=404)
        return await responder(request)

    def url(self, path: str) -> str:
        return self.base + path

    def document(self, path: str, doc: dict[str, Any], *, content_type: str = AP) -> str:
        async def respond(request: web.Request) -> web.StreamResponse:
            return web.json_response(doc, content_type=content_type)

        self.routes[path] = respond
        return self.url(path)

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        async def respond(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self.routes[path] = respond

    def hits_on(self, path: str) -> int:
        return sum(1 for hit in self.hits if hit.path_qs.split("?")[0] == path)


async def start_peer(aiohttp_server: Any, **kwargs: Any) -> FakePeer:
    peer = FakePeer()
    server = await aiohttp_server(peer.app(), **kwargs)
    peer.base = str(server.make_url("")).rstrip("/")
    return peer


@dataclass
class RemoteActor:
    """A remote actor's document and private key, as a peer would hold them."""

    doc: dict[str, Any]
    private_key: rsa.RSAPrivateKey

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def key_id(self) -> str:
        return str(self.doc["publicKey"]["id"])


def remote_actor(
    base: str, name: str = "ana", *, key: rsa.RSAPrivateKey | None = None, **extra: Any
) -> RemoteActor:
    key = key or generate_rsa_private_key()
    actor_id = f"{base}/users/{name}"
    doc: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor_id,
        "type": "Person",
        "preferredUsername": name,
        "name": name.title(),
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "followers": f"{actor_id}/followers",
        "endpoints": {"sharedInbox": f"{base}/inbox"},
        "publicKey": {
            "id": f"{actor_id}#main-key",
            "type": "CryptographicKey",
            "owner": actor_id,
            "publicKeyPem": public_key_to_pem(key.public_key()),
        },
    }
    doc.update(extra)
    return RemoteActor(doc, key)


def serve_actor(peer: FakePeer, actor: RemoteActor) -> str:
    path = actor.id[len(peer.base) :]
    return peer.document(path, actor.doc)


class MapResolver(AbstractResolver):
    """DNS for tests: each known name resolves to the address given (loopback, usually)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        address = self.names.get(host)
        if address is None:
            raise OSError(f"{host}: unknown name")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def self_signed_tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for a certificate naming 127.0.0.1."""
    key = generate_rsa_private_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        with open(cert_file, "wb") as fh:
            fh.write(cert_pem)
        with open(key_file, "wb") as fh:
            fh.write(key_pem)
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client
