"""Remote FEP-0837 shapes read into domain drafts: Proposals, Offers, Agreements, events.

Accepts what real peers send: quantities as JSON strings or numbers (Mitra, Bonfire), a single
value where an array is expected and the other way round, `OfferAgreement`/`AcceptAgreement`
aliases. Anything that does not add up is refused with a `ShapeError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fedcoop.errors import ValidationError
from fedcoop.federation.sanitize import sanitize_html
from fedcoop.gigs import money
from fedcoop.gigs.offers import GigDraft

UNIT_ALIASES = {
    "hour": "hour",
    "h": "hour",
    "hours": "hour",
    "day": "day",
    "days": "day",
    "task": "task",
    "one": "task",
    "unit": "task",
}


class ShapeError(ValueError):
    """A remote document does not have the shape fedcoop accepts."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def ref(value: Any) -> str | None:
    """An id, whether given as a string or as an object with an id."""
    value = _first(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def measure(value: Any, field: str) -> tuple[str, Decimal]:
    """(unit, amount) of a `{hasUnit, hasNumericalValue}` measure; numbers or strings."""
    value = _first(value)
    if not isinstance(value, dict):
        raise ShapeError(field, "expected a quantity object")
    unit = value.get("hasUnit")
    raw = value.get("hasNumericalValue")
    if isinstance(raw, dict):  # Fedify re-serialises as {"@value": "1"}
        raw = raw.get("@value")
    if not isinstance(unit, str) or raw is None:
        raise ShapeError(field, "needs hasUnit and hasNumericalValue")
    try:
        amount = money.parse_decimal(raw, field=field, allow_zero=True)
    except ValidationError as exc:
        raise ShapeError(field, exc.safe_message) from None
    return unit, amount


def _intent(doc: dict[str, Any], key: str) -> dict[str, Any]:
    intent = _first(doc.get(key))
    if not isinstance(intent, dict):
        raise ShapeError(key, "expected an Intent object")
    return intent


@dataclass(frozen=True)
class RemoteProposal:
    uri: str
    url: str | None
    attributed_to: str
    audience: str | None
    published: str
    draft: GigDraft
    skill_names: dict[str, str]


def as_to_gig_draft(doc: dict[str, Any], *, visibility: str = "public") -> RemoteProposal:
    if doc.get("type") != "Proposal":
        raise ShapeError("type", "not a Proposal")
    uri = ref(doc)
    author = ref(doc.get("attributedTo"))
    if not uri or not author:
        raise ShapeError("id", "a Proposal needs an id and attributedTo")
    purpose = doc.get("purpose")
    if purpose not in ("request", "offer"):
        raise ShapeError("purpose", "must be request or offer")
    primary = _intent(doc, "publishes")
    reciprocal = _intent(doc, "reciprocal")
    unit_name, unit_quantity = measure(
        primary.get("resourceQuantity"), "publishes.resourceQuantity"
    )
    unit = UNIT_ALIASES.get(unit_name.lower())
    if unit is None:
        raise ShapeError("publishes.resourceQuantity", f"unknown unit {unit_name!r}")
    if unit_quantity <= 0:
        raise ShapeError("publishes.resourceQuantity", "must be more than zero")
    _, available = (
        measure(primary["availableQuantity"], "availableQuantity")
        if primary.get("availableQuantity")
        else (unit_name, unit_quantity)
    )
    _, minimum = (
        measure(primary["minimumQuantity"], "minimumQuantity")
        if primary.get("minimumQuantity")
        else (unit_name, unit_quantity)
    )
    _, price = measure(reciprocal.get("resourceQuantity"), "reciprocal.resourceQuantity")
    currency = money.currency_from_uri(str(reciprocal.get("resourceConformsTo") or ""))
    if currency is None:
        raise ShapeError("reciprocal.resourceConformsTo", "unknown currency")
    skills: dict[str, str] = {}
    conforms = primary.get("resourceConformsTo")
    for value in conforms if isinstance(conforms, list) else [conforms]:
        if isinstance(value, str):
            skills[value] = value
    tags = doc.get("tag") or []
    for tag in tags if isinstance(tags, list) else [tags]:
        if (
            isinstance(tag, dict)
            and tag.get("rel") == ("https://w3id.org/valueflows/ont/vf#resourceConformsTo")
            and isinstance(tag.get("href"), str)
        ):
            skills[tag["href"]] = str(tag.get("name") or tag["href"])
    location = _first(doc.get("location"))
    place_name = lat = lon = None
    if isinstance(location, dict):
        place_name = str(location.get("name") or "")[:200] or None
        try:
            lat = float(location["latitude"]) if "latitude" in location else None
            lon = float(location["longitude"]) if "longitude" in location else None
        except (TypeError, ValueError):
            lat = lon = None
    capped_minimum = min(minimum, available)
    try:
        draft = GigDraft(
            purpose=purpose,
            title=str(doc.get("name") or "")[:200] or "Untitled gig",
            description=sanitize_html(str(doc.get("content") or "")),
            unit=unit,
            price=price,
            currency=currency,
            available=available,
            minimum=capped_minimum,
            unit_quantity=unit_quantity,
            unit_based=bool(doc.get("unitBased", False)),
            visibility=visibility,
            remote=location is None,
            place_name=place_name,
            latitude=lat if lon is not None else None,
            longitude=lon if lat is not None else None,
            starts_at=doc.get("hasBeginning") if isinstance(doc.get("hasBeginning"), str) else None,
            ends_at=doc.get("hasEnd") if isinstance(doc.get("hasEnd"), str) else None,
            skills=tuple(skills),
        )
    except ValidationError as exc:
        raise ShapeError(exc.field or "proposal", exc.safe_message) from None
    return RemoteProposal(
        uri=uri,
        url=ref(doc.get("url")),
        attributed_to=author,
        audience=ref(doc.get("audience")),
        published=str(doc.get("published") or ""),
        draft=draft,
        skill_names=skills,
    )


@dataclass(frozen=True)
class OfferTerms:
    primary: str  # GIG#primary
    reciprocal: str | None
    quantity: Decimal
    amount: Decimal | None


def as_to_offer_terms(agreement: Any) -> OfferTerms:
    """The terms of an `Offer{object: Agreement}` (or of an Accept's `result`)."""
    if not isinstance(agreement, dict) or agreement.get("type") not in ("Agreement", None):
        raise ShapeError("object", "expected an Agreement")
    stipulates = _first(agreement.get("stipulates"))
    if not isinstance(stipulates, dict):
        raise ShapeError("stipulates", "expected a Commitment")
    primary = ref(stipulates.get("satisfies"))
    if not primary:
        raise ShapeError("stipulates.satisfies", "missing")
    _, qty = measure(stipulates.get("resourceQuantity"), "stipulates.resourceQuantity")
    reciprocal_uri = None
    amount = None
    reciprocal = _first(agreement.get("stipulatesReciprocal"))
    if isinstance(reciprocal, dict):
        reciprocal_uri = ref(reciprocal.get("satisfies"))
        _, amount = measure(
            reciprocal.get("resourceQuantity"), "stipulatesReciprocal.resourceQuantity"
        )
    return OfferTerms(primary=primary, reciprocal=reciprocal_uri, quantity=qty, amount=amount)
