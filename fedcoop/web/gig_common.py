"""What the marketplace pages and JSON API share: the service from app state, path ids, and
the display helpers templates use for money, quantities and times."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from fedcoop import clock, ids
from fedcoop.errors import NotFound
from fedcoop.federation.marketplace import Marketplace
from fedcoop.gigs import money
from fedcoop.web.state import DB, URIS

NOTIFICATION_TEXT = {
    "application": "applied to your gig",
    "application_accepted": "accepted your application",
    "application_rejected": "declined your application",
    "application_withdrawn": "withdrew an application",
    "agreement_status": "changed the status of an agreement",
    "agreement_completion": "recorded the work as delivered",
    "agreement_payment": "recorded the payment",
    "agreement_receipt": "confirmed the agreement with a receipt",
    "follow": "followed you",
    "follow_request": "asked to follow you",
    "mention": "mentioned you",
    "status": "posted",
}


def market(request: web.Request) -> Marketplace:
    return Marketplace(request.app[DB], request.app[URIS])


def path_id(request: web.Request, name: str = "id") -> str:
    """A row id from the path; anything that is not one is simply not found."""
    value = request.match_info[name]
    if not ids.is_valid(value):
        raise NotFound("There is nothing here by that id.")
    return value


def amount(value: Decimal | None, currency: str) -> str:
    return "" if value is None else f"{money.display(value, currency)} {currency}"


def quantity(value: Decimal | None, unit: str) -> str:
    if value is None:
        return "no quantity given"
    return f"{money.to_text(value)} {unit if value == 1 else unit + 's'}"


def when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return clock.parse_iso(value).strftime("%a %d %b %Y, %H:%M UTC")
    except ValueError:
        return value


def template_helpers() -> dict[str, Any]:
    return {
        "amount": amount,
        "quantity": quantity,
        "when": when,
        "number": money.to_text,
        "notification_text": NOTIFICATION_TEXT,
    }
