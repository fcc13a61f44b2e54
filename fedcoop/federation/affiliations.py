"""Checking memberships across instances (FEP-5219 affiliations, FEP-8b32 proofs).

A membership of a coop on another instance is shown only when that coop itself vouches for
it: its `affiliations` collection lists a `Relationship{subject: person, object: coop}` whose
`eddsa-jcs-2022` proof verifies with the coop's own Ed25519 key (the Multikey in the coop's
`assertionMethod`). A missing or wrong proof, a Relationship signed by anyone else, or one the
coop no longer lists, is not a membership. Results are cached (`affiliation_checks`) for
`CHECK_MAX_AGE` seconds.

Where the claims come from: for a person of this instance, the memberships rows we hold (a
local coop's rows are the truth; a remote coop's rows came with the coop's signed Add); for a
person elsewhere, the `affiliations` collection their own server publishes on their actor (the
Relationships their coops signed), each claim then checked with the coop as above.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ed25519

from fedcoop import clock
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.documents import as_list, first_id
from fedcoop.activitypub.multikey import MultikeyError, public_key_from_multibase
from fedcoop.activitypub.proofs import ProofError, proof_verification_method, verify_document
from fedcoop.federation.context import FederationContext
from fedcoop.federation.coop_to_as import relationship_parts
from fedcoop.federation.fetcher import FetchBudget
from fedcoop.federation.http_client import FetchError
from fedcoop.gigs import affiliation_checks, membership
from fedcoop.gigs.affiliation_checks import AffiliationCheck

log = logging.getLogger(__name__)

CHECK_MAX_AGE: Final = 3600.0  # a removal shows within the hour; each view costs no fetch
MAX_PAGES: Final = 5
MAX_CLAIMS: Final = 20
FETCH_BUDGET: Final = 12


class RelationshipRefused(ValueError):
    """A Relationship that does not prove a membership; the message says why."""


def _coop_key(coop: Actor, method: str) -> ed25519.Ed25519PublicKey:
    if coop.ed25519_key_id is None or coop.ed25519_multibase is None:
        raise RelationshipRefused("the coop publishes no Ed25519 key")
    if method != coop.ed25519_key_id:
        raise RelationshipRefused("the proof is not made with the coop's own key")
    try:
        return public_key_from_multibase(coop.ed25519_multibase)
    except MultikeyError as exc:
        raise RelationshipRefused(f"the coop's key is unusable: {exc}") from None


def verify_relationship(doc: Any, coop: Actor, subject_uri: str | None = None) -> tuple[str, str]:
    """(subject, role) of a Relationship that `coop` signed about itself; raises
    RelationshipRefused otherwise. Checks the shape, that the coop is both the object and the
    author, and the proof against the coop's cached key (the caller may refetch and retry)."""
    parts = relationship_parts(doc)
    if parts is None:
        raise RelationshipRefused("not a Relationship with a subject, an object and a role")
    subject, coop_uri, role = parts
    if coop_uri != coop.uri:
        raise RelationshipRefused("the Relationship is not about this coop")
    if subject_uri is not None and subject != subject_uri:
        raise RelationshipRefused("the Relationship names someone else")
    author = first_id(doc.get("attributedTo"))
    if author not in (None, coop.uri):
        raise RelationshipRefused("the Relationship is attributed to someone else")
    try:
        method = proof_verification_method(doc)
        verify_document(doc, _coop_key(coop, method))
    except ProofError as exc:
        raise RelationshipRefused(f"bad proof: {exc.reason}") from None
    return subject, role


async def verify_with_refetch(
    ctx: FederationContext, doc: Any, coop: Actor, subject_uri: str | None = None
) -> tuple[str, str]:
    """`verify_relationship`, once more with the coop's key fetched again if it failed (the
    coop may have rotated its key since we cached it)."""
    try:
        return verify_relationship(doc, coop, subject_uri)
    except RelationshipRefused:
        if coop.local or coop.ed25519_key_id is None:
            raise
        try:
            refreshed = await ctx.fetcher.refetch_key(coop.ed25519_key_id)
        except FetchError:
            refreshed = None
        if refreshed is None:
            raise
        return verify_relationship(doc, refreshed[0], subject_uri)


# walking collections -----------------------------------------------------------------------


async def collection_items(
    ctx: FederationContext, collection_uri: str, budget: FetchBudget
) -> list[Any]:
    """The items of a (paged) collection, following `first` and `next` for MAX_PAGES pages."""
    doc = await ctx.fetcher.fetch_object(collection_uri, budget=budget)
    items: list[Any] = [*as_list(doc.get("orderedItems")), *as_list(doc.get("items"))]
    page: Any = doc.get("first")
    for _ in range(MAX_PAGES):
        if page is None:
            break
        if isinstance(page, str):
            page = await ctx.fetcher.fetch_object(page, budget=budget)
        if not isinstance(page, dict):
            break
        items += [*as_list(page.get("orderedItems")), *as_list(page.get("items"))]
        page = page.get("next")
    return items


