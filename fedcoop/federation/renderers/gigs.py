"""Renderers of marketplace events: gigs (dual rendering), Offers, Accept/Reject, agreement
status, completion, payment and receipt."""

from __future__ import annotations

from typing import Any

from fedcoop import clock
from fedcoop.accounts.actors import Actor, get_actor, local_private_keys
from fedcoop.activitypub.vocab import FEP_0837, GIG_CONTEXT, PUBLIC
from fedcoop.federation.agreement_to_as import (
    agreement_to_as,
    economic_event,
    offer_to_as,
    signed_agreement,
    text_to_html,
)
from fedcoop.federation.gig_to_as import gig_to_note, gig_to_proposal
from fedcoop.federation.renderers.registry import Audience, Outgoing, RenderContext, renders
from fedcoop.gigs import agreements, applications, offers, skills
from fedcoop.gigs.states import AGREEMENT_STATUS_NAMES
from fedcoop.social.events import Event


def _activity(
    uri: str,
    kind: str,
    actor: str,
    obj: Any,
    to: list[str],
    cc: list[str] | None = None,
    context: list[object] | str = GIG_CONTEXT,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": context,
        "id": uri,
        "type": kind,
        "actor": actor,
        "object": obj,
        "to": to,
    }
    if cc:
        doc["cc"] = cc
    return doc


def _strip_context(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "@context"}


def _gig_parts(
    rc: RenderContext, gig_id: str | None
) -> tuple[offers.Gig, Actor, Actor | None, dict[str, str]] | None:
    if gig_id is None:
        return None
    gig = offers.get_gig(rc.conn, gig_id)
    if gig is None or not gig.local:
        return None
    poster = get_actor(rc.conn, gig.poster_id)
    coop = get_actor(rc.conn, gig.coop_id) if gig.coop_id else None
    if poster is None:
        return None
    return gig, poster, coop, skills.labels_for(rc.conn, gig.skills)


def _gig_audience(
    gig: offers.Gig, poster: Actor, coop: Actor | None, *, announced: bool
) -> Audience:
    """Who gets the poster's own activity. A new gig posted by a member reaches the coop's
    followers through the coop's Announce (FEP-1b12), so its Create goes to the poster's
    followers only; updates and deletions go to both, who may each hold a copy.
    Members-only gigs go to the coop's members."""
    owners = (poster,) if announced else (poster, coop)
    followers = tuple(dict.fromkeys(a.id for a in owners if a is not None))
    if gig.visibility == "members" and coop is not None:
        return Audience(members_of=(coop.id,), requires=(FEP_0837,))
    return Audience(followers_of=followers, requires=(FEP_0837,))


def _gig_activity(rc: RenderContext, event: Event, kind: str) -> list[Outgoing]:
    parts = _gig_parts(rc, event.subject_id)
    if parts is None:
        return []
    gig, poster, coop, labels = parts
    base = rc.uris.base
    proposal = gig_to_proposal(gig, poster, coop, labels, base)
    note = gig_to_note(gig, poster, coop, labels, base)
    uri = rc.uris.object("activities", event.id)
    to, cc = proposal["to"], proposal["cc"]
    if kind == "Delete":
        proposal_obj: Any = {"type": "Tombstone", "id": gig.uri, "formerType": "Proposal"}
        note_obj: Any = {"type": "Tombstone", "id": gig.note_uri, "formerType": "Note"}
    else:
        proposal_obj, note_obj = _strip_context(proposal), _strip_context(note)
    primary = _activity(uri, kind, poster.uri, proposal_obj, to, cc)
    fallback = _activity(uri + "/note", kind, poster.uri, note_obj, to, cc)
    if kind != "Create":
        for doc in (primary, fallback):
            doc["updated" if kind == "Update" else "published"] = gig.updated_at
    announced = kind == "Create" and coop is not None and coop.id != poster.id and coop.local
    audience = _gig_audience(gig, poster, coop, announced=announced)
    public = gig.visibility == "public"
    out = [Outgoing(primary, audience, public=public, fallback=fallback)]
    if announced and coop is not None:
        # FEP-1b12: the coop announces what its members post with audience = the coop.
        announce_to = [PUBLIC] if public else [coop.followers or coop.uri]
        announce = _activity(
            uri + "/announce",
            "Announce",
            coop.uri,
            _strip_context(primary),
            announce_to,
            [coop.followers] if public and coop.followers else [],
        )
        boost = _activity(
            uri + "/announce-note",
            "Announce",
            coop.uri,
            _strip_context(fallback),
            announce_to,
            [coop.followers] if public and coop.followers else [],
        )
        out.append(
            Outgoing(
                announce,
                Audience(followers_of=(coop.id,), requires=(FEP_0837,)),
                public=public,
                fallback=boost,
            )
        )
    return out


