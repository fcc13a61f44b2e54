"""WebFinger, host-meta and NodeInfo: public discovery, never behind authorized fetch."""

from __future__ import annotations

from aiohttp import web

from fedcoop.activitypub.vocab import JRD_MEDIA_TYPE, XRD_MEDIA_TYPE
from fedcoop.errors import BadRequest
from fedcoop.web.responses import plain_json
from fedcoop.web.state import DISCOVERY

routes = web.RouteTableDef()
NODEINFO_PROFILE = "http://nodeinfo.diaspora.software/ns/schema/{v}#"
CORS = {"Access-Control-Allow-Origin": "*"}


@routes.get("/.well-known/webfinger")
async def webfinger(request: web.Request) -> web.Response:
    resources = request.query.getall("resource", [])
    if len(resources) != 1:
        raise BadRequest("exactly one resource parameter is required")
    doc = await request.app[DISCOVERY].webfinger(resources[0])
    return plain_json(doc, content_type=JRD_MEDIA_TYPE, headers=CORS)


@routes.get("/.well-known/host-meta")
async def host_meta(request: web.Request) -> web.Response:
    return web.Response(
        text=request.app[DISCOVERY].host_meta(), content_type=XRD_MEDIA_TYPE, headers=CORS
    )


@routes.get("/.well-known/nodeinfo")
async def nodeinfo_index(request: web.Request) -> web.Response:
    return plain_json(request.app[DISCOVERY].nodeinfo_index(), headers=CORS)


@routes.get("/nodeinfo/{version}")
async def nodeinfo(request: web.Request) -> web.Response:
    version = request.match_info["version"]
    doc = await request.app[DISCOVERY].nodeinfo(version)
    ctype = f'application/json; profile="{NODEINFO_PROFILE.format(v=version)}"'
    return web.Response(body=plain_json(doc).body, headers={"Content-Type": ctype, **CORS})