async def _affiliations_url(ctx: FederationContext, actor_uri: str, budget: FetchBudget) -> str:
    doc = await ctx.fetcher.fetch_object(actor_uri, budget=budget)
    url = first_id(doc.get("affiliations"))
    if url is None:
        raise FetchError("bad_actor", "the actor publishes no affiliations")
    return url


# checking one membership ---------------------------------------------------------------------


@dataclass(frozen=True)
class ShownMembership:
    coop: Actor
    role: str
    verified: bool  # vouched for by the coop (always true for a local coop)
    reason: str = ""


async def check_membership(
    ctx: FederationContext,
    coop_uri: str,
    subject_uri: str,
    *,
    now: datetime | None = None,
    max_age: float = CHECK_MAX_AGE,
) -> AffiliationCheck:
    """Does the remote coop at `coop_uri` list `subject_uri`, signed? Cached for `max_age`."""
    moment = now or clock.now()
    cached = await ctx.db.read(
        lambda conn: affiliation_checks.get_check(conn, coop_uri, subject_uri)
    )
    if cached is not None and cached.fresh_at(moment, max_age):
        return cached
    role, reason = await _look_up(ctx, coop_uri, subject_uri)
    return await ctx.db.write(
        lambda conn: affiliation_checks.record_check(
            conn,
            coop_uri,
            subject_uri,
            role=role,
            verified=role is not None,
            reason=reason,
            now=moment,
        )
    )


async def _look_up(
    ctx: FederationContext, coop_uri: str, subject_uri: str
) -> tuple[str | None, str]:
    budget = FetchBudget(FETCH_BUDGET)
    try:
        coop = await ctx.fetcher.get_actor(coop_uri)
        if coop.type != "Group":
            return None, "not a coop"
        items = await collection_items(ctx, await _affiliations_url(ctx, coop.uri, budget), budget)
    except FetchError as exc:
        log.info("affiliations of %s unavailable: %s", coop_uri, exc)
        return None, f"the coop's affiliations are unavailable ({exc.reason})"
    reason = "the coop does not list this person"
    for item in items:
        parts = relationship_parts(item)
        if parts is None or parts[0] != subject_uri:
            continue
        try:
            _, role = await verify_with_refetch(ctx, item, coop, subject_uri)
        except RelationshipRefused as exc:
            reason = str(exc)
            continue
        return (role, "vouched for by the coop") if role != "outcast" else (None, "an outcast")
    return None, reason


async def invalidate(ctx: FederationContext, coop_uri: str, subject_uri: str) -> None:
    await ctx.db.write(lambda conn: affiliation_checks.forget(conn, coop_uri, subject_uri))


# what a profile shows -----------------------------------------------------------------------


def _local_truth(
    conn: sqlite3.Connection, actor_id: str
) -> tuple[list[ShownMembership], list[str]]:
    """Memberships of local coops (our table is the truth), and remote coops' uris we hold a
    row for (to be checked with those coops)."""
    shown: list[ShownMembership] = []
    remote: list[str] = []
    for found, coop in membership.memberships_of(conn, actor_id):
        if coop.local and found.active:
            shown.append(ShownMembership(coop, found.role, True))
        elif not coop.local and found.state == "active":
            remote.append(coop.uri)
    return shown, remote


async def shown_memberships(
    ctx: FederationContext, person: Actor, *, now: datetime | None = None
) -> list[ShownMembership]:
    """The coops a person belongs to, as any instance may show them: local coops from our own
    table, every other one only when that coop vouches for it (checked, cached)."""
    shown, claimed = await ctx.db.read(lambda conn: _local_truth(conn, person.id))
    if not person.local:
        claimed += await _claims_of_remote_person(ctx, person)
    local_coop_uris = {s.coop.uri for s in shown}
    for coop_uri in list(dict.fromkeys(claimed))[:MAX_CLAIMS]:
        if coop_uri in local_coop_uris or ctx.uris.is_local(coop_uri):
            continue
        check = await check_membership(ctx, coop_uri, person.uri, now=now)
        if not check.verified or check.role is None:
            continue
        try:
            coop = await ctx.fetcher.get_actor(coop_uri)
        except FetchError:
            continue
        shown.append(ShownMembership(coop, check.role, True, check.reason))
    return shown


async def _claims_of_remote_person(ctx: FederationContext, person: Actor) -> list[str]:
    """The coops a remote person's own server says they belong to (unverified claims)."""
    budget = FetchBudget(FETCH_BUDGET)
    try:
        url = await _affiliations_url(ctx, person.uri, budget)
        items = await collection_items(ctx, url, budget)
    except FetchError as exc:
        log.info("affiliations of %s unavailable: %s", person.uri, exc)
        return []
    claims = []
    for item in items:
        parts = relationship_parts(item)
        if parts is not None and parts[0] == person.uri:
            claims.append(parts[1])
    return claims
