"""Timelines: home (a member's own, with the gigs of the coops they follow and their coops'
votes), public and by hashtag (a gig's skills are its hashtags). Paged by id with a `Link`
header; `local` and `remote` narrow the public ones."""

from __future__ import annotations

from aiohttp import web

from fedcoop.web.mastodon.common import (
    client_api,
    member,
    page_of,
    route,
    status_page,
    truthy,
    viewer,
)

routes = web.RouteTableDef()


@route(routes, "GET", "/api/v1/timelines/home")
async def home(request: web.Request) -> web.Response:
    account = await member(request, "read:statuses")
    page = page_of(request)
    return status_page(request, await client_api(request).home(account, page), page)


@route(routes, "GET", "/api/v1/timelines/public")
async def public(request: web.Request) -> web.Response:
    who = await viewer(request, "read:statuses")
    page = page_of(request)
    found = await client_api(request).public(
        who, page, local=truthy(request, "local"), remote=truthy(request, "remote")
    )
    return status_page(request, found, page)


@route(routes, "GET", "/api/v1/timelines/tag/{hashtag}")
async def tag(request: web.Request) -> web.Response:
    who = await viewer(request, "read:statuses")
    page = page_of(request)
    hashtag = request.match_info["hashtag"][:100]
    found = await client_api(request).tag(who, hashtag, page, local=truthy(request, "local"))
    return status_page(request, found, page)
