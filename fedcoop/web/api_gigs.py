"""Native JSON API, gigs and skills: `/api/fedcoop/v1/gigs…` and `/api/fedcoop/v1/skills`.

What a coop's dispatch app or a requester's shop integrates with. Reading needs a token with
`read:gigs` (an app's own token can read the public board), writing a user's token with
`write:gigs` (`read` and `write` cover them). Bodies are JSON or forms; refused input is 422
with the field named. The same service as the HTML pages does the work.
"""

from __future__ import annotations

from aiohttp import web

from fedcoop.errors import ValidationError
from fedcoop.web.api_json import (
    PREFIX,
    application_json,
    gig_json,
    page_json,
    reader,
    skill_json,
    viewer,
    writer,
)
from fedcoop.web.gig_common import market, path_id
from fedcoop.web.gig_forms import (
    gig_fields,
    parse_application,
    parse_board_query,
    parse_coop_id,
    parse_gig,
    read_fields,
    text,
)
from fedcoop.web.openapi import document
from fedcoop.web.responses import plain_json
from fedcoop.web.state import URIS

routes = web.RouteTableDef()

# Fields of a gig's terms; a PATCH holding none of them changes only the state.
TERM_FIELDS = frozenset(
    {
        "purpose",
        "title",
        "description",
        "description_format",
        "unit",
        "unit_quantity",
        "price",
        "currency",
        "available",
        "minimum",
        "unit_based",
        "visibility",
        "remote",
        "place_name",
        "latitude",
        "longitude",
        "starts_at",
        "ends_at",
        "skills",
    }
)
PATCH_STATES = ("open", "closed")


@routes.get(PREFIX + "/gigs")
async def list_gigs(request: web.Request) -> web.StreamResponse:
    query = parse_board_query(request.query, await viewer(request))
    page = await market(request).board(query)
    items = [gig_json(v) for v in page.gigs]
    return page_json(request, items, limit=query.limit, next_max_id=page.next_max_id)


@routes.post(PREFIX + "/gigs")
async def create_gig(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    fields = await read_fields(request)
    draft = parse_gig(fields, request.app[URIS])
    view = await market(request).post_gig(account.actor_id, parse_coop_id(fields), draft)
    return plain_json(gig_json(view), status=201)


@routes.get(PREFIX + "/gigs/{id}")
async def get_gig(request: web.Request) -> web.StreamResponse:
    who = await viewer(request)
    return plain_json(gig_json(await market(request).gig(path_id(request), who)))


@routes.patch(PREFIX + "/gigs/{id}")
async def update_gig(request: web.Request) -> web.StreamResponse:
    """Change some terms (absent fields keep their value) and/or `state` (open, closed)."""
    account = await writer(request)
    gig_id = path_id(request)
    fields = await read_fields(request)
    service = market(request)
    view = await service.gig(gig_id, account.actor_id)
    if TERM_FIELDS & fields.keys():
        merged = {**gig_fields(view.gig), **fields}
        if "description" in fields and "description_format" not in fields:
            merged["description_format"] = "text"
        view = await service.edit_gig(
            account.actor_id, gig_id, parse_gig(merged, request.app[URIS])
        )
    if "state" in fields:
        state = text(fields, "state", max_len=20)
        if state not in PATCH_STATES:
            raise ValidationError("must be open or closed (DELETE withdraws)", field="state")
        view = await service.set_gig_state(account.actor_id, gig_id, state)
    return plain_json(gig_json(view))


@routes.delete(PREFIX + "/gigs/{id}")
async def withdraw_gig(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    view = await market(request).set_gig_state(account.actor_id, path_id(request), "withdrawn")
    return plain_json(gig_json(view))


@routes.post(PREFIX + "/gigs/{id}/applications")
async def apply(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    quantity, cover_note = parse_application(await read_fields(request))
    view = await market(request).apply(account.actor_id, path_id(request), quantity, cover_note)
    return plain_json(application_json(view), status=201)


@routes.get(PREFIX + "/gigs/{id}/applications")
async def gig_applications(request: web.Request) -> web.StreamResponse:
    """The applications to one of the caller's gigs (its poster only)."""
    account = await reader(request)
    found = await market(request).applications_for_gig(account.actor_id, path_id(request))
    return plain_json([application_json(v) for v in found])


@routes.get(PREFIX + "/skills")
async def list_skills(request: web.Request) -> web.StreamResponse:
    await viewer(request)
    return plain_json([skill_json(s) for s in await market(request).skill_list()])


@routes.post(PREFIX + "/skills")
async def add_skill(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    fields = await read_fields(request)
    skill = await market(request).add_skill(
        account,
        text(fields, "slug", max_len=60).strip(),
        text(fields, "label", max_len=80).strip(),
    )
    return plain_json(skill_json(skill), status=201)


@routes.get(PREFIX + "/openapi.json")
async def openapi_document(request: web.Request) -> web.StreamResponse:
    return plain_json(document(request.app[URIS].base))
