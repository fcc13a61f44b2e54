"""Statuses: posting (text, a reply, a reply that applies to a gig, or a coop vote as a poll),
reading one with its context, and deleting.

The body is a form or JSON (Mastodon.py posts forms, and JSON when a poll is attached; toot
posts JSON). A status needs text or a poll: neither is 422, as on Mastodon.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fedcoop.errors import ValidationError
from fedcoop.federation.client_api import PollForm, StatusForm
from fedcoop.web.bodies import flag, read_body, strings, text, whole_number
from fedcoop.web.mastodon.common import (
    base_url,
    client_api,
    instance_name,
    member,
    object_id,
    route,
    viewer,
)
from fedcoop.web.mastodon.schemas import context_json, status_json
from fedcoop.web.responses import plain_json

routes = web.RouteTableDef()


def _poll(body: dict[str, Any]) -> PollForm | None:
    poll = body.get("poll")
    if poll is None:
        return None
    if not isinstance(poll, dict):
        raise ValidationError("poll must have options", field="poll")
    options = strings(poll.get("options"))
    if not options:
        return None  # Mastodon ignores a poll without options
    return PollForm(
        options=options,
        expires_in=whole_number(poll.get("expires_in"), field="poll[expires_in]"),
        multiple=flag(poll.get("multiple"), field="poll[multiple]"),
    )


def status_form(body: dict[str, Any]) -> StatusForm:
    reply_to = text(body.get("in_reply_to_id"))
    language = text(body.get("language"))
    return StatusForm(
        text=text(body.get("status")) or "",
        visibility=text(body.get("visibility")) or "public",
        spoiler_text=text(body.get("spoiler_text")) or "",
        sensitive=flag(body.get("sensitive"), field="sensitive"),
        language=language.strip()[:10] or None if language else None,
        in_reply_to_id=reply_to.strip() or None if reply_to else None,
        poll=_poll(body),
    )


@route(routes, "POST", "/api/v1/statuses")
async def create(request: web.Request) -> web.Response:
    account = await member(request, "write:statuses")
    form = status_form(await read_body(request))
    made = await client_api(request).post_status(account, form)
    return plain_json(status_json(made, base_url(request), instance_name(request)))


@route(routes, "GET", "/api/v1/statuses/{id}")
async def show(request: web.Request) -> web.Response:
    who = await viewer(request, "read:statuses")
    found = await client_api(request).status(who, object_id(request))
    return plain_json(status_json(found, base_url(request), instance_name(request)))


@route(routes, "DELETE", "/api/v1/statuses/{id}")
async def delete(request: web.Request) -> web.Response:
    account = await member(request, "write:statuses")
    gone = await client_api(request).delete_status(account, object_id(request))
    return plain_json(status_json(gone, base_url(request), instance_name(request)))


@route(routes, "GET", "/api/v1/statuses/{id}/context")
async def context(request: web.Request) -> web.Response:
    who = await viewer(request, "read:statuses")
    found = await client_api(request).context(who, object_id(request))
    return plain_json(context_json(found, base_url(request), instance_name(request)))
