"""Signing keys of local actors, loaded from the database once and kept for the process.

A `LocalSigner` signs one request at a time with draft-cavage `rsa-sha256`, the scheme every
peer verifies (PROTOCOL.md §2): GETs by the instance actor over `(request-target) host date`,
POSTs by the sending actor over `(request-target) host date digest`. The caller passes `now`,
so a retried delivery is signed again with a fresh `Date`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import rsa

from fedcoop.accounts.actors import Actor, get_actor, get_instance_actor, local_private_keys
from fedcoop.activitypub.httpsig import sign_request
from fedcoop.activitypub.keys import load_rsa_private_key_pem
from fedcoop.db import Database


@dataclass(frozen=True)
class LocalSigner:
    actor_uri: str
    key_id: str
    private_key: rsa.RSAPrivateKey

    def sign(
        self,
        method: str,
        path_with_query: str,
        host: str,
        body: bytes | None,
        now: datetime,
        *,
        sign_query: bool = True,
    ) -> dict[str, str]:
        """`Host`, `Date`, `Signature` (and `Digest` with a body) for one request."""
        return sign_request(
            method,
            path_with_query,
            {"Host": host},
            body,
            self.key_id,
            self.private_key,
            now,
            sign_query=sign_query,
        ) | {"Host": host}


class Signers:
    """Per-actor signers, each loaded from the database on first use."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._by_actor: dict[str, LocalSigner] = {}
        self._instance: LocalSigner | None = None
        self._lock = asyncio.Lock()

    async def for_actor(self, actor_id: str) -> LocalSigner:
        """The signer of a local actor (row id); LookupError when it is not local."""
        signer = self._by_actor.get(actor_id)
        if signer is None:
            async with self._lock:
                signer = self._by_actor.get(actor_id)
                if signer is None:
                    signer = await self._load(actor_id)
                    self._by_actor[actor_id] = signer
        return signer

    async def instance(self) -> LocalSigner:
        """The instance actor's signer, used for every signed GET."""
        if self._instance is None:
            actor = await self._db.read(get_instance_actor)
            if actor is None:
                raise LookupError("this instance has no instance actor")
            self._instance = await self.for_actor(actor.id)
        return self._instance

    async def _load(self, actor_id: str) -> LocalSigner:
        def read(conn: sqlite3.Connection) -> tuple[Actor, str]:
            actor = get_actor(conn, actor_id)
            if actor is None or not actor.local or actor.public_key_id is None:
                raise LookupError(f"{actor_id} is not a local actor with keys")
            return actor, local_private_keys(conn, actor_id)[0]

        actor, pem = await self._db.read(read)
        assert actor.public_key_id is not None
        return LocalSigner(actor.uri, actor.public_key_id, load_rsa_private_key_pem(pem))
