"""Notifications, in the types Mastodon clients know.

Follows, follow requests, mentions and replies keep their types; gigs of the people and coops
one follows are `status`; the marketplace's events (applications, decisions, agreement
changes) are `mention`s whose status tells what happened, since clients drop types they do not
know. `types[]` and `exclude_types[]` filter by those Mastodon types; paged by id with a
`Link` header."""

from __future__ import annotations

from aiohttp import web

from fedcoop.web.bodies import query_list
from fedcoop.web.mastodon.common import (
    base_url,
    client_api,
    instance_name,
    member,
    page_of,
    paged,
    route,
)
from fedcoop.web.mastodon.schemas import notification_json

routes = web.RouteTableDef()


@route(routes, "GET", "/api/v1/notifications")
async def index(request: web.Request) -> web.Response:
    account = await member(request, "read:notifications")
    page = page_of(request)
    found = await client_api(request).notifications(
        account,
        page,
        types=query_list(request, "types"),
        exclude_types=query_list(request, "exclude_types"),
    )
    base, name = base_url(request), instance_name(request)
    docs = [notification_json(n, base, name) for n in found]
    return paged(request, docs, page, [n.id for n in found])
