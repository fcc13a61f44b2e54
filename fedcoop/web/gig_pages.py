"""Gig pages: the board, a gig (HTML, or its Proposal for ActivityPub clients), its companion
Note, posting and editing, closing, and the apply form. Every page works without JavaScript.

A refused form comes back filled in, with the message beside it and the error's status (422,
or 409 when the terms are frozen or the gig has no room); other errors get the error page.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fedcoop.accounts.accounts import Account
from fedcoop.errors import Conflict, Forbidden, ValidationError
from fedcoop.gigs import money
from fedcoop.web.authorized_fetch import SIGNER
from fedcoop.web.gig_common import market, path_id, template_helpers
from fedcoop.web.gig_forms import (
    CHECKBOXES,
    edit_form_fields,
    form_fields,
    parse_application,
    parse_board_query,
    parse_coop_id,
    parse_gig,
)
from fedcoop.web.responses import activity_json, request_wants_as2
from fedcoop.web.sessions import current_account, require_account
from fedcoop.web.state import URIS
from fedcoop.web.templating import render_page

routes = web.RouteTableDef()

NEW_GIG_DEFAULTS: dict[str, Any] = {
    "purpose": "request",
    "title": "",
    "description": "",
    "description_format": "text",
    "unit": "hour",
    "price": "",
    "currency": "EUR",
    "available": "",
    "minimum": "1",
    "unit_based": True,
    "visibility": "public",
    "remote": False,
    "place_name": "",
    "latitude": "",
    "longitude": "",
    "starts_at": "",
    "ends_at": "",
    "skills": [],
    "coop_id": "",
}


def _render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.StreamResponse:
    response = render_page(template, request, {**template_helpers(), **context}, status=status)
    response.headers["Vary"] = "Accept"
    return response


def _viewer_id(request: web.Request) -> str | None:
    """Who is looking: a verified signed GET's actor, else the signed-in member."""
    signer = request.get(SIGNER)
    if signer is not None:
        return signer.id
    account = current_account(request)
    return account.actor_id if account else None


# the board ---------------------------------------------------------------------------------


@routes.get("/gigs")
async def board_page(request: web.Request) -> web.StreamResponse:
    service = market(request)
    error: ValidationError | None = None
    page = None
    try:
        query = parse_board_query(request.query, _viewer_id(request))
        page = await service.board(query)
    except ValidationError as exc:
        error = exc
    next_url = None
    if page is not None and page.next_max_id:
        next_url = str(request.rel_url.update_query(max_id=page.next_max_id))
    return _render(
        request,
        "gigs/board.html",
        {
            "gigs": page.gigs if page else [],
            "next_url": next_url,
            "q": request.query,
            "skills": await service.skill_list(),
            "coops": await service.coop_list(),
            "currencies": sorted(money.CURRENCIES),
            "error": error,
        },
        status=error.status if error else 200,
    )


# posting and editing: registered before /gigs/{id}, which would take "new" for an id


async def _gig_form(
    request: web.Request,
    account: Account,
    fields: dict[str, Any],
    *,
    gig_id: str | None = None,
    error: ValidationError | Conflict | None = None,
) -> web.StreamResponse:
    service = market(request)
    return _render(
        request,
        "gigs/edit.html",
        {
            "fields": fields,
            "gig_id": gig_id,
            "error": error,
            "coops": await service.member_coops(account.actor_id),
            "skills": await service.skill_list(),
            "currencies": sorted(money.CURRENCIES),
        },
        status=error.status if error else 200,
    )


