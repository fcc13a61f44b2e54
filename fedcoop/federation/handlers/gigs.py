"""Inbound marketplace activities (PROTOCOL.md section 5, FEP-0837).

Create/Update/Delete of a Proposal, a coop's Announce of one, Offer (an application), Undo of
an Offer, Accept with the Agreement as `result` (proof checked, quantities equal to the
Offer's), Reject, Update(Agreement) status, the completion and payment EconomicEvents, the
Receipt, and a Mastodon reply to a gig's companion Note (an application without terms).
Only the poster accepts, rejects or issues the receipt; only the worker withdraws or records
completion; anything else is refused and changes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.documents import first_id
from fedcoop.activitypub.multikey import MultikeyError, public_key_from_multibase
from fedcoop.activitypub.proofs import ProofError, proof_verification_method, verify_document
from fedcoop.activitypub.vocab import PUBLIC_ALIASES
from fedcoop.errors import AppError
from fedcoop.federation.as_to_gig import ShapeError, as_to_gig_draft, as_to_offer_terms, ref
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.common import object_of, sender
from fedcoop.federation.handlers.registry import REGISTRY, InboxItem, Reject, handles, hook
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.inbox import resolve_embedded
from fedcoop.federation.sanitize import plain_text
from fedcoop.gigs import agreements, applications, membership, offers, skills
from fedcoop.social import events, follows

log = logging.getLogger(__name__)
STATUS_FROM_PREVIEW = {"Cancelled": "cancelled", "Disputed": "disputed", "InProgress": "active"}


def _addressees(doc: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key in ("to", "cc", "audience"):
        value = doc.get(key)
        for v in value if isinstance(value, list) else [value]:
            found = first_id(v)
            if found:
                out.add(found)
    return out


def _visibility(doc: dict[str, Any]) -> str:
    addressed = _addressees(doc)
    if addressed & PUBLIC_ALIASES:
        return "public"
    # Members-only: addressed to the coop's members (gig_to_as writes `COOP/members`).
    audience = first_id(doc.get("audience"))
    if audience and f"{audience}/members" in addressed:
        return "members"
    return "followers"


async def _store_proposal(
    ctx: FederationContext, doc: dict[str, Any], author: Actor, coop: Actor | None
) -> str:
    try:
        remote = as_to_gig_draft(doc, visibility=_visibility(doc))
    except ShapeError as exc:
        raise Reject(f"bad Proposal: {exc}") from None
    if remote.attributed_to != author.uri:
        raise Reject("the Proposal is not the sender's")
    if coop is None and remote.audience and remote.audience != author.uri:
        try:
            coop = await ctx.fetcher.get_actor(remote.audience)
        except FetchError:
            coop = None
        if coop is not None and coop.type != "Group":
            coop = None

    def store(conn: sqlite3.Connection) -> str:
        watchers = [a.id for a in (author, coop) if a is not None]
        followed = follows.followed_by_anyone_here(conn, watchers)
        known = offers.get_gig_by_uri(conn, remote.uri) is not None
        # A coop's remote members receive its members-only gigs without following it.
        members_here = coop is not None and bool(membership.local_members_of(conn, coop.id))
        if not followed and not known and not members_here:
            return "ignored: nobody here follows the poster or the coop"
        for uri, name in remote.skill_names.items():
            skills.remember_remote_skill(conn, uri, plain_text(name, 80))
        # A remote gig's companion Note has its own id, unknown here: replies go to its poster.
        _gig, created = offers.store_remote_gig(
            conn,
            uri=remote.uri,
            url=remote.url,
            note_uri=None,
            poster_id=author.id,
            coop_id=coop.id if coop else None,
            draft=remote.draft,
            published_at=remote.published or doc.get("published") or "",
            state="open" if remote.draft.available > 0 else "filled",
        )
        return "applied: gig stored" if created else "applied: gig updated"

    return await ctx.db.write(store)


@handles("Create", "Proposal")
async def handle_create_proposal(ctx: FederationContext, item: InboxItem) -> str:
    doc = await resolve_embedded(ctx, item.activity)
    if doc is None:
        raise Reject("the Proposal could not be verified at its origin")
    return await _store_proposal(ctx, doc, await sender(ctx, item), None)


@handles("Update", "Proposal")
async def handle_update_proposal(ctx: FederationContext, item: InboxItem) -> str:
    doc = await resolve_embedded(ctx, item.activity)
    if doc is None:
        raise Reject("the Proposal could not be verified at its origin")
    author = await sender(ctx, item)

    def known(conn: sqlite3.Connection) -> offers.Gig | None:
        return offers.get_gig_by_uri(conn, str(doc.get("id")))

    gig = await ctx.db.read(known)
    if gig is None:
        return await _store_proposal(ctx, doc, author, None)
    if gig.poster_id != author.id:
        raise Reject("only its poster can update a gig")
    return await _store_proposal(ctx, doc, author, None)


@handles("Announce", "Create", "Proposal")
async def handle_announce_gig(ctx: FederationContext, item: InboxItem) -> str:
    """A coop (Group) announces a gig posted with audience = the coop (FEP-1b12)."""
    coop = await sender(ctx, item)
    if coop.type != "Group":
        return "ignored: only groups' announces of gigs are followed"
    inner = object_of(item)
    proposal_ref = (
        inner.get("object") if isinstance(inner, dict) and inner.get("type") == "Create" else inner
    )
    proposal_id = first_id(proposal_ref)
    if proposal_id is None:
        raise Reject("Announce without an object")
    # The Proposal is someone else's: take it only from its own origin.
    try:
        doc = await ctx.fetcher.fetch_object(proposal_id)
    except FetchError as exc:
        if exc.transient:
            raise
        raise Reject(f"the announced gig cannot be fetched: {exc.reason}") from None
    if doc.get("type") != "Proposal":
        return "ignored: the announced object is not a gig"
    if ref(doc.get("audience")) != coop.uri:
        raise Reject("the gig was not posted to this coop")
    author_uri = ref(doc.get("attributedTo"))
    if author_uri is None:
        raise Reject("the gig has no author")
    author = await ctx.fetcher.get_actor(author_uri)
    return await _store_proposal(ctx, doc, author, coop)


@hook("delete-reference")
async def delete_gig(
    ctx: FederationContext, item: InboxItem, uri: str, author: Actor
) -> str | None:
    def apply(conn: sqlite3.Connection) -> str | None:
        gig = offers.get_gig_by_uri(conn, uri)
        if gig is None or gig.local:
            return None
        if gig.poster_id != author.id:
            raise Reject("only its poster can delete a gig")
        offers.delete_remote_gig(conn, uri, author.id)
        return "applied: gig withdrawn"

    return await ctx.db.write(apply)


# applications ------------------------------------------------------------------------------


@handles("Offer", "Agreement")
@handles("OfferAgreement", "Agreement")  # Mitra >= 5.6 alias
async def handle_offer(ctx: FederationContext, item: InboxItem) -> str:
    worker = await sender(ctx, item)
    try:
        terms = as_to_offer_terms(object_of(item))
    except ShapeError as exc:
        raise Reject(f"bad Offer: {exc}") from None
    cover = plain_text(str(item.activity.get("content") or ""), applications.MAX_COVER_NOTE)

    def apply(conn: sqlite3.Connection) -> str:
        gig = offers.get_gig_by_uri(conn, terms.primary)
        if gig is None or not gig.local or terms.primary != gig.primary_uri:
            raise Reject("the Offer names no gig of ours")
        if terms.reciprocal is not None and terms.reciprocal != gig.reciprocal_uri:
            raise Reject("the Offer's reciprocal commitment names another gig")
        try:
            applications.apply(
                conn,
                ctx.uris,
                gig_id=gig.id,
                worker_id=worker.id,
                quantity=terms.quantity,
                cover_note=cover,
                offered_amount=terms.amount,
                offer_uri=item.activity_uri,
            )
        except AppError as exc:
            # Nothing is stored; the worker's instance is told why (a Reject of its Offer).
            raise OfferRefused(exc.safe_message) from None
        return "applied: application received"

    try:
        return await ctx.db.write(apply)
    except OfferRefused as refused:
        reason = str(refused)

        def tell(conn: sqlite3.Connection) -> None:
            poster_id = _gig_poster_id(conn, terms.primary)
            if poster_id is not None:
                events.emit(
                    conn,
                    "application.refused",
                    poster_id,
                    None,
                    {"offer_uri": item.activity_uri, "worker_uri": worker.uri, "reason": reason},
                )

        await ctx.db.write(tell)
        raise Reject(f"Offer refused: {reason}") from None


class OfferRefused(Exception):
    pass


def _gig_poster_id(conn: sqlite3.Connection, uri: str) -> str | None:
    gig = offers.get_gig_by_uri(conn, uri)
    return gig.poster_id if gig is not None and gig.local else None


@hook("create-note")
async def reply_applies(
    ctx: FederationContext, item: InboxItem, obj: Any, author: Actor
) -> str | None:
    """A reply to a gig's companion Note (how Mastodon users apply): a pending application
    without structured terms; the note itself is then stored as usual."""
    in_reply_to = first_id(obj.get("inReplyTo")) if isinstance(obj, dict) else None
    if not in_reply_to or not ctx.uris.is_local(in_reply_to) or obj.get("name"):
        return None

    def apply(conn: sqlite3.Connection) -> None:
        # A Mastodon user replies to the companion Note; a fedcoop member, whose instance
        # holds the Proposal, replies to the gig's own id.
        gig = offers.get_gig_by_note_uri(conn, in_reply_to) or offers.get_gig_by_uri(
            conn, in_reply_to
        )
        if gig is None or not gig.local or gig.state != "open" or gig.poster_id == author.id:
            return
        if applications.get_application_by_uri(conn, str(obj.get("id"))) is not None:
            return  # the same reply delivered again
        try:
            applications.apply(
                conn,
                ctx.uris,
                gig_id=gig.id,
                worker_id=author.id,
                quantity=None,
                cover_note=plain_text(str(obj.get("content") or ""), applications.MAX_COVER_NOTE),
                offer_uri=str(obj.get("id")),
                reply_note_uri=str(obj.get("id")),
            )
        except AppError as exc:
            log.info("reply to gig %s not taken as an application: %s", gig.id, exc)

    await ctx.db.write(apply)
    return None


@hook("undo-reference")
async def offer_withdrawn(
    ctx: FederationContext, item: InboxItem, uri: str, actor: Actor
) -> str | None:
    def apply(conn: sqlite3.Connection) -> str | None:
        application = applications.get_application_by_uri(conn, uri)
        if application is None:
            return None
        if application.worker_id != actor.id:
            raise Reject("only the applicant can withdraw an Offer")
        if application.state != "pending":
            return f"ignored: application already {application.state}"
        applications.withdraw(conn, application.id, actor.id)
        return "applied: application withdrawn"

    return await ctx.db.write(apply)


# decisions ----------------------------------------------------------------------------------


def _verify_agreement_proof(result: dict[str, Any], context: Any, poster: Actor) -> None:
    doc = {"@context": result.get("@context", context), **result}
    try:
        method = proof_verification_method(doc)
    except ProofError as exc:
        raise Reject(f"the Agreement has no usable proof: {exc}") from None
    if method != poster.ed25519_key_id or not poster.ed25519_multibase:
        raise Reject("the Agreement is not signed by the poster's key")
    try:
        verify_document(doc, public_key_from_multibase(poster.ed25519_multibase))
    except (ProofError, MultikeyError) as exc:
        raise Reject(f"the Agreement's proof does not verify: {exc}") from None


async def _accept_offer(
    ctx: FederationContext, item: InboxItem, offer_uri: str, poster: Actor
) -> str | None:
    result = item.activity.get("result")

    def find(conn: sqlite3.Connection) -> applications.Application | None:
        return applications.get_application_by_uri(conn, offer_uri)

    application = await ctx.db.read(find)
    if application is None:
        if ctx.uris.is_local(offer_uri) and "/applications/" in offer_uri:
            raise Reject("Accept of an Offer never sent")
        return None
    if not isinstance(result, dict) or result.get("type") != "Agreement":
        raise Reject("an Accept of an Offer carries the Agreement as its result")
    agreement_uri = ref(result)
    if agreement_uri is None or not poster.uri or ref(result.get("attributedTo")) != poster.uri:
        raise Reject("the Agreement must be the poster's")
    _verify_agreement_proof(result, item.activity.get("@context"), poster)
    try:
        terms = as_to_offer_terms(result)
    except ShapeError as exc:
        raise Reject(f"bad Agreement: {exc}") from None
    raw_stipulates = result.get("stipulates")
    stipulates: dict[str, Any] = raw_stipulates if isinstance(raw_stipulates, dict) else {}

    def apply(conn: sqlite3.Connection) -> str:
        gig = offers.require_gig(conn, application.gig_id)
        if gig.poster_id != poster.id:
            raise Reject("only the poster can accept an Offer")
        if terms.primary != gig.primary_uri or terms.amount is None:
            raise Reject("the Agreement does not match the Offer")
        if terms.quantity != application.quantity or terms.amount != application.amount:
            raise Reject("the Agreement's quantities differ from the Offer's")
        try:
            agreements.store_remote_agreement(
                conn,
                uri=agreement_uri,
                offer_uri=offer_uri,
                accept_uri=item.activity_uri,
                poster_id=poster.id,
                worker_id=application.worker_id,
                quantity=terms.quantity,
                amount=terms.amount,
                starts_at=_text(stipulates.get("hasBeginning")),
                ends_at=_text(stipulates.get("hasEnd")),
            )
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        return "applied: agreement stored"

    return await ctx.db.write(apply)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@hook("accept-reference")
async def offer_accepted(
    ctx: FederationContext, item: InboxItem, uri: str, actor: Actor
) -> str | None:
    return await _accept_offer(ctx, item, uri, actor)


@hook("reject-reference")
async def offer_rejected(
    ctx: FederationContext, item: InboxItem, uri: str, actor: Actor
) -> str | None:
    reason = plain_text(str(item.activity.get("content") or ""), 500)

    def apply(conn: sqlite3.Connection) -> str | None:
        application = applications.get_application_by_uri(conn, uri)
        if application is None:
            return None
        try:
            done = applications.mark_remote_decision(conn, uri, actor.id, "rejected", reason)
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        return "applied: application rejected" if done else None

    return await ctx.db.write(apply)


@handles("Accept", None, "Offer")
@handles("AcceptAgreement", None, "Offer")  # Mitra >= 5.6 alias
async def handle_accept_reference(ctx: FederationContext, item: InboxItem) -> str:
    uri = first_id(object_of(item))
    if uri is None:
        raise Reject("Accept without an object")
    actor = await sender(ctx, item)
    outcome = await REGISTRY.run_hooks("accept-reference", ctx, item, uri, actor)
    return outcome or "ignored: Accept of something unknown"


@handles("Reject", None, "Offer")
async def handle_reject_reference(ctx: FederationContext, item: InboxItem) -> str:
    uri = first_id(object_of(item))
    if uri is None:
        raise Reject("Reject without an object")
    actor = await sender(ctx, item)
    outcome = await REGISTRY.run_hooks("reject-reference", ctx, item, uri, actor)
    return outcome or "ignored: Reject of something unknown"


# agreements --------------------------------------------------------------------------------


def _party_agreement(
    conn: sqlite3.Connection, uri: str | None, actor: Actor
) -> agreements.Agreement:
    agreement = agreements.get_agreement_by_uri(conn, uri) if uri else None
    if agreement is None:
        raise Reject("no such agreement here")
    if actor.id not in (agreement.poster_id, agreement.worker_id):
        raise Reject("only the agreement's parties may change it")
    return agreement


@handles("Update", "Agreement")
async def handle_agreement_status(ctx: FederationContext, item: InboxItem) -> str:
    actor = await sender(ctx, item)
    obj = object_of(item)
    preview = obj.get("preview") if isinstance(obj, dict) else None
    name = preview.get("name") if isinstance(preview, dict) else None

    def apply(conn: sqlite3.Connection) -> str:
        agreement = _party_agreement(conn, ref(obj), actor)
        if name == "Paid":
            return "ignored: payment is recorded from its EconomicEvent"
        status = STATUS_FROM_PREVIEW.get(str(name))
        if status is None:
            return f"ignored: status {name!r}"
        try:
            agreements.change_status(conn, agreement.id, actor.id, status, from_remote=True)
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        return f"applied: agreement {status}"

    return await ctx.db.write(apply)


@handles("Create", "EconomicEvent")
async def handle_economic_event(ctx: FederationContext, item: InboxItem) -> str:
    actor = await sender(ctx, item)
    obj = object_of(item)
    if not isinstance(obj, dict) or ref(obj.get("attributedTo")) not in (None, actor.uri):
        raise Reject("the event is not the sender's")
    fulfills = ref(obj.get("fulfills")) or ""
    event_uri = ref(obj)

    def apply(conn: sqlite3.Connection) -> str:
        agreement = _party_agreement(conn, fulfills.split("#")[0], actor)
        try:
            if fulfills.endswith("#primary") and actor.id == agreement.worker_id:
                agreements.record_completion(
                    conn, ctx.uris, agreement.id, actor.id, completion_uri=event_uri
                )
                return "applied: completion recorded"
            if fulfills.endswith("#reciprocal") and actor.id == agreement.poster_id:
                agreements.record_payment(
                    conn, ctx.uris, agreement.id, actor.id, payment_uri=event_uri
                )
                return "applied: payment recorded"
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        raise Reject("that party cannot fulfil that commitment")

    return await ctx.db.write(apply)


@handles("Create", "Document")
async def handle_receipt(ctx: FederationContext, item: InboxItem) -> str:
    actor = await sender(ctx, item)
    obj = object_of(item)
    if not isinstance(obj, dict) or obj.get("name") != "Receipt":
        return "ignored: a document that is not a receipt"

    def apply(conn: sqlite3.Connection) -> str:
        agreement = _party_agreement(conn, ref(obj.get("context")), actor)
        try:
            agreements.record_receipt(conn, agreement.uri, actor.id, str(obj.get("id")))
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        return "applied: receipt recorded"

    return await ctx.db.write(apply)


@handles("Undo", "Offer")
async def handle_undo_offer(ctx: FederationContext, item: InboxItem) -> str:
    uri = first_id(object_of(item))
    if uri is None:
        raise Reject("Undo without an object")
    outcome = await offer_withdrawn(ctx, item, uri, await sender(ctx, item))
    return outcome or "ignored: unknown Offer"
