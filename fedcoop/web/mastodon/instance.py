"""Instance metadata for clients: `/api/v1/instance` and the full `/api/v2/instance`.

fedcoop reports itself as `4.3.0 (compatible; fedcoop X.Y)` (the version NodeInfo's
`metadata.upstream` names), so Mastodon.py reads v2 and finds `api_versions.mastodon`
(CLIENTS.md quirk 2). Both are public, as on Mastodon.
"""

from __future__ import annotations

from aiohttp import web

from fedcoop.web.mastodon.common import client_api, route
from fedcoop.web.mastodon.schemas import instance_v1_json, instance_v2_json
from fedcoop.web.responses import plain_json

routes = web.RouteTableDef()
CORS = {"Access-Control-Allow-Origin": "*"}


@route(routes, "GET", "/api/v1/instance")
async def instance_v1(request: web.Request) -> web.Response:
    return plain_json(instance_v1_json(await client_api(request).instance()), headers=CORS)


@route(routes, "GET", "/api/v2/instance")
async def instance_v2(request: web.Request) -> web.Response:
    return plain_json(instance_v2_json(await client_api(request).instance()), headers=CORS)