@routes.get("/gigs/new")
async def new_gig_form(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    return await _gig_form(request, account, dict(NEW_GIG_DEFAULTS))


@routes.post("/gigs/new")
async def post_gig(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    fields = {**NEW_GIG_DEFAULTS, **form_fields(await request.post(), checkboxes=CHECKBOXES)}
    try:
        draft = parse_gig(fields, request.app[URIS])
        view = await market(request).post_gig(account.actor_id, parse_coop_id(fields), draft)
    except (ValidationError, Conflict) as exc:
        return await _gig_form(request, account, fields, error=exc)
    raise web.HTTPSeeOther(f"/gigs/{view.gig.id}")


@routes.get("/gigs/{id}/edit")
async def edit_gig_form(request: web.Request) -> web.StreamResponse:
    gig_id = path_id(request)
    account = require_account(request)
    view = await market(request).gig(gig_id, account.actor_id)
    if view.gig.poster_id != account.actor_id:
        raise Forbidden("Only the gig's poster can edit it.")
    return await _gig_form(request, account, edit_form_fields(view.gig), gig_id=gig_id)


@routes.post("/gigs/{id}/edit")
async def edit_gig(request: web.Request) -> web.StreamResponse:
    gig_id = path_id(request)
    account = require_account(request)
    fields = {**NEW_GIG_DEFAULTS, **form_fields(await request.post(), checkboxes=CHECKBOXES)}
    try:
        draft = parse_gig(fields, request.app[URIS])
        await market(request).edit_gig(account.actor_id, gig_id, draft)
    except (ValidationError, Conflict) as exc:
        return await _gig_form(request, account, fields, gig_id=gig_id, error=exc)
    raise web.HTTPSeeOther(f"/gigs/{gig_id}")


# one gig -----------------------------------------------------------------------------------


async def _gig_page(
    request: web.Request,
    gig_id: str,
    *,
    apply_error: ValidationError | Conflict | None = None,
    apply_fields: dict[str, Any] | None = None,
) -> web.StreamResponse:
    viewer = _viewer_id(request)
    page = await market(request).gig_page(gig_id, viewer)
    return _render(
        request,
        "gigs/gig.html",
        {
            "page": page,
            "gig": page.view.gig,
            "view": page.view,
            "viewer_id": viewer,
            "apply_error": apply_error,
            "apply_fields": apply_fields or {"quantity": money.to_text(page.view.gig.minimum)},
            "local_domain": request.app[URIS].domain,
        },
        status=apply_error.status if apply_error else 200,
    )


@routes.get("/gigs/{id}")
async def gig(request: web.Request) -> web.StreamResponse:
    gig_id = path_id(request)
    if request_wants_as2(request):
        doc = await market(request).gig_document(gig_id, _viewer_id(request), note=False)
        return activity_json(doc)
    return await _gig_page(request, gig_id)


@routes.get("/gigs/{id}/note")
async def gig_note(request: web.Request) -> web.StreamResponse:
    """The companion Note that Mastodon users see; browsers go to the gig page."""
    gig_id = path_id(request)
    if request_wants_as2(request):
        doc = await market(request).gig_document(gig_id, _viewer_id(request), note=True)
        return activity_json(doc)
    raise web.HTTPSeeOther(f"/gigs/{gig_id}")


@routes.post("/gigs/{id}/apply")
async def apply(request: web.Request) -> web.StreamResponse:
    gig_id = path_id(request)
    account = require_account(request)
    fields = form_fields(await request.post())
    try:
        quantity, cover_note = parse_application(fields)
        await market(request).apply(account.actor_id, gig_id, quantity, cover_note)
    except (ValidationError, Conflict) as exc:
        return await _gig_page(request, gig_id, apply_error=exc, apply_fields=fields)
    raise web.HTTPSeeOther(f"/gigs/{gig_id}")


@routes.post("/gigs/{id}/state")
async def change_state(request: web.Request) -> web.StreamResponse:
    gig_id = path_id(request)
    account = require_account(request)
    form = await request.post()
    state = form.get("state")
    view = await market(request).set_gig_state(
        account.actor_id, gig_id, state if isinstance(state, str) else ""
    )
    raise web.HTTPSeeOther("/me/gigs" if view.gig.state == "withdrawn" else f"/gigs/{gig_id}")


@routes.get("/me/gigs")
async def my_gigs(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    gigs = await market(request).gigs_posted(account.actor_id)
    return _render(request, "gigs/mine.html", {"gigs": gigs})
