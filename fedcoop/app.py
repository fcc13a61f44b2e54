"""Composition root: `make_app(settings)` wires storage, services and routes together.

Nothing happens at import time; the database opens in a cleanup context when the app
starts, and everything a handler needs is reachable through typed `web.AppKey`s.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from fedcoop.accounts.instance import instance_secret
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.db.migrations import apply_migrations
from fedcoop.federation.context import FederationContext
from fedcoop.federation.discovery import Discovery
from fedcoop.federation.fetcher import Fetcher
from fedcoop.federation.http_client import FederationClient
from fedcoop.federation.key_cache import KeyCache
from fedcoop.federation.policy import Policy
from fedcoop.federation.runtime import build_workers
from fedcoop.federation.signing import Signers
from fedcoop.uris import Uris
from fedcoop.web import (
    activities,
    actors,
    api_coops,
    auth_pages,
    coop_pages,
    governance_pages,
    inbox,
    market_routes,
    mastodon,
    notes,
    oauth,
    pages,
    reviews,
    reviews_api,
    wellknown,
)
from fedcoop.web import affiliations as coop_affiliations
from fedcoop.web.authorized_fetch import authorized_fetch_middleware
from fedcoop.web.bearer import oauth_middleware
from fedcoop.web.csrf import csrf_middleware
from fedcoop.web.errors import error_middleware
from fedcoop.web.headers import add_security_headers
from fedcoop.web.sessions import session_middleware
from fedcoop.web.state import (
    DB,
    DISCOVERY,
    FEDERATION,
    INBOX_KEYS,
    SECRET,
    SETTINGS,
    THROTTLE,
    URIS,
    WORKERS,
)
from fedcoop.web.templating import setup_templates
from fedcoop.web.throttle import SigninThrottle
from fedcoop.web.wakeups import wake_outbox_middleware

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def open_database(settings: Settings) -> Database:
    return Database(
        settings.database_path,
        busy_timeout_ms=settings.database.busy_timeout_ms,
        read_pool_size=settings.database.read_pool_size,
        synchronous=settings.database.synchronous,
        max_batch=settings.database.max_batch,
    )


def make_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[
            error_middleware,
            wake_outbox_middleware,
            session_middleware,
            csrf_middleware,
            oauth_middleware,
            authorized_fetch_middleware,
            mastodon.client_api_middleware,
        ],
        client_max_size=settings.federation.max_body_bytes,
    )
    uris = Uris(settings.instance.scheme, settings.instance.domain)
    db = open_database(settings)
    # Migrate (or refuse a newer schema) before serving anything, and load the secret once.
    db.write_sync(apply_migrations)
    app[SECRET] = db.read_sync(instance_secret)
    app[SETTINGS] = settings
    app[URIS] = uris
    app[DB] = db
    app[DISCOVERY] = Discovery(db=db, uris=uris, settings=settings)
    app[FEDERATION] = build_federation(settings, db, uris)
    app[WORKERS] = build_workers(app[FEDERATION])
    app[INBOX_KEYS] = KeyCache()
    app[THROTTLE] = SigninThrottle(
        settings.auth.signin_max_failures, settings.auth.signin_window_seconds
    )
    setup_templates(app)
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_federation_ctx)  # after the database: closed before it
    if settings.server.workers:  # else `fedcoop worker` runs them
        app.cleanup_ctx.append(_workers_ctx)  # stopped before the HTTP client closes
    app.add_routes(wellknown.routes)
    app.add_routes(actors.routes)
    app.add_routes(activities.routes)
    app.add_routes(inbox.routes)
    app.add_routes(notes.routes)
    app.add_routes(pages.routes)
    app.add_routes(auth_pages.routes)
    app.on_response_prepare.append(add_security_headers)
    app.add_routes(oauth.routes)
    app.add_routes(coop_affiliations.routes)
    app.add_routes(coop_pages.routes)
    app.add_routes(governance_pages.routes)
    app.add_routes(api_coops.routes)
    app.add_routes(reviews.routes)
    app.add_routes(reviews_api.routes)
    app.add_routes(market_routes.routes)
    mastodon.setup(app, settings)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    return app


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    db = app[DB]
    db.start()
    yield
    db.close()


def build_federation(settings: Settings, db: Database, uris: Uris) -> FederationContext:
    """The federation services; the HTTP client's session opens in `_federation_ctx`."""
    policy = Policy(db, settings)
    client = FederationClient(settings, policy)
    fetcher = Fetcher(
        db=db, uris=uris, settings=settings, http=client, policy=policy, signers=Signers(db)
    )
    return FederationContext(db, uris, settings, client, fetcher, policy)


async def _federation_ctx(app: web.Application) -> AsyncIterator[None]:
    client = app[FEDERATION].http
    await client.start()
    yield
    await client.close()


async def _workers_ctx(app: web.Application) -> AsyncIterator[None]:
    workers = app[WORKERS]
    workers.start()
    yield
    await workers.stop()
