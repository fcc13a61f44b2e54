"""Actor URLs: AS2 documents for ActivityPub clients, the profile page for browsers."""

from __future__ import annotations

from aiohttp import web

from fedcoop.uris import GROUP_PREFIX, INSTANCE_ACTOR_PATH, PERSON_PREFIX
from fedcoop.web import collections
from fedcoop.web.pages import render_profile
from fedcoop.web.responses import activity_json, request_wants_as2
from fedcoop.web.state import DISCOVERY

routes = web.RouteTableDef()
_KINDS = {PERSON_PREFIX: "Person", GROUP_PREFIX: "Group"}


async def _actor(request: web.Request, kind: str) -> web.StreamResponse:
    name = request.match_info["name"]
    if not request_wants_as2(request):
        return await render_profile(request, name, kind=kind)
    doc = await request.app[DISCOVERY].actor_document(kind, name)
    return activity_json(doc)


@routes.get(PERSON_PREFIX + "{name}")
async def person(request: web.Request) -> web.StreamResponse:
    return await _actor(request, "Person")


@routes.get(GROUP_PREFIX + "{name}")
async def group(request: web.Request) -> web.StreamResponse:
    return await _actor(request, "Group")


@routes.get(INSTANCE_ACTOR_PATH)
async def instance_actor(request: web.Request) -> web.StreamResponse:
    if not request_wants_as2(request):
        raise web.HTTPFound("/")
    return activity_json(await request.app[DISCOVERY].instance_actor_document())


@routes.get("/@{name}")
async def profile(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if request_wants_as2(request):
        doc = await request.app[DISCOVERY].actor_document_any(name)
        return activity_json(doc)
    return await render_profile(request, name, kind=None)


for prefix in (PERSON_PREFIX, GROUP_PREFIX):
    for part in ("followers", "following", "outbox"):
        routes.get(f"{prefix}{{name}}/{part}")(collections.handler(part, _KINDS[prefix]))
