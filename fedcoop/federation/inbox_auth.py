"""Who sent an inbox POST: an HTTP signature (draft-cavage or RFC 9421) or an FEP-8b32 proof.

`authenticate()` returns the signer, who is always the activity's actor, or raises
`IntakeRefused` (401 with the signature reason code; 403 for a blocked signing host). Rules
(PROTOCOL.md section 2):
- everything that needs no key (form, coverage, digest, age) is refused before any fetch;
- a key on another host than the actor cannot be the actor's (FEP-fe34): refused unfetched;
- a key is looked up in memory (`KeyCache`), then in the fetcher's database cache, then
  fetched; when a verification fails, the next, fresher source is tried, and a refetch from
  the network happens at most once per actor per few minutes (the fetcher's rule);
- a valid signature by someone other than the actor (forwarding) does not authorise the
  activity, but the actor's own FEP-8b32 proof does; without an HTTP signature at all, such a
  proof is enough;
- an RFC 9421 signature that was not verified is never passed over for a proof: it gets 401,
  so that Fedify falls back to draft-cavage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, NamedTuple

from cryptography.hazmat.primitives.asymmetric import ed25519

from fedcoop.activitypub.httpsig import (
    ParsedSignature,
    SignatureError,
    check_freshness,
    parse_signature_headers,
    verify_parsed,
)
from fedcoop.activitypub.httpsig_common import FieldLines
from fedcoop.activitypub.keys import PublicKey
from fedcoop.activitypub.proofs import ProofError, proof_verification_method, verify_document
from fedcoop.db.inbox_queries import AuthKind
from fedcoop.federation.context import FederationContext
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.intake_rules import IncomingActivity, IntakeRefused, key_host
from fedcoop.federation.key_cache import KeyCache

# Key fetch failures that mean the actor is gone for good (Mastodon answers 410 after a delete).
GONE_STATUSES: Final = frozenset({404, 410})


class Signer(NamedTuple):  # immutable; built for every inbox POST
    uri: str
    auth: AuthKind


class Request(NamedTuple):  # immutable; built for every inbox POST
    method: str
    path: str  # the request target as received, with its query
    lines: FieldLines  # the headers, normalised by `field_lines`
    body: bytes


async def authenticate(
    ctx: FederationContext,
    keys: KeyCache | None,
    request: Request,
    activity: IncomingActivity,
    now: datetime,
) -> Signer:
    has_proof = "proof" in activity.doc
    if not _has_http_signature(request.lines):
        if has_proof:
            return await _by_proof(ctx, keys, activity)
        raise IntakeRefused(401, "unsigned")
    parsed = _parse(ctx, request, now)
    signing_host = key_host(parsed.key_id)
    owner: str | None = None
    if signing_host != activity.actor_host:
        await refuse_blocked(ctx, signing_host)
    else:
        owner = await _verified_owner(ctx, keys, parsed, activity, now)
    if owner == activity.actor:
        return Signer(owner, "rfc9421" if parsed.scheme == "rfc9421" else "cavage")
    if has_proof and (owner is not None or parsed.scheme == "cavage"):
        return await _by_proof(ctx, keys, activity)
    raise IntakeRefused(401, "signer_mismatch", "the key's owner is not the actor")


async def refuse_blocked(ctx: FederationContext, host: str) -> None:
    if await ctx.policy.is_blocked(host):
        raise IntakeRefused(403, "blocked_domain", host)


def _has_http_signature(lines: FieldLines) -> bool:
    if "signature" in lines or "signature-input" in lines:
        return True
    return any(v.lower().startswith("signature ") for v in lines.get("authorization", []))


def _parse(ctx: FederationContext, request: Request, now: datetime) -> ParsedSignature:
    # fedcoop sits behind a reverse proxy: the URI the sender signed is our public one.
    target_uri = ctx.uris.base + request.path
    try:
        parsed = parse_signature_headers(
            request.method,
            request.path,
            (),
            request.body,
            target_uri=target_uri,
            lines=request.lines,
        )
        check_freshness(parsed, now)
    except SignatureError as exc:
        raise IntakeRefused(401, exc.reason, exc.detail) from None
    return parsed


async def _verified_owner(
    ctx: FederationContext,
    keys: KeyCache | None,
    parsed: ParsedSignature,
    activity: IncomingActivity,
    now: datetime,
) -> str:
    def check(key: PublicKey) -> None:
        try:
            verify_parsed(parsed, key, now)
        except SignatureError as exc:
            raise IntakeRefused(401, exc.reason, exc.detail) from None

    try:
        return await _verify_with_key(ctx, keys, parsed.key_id, check)
    except FetchError as exc:
        _drop_unverifiable_self_delete(parsed, activity, exc)
        raise IntakeRefused(401, "key_unavailable", exc.reason) from None


def _may_be_stale(exc: IntakeRefused) -> bool:
    """A failure a newer copy of the key could cure (the actor rotated its key)."""
    return exc.reason == "bad_signature" or (
        exc.reason == "bad_proof" and exc.detail == "bad_signature"
    )


async def _verify_with_key(
    ctx: FederationContext,
    keys: KeyCache | None,
    key_id: str,
    check: Callable[[PublicKey], None],
) -> str:
    """Run `check` with the key `key_id`; returns the key's owner. Raises what `check` raises,
    or `FetchError` when the key cannot be had."""
    if keys is not None and (remembered := keys.get(key_id)) is not None:
        try:
            check(remembered.public_key)
            return remembered.owner
        except IntakeRefused as exc:
            if not _may_be_stale(exc):
                raise
            keys.forget(key_id)
    owner, key = await ctx.fetcher.get_public_key(key_id)
    try:
        check(key)
    except IntakeRefused as exc:
        if not _may_be_stale(exc):
            raise
        fresh = await ctx.fetcher.refetch_key(key_id)
        if fresh is None:  # refetched too recently (or never cached): the failure stands
            raise
        owner, key = fresh
        check(key)
    if keys is not None:
        keys.put(key_id, owner.uri, key)
    return owner.uri


def _drop_unverifiable_self_delete(
    parsed: ParsedSignature, activity: IncomingActivity, exc: FetchError
) -> None:
    """Mastodon announces a deleted account to every server that knew it, signed by a key
    that is already gone (410). There is nothing to verify it with and nothing we must do
    for an actor we cannot fetch, so it is answered 202 and dropped rather than retried."""
    if (
        parsed.scheme == "cavage"
        and activity.type == "Delete"
        and activity.object_id == activity.actor
        and exc.status in GONE_STATUSES
    ):
        raise IntakeRefused(202, "dropped_self_delete", activity.actor)


async def _by_proof(
    ctx: FederationContext, keys: KeyCache | None, activity: IncomingActivity
) -> Signer:
    """An FEP-8b32 proof by an Ed25519 Multikey in the actor's `assertionMethod` (the fetcher
    keeps only such keys, controlled by the actor, as an actor's Ed25519 key)."""
    try:
        method = proof_verification_method(activity.doc)
    except ProofError as exc:
        raise IntakeRefused(401, "bad_proof", exc.reason) from None
    method_host = key_host(method)
    if method_host != activity.actor_host:
        await refuse_blocked(ctx, method_host)
        raise IntakeRefused(401, "signer_mismatch", "proof key and actor on different hosts")
    try:
        owner = await _verify_with_key(
            ctx, keys, method, lambda key: _verify_proof(activity.doc, key)
        )
    except FetchError as exc:
        raise IntakeRefused(401, "key_unavailable", exc.reason) from None
    if owner != activity.actor:
        raise IntakeRefused(401, "signer_mismatch", "the proof's controller is not the actor")
    return Signer(owner, "proof")


def _verify_proof(doc: dict[str, Any], key: PublicKey) -> None:
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise IntakeRefused(401, "bad_proof", "the verification method is not an Ed25519 key")
    try:
        verify_document(doc, key)
    except ProofError as exc:
        raise IntakeRefused(401, "bad_proof", exc.reason) from None
