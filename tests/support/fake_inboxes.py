"""Fake remote inboxes on 127.0.0.1 that verify every delivery's HTTP signature.

`FakeInboxes` is an aiohttp app for pytest-aiohttp's `aiohttp_server`: every POST, to any
path, is checked the way a strict receiver checks it (Digest against the body, Date fresh,
draft-cavage signature verified with the sender's public key, which `key_for` looks up, in the
tests by fetching the actor document from the fedcoop instance under test). A verified POST is
recorded and answered with the next scripted reply (202 once the script is used up); a POST
that fails verification is answered 401 and recorded in `rejected`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from fedcoop import clock, ids
from fedcoop.accounts.actors import get_actor, get_local_actor
from fedcoop.activitypub.httpsig import SignatureError, parse_signature_headers, verify_parsed
from fedcoop.activitypub.keys import PublicKey, load_public_key_pem
from fedcoop.activitypub.vocab import AP_MEDIA_TYPE, AS_CONTEXT, PUBLIC
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.federation.context import FederationContext
from fedcoop.federation.delivery import DeliveryWorker
from fedcoop.federation.fetcher import Fetcher
from fedcoop.federation.http_client import FederationClient
from fedcoop.federation.outbox import OutboxWorker
from fedcoop.federation.policy import Policy
from fedcoop.federation.renderers.registry import (
    Audience,
    Outgoing,
    RenderContext,
    RendererRegistry,
)
from fedcoop.federation.signing import Signers
from fedcoop.social.events import Event, emit
from fedcoop.social.remote_actors import RemoteActorRecord, upsert_remote_actor
from fedcoop.web.state import DB, URIS, WORKERS

KeyLookup = Callable[[str], Awaitable[PublicKey]]


@dataclass(frozen=True)
class Delivered:
    path: str
    key_id: str
    date: str
    headers: dict[str, str]
    activity: dict[str, Any]


@dataclass
class Reply:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeInboxes:
    key_for: KeyLookup
    now: Callable[[], datetime] = clock.now  # the receiver's clock, for the Date window
    script: list[Reply] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    keys: dict[str, PublicKey] = field(default_factory=dict)  # cached like real receivers do
    delay: float = 0.0  # seconds each answer takes, to observe concurrency
    in_flight: int = 0
    max_in_flight: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        return app

    async def key(self, key_id: str) -> PublicKey:
        if key_id not in self.keys:
            self.keys[key_id] = await self.key_for(key_id)
        return self.keys[key_id]

    def paths(self) -> list[str]:
        return [d.path for d in self.delivered]

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._check(request)
        finally:
            self.in_flight -= 1

    async def _check(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        for needed in ("Signature", "Digest", "Date", "Host"):
            if needed not in request.headers:
                self.rejected.append(f"no {needed} header")
                return web.Response(status=401)
        try:
            parsed = parse_signature_headers("POST", request.raw_path, request.headers, body)
            if parsed.covered != ("(request-target)", "host", "date", "digest"):
                raise SignatureError("headers_not_covered", f"signed {parsed.covered}")
            verify_parsed(parsed, await self.key(parsed.key_id), self.now())
        except SignatureError as exc:
            self.rejected.append(f"{exc.reason}: {exc}")
            return web.Response(status=401)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.delivered.append(
            Delivered(
                path=request.path,
                key_id=parsed.key_id,
                date=request.headers["Date"],
                headers=dict(request.headers),
                activity=json.loads(body),
            )
        )
        reply = self.script.pop(0) if self.script else Reply()
        return web.Response(status=reply.status, headers=reply.headers)


# the sending instance ------------------------------------------------------------------------


class Clock:
    """A settable `now` for the workers, the HTTP client (which dates its signatures) and the
    fake inboxes (which check those dates): it stands still unless a test moves it.

    It keeps whole milliseconds, the precision times are stored with, so a time read back
    from the database compares exactly with the one the worker computed.
    """

    def __init__(self) -> None:
        self._t = _ms(clock.now())

    @property
    def t(self) -> datetime:
        return self._t

    @t.setter
    def t(self, moment: datetime) -> None:
        self._t = _ms(moment)

    def __call__(self) -> datetime:
        return self._t

    def advance(self, **delta: float) -> None:
        self.t = self._t + timedelta(**delta)


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def note_renderers() -> RendererRegistry:
    """Test renderers: `note.created` publishes a Create whose audience the payload spells
    out (`to`: actor URIs, `followers`: whether the author's followers get it, `requires`:
    FEP hrefs, `fallback`: whether a plain Note rendering goes to the others); `note.updated`
    always raises, like a renderer with a bug."""
    registry = RendererRegistry()

    @registry.renders("note.created")
    def render(rc: RenderContext, event: Event) -> list[Outgoing]:
        author = get_actor(rc.conn, event.actor_id)
        assert author is not None
        p = event.payload
        uri = rc.uris.object("activities", event.id)
        obj = {
            "id": rc.uris.object("notes", event.id),
            "type": p.get("type", "Note"),
            "attributedTo": author.uri,
            "content": p.get("text", "hello"),
        }
        doc = {
            "@context": AS_CONTEXT,
            "id": uri,
            "type": "Create",
            "actor": author.uri,
            "object": obj,
            "to": [PUBLIC],
        }
        fallback = None
        if p.get("fallback"):
            plain = {**obj, "id": obj["id"] + "/note", "type": "Note"}
            fallback = {**doc, "id": uri + "/note", "object": plain}
        audience = Audience(
            actor_uris=tuple(p.get("to", [])),
            followers_of=(event.actor_id,) if p.get("followers", True) else (),
            requires=tuple(p.get("requires", [])),
        )
        return [Outgoing(doc, audience, public=p.get("public", True), fallback=fallback)]

    @registry.renders("note.updated")
    def broken(rc: RenderContext, event: Event) -> list[Outgoing]:
        raise RuntimeError("renderer bug")

    return registry


@dataclass
class Sender:
    """A fedcoop instance under test, its background workers stopped: tests drive them.

    Its federation context has an HTTP client of its own whose signatures are dated by the
    test's `clock`; the caller closes it (`await sender.close()`).
    """

    client: Any  # pytest-aiohttp TestClient of the app
    ctx: FederationContext
    clock: Clock
    registry: RendererRegistry
    alice_id: str

    @classmethod
    async def start(cls, aiohttp_client: Any, settings: Settings) -> Sender:
        app = make_app(settings)
        client = await aiohttp_client(app)
        await app[WORKERS].stop()
        db, now = app[DB], Clock()
        policy = Policy(db, settings)
        http = FederationClient(settings, policy, now=now)
        await http.start()
        fetcher = Fetcher(
            db=db,
            uris=app[URIS],
            settings=settings,
            http=http,
            policy=policy,
            signers=Signers(db),
        )
        ctx = FederationContext(db, app[URIS], settings, http, fetcher, policy)
        alice = await db.read(lambda conn: get_local_actor(conn, "alice"))
        assert alice is not None
        return cls(client, ctx, now, note_renderers(), alice.id)

    async def close(self) -> None:
        await self.ctx.http.close()

    # workers
    def outbox(self) -> OutboxWorker:
        return OutboxWorker(self.ctx, renderers=self.registry, now=self.clock)

    def delivery(self, **options: Any) -> DeliveryWorker:
        return DeliveryWorker(self.ctx, now=self.clock, rand=lambda: 0.5, **options)

    # remote side
    async def key_for(self, key_id: str) -> PublicKey:
        """The sender's public key, fetched from its actor document like a receiver would."""
        resp = await self.client.get(urlsplit(key_id).path, headers={"Accept": AP_MEDIA_TYPE})
        doc = await resp.json(content_type=None)
        assert doc["publicKey"]["id"] == key_id
        return load_public_key_pem(doc["publicKey"]["publicKeyPem"])

    def inboxes(self, **options: Any) -> FakeInboxes:
        return FakeInboxes(self.key_for, self.clock, **options)

    async def add_remote(
        self,
        uri: str,
        *,
        inbox: str | None = None,
        shared_inbox: str | None = None,
        implements: tuple[str, ...] = (),
        follows_alice: bool = True,
    ) -> str:
        """A remote actor row (as the fetcher would have stored it), following alice."""
        parts = urlsplit(uri)
        record = RemoteActorRecord(
            uri=uri,
            type="Person",
            username=parts.path.rstrip("/").rsplit("/", 1)[-1],
            host=parts.netloc,
            inbox=inbox or uri + "/inbox",
            shared_inbox=shared_inbox,
            implements=[{"href": href, "name": ""} for href in implements],
        )

        def write(conn: sqlite3.Connection) -> str:
            actor = upsert_remote_actor(conn, record, keys_may_change=True)
            if follows_alice:
                conn.execute(
                    "INSERT INTO follows (id, follower_id, followee_id, state, created_at) "
                    "VALUES (?, ?, ?, 'accepted', ?)",
                    (ids.new_id(), actor.id, self.alice_id, clock.now_iso()),
                )
            return actor.id

        return await self.ctx.db.write(write)

    async def emit(self, kind: str = "note.created", **payload: Any) -> str:
        event_id = await self.ctx.db.write(
            lambda conn: emit(conn, kind, self.alice_id, None, payload)
        )
        # `emit` dates the event by the real clock; the test clock must not be behind it.
        self.clock.t = max(self.clock.t, clock.now() + timedelta(milliseconds=1))
        return str(event_id)

    async def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        return await self.ctx.db.read(lambda conn: conn.execute(sql, params).fetchall())

    async def execute(self, sql: str, *params: Any) -> None:
        await self.ctx.db.write(lambda conn: conn.execute(sql, params))
