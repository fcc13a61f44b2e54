"""Gigs rendered for the wire: the FEP-0837 Proposal and its companion Note (dual rendering).

Peers whose actor lists FEP-0837 in `generator.implements` get the Proposal; everyone else
(Mastodon, GoToSocial, Fedify-based servers) gets a Note with a short human text, a "reply to
apply" line and an FEP-e232 Link tag pointing at the Proposal, which Mitra fetches.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from fedcoop import clock
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.vocab import (
    AS_CONTEXT,
    GIG_CONTEXT,
    LD_MEDIA_TYPE,
    PROPOSAL_LINK_REL,
    PUBLIC,
)
from fedcoop.gigs import money
from fedcoop.gigs.offers import Gig

_ACTIONS = {"request": ("deliverService", "transfer"), "offer": ("deliverService", "transfer")}


def quantity(unit: str, value: Any) -> dict[str, str]:
    return {"hasUnit": unit, "hasNumericalValue": money.to_text(value)}


def addressing(gig: Gig, poster: Actor, coop: Actor | None) -> tuple[list[str], list[str]]:
    """(to, cc) by visibility: public to everyone, followers to the poster's (and coop's)
    followers, members to the coop's members collection."""
    followers = [a.followers for a in (poster, coop) if a is not None and a.followers]
    if gig.visibility == "public":
        return [PUBLIC], followers + ([coop.uri] if coop and coop.id != poster.id else [])
    if gig.visibility == "followers":
        return followers, [coop.uri] if coop and coop.id != poster.id else []
    members = f"{coop.uri}/members" if coop else poster.followers or poster.uri
    return [members], []


def _place(gig: Gig) -> dict[str, Any] | None:
    if gig.remote or not gig.place_name:
        return None
    place: dict[str, Any] = {"type": "Place", "name": gig.place_name}
    if gig.latitude is not None and gig.longitude is not None:
        place["latitude"] = gig.latitude
        place["longitude"] = gig.longitude
    return place


def _hashtags(skill_labels: dict[str, str], base_url: str) -> list[dict[str, str]]:
    tags = []
    for label in skill_labels.values():
        name = "".join(ch for ch in label.title() if ch.isalnum())
        if name:
            tags.append(
                {"type": "Hashtag", "name": f"#{name}", "href": f"{base_url}/tags/{name.lower()}"}
            )
    return tags


def gig_to_proposal(
    gig: Gig, poster: Actor, coop: Actor | None, skill_labels: dict[str, str], base_url: str
) -> dict[str, Any]:
    primary_action, reciprocal_action = _ACTIONS[gig.purpose]
    to, cc = addressing(gig, poster, coop)
    publishes: dict[str, Any] = {
        "type": "Intent",
        "id": gig.primary_uri,
        "action": primary_action,
        "resourceQuantity": quantity(gig.unit, gig.unit_quantity),
        "availableQuantity": quantity(
            gig.unit, gig.remaining if gig.state == "open" else Decimal(0)
        ),
        "minimumQuantity": quantity(gig.unit, gig.minimum),
    }
    if gig.skills:
        publishes["resourceConformsTo"] = gig.skills[0]
    doc: dict[str, Any] = {
        "@context": GIG_CONTEXT,
        "type": "Proposal",
        "id": gig.uri,
        "url": gig.url or gig.uri,
        "attributedTo": poster.uri,
        "purpose": gig.purpose,
        "name": gig.title,
        "content": gig.description,
        "published": gig.published_at,
        "updated": gig.updated_at,
        "publishes": publishes,
        "reciprocal": {
            "type": "Intent",
            "id": gig.reciprocal_uri,
            "action": reciprocal_action,
            "resourceConformsTo": money.currency_uri(gig.currency),
            "resourceQuantity": quantity("one", gig.price),
        },
        "unitBased": gig.unit_based,
        "tag": _hashtags(skill_labels, base_url)
        + [
            {
                "type": "Link",
                "href": s,
                "rel": "https://w3id.org/valueflows/ont/vf#resourceConformsTo",
                "name": skill_labels.get(s, s),
            }
            for s in gig.skills
        ],
        "to": to,
        "cc": cc,
    }
    if coop is not None:
        doc["audience"] = coop.uri
    if gig.starts_at:
        doc["hasBeginning"] = gig.starts_at
    if gig.ends_at:
        doc["hasEnd"] = gig.ends_at
    place = _place(gig)
    if place:
        doc["location"] = place
    return doc


def human_terms(gig: Gig) -> str:
    price = f"{money.display(gig.price, gig.currency)} {gig.currency}/{gig.unit}"
    parts = [price]
    if gig.starts_at:
        start = clock.parse_iso(gig.starts_at).strftime("%a %d %b %Y, %H:%M")
        parts.append(
            start + (f"-{clock.parse_iso(gig.ends_at).strftime('%H:%M')}" if gig.ends_at else "")
        )
    parts.append("remote" if gig.remote else (gig.place_name or ""))
    if gig.minimum > gig.unit_quantity:
        parts.append(f"min {money.to_text(gig.minimum)} {gig.unit}s")
    return " · ".join(p for p in parts if p)


def gig_to_note(
    gig: Gig, poster: Actor, coop: Actor | None, skill_labels: dict[str, str], base_url: str
) -> dict[str, Any]:
    """The companion Note: what Mastodon users see, and reply to in order to apply."""
    to, cc = addressing(gig, poster, coop)
    url = gig.url or gig.uri
    status = "" if gig.state == "open" else f" <strong>[{gig.state}]</strong>"
    word = "Gig" if gig.purpose == "request" else "Offer"
    tags = _hashtags(skill_labels, base_url)
    tag_html = " ".join(
        f'<a href="{escape(t["href"])}" class="mention hashtag" rel="tag">#<span>'
        f"{escape(t['name'][1:])}</span></a>"
        for t in tags
    )
    content = (
        f"<p><strong>{word}:</strong> {escape(gig.title)}{status}</p>"
        f"<p>{escape(human_terms(gig))}</p>"
        + (
            f'<p>Reply to this post to apply, or open <a href="{escape(url)}">{escape(url)}</a></p>'
            if gig.state == "open"
            else f'<p><a href="{escape(url)}">{escape(url)}</a></p>'
        )
        + (f"<p>{tag_html}</p>" if tag_html else "")
    )
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "type": "Note",
        "id": gig.note_uri,
        "url": url,
        "attributedTo": poster.uri,
        "published": gig.published_at,
        "content": content,
        "to": to,
        "cc": cc,
        "tag": [
            *tags,
            {
                "type": "Link",
                "mediaType": LD_MEDIA_TYPE,
                "href": gig.uri,
                "name": gig.uri,
                "rel": PROPOSAL_LINK_REL,
            },
        ],
    }
    if gig.updated_at != gig.published_at:
        # Mastodon applies an edit only when `updated` is present.
        doc["updated"] = gig.updated_at
    if coop is not None:
        doc["audience"] = coop.uri
    return doc
