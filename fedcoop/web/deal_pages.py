"""Pages of what follows a gig: my applications, applications received (accept, reject),
agreements (status, terms, completion, payment, cancel, dispute) and notifications.

An agreement's terms and amounts are private to its two parties: the page, and the agreement's
AS2 document, answer 404 to everyone else. The AS2 document (signed by the poster) is served
to a party known from a verified signed GET (authorized fetch puts the signer on the request)
or from a signed-in session. With `federation.authorized_fetch` off, signatures are not
verified, so a remote party cannot fetch it: it already holds the signed Agreement from the
`Accept` that created it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fedcoop.social.paging import Page
from fedcoop.web.authorized_fetch import SIGNER
from fedcoop.web.gig_common import market, path_id, template_helpers
from fedcoop.web.gig_forms import form_fields, text
from fedcoop.web.responses import activity_json, request_wants_as2
from fedcoop.web.sessions import current_account, require_account
from fedcoop.web.templating import render_page

routes = web.RouteTableDef()

PAGE_SIZE = 20


def _render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.StreamResponse:
    return render_page(template, request, {**template_helpers(), **context}, status=status)


def _max_id(request: web.Request) -> str | None:
    value = request.query.get("max_id", "")
    return value if value.isalnum() and len(value) <= 40 else None


def _older(request: web.Request, items: list[Any], last_id: str | None) -> str | None:
    if len(items) < PAGE_SIZE or last_id is None:
        return None
    return str(request.rel_url.update_query(max_id=last_id))


# applications ------------------------------------------------------------------------------


@routes.get("/me/applications")
async def my_applications(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    found = await market(request).applications_sent(
        account.actor_id, before=_max_id(request), limit=PAGE_SIZE
    )
    return _render(
        request,
        "gigs/applications.html",
        {
            "applications": found,
            "received": False,
            "older": _older(request, found, found[-1].application.id if found else None),
        },
    )


@routes.get("/me/applications/received")
async def received_applications(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    found = await market(request).applications_received(
        account.actor_id, before=_max_id(request), limit=PAGE_SIZE
    )
    return _render(
        request,
        "gigs/applications.html",
        {
            "applications": found,
            "received": True,
            "older": _older(request, found, found[-1].application.id if found else None),
        },
    )


@routes.post("/applications/{id}/accept")
async def accept(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    # No capacity left: the service raises 409 and the error page says so.
    view = await market(request).accept_application(account.actor_id, path_id(request))
    raise web.HTTPSeeOther(f"/agreements/{view.agreement.id}")


@routes.post("/applications/{id}/reject")
async def reject(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    fields = form_fields(await request.post())
    reason = text(fields, "reason", max_len=500)
    await market(request).reject_application(account.actor_id, path_id(request), reason)
    raise web.HTTPSeeOther("/me/applications/received")


@routes.post("/applications/{id}/withdraw")
async def withdraw(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    await market(request).withdraw_application(account.actor_id, path_id(request))
    raise web.HTTPSeeOther("/me/applications")


# agreements --------------------------------------------------------------------------------


@routes.get("/me/agreements")
async def my_agreements(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    found = await market(request).agreements(
        account.actor_id, before=_max_id(request), limit=PAGE_SIZE
    )
    return _render(
        request,
        "gigs/agreements.html",
        {
            "agreements": found,
            "viewer_id": account.actor_id,
            "older": _older(request, found, found[-1].agreement.id if found else None),
        },
    )


@routes.get("/agreements/{id}")
async def agreement(request: web.Request) -> web.StreamResponse:
    agreement_id = path_id(request)
    account = current_account(request)
    if request_wants_as2(request):
        signer = request.get(SIGNER)
        viewer = signer.id if signer else (account.actor_id if account else None)
        return activity_json(await market(request).agreement_document(agreement_id, viewer))
    account = require_account(request)
    view = await market(request).agreement(account.actor_id, agreement_id)
    response = _render(
        request,
        "gigs/agreement.html",
        {"view": view, "agreement": view.agreement, "role": view.role_of(account.actor_id)},
    )
    response.headers["Vary"] = "Accept"
    return response


async def _agreement_action(request: web.Request, action: str) -> web.StreamResponse:
    agreement_id = path_id(request)
    account = require_account(request)
    service = market(request)
    if action == "completion":
        await service.record_completion(account.actor_id, agreement_id)
    elif action == "payment":
        await service.record_payment(account.actor_id, agreement_id)
    else:
        await service.set_agreement_status(account.actor_id, agreement_id, action)
    raise web.HTTPSeeOther(f"/agreements/{agreement_id}")


# Four routes rather than one `/{action}`: other pages live under /agreements/{id}/ too.
@routes.post("/agreements/{id}/completion")
async def completion(request: web.Request) -> web.StreamResponse:
    return await _agreement_action(request, "completion")


@routes.post("/agreements/{id}/payment")
async def payment(request: web.Request) -> web.StreamResponse:
    return await _agreement_action(request, "payment")


@routes.post("/agreements/{id}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    return await _agreement_action(request, "cancelled")


@routes.post("/agreements/{id}/dispute")
async def dispute(request: web.Request) -> web.StreamResponse:
    return await _agreement_action(request, "disputed")


# notifications -----------------------------------------------------------------------------


@routes.get("/notifications")
async def notifications(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    found = await market(request).notifications(
        account, Page(max_id=_max_id(request), limit=PAGE_SIZE)
    )
    return _render(
        request,
        "gigs/notifications.html",
        {
            "notifications": found,
            "older": _older(request, found, found[-1].notification.id if found else None),
        },
    )


@routes.post("/notifications/read")
async def mark_read(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    await market(request).mark_notifications_read(account)
    raise web.HTTPSeeOther("/notifications")
