"""What the Mastodon API handlers share: routes with their trailing-slash twins, who is asking
with which scopes, path ids, Mastodon paging, and JSON answers with a `Link` header.

Scopes follow Mastodon's `doorkeeper_authorize!` per endpoint: endpoints that act as a user
need a user token holding the scope (401 without a valid token, 403 outside its scopes, 422
for an app token); public endpoints take an optional token, which must be valid and, when
sent, hold the read scope of what is read (Mastodon's `authorize_if_got_token!`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from fedcoop import ids
from fedcoop.accounts.accounts import Account
from fedcoop.errors import NotFound
from fedcoop.federation.client_api import ClientApi
from fedcoop.federation.client_views import StatusView
from fedcoop.social.paging import DEFAULT_LIMIT, Page
from fedcoop.web import bearer
from fedcoop.web.mastodon.schemas import status_json
from fedcoop.web.responses import plain_json
from fedcoop.web.state import FEDERATION, SETTINGS, URIS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PAGING = ("max_id", "since_id", "min_id")


def route(table: web.RouteTableDef, method: str, path: str) -> Callable[[Handler], Handler]:
    """Register `path` and `path/`: Mastodon.py and toot add slashes (CLIENTS.md quirk 1)."""

    def register(handler: Handler) -> Handler:
        table.route(method, path)(handler)
        table.route(method, path + "/")(handler)
        return handler

    return register


def client_api(request: web.Request) -> ClientApi:
    return ClientApi(request.app[FEDERATION])


async def viewer(request: web.Request, *scopes: str) -> Account | None:
    """Whoever a sent token belongs to (None: no token, or an app token)."""
    grant = await bearer.authenticate(request)
    if grant is None:
        return None
    if not grant.allows(*scopes):
        raise bearer.OutsideScopes(scopes)
    return grant.account


async def member(request: web.Request, *scopes: str) -> Account:
    return await bearer.require_account(request, *scopes)


def object_id(request: web.Request, name: str = "id") -> str:
    """An id from the path; anything that is not one of ours is simply not found."""
    value = request.match_info[name]
    if not ids.is_valid(value):
        raise NotFound("Record not found")
    return value


def _cursor(request: web.Request, name: str) -> str | None:
    value = request.query.get(name, "").strip()
    return value if value and len(value) <= 40 and value.isalnum() else None


def page_of(request: web.Request) -> Page:
    """`max_id`, `since_id`, `min_id` and `limit` (out-of-range limits are clamped)."""
    raw = request.query.get("limit", "")
    limit = int(raw) if raw.isdigit() else DEFAULT_LIMIT
    return Page(
        max_id=_cursor(request, "max_id"),
        since_id=_cursor(request, "since_id"),
        min_id=_cursor(request, "min_id"),
        limit=limit,
    )


def truthy(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def base_url(request: web.Request) -> str:
    return request.app[URIS].base


def instance_name(request: web.Request) -> str:
    return request.app[SETTINGS].instance.name


def _link(request: web.Request, name: str, value: str) -> str:
    kept = [(k, v) for k, v in request.query.items() if k not in _PAGING]
    query = urlencode([*kept, (name, value)])
    return request.app[URIS].absolute(f"{request.path}?{query}")


def paged(
    request: web.Request, docs: list[dict[str, Any]], page: Page, ids_shown: list[str]
) -> web.Response:
    """A list page with Mastodon's `Link` header: `next` (older, `max_id`) when the page was
    full, `prev` (newer, `min_id`) whenever it held anything."""
    links = []
    if ids_shown and len(ids_shown) >= page.limit:
        links.append(f'<{_link(request, "max_id", ids_shown[-1])}>; rel="next"')
    if ids_shown:
        links.append(f'<{_link(request, "min_id", ids_shown[0])}>; rel="prev"')
    return plain_json(docs, headers={"Link": ", ".join(links)} if links else None)


def status_page(request: web.Request, found: list[StatusView], page: Page) -> web.Response:
    base, name = base_url(request), instance_name(request)
    docs = [status_json(s, base, name) for s in found]
    return paged(request, docs, page, [s.id for s in found])
