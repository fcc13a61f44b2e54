"""Search v2: people and coops, statuses and hashtags.

People and coops by name; with `resolve=true` a handle or an actor URL is looked up through
WebFinger and fetched (toot finds whom to follow only this way). Statuses: a known note or gig
by its URL, else gigs by their words. Hashtags are skills."""

from __future__ import annotations

from aiohttp import web

from fedcoop.errors import ValidationError
from fedcoop.web.mastodon.common import base_url, client_api, instance_name, route, truthy, viewer
from fedcoop.web.mastodon.schemas import account_json, status_json, tag_json
from fedcoop.web.responses import plain_json

routes = web.RouteTableDef()
TYPES = ("accounts", "statuses", "hashtags")
MAX_LIMIT = 40
DEFAULT_LIMIT = 20


@route(routes, "GET", "/api/v2/search")
async def search(request: web.Request) -> web.Response:
    who = await viewer(request, "read:search")
    kind = request.query.get("type") or None
    if kind is not None and kind not in TYPES:
        raise ValidationError(f"type is one of {', '.join(TYPES)}", field="type")
    raw_limit, raw_offset = request.query.get("limit", ""), request.query.get("offset", "")
    limit = min(int(raw_limit), MAX_LIMIT) if raw_limit.isdigit() else DEFAULT_LIMIT
    found = await client_api(request).search(
        who,
        request.query.get("q", "")[:500],
        kind=kind,
        resolve=truthy(request, "resolve"),
        limit=max(limit, 1),
        offset=int(raw_offset) if raw_offset.isdigit() and who is not None else 0,
    )
    base, name = base_url(request), instance_name(request)
    return plain_json(
        {
            "accounts": [account_json(a, base) for a in found.accounts],
            "statuses": [status_json(s, base, name) for s in found.statuses],
            "hashtags": [tag_json(t, base) for t in found.hashtags],
        }
    )
