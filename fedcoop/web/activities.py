"""Activities this instance published, dereferenceable at their ids: `/activities/{id}`."""

from __future__ import annotations

from aiohttp import web

from fedcoop.federation.outbox import published_activity
from fedcoop.web.responses import activity_json
from fedcoop.web.state import DB, URIS

routes = web.RouteTableDef()


@routes.get("/activities/{id}")
async def activity(request: web.Request) -> web.StreamResponse:
    uri = request.app[URIS].object("activities", request.match_info["id"])
    return activity_json(await published_activity(request.app[DB], uri))
