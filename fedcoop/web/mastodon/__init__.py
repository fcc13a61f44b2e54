"""The Mastodon client API (`/api/v1/…`, `/api/v2/…`): what Tusky, Ivory, Elk, toot and
Mastodon.py call, per docs/CLIENT_API.md. The OAuth endpoints live in `web/oauth.py`.

`setup(app, settings)` adds the routes, the rate limiter and the answers' headers;
`client_api_middleware` (CORS preflights, rate limits) goes in the app's middleware list,
inside the error middleware, which renders its 429.
"""

from __future__ import annotations

from aiohttp import web

from fedcoop.config import Settings
from fedcoop.web.mastodon import (
    accounts,
    instance,
    notifications,
    polls,
    search,
    statuses,
    timelines,
)
from fedcoop.web.mastodon.middleware import add_client_api_headers, client_api_middleware
from fedcoop.web.mastodon.ratelimit import RATE_LIMITS, RateLimiter

ROUTE_TABLES = (
    instance.routes,
    accounts.routes,
    statuses.routes,
    timelines.routes,
    notifications.routes,
    polls.routes,
    search.routes,
)

__all__ = ["ROUTE_TABLES", "client_api_middleware", "setup"]


def setup(app: web.Application, settings: Settings) -> None:
    app[RATE_LIMITS] = RateLimiter(
        settings.api.rate_limit,
        settings.api.rate_limit_window_seconds,
        trust_proxy=settings.server.trust_proxy,
    )
    for table in ROUTE_TABLES:
        app.add_routes(table)
    app.on_response_prepare.append(add_client_api_headers)
