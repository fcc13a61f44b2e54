"""Fetching remote objects and actors, and the actor/key cache (PROTOCOL.md §2 and §4).

Rules on top of the HTTP client's (which refuses blocked hosts, bad addresses, bad content
types, oversized bodies and JSON-LD keywords):
- an object's `id` must be the final URL it was served from, and redirects must stay on the
  origin that was asked: a document vouches only for ids on its own origin;
- an actor's `id` must be on the origin that served it, every `publicKey.owner` must be the
  actor, its keys' ids on its own origin, and it needs an inbox and an actor type;
- our own host is never fetched: local actors and keys come from the database;
- one inbound activity may cause at most `FetchBudget.limit` fetches;
- a cached key changes only through a signed Update from its actor
  (`update_actor_from_document`) or after a verification failed with it (`refetch_key`, at
  most once per actor per 5 minutes). Looking up a key id never seen before fetches it.

Every GET is signed by the instance actor, so peers with authorized fetch answer us.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final
from urllib.parse import urldefrag, urlsplit

from fedcoop.accounts.actors import Actor, get_actor_by_uri
from fedcoop.activitypub import documents as d
from fedcoop.activitypub.hosts import HostError, host_of, normalise_host, same_origin, same_url
from fedcoop.activitypub.httpsig import (
    ParsedSignature,
    SignatureError,
    check_freshness,
    verify_parsed,
)
from fedcoop.activitypub.keys import KeyFormatError, PublicKey, load_public_key_pem
from fedcoop.activitypub.multikey import MultikeyError, public_key_from_multibase
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.federation.http_client import FederationClient, FetchError
from fedcoop.federation.policy import Policy
from fedcoop.federation.sanitize import plain_text, sanitize_html
from fedcoop.federation.signing import Signers
from fedcoop.social import remote_actors
from fedcoop.social.remote_actors import LocalActorConflict, RemoteActorRecord
from fedcoop.uris import Uris

ACTOR_TYPES: Final = frozenset({"Person", "Group", "Application", "Service", "Organization"})
DEFAULT_FETCH_BUDGET: Final = 8
KEY_REFETCH_INTERVAL: Final = 300.0  # seconds between two refetches of one actor's key
_MAX_NAME: Final = 200
_MAX_USERNAME: Final = 100
_MAX_SUMMARY: Final = 10_000


@dataclass
class FetchBudget:
    """How many fetches one inbound activity may still cause (reply chains, collections)."""

    limit: int = DEFAULT_FETCH_BUDGET
    used: int = 0

    def spend(self) -> None:
        if self.used >= self.limit:
            raise FetchError("budget_exhausted", f"more than {self.limit} fetches")
        self.used += 1


class Fetcher:
    def __init__(
        self,
        *,
        db: Database,
        uris: Uris,
        settings: Settings,
        http: FederationClient,
        policy: Policy,
        signers: Signers,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._uris = uris
        self._http = http
        self._policy = policy
        self.signers = signers
        self._own_host = normalise_host(settings.instance.domain, scheme=settings.instance.scheme)
        self._monotonic = monotonic
        self._last_refetch: dict[str, float] = {}

    # objects ---------------------------------------------------------------------------------
    async def fetch_object(self, uri: str, *, budget: FetchBudget | None = None) -> dict[str, Any]:
        """The document at `uri`, whose `id` is both `uri` and the URL it finally came from."""
        uri = await self._remote_url(uri)
        final_url, doc = await self._get(uri, budget)
        doc_id = doc.get("id")
        if not isinstance(doc_id, str) or not (
            same_url(doc_id, final_url) and same_url(doc_id, uri)
        ):
            raise FetchError("id_mismatch", f"the document at {final_url} has another id")
        return doc

    # actors ----------------------------------------------------------------------------------
    async def get_actor(
        self, uri: str, *, refresh: bool = False, budget: FetchBudget | None = None
    ) -> Actor:
        """The actor at `uri`, from the cache unless `refresh`; stored under its document's id,
        which may differ from `uri` within the same origin (a profile URL, a key id)."""
        uri, _ = urldefrag(uri)
        if self._is_own(uri):
            return await self._local_actor(uri)
        uri = await self._remote_url(uri)
        if not refresh:
            cached = await self._cached_actor(uri)
            if cached is not None:
                return cached
        final_url, doc = await self._get(uri, budget)
        record = actor_record(doc, final_url, self._own_host)
        return await self._store(record, keys_may_change=False)

    async def update_actor_from_document(self, doc: dict[str, Any], *, signer_uri: str) -> Actor:
        """Apply an actor document received in a signed Update from that actor itself: the
        one way, besides a refetch after a failed verification, that its keys change."""
        d.check_document(doc)
        actor_id = doc.get("id")
        if not isinstance(actor_id, str) or not same_url(actor_id, signer_uri):
            raise FetchError("id_mismatch", "an actor may only update itself")
        await self._remote_url(actor_id)
        record = actor_record(doc, actor_id, self._own_host)
        return await self._store(record, keys_may_change=True)

    # keys ------------------------------------------------------------------------------------
    async def get_public_key(
        self, key_id: str, *, budget: FetchBudget | None = None
    ) -> tuple[Actor, PublicKey]:
        """(owner, key) for a signature's keyId: from the cache, else fetched from `key_id`."""
        if key_id.lower().startswith("acct:"):
            raise FetchError("bad_key", "acct: keyIds cannot be dereferenced")
        if self._is_own(key_id):
            actor = await self._db.read(lambda c: remote_actors.get_actor_by_key_id(c, key_id))
            if actor is None or not actor.local:
                raise FetchError("bad_key", "no such local key")
            return actor, _key_of(actor, key_id)
        await self._remote_url(key_id)  # policy first: a blocked host costs no lookup
        cached = await self._db.read(lambda c: remote_actors.get_actor_by_key_id(c, key_id))
        if cached is not None and not cached.local:
            return cached, _key_of(cached, key_id)
        return await self._fetch_key(key_id, budget)

    async def refetch_key(self, key_id: str) -> tuple[Actor, PublicKey] | None:
        """Fetch a cached key again after a verification failed with it; None when this actor's
        key was already refetched in the last 5 minutes (or the key is not cached)."""
        await self._remote_url(key_id)
        cached = await self._db.read(lambda c: remote_actors.get_actor_by_key_id(c, key_id))
        if cached is None or cached.local:
            return None
        now = self._monotonic()
        last = self._last_refetch.get(cached.uri)
        if last is not None and now - last < KEY_REFETCH_INTERVAL:
            return None
        self._last_refetch[cached.uri] = now
        return await self._fetch_key(key_id, None)

    async def verify_signature(self, parsed: ParsedSignature, now: datetime) -> Actor:
        """Verify a parsed HTTP signature with its key; returns the key's owner.

        A stale request is refused before any fetch; a failure with a cached key is retried
        once with a refetched key. Raises `SignatureError` (`key_unavailable` when the key
        cannot be had, the verification reason otherwise).
        """
        check_freshness(parsed, now)
        try:
            actor, key = await self.get_public_key(parsed.key_id)
        except FetchError as exc:
            raise SignatureError("key_unavailable", exc.reason) from None
        try:
            verify_parsed(parsed, key, now)
        except SignatureError as exc:
            if exc.reason != "bad_signature" or actor.local:
                raise
            try:
                refreshed = await self.refetch_key(parsed.key_id)
            except FetchError:
                raise exc from None
            if refreshed is None:
                raise
            actor, key = refreshed
            verify_parsed(parsed, key, now)
        return actor

    # internals -------------------------------------------------------------------------------
    async def _fetch_key(self, key_id: str, budget: FetchBudget | None) -> tuple[Actor, PublicKey]:
        final_url, doc = await self._get(key_id, budget)
        if set(d.types_of(doc)) & ACTOR_TYPES:
            actor_doc, key_doc = doc, None
        else:
            # A key document (`owner` names the actor): the actor must list it too.
            key_doc = doc
            if not same_url(str(doc.get("id")), key_id):
                raise FetchError("id_mismatch", "the key document has another id")
            owner = d.first_id(doc.get("owner"))
            if owner is None or not same_origin(owner, key_id):
                raise FetchError("bad_key", "the key's owner is missing or on another origin")
            final_url, actor_doc = await self._get(owner, budget)
        record = actor_record(actor_doc, final_url, self._own_host, wanted_key_id=key_id)
        if key_doc is not None:
            record = _with_key_document(record, actor_doc, key_doc, key_id)
        if key_id not in (record.public_key_id, record.ed25519_key_id):
            raise FetchError("bad_key", "the actor does not list this key")
        actor = await self._store(record, keys_may_change=True)
        return actor, _key_of(actor, key_id)

    async def _get(self, url: str, budget: FetchBudget | None) -> tuple[str, dict[str, Any]]:
        if budget is not None:
            budget.spend()
        signer = await self.signers.instance()
        return await self._http.get_json(url, sign_as=signer, same_origin=True)

    async def _remote_url(self, url: str) -> str:
        """`url` without fragment, after refusing junk, our own host and blocked hosts."""
        try:
            host = host_of(url)
        except HostError as exc:
            raise FetchError("bad_url", str(exc)) from None
        if host == self._own_host:
            raise FetchError("local", "our own documents are never fetched")
        if await self._policy.is_blocked(host):
            raise FetchError("blocked", f"{host} is blocked by federation policy")
        return urldefrag(url)[0]

    def _is_own(self, url: str) -> bool:
        try:
            return host_of(url) == self._own_host
        except HostError:
            return False

    async def _local_actor(self, uri: str) -> Actor:
        actor = await self._db.read(lambda c: get_actor_by_uri(c, uri))
        if actor is None or not actor.local:
            raise FetchError("local", "no such local actor")
        return actor

    async def _cached_actor(self, uri: str) -> Actor | None:
        # Trailing-slash tolerance: `…/users/ana` and `…/users/ana/` are one actor to peers.
        other = uri[:-1] if uri.endswith("/") else uri + "/"

        def read(conn: Any) -> Actor | None:
            return get_actor_by_uri(conn, uri) or get_actor_by_uri(conn, other)

        return await self._db.read(read)

    async def _store(self, record: RemoteActorRecord, *, keys_may_change: bool) -> Actor:
        try:
            actor: Actor = await self._db.write(
                lambda c: remote_actors.upsert_remote_actor(
                    c, record, keys_may_change=keys_may_change
                )
            )
        except LocalActorConflict:
            raise FetchError("local", "a remote document claims a local actor") from None
        return actor


