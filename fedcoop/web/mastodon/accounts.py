"""Accounts: who is signed in, finding people and coops, following them, their statuses.

An account's id is its actor's id, for local and remote actors alike. The fixed paths
(`verify_credentials`, `lookup`, `search`, `relationships`) are registered before `{id}`.
"""

from __future__ import annotations

from aiohttp import web

from fedcoop.errors import ValidationError
from fedcoop.web.bodies import query_list
from fedcoop.web.mastodon.common import (
    base_url,
    client_api,
    member,
    object_id,
    page_of,
    route,
    status_page,
    truthy,
    viewer,
)
from fedcoop.web.mastodon.schemas import (
    account_json,
    credential_account_json,
    relationship_json,
)
from fedcoop.web.responses import plain_json

routes = web.RouteTableDef()
MAX_RELATIONSHIPS = 80
MAX_SEARCH = 40


@route(routes, "GET", "/api/v1/accounts/verify_credentials")
async def verify_credentials(request: web.Request) -> web.Response:
    account = await member(request, "read:accounts")
    view = await client_api(request).account(account, account.actor_id)
    return plain_json(credential_account_json(view, base_url(request)))


@route(routes, "GET", "/api/v1/accounts/lookup")
async def lookup(request: web.Request) -> web.Response:
    await viewer(request, "read:accounts")
    acct = request.query.get("acct", "").strip()
    if not acct:
        raise ValidationError("acct is required", field="acct")
    view = await client_api(request).lookup(acct)
    return plain_json(account_json(view, base_url(request)))


@route(routes, "GET", "/api/v1/accounts/search")
async def search_accounts(request: web.Request) -> web.Response:
    account = await member(request, "read:accounts")
    raw_limit = request.query.get("limit", "")
    limit = min(int(raw_limit), MAX_SEARCH) if raw_limit.isdigit() else MAX_SEARCH
    raw_offset = request.query.get("offset", "")
    found = await client_api(request).search(
        account,
        request.query.get("q", ""),
        kind="accounts",
        resolve=truthy(request, "resolve"),
        limit=max(limit, 1),
        offset=int(raw_offset) if raw_offset.isdigit() else 0,
    )
    return plain_json([account_json(v, base_url(request)) for v in found.accounts])


@route(routes, "GET", "/api/v1/accounts/relationships")
async def relationships(request: web.Request) -> web.Response:
    account = await member(request, "read:follows")
    # Mastodon.py sends `id=`, masto.js and megalodon `id[]=` (CLIENTS.md quirk 6).
    wanted = query_list(request, "id")[:MAX_RELATIONSHIPS]
    found = await client_api(request).relationships(account, wanted)
    return plain_json([relationship_json(r) for r in found])


@route(routes, "GET", "/api/v1/accounts/{id}")
async def show(request: web.Request) -> web.Response:
    who = await viewer(request, "read:accounts")
    view = await client_api(request).account(who, object_id(request))
    return plain_json(account_json(view, base_url(request)))


@route(routes, "GET", "/api/v1/accounts/{id}/statuses")
async def statuses(request: web.Request) -> web.Response:
    who = await viewer(request, "read:statuses")
    page = page_of(request)
    found = await client_api(request).account_statuses(
        who, object_id(request), page, exclude_replies=truthy(request, "exclude_replies")
    )
    return status_page(request, found, page)


@route(routes, "POST", "/api/v1/accounts/{id}/follow")
async def follow(request: web.Request) -> web.Response:
    account = await member(request, "write:follows")
    found = await client_api(request).follow(account, object_id(request))
    return plain_json(relationship_json(found))


@route(routes, "POST", "/api/v1/accounts/{id}/unfollow")
async def unfollow(request: web.Request) -> web.Response:
    account = await member(request, "write:follows")
    found = await client_api(request).unfollow(account, object_id(request))
    return plain_json(relationship_json(found))
