"""The native API's JSON shapes (`/api/fedcoop/v1/`) and what its handlers share: ids and
amounts as strings (exact decimals never pass through a float), `limit`/`max_id` paging with a
`Link: <…>; rel="next"` header, and the scopes every endpoint asks for.

The shapes are documented in `openapi_gigs.py`; change both together.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fedcoop.accounts.accounts import Account
from fedcoop.accounts.actors import Actor
from fedcoop.errors import ValidationError
from fedcoop.federation.marketplace_views import (
    AgreementView,
    ApplicationView,
    GigView,
    NotificationView,
)
from fedcoop.gigs import money
from fedcoop.gigs.skills import Skill
from fedcoop.web import bearer
from fedcoop.web.responses import plain_json
from fedcoop.web.state import URIS

PREFIX = "/api/fedcoop/v1"
READ = "read:gigs"
WRITE = "write:gigs"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _number(value: Any) -> str | None:
    return None if value is None else money.to_text(value)


def actor_json(actor: Actor) -> dict[str, Any]:
    return {
        "id": actor.id,
        "uri": actor.uri,
        "type": actor.type,
        "username": actor.username,
        "host": actor.host,
        "handle": actor.handle,
        "display_name": actor.display_name,
        "local": actor.local,
    }


def gig_json(view: GigView) -> dict[str, Any]:
    gig = view.gig
    place = None
    if gig.place_name:
        place = {"name": gig.place_name, "latitude": gig.latitude, "longitude": gig.longitude}
    return {
        "id": gig.id,
        "uri": gig.uri,
        "url": gig.url or gig.uri,
        "local": gig.local,
        "purpose": gig.purpose,
        "title": gig.title,
        "description": gig.description,
        "poster": actor_json(view.poster),
        "coop": actor_json(view.coop) if view.coop else None,
        "remote": gig.remote,
        "place": place,
        "starts_at": gig.starts_at,
        "ends_at": gig.ends_at,
        "unit": gig.unit,
        "unit_quantity": money.to_text(gig.unit_quantity),
        "price": money.to_text(gig.price),
        "currency": gig.currency,
        "available": money.to_text(gig.available),
        "remaining": money.to_text(gig.remaining),
        "minimum": money.to_text(gig.minimum),
        "unit_based": gig.unit_based,
        "visibility": gig.visibility,
        "state": gig.state,
        "skills": [{"uri": uri, "label": label} for uri, label in view.skills.items()],
        "published_at": gig.published_at,
        "updated_at": gig.updated_at,
    }


def application_json(view: ApplicationView) -> dict[str, Any]:
    application, gig = view.application, view.gig
    return {
        "id": application.id,
        "uri": application.uri,
        "gig": {"id": gig.id, "uri": gig.uri, "title": gig.title, "local": gig.local},
        "worker": actor_json(view.worker),
        "quantity": _number(application.quantity),
        "unit": gig.unit,
        "amount": _number(application.amount),
        "currency": gig.currency,
        "cover_note": application.cover_note,
        "structured": application.structured,
        "state": application.state,
        "reason": application.reason,
        "agreement_id": view.agreement_id,
        "created_at": application.created_at,
        "updated_at": application.updated_at,
    }


def agreement_json(view: AgreementView) -> dict[str, Any]:
    agreement = view.agreement
    return {
        "id": agreement.id,
        "uri": agreement.uri,
        "local": agreement.local,
        "gig": (
            {"id": view.gig.id, "uri": view.gig.uri, "title": view.gig.title}
            if view.gig
            else {"id": None, "uri": agreement.gig_uri, "title": None}
        ),
        "application_id": agreement.application_id,
        "poster": actor_json(view.poster),
        "worker": actor_json(view.worker),
        "quantity": money.to_text(agreement.quantity),
        "unit": agreement.unit,
        "amount": money.to_text(agreement.amount),
        "currency": agreement.currency,
        "starts_at": agreement.starts_at,
        "ends_at": agreement.ends_at,
        "state": agreement.state,
        "paid": agreement.paid,
        "delivered_at": agreement.delivered_at,
        "paid_at": agreement.paid_at,
        "completed_at": agreement.completed_at,
        "receipt_uri": agreement.receipt_uri,
        "created_at": agreement.created_at,
        "updated_at": agreement.updated_at,
    }


def notification_json(view: NotificationView, base: str) -> dict[str, Any]:
    n = view.notification
    return {
        "id": n.id,
        "type": n.kind,
        "created_at": n.created_at,
        "read": n.read_at is not None,
        "from": actor_json(view.sender) if view.sender else None,
        "subject_uri": n.subject_uri,
        "url": base + view.link if view.link else None,
        "payload": n.payload,
    }


def skill_json(skill: Skill) -> dict[str, Any]:
    return {"uri": skill.uri, "slug": skill.slug, "label": skill.label, "local": skill.local}


# request helpers ---------------------------------------------------------------------------


async def viewer(request: web.Request) -> str | None:
    """A token with read:gigs; the actor behind it (None for an app's own token)."""
    grant = await bearer.require_scopes(request, READ)
    return grant.account.actor_id if grant.account else None


async def reader(request: web.Request) -> Account:
    return await bearer.require_account(request, READ)


async def writer(request: web.Request) -> Account:
    return await bearer.require_account(request, WRITE)


def limit_of(request: web.Request, *, maximum: int = MAX_LIMIT) -> int:
    value = request.query.get("limit", "")
    if not value:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ValidationError(f"must be a whole number from 1 to {maximum}", field="limit")
    return int(value)


def max_id_of(request: web.Request) -> str | None:
    value = request.query.get("max_id", "").strip()
    if len(value) > 40 or not value.isalnum():
        return None
    return value


def page_json(
    request: web.Request, items: list[dict[str, Any]], *, limit: int, next_max_id: str | None
) -> web.Response:
    """A list; a `Link` header points at the next (older) page when this one was full."""
    headers = {}
    if next_max_id and len(items) >= limit:
        target = request.app[URIS].absolute(str(request.rel_url.update_query(max_id=next_max_id)))
        headers["Link"] = f'<{target}>; rel="next"'
    return plain_json(items, headers=headers)