def _key_of(actor: Actor, key_id: str) -> PublicKey:
    try:
        if key_id == actor.public_key_id and actor.public_key_pem:
            return load_public_key_pem(actor.public_key_pem)
        if key_id == actor.ed25519_key_id and actor.ed25519_multibase:
            return public_key_from_multibase(actor.ed25519_multibase)
    except (KeyFormatError, MultikeyError) as exc:
        raise FetchError("bad_key", str(exc)) from None
    raise FetchError("bad_key", "the cached actor does not hold this key")


def _with_key_document(
    record: RemoteActorRecord, actor_doc: dict[str, Any], key_doc: dict[str, Any], key_id: str
) -> RemoteActorRecord:
    """Fill in a key the actor names by id only, from the key document at that id."""
    if key_id not in d.all_ids(actor_doc.get("publicKey")):
        raise FetchError("bad_key", "the owner does not list this key")
    if not same_url(str(d.first_id(key_doc.get("owner"))), record.uri):
        raise FetchError("bad_key", "the key document names another owner")
    pem = key_doc.get("publicKeyPem")
    if not isinstance(pem, str) or not _loads(pem):
        raise FetchError("bad_key", "the key document holds no usable key")
    return replace(record, public_key_id=key_id, public_key_pem=pem.strip())


# actor documents -------------------------------------------------------------------------------
def actor_record(
    doc: dict[str, Any], final_url: str, own_host: str, *, wanted_key_id: str | None = None
) -> RemoteActorRecord:
    """Validate a remote actor document served from `final_url`; raises `FetchError`."""
    actor_id = doc.get("id")
    if not isinstance(actor_id, str) or not same_origin(actor_id, final_url):
        raise FetchError("id_mismatch", f"the actor at {final_url} claims another origin")
    host = host_of(actor_id)
    if host == own_host:
        raise FetchError("local", "a remote document claims a local actor")
    actor_type = next((t for t in d.types_of(doc) if t in ACTOR_TYPES), None)
    if actor_type is None:
        raise FetchError("bad_actor", "not an actor type")
    inbox = _url_or_none(d.first_id(doc.get("inbox")))
    if inbox is None:
        raise FetchError("bad_actor", "an actor needs an inbox")
    endpoints = doc.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    rsa_id, rsa_pem = _rsa_key(doc, actor_id, wanted_key_id)
    ed_id, ed_multibase = _ed25519_key(doc, actor_id)
    summary = d.first_str(doc.get("summary")) or ""
    return RemoteActorRecord(
        uri=actor_id,
        type=actor_type,
        username=_username(doc, actor_id),
        host=host,
        inbox=inbox,
        display_name=plain_text(d.first_str(doc.get("name")) or "", _MAX_NAME),
        summary=sanitize_html(summary[:_MAX_SUMMARY]),
        url=_url_or_none(d.first_href(doc.get("url"))),
        outbox=_url_or_none(d.first_id(doc.get("outbox"))),
        shared_inbox=_url_or_none(d.first_id(shared)),
        followers=_url_or_none(d.first_id(doc.get("followers"))),
        following=_url_or_none(d.first_id(doc.get("following"))),
        manually_approves=doc.get("manuallyApprovesFollowers") is True,
        public_key_id=rsa_id,
        public_key_pem=rsa_pem,
        ed25519_key_id=ed_id,
        ed25519_multibase=ed_multibase,
        implements=_implements(doc.get("generator")),
        also_known_as=[u for u in d.all_ids(doc.get("alsoKnownAs")) if _url_or_none(u)],
        moved_to=_url_or_none(d.first_id(doc.get("movedTo"))),
        raw=doc,
    )


