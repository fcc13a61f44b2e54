"""Native JSON API, what follows a gig: applications (accept, reject, withdraw), agreements
(completion, payment, cancel, dispute) and marketplace notifications.

Every endpoint acts as a user: reading needs `read:gigs`, changing `write:gigs`. An accept
that finds no capacity left answers 409 after the application was rejected (and the Reject
sent), so a caller retrying gets the same answer. Lists page with `limit` and `max_id`.
"""

from __future__ import annotations

from aiohttp import web

from fedcoop.errors import ValidationError
from fedcoop.social.paging import MAX_LIMIT as NOTIFICATIONS_MAX_LIMIT
from fedcoop.social.paging import Page
from fedcoop.web.api_json import (
    PREFIX,
    agreement_json,
    application_json,
    limit_of,
    max_id_of,
    notification_json,
    page_json,
    reader,
    writer,
)
from fedcoop.web.gig_common import market, path_id
from fedcoop.web.gig_forms import read_fields, text
from fedcoop.web.responses import plain_json
from fedcoop.web.state import URIS

routes = web.RouteTableDef()

ROLES = ("worker", "poster")


@routes.get(PREFIX + "/applications")
async def list_applications(request: web.Request) -> web.StreamResponse:
    """The caller's applications (`role=worker`, the default) or those to the caller's gigs
    (`role=poster`), newest first."""
    account = await reader(request)
    limit, before = limit_of(request), max_id_of(request)
    role = request.query.get("role", "worker")
    service = market(request)
    if role == "poster":
        found = await service.applications_received(account.actor_id, before=before, limit=limit)
    elif role == "worker":
        found = await service.applications_sent(account.actor_id, before=before, limit=limit)
    else:
        raise ValidationError("must be worker or poster", field="role")
    last = found[-1].application.id if found else None
    return page_json(request, [application_json(v) for v in found], limit=limit, next_max_id=last)


@routes.get(PREFIX + "/applications/{id}")
async def get_application(request: web.Request) -> web.StreamResponse:
    account = await reader(request)
    view = await market(request).application(account.actor_id, path_id(request))
    return plain_json(application_json(view))


@routes.post(PREFIX + "/applications/{id}/accept")
async def accept(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    view = await market(request).accept_application(account.actor_id, path_id(request))
    return plain_json(agreement_json(view))


@routes.post(PREFIX + "/applications/{id}/reject")
async def reject(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    reason = text(await read_fields(request), "reason", max_len=500)
    view = await market(request).reject_application(account.actor_id, path_id(request), reason)
    return plain_json(application_json(view))


@routes.post(PREFIX + "/applications/{id}/withdraw")
async def withdraw(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    view = await market(request).withdraw_application(account.actor_id, path_id(request))
    return plain_json(application_json(view))


@routes.get(PREFIX + "/agreements")
async def list_agreements(request: web.Request) -> web.StreamResponse:
    account = await reader(request)
    limit = limit_of(request)
    found = await market(request).agreements(
        account.actor_id, before=max_id_of(request), limit=limit
    )
    last = found[-1].agreement.id if found else None
    return page_json(request, [agreement_json(v) for v in found], limit=limit, next_max_id=last)


@routes.get(PREFIX + "/agreements/{id}")
async def get_agreement(request: web.Request) -> web.StreamResponse:
    account = await reader(request)
    view = await market(request).agreement(account.actor_id, path_id(request))
    return plain_json(agreement_json(view))


@routes.post(PREFIX + "/agreements/{id}/completion")
async def completion(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    view = await market(request).record_completion(account.actor_id, path_id(request))
    return plain_json(agreement_json(view))


@routes.post(PREFIX + "/agreements/{id}/payment")
async def payment(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    view = await market(request).record_payment(account.actor_id, path_id(request))
    return plain_json(agreement_json(view))


@routes.post(PREFIX + "/agreements/{id}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    view = await market(request).set_agreement_status(
        account.actor_id, path_id(request), "cancelled"
    )
    return plain_json(agreement_json(view))


@routes.post(PREFIX + "/agreements/{id}/dispute")
async def dispute(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    view = await market(request).set_agreement_status(
        account.actor_id, path_id(request), "disputed"
    )
    return plain_json(agreement_json(view))


@routes.get(PREFIX + "/notifications")
async def list_notifications(request: web.Request) -> web.StreamResponse:
    """Marketplace notifications only; the Mastodon API lists the social ones."""
    account = await reader(request)
    limit = limit_of(request, maximum=NOTIFICATIONS_MAX_LIMIT)
    page = Page(max_id=max_id_of(request), limit=limit)
    found = await market(request).notifications(account, page, marketplace_only=True)
    base = request.app[URIS].base
    last = found[-1].notification.id if found else None
    return page_json(
        request,
        [notification_json(v, base) for v in found],
        limit=page.limit,
        next_max_id=last,
    )
