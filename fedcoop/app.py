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
from fedcoop.federation.discovery import Discovery
from fedcoop.uris import Uris
from fedcoop.web import actors, pages, wellknown
from fedcoop.web.csrf import csrf_middleware
from fedcoop.web.errors import error_middleware
from fedcoop.web.state import DB, DISCOVERY, SECRET, SETTINGS, THROTTLE, URIS
from fedcoop.web.templating import setup_templates
from fedcoop.web.throttle import SigninThrottle

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
        middlewares=[error_middleware, csrf_middleware],
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
    app[THROTTLE] = SigninThrottle(
        settings.auth.signin_max_failures, settings.auth.signin_window_seconds
    )
    setup_templates(app)
    app.cleanup_ctx.append(_database_ctx)
    app.add_routes(wellknown.routes)
    app.add_routes(actors.routes)
    app.add_routes(pages.routes)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    return app


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    db = app[DB]
    db.start()
    yield
    db.close()