def _rsa_key(
    doc: dict[str, Any], actor_id: str, wanted: str | None
) -> tuple[str | None, str | None]:
    """The `publicKey` to keep: the wanted one, else the first. Every embedded key must be
    owned by the actor and have an id on its origin, or the whole document is refused."""
    found: list[tuple[str, str]] = []
    for entry in d.as_list(doc.get("publicKey")):
        if not isinstance(entry, dict):
            continue  # a bare key id: `_with_key_document` fills it in when asked for
        key_id, pem = entry.get("id"), entry.get("publicKeyPem")
        owner = d.first_id(entry.get("owner"))
        if owner is None or not same_url(owner, actor_id):
            raise FetchError("bad_actor", "publicKey.owner is not the actor")
        if not isinstance(key_id, str) or not same_origin(key_id, actor_id):
            raise FetchError("bad_actor", "publicKey.id is missing or on another origin")
        if isinstance(pem, str) and _loads(pem):
            found.append((key_id, pem.strip()))
    for key_id, pem in found:
        if key_id == wanted:
            return key_id, pem
    return found[0] if found else (None, None)


def _ed25519_key(doc: dict[str, Any], actor_id: str) -> tuple[str | None, str | None]:
    """The first Ed25519 Multikey in `assertionMethod` controlled by the actor (FEP-521a)."""
    for entry in d.as_list(doc.get("assertionMethod")):
        if not isinstance(entry, dict) or "Multikey" not in d.types_of(entry):
            continue
        key_id, value = entry.get("id"), entry.get("publicKeyMultibase")
        controller = d.first_id(entry.get("controller"))
        if not isinstance(key_id, str) or not same_origin(key_id, actor_id):
            continue
        if controller is None or not same_url(controller, actor_id) or not isinstance(value, str):
            continue
        try:
            public_key_from_multibase(value)
        except MultikeyError:
            continue
        return key_id, value
    return None, None


def _loads(pem: str) -> bool:
    try:
        load_public_key_pem(pem)
    except KeyFormatError:
        return False
    return True


def _username(doc: dict[str, Any], actor_id: str) -> str:
    name = d.first_str(doc.get("preferredUsername"))
    if not name:
        name = urlsplit(actor_id).path.rstrip("/").rsplit("/", 1)[-1]
    if (
        not name
        or len(name) > _MAX_USERNAME
        or any(c.isspace() or c in "@/\\:?#" or not c.isprintable() for c in name)
    ):
        raise FetchError("bad_actor", "preferredUsername is missing or not a name")
    return name


def _url_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        host_of(value)
    except HostError:
        return None
    return value


def _implements(generator: Any) -> list[dict[str, str]]:
    """FEP-844e `generator.implements`: the hrefs (with names) of what the peer speaks."""
    out: list[dict[str, str]] = []
    for gen in d.as_list(generator):
        if not isinstance(gen, dict):
            continue
        for item in d.as_list(gen.get("implements")):
            href = d.first_href(item)
            if href is None:
                continue
            name = item.get("name") if isinstance(item, dict) else None
            out.append({"href": href, "name": name if isinstance(name, str) else ""})
    return out
