"""Applications, agreements and their economic events rendered as FEP-0837 activities."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.keys import load_ed25519_private_key_pem
from fedcoop.activitypub.proofs import sign_document
from fedcoop.activitypub.vocab import GIG_CONTEXT
from fedcoop.federation.gig_to_as import quantity
from fedcoop.gigs.agreements import Agreement
from fedcoop.gigs.applications import Application
from fedcoop.gigs.offers import Gig


def text_to_html(text: str) -> str:
    """Plain text (a cover note, a reason) as escaped HTML paragraphs."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def offer_to_as(application: Application, gig: Gig, worker: Actor, poster: Actor) -> dict[str, Any]:
    """`Offer{object: Agreement}` from the worker to the gig's poster (PROTOCOL.md section 5)."""
    assert application.quantity is not None and application.amount is not None
    return {
        "@context": GIG_CONTEXT,
        "type": "Offer",
        "id": application.uri,
        "actor": worker.uri,
        "to": [poster.uri],
        "content": text_to_html(application.cover_note),
        "published": application.created_at,
        "object": {
            "type": "Agreement",
            "stipulates": {
                "type": "Commitment",
                "satisfies": gig.primary_uri,
                "resourceQuantity": quantity(gig.unit, application.quantity),
            },
            "stipulatesReciprocal": {
                "type": "Commitment",
                "satisfies": gig.reciprocal_uri,
                "resourceQuantity": quantity("one", application.amount),
            },
        },
    }


def agreement_to_as(
    agreement: Agreement, gig_uri: str, poster: Actor, worker: Actor
) -> dict[str, Any]:
    """The finalised Agreement: same quantities as the Offer, parties as provider/receiver."""
    primary_provider, primary_receiver = worker.uri, poster.uri
    return {
        "@context": GIG_CONTEXT,
        "type": "Agreement",
        "id": agreement.uri,
        "url": agreement.uri,
        "attributedTo": poster.uri,
        "published": agreement.created_at,
        "stipulates": {
            "id": agreement.uri + "#primary",
            "type": "Commitment",
            "satisfies": gig_uri + "#primary",
            "resourceQuantity": quantity(agreement.unit, agreement.quantity),
            "provider": primary_provider,
            "receiver": primary_receiver,
            **({"hasBeginning": agreement.starts_at} if agreement.starts_at else {}),
            **({"hasEnd": agreement.ends_at} if agreement.ends_at else {}),
        },
        "stipulatesReciprocal": {
            "id": agreement.uri + "#reciprocal",
            "type": "Commitment",
            "satisfies": gig_uri + "#reciprocal",
            "resourceQuantity": quantity("one", agreement.amount),
            "provider": primary_receiver,
            "receiver": primary_provider,
        },
    }


def signed_agreement(
    doc: dict[str, Any], signer: Actor, ed25519_pem: str, now: datetime
) -> dict[str, Any]:
    """The agreement with an FEP-8b32 proof by its author, so either side can prove it."""
    key = load_ed25519_private_key_pem(ed25519_pem)
    assert signer.ed25519_key_id is not None
    return sign_document(doc, key, signer.ed25519_key_id, now)


def economic_event(
    uri: str,
    agreement: Agreement,
    actor: Actor,
    *,
    action: str,
    fulfills: str,
    amount_unit: str,
    amount: Any,
    provider: str,
    receiver: str,
    published: str,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "EconomicEvent",
        "id": uri,
        "attributedTo": actor.uri,
        "published": published,
        "context": agreement.uri,
        "fulfills": fulfills,
        "action": action,
        "resourceQuantity": quantity(amount_unit, amount),
        "provider": provider,
        "receiver": receiver,
        "finished": True,
    }
    if action == "deliverService":
        if agreement.starts_at:
            doc["hasBeginning"] = agreement.starts_at
        if agreement.ends_at:
            doc["hasEnd"] = agreement.ends_at
    return doc
