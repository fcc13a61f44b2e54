"""AS2 documents of coops' memberships and proposals, at the ids federation names.

`/coops/{name}/affiliations` (paged, each Relationship signed by the coop), one Relationship at
`/coops/{name}/affiliations/{id}`, a person's coop-signed Relationships at
`/users/{name}/affiliations`, and `/proposals/{id}` (the Question; browsers are sent to the
proposal's page).
"""

from __future__ import annotations

import sqlite3

from aiohttp import web

from fedcoop import ids
from fedcoop.accounts.actors import get_actor
from fedcoop.errors import NotFound
from fedcoop.federation import coop_collections
from fedcoop.gigs import governance
from fedcoop.uris import GROUP_PREFIX, PERSON_PREFIX
from fedcoop.web.responses import activity_json, request_wants_as2
from fedcoop.web.state import DB, URIS

routes = web.RouteTableDef()


@routes.get(GROUP_PREFIX + "{name}/affiliations")
async def coop_affiliations(request: web.Request) -> web.StreamResponse:
    doc = await coop_collections.coop_affiliations(
        request.app[DB],
        request.app[URIS],
        request.match_info["name"],
        page=request.query.get("page") in ("true", "1"),
        max_id=request.query.get("max_id"),
    )
    return activity_json(doc)


@routes.get(GROUP_PREFIX + "{name}/affiliations/{id}")
async def relationship(request: web.Request) -> web.StreamResponse:
    membership_id = request.match_info["id"]
    if not ids.is_valid(membership_id):
        raise NotFound("no such relationship")
    doc = await coop_collections.relationship_document(
        request.app[DB], request.match_info["name"], membership_id
    )
    return activity_json(doc)


@routes.get(PERSON_PREFIX + "{name}/affiliations")
async def person_affiliations(request: web.Request) -> web.StreamResponse:
    doc = await coop_collections.person_affiliations(
        request.app[DB], request.app[URIS], request.match_info["name"]
    )
    return activity_json(doc)


@routes.get("/proposals/{id}")
async def question(request: web.Request) -> web.StreamResponse:
    proposal_id = request.match_info["id"]
    if not ids.is_valid(proposal_id):
        raise NotFound("There is no such proposal here.")
    if request_wants_as2(request):
        doc = await coop_collections.question(request.app[DB], request.app[URIS], proposal_id)
        return activity_json(doc)

    def find(conn: sqlite3.Connection) -> str | None:
        proposal = governance.get_proposal(conn, proposal_id)
        coop = get_actor(conn, proposal.coop_actor_id) if proposal else None
        if proposal is None or coop is None or not proposal.local:
            return None
        return f"/coops/{coop.username}/proposals/{proposal.id}"

    path = await request.app[DB].read(find)
    if path is None:
        raise NotFound("There is no such proposal here.")
    raise web.HTTPSeeOther(path)