@renders("gig.created")
def render_gig_created(rc: RenderContext, event: Event) -> list[Outgoing]:
    return _gig_activity(rc, event, "Create")


@renders("gig.updated")
def render_gig_updated(rc: RenderContext, event: Event) -> list[Outgoing]:
    return _gig_activity(rc, event, "Update")


@renders("gig.deleted")
def render_gig_deleted(rc: RenderContext, event: Event) -> list[Outgoing]:
    return _gig_activity(rc, event, "Delete")


def _application_parts(
    rc: RenderContext, application_id: str | None
) -> tuple[applications.Application, offers.Gig, Actor, Actor] | None:
    if application_id is None:
        return None
    application = applications.get_application(rc.conn, application_id)
    if application is None:
        return None
    gig = offers.get_gig(rc.conn, application.gig_id)
    if gig is None:
        return None
    worker = get_actor(rc.conn, application.worker_id)
    poster = get_actor(rc.conn, gig.poster_id)
    if worker is None or poster is None:
        return None
    return application, gig, worker, poster


@renders("application.offered")
def render_offer(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _application_parts(rc, event.subject_id)
    if parts is None:
        return []
    application, gig, worker, poster = parts
    if application.quantity is None:
        return []
    return [
        Outgoing(offer_to_as(application, gig, worker, poster), Audience(actor_uris=(poster.uri,)))
    ]


@renders("application.withdrawn")
def render_withdrawal(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _application_parts(rc, event.subject_id)
    if parts is None:
        return []
    application, _gig, worker, poster = parts
    undo = _activity(
        rc.uris.object("activities", event.id), "Undo", worker.uri, application.uri, [poster.uri]
    )
    return [Outgoing(undo, Audience(actor_uris=(poster.uri,)))]


@renders("application.accepted")
def render_accept(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _application_parts(rc, event.subject_id)
    agreement_id = event.payload.get("agreement_id")
    if parts is None or not isinstance(agreement_id, str):
        return []
    application, gig, worker, poster = parts
    agreement = agreements.get_agreement(rc.conn, agreement_id)
    if agreement is None:
        return []
    _, ed_pem = local_private_keys(rc.conn, poster.id)
    result = signed_agreement(
        agreement_to_as(agreement, gig.uri, poster, worker), poster, ed_pem, clock.now()
    )
    accept = _activity(
        agreement.accept_uri or rc.uris.object("activities", event.id),
        "Accept",
        poster.uri,
        application.uri,
        [worker.uri],
    )
    accept["result"] = _strip_context(result)
    return [Outgoing(accept, Audience(actor_uris=(worker.uri,)))]


@renders("application.rejected")
def render_reject(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _application_parts(rc, event.subject_id)
    if parts is None:
        return []
    application, _gig, worker, poster = parts
    reject = _activity(
        rc.uris.object("activities", event.id), "Reject", poster.uri, application.uri, [worker.uri]
    )
    if application.reason:
        reject["content"] = text_to_html(application.reason)
    return [Outgoing(reject, Audience(actor_uris=(worker.uri,)))]


def _agreement_parts(
    rc: RenderContext, agreement_id: str | None
) -> tuple[agreements.Agreement, Actor, Actor] | None:
    if agreement_id is None:
        return None
    agreement = agreements.get_agreement(rc.conn, agreement_id)
    if agreement is None:
        return None
    poster = get_actor(rc.conn, agreement.poster_id)
    worker = get_actor(rc.conn, agreement.worker_id)
    if poster is None or worker is None:
        return None
    return agreement, poster, worker


def _direct(uri: str, kind: str, sender: Actor, obj: Any, recipient: Actor) -> Outgoing:
    """An activity from one party of an agreement to the other, and to nobody else."""
    return Outgoing(
        _activity(uri, kind, sender.uri, obj, [recipient.uri]),
        Audience(actor_uris=(recipient.uri,)),
    )


def _status_update(
    uri: str,
    agreement: agreements.Agreement,
    poster: Actor,
    worker: Actor,
    sender: Actor,
    name: str,
) -> Outgoing:
    """Update(Agreement) with the status as its preview Note's name (Mitra's convention)."""
    doc = _strip_context(agreement_to_as(agreement, agreement.gig_uri, poster, worker))
    doc["preview"] = {"type": "Note", "name": name}
    return _direct(uri, "Update", sender, doc, worker if sender is poster else poster)


@renders("agreement.status")
def render_status(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _agreement_parts(rc, event.subject_id)
    if parts is None:
        return []
    agreement, poster, worker = parts
    sender = poster if event.actor_id == poster.id else worker
    status = str(event.payload.get("status") or agreement.state)
    name = AGREEMENT_STATUS_NAMES.get(status, status)
    uri = rc.uris.object("activities", event.id)
    return [_status_update(uri, agreement, poster, worker, sender, name)]


@renders("agreement.completion")
def render_completion(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _agreement_parts(rc, event.subject_id)
    if parts is None or parts[0].completion_uri is None:
        return []
    agreement, poster, worker = parts
    assert agreement.completion_uri is not None
    obj = economic_event(
        agreement.completion_uri,
        agreement,
        worker,
        action="deliverService",
        fulfills=agreement.uri + "#primary",
        amount_unit=agreement.unit,
        amount=agreement.quantity,
        provider=worker.uri,
        receiver=poster.uri,
        published=agreement.delivered_at or agreement.updated_at,
    )
    obj["to"] = [poster.uri]
    return [_direct(rc.uris.object("activities", event.id), "Create", worker, obj, poster)]


@renders("agreement.payment")
def render_payment(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _agreement_parts(rc, event.subject_id)
    if parts is None or parts[0].payment_uri is None:
        return []
    agreement, poster, worker = parts
    assert agreement.payment_uri is not None
    obj = economic_event(
        agreement.payment_uri,
        agreement,
        poster,
        action="transfer",
        fulfills=agreement.uri + "#reciprocal",
        amount_unit="one",
        amount=agreement.amount,
        provider=poster.uri,
        receiver=worker.uri,
        published=agreement.paid_at or agreement.updated_at,
    )
    obj["to"] = [worker.uri]
    uri = rc.uris.object("activities", event.id)
    return [
        _direct(uri, "Create", poster, obj, worker),
        # Mitra reads "Paid" from an Update(Agreement) preview.
        _status_update(uri + "/paid", agreement, poster, worker, poster, "Paid"),
    ]


@renders("agreement.receipt")
def render_receipt(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _agreement_parts(rc, event.subject_id)
    if parts is None or parts[0].receipt_uri is None:
        return []
    agreement, poster, worker = parts
    obj = {
        "type": "Document",
        "id": agreement.receipt_uri,
        "attributedTo": poster.uri,
        "name": "Receipt",
        "context": agreement.uri,
        "published": agreement.completed_at or agreement.updated_at,
        "to": [worker.uri],
    }
    create = _activity(
        rc.uris.object("activities", event.id), "Create", poster.uri, obj, [worker.uri]
    )
    return [Outgoing(create, Audience(actor_uris=(worker.uri,)))]


@renders("application.refused")
def render_refusal(rc: RenderContext, event: Event) -> list[Outgoing]:
    """An Offer we could not take (bad quantity, no capacity): no row, but the worker's
    instance is told, so its pending application does not wait forever."""
    poster = get_actor(rc.conn, event.actor_id)
    offer_uri = event.payload.get("offer_uri")
    worker_uri = event.payload.get("worker_uri")
    if poster is None or not isinstance(offer_uri, str) or not isinstance(worker_uri, str):
        return []
    reject = _activity(
        rc.uris.object("activities", event.id), "Reject", poster.uri, offer_uri, [worker_uri]
    )
    reject["content"] = text_to_html(str(event.payload.get("reason") or ""))
    return [Outgoing(reject, Audience(actor_uris=(worker_uri,)))]
