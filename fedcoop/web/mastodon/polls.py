"""Polls are coop votes: reading one, and voting in it (`choices[]` as a form, or
`{"choices": [...]}` as JSON). One choice, and the first vote counts, as the cooperative's
rules say; a refused vote is 422 (403 for someone outside the electorate)."""

from __future__ import annotations

from aiohttp import web

from fedcoop.errors import ValidationError
from fedcoop.web.bodies import indices, read_body
from fedcoop.web.mastodon.common import client_api, member, object_id, route, viewer
from fedcoop.web.mastodon.schemas import poll_json
from fedcoop.web.responses import plain_json

routes = web.RouteTableDef()


@route(routes, "GET", "/api/v1/polls/{id}")
async def show(request: web.Request) -> web.Response:
    who = await viewer(request, "read:statuses")
    return plain_json(poll_json(await client_api(request).poll(who, object_id(request))))


@route(routes, "POST", "/api/v1/polls/{id}/votes")
async def vote(request: web.Request) -> web.Response:
    account = await member(request, "write:statuses")
    body = await read_body(request)
    if body.get("choices") is None:
        raise ValidationError("choices is required", field="choices")
    choices = indices(body["choices"], field="choices")
    found = await client_api(request).vote(account, object_id(request), choices)
    return plain_json(poll_json(found))
