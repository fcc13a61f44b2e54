"""Typed application state: what handlers may read from `request.app`."""

from __future__ import annotations

from aiohttp import web

from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.federation.context import FederationContext
from fedcoop.federation.discovery import Discovery
from fedcoop.federation.key_cache import KeyCache
from fedcoop.federation.workers import Supervisor
from fedcoop.uris import Uris
from fedcoop.web.throttle import SigninThrottle

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
URIS = web.AppKey("uris", Uris)
DISCOVERY = web.AppKey("discovery", Discovery)
SECRET = web.AppKey("secret", str)
THROTTLE = web.AppKey("signin_throttle", SigninThrottle)
FEDERATION = web.AppKey("federation", FederationContext)
WORKERS = web.AppKey("workers", Supervisor)
INBOX_KEYS = web.AppKey("inbox_keys", KeyCache)
