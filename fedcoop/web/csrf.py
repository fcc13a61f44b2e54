"""CSRF protection for every HTML form: a signed double-submit token.

The browser holds a random `fedcoop_csrf` cookie (HttpOnly, SameSite=Lax); each form carries
HMAC(instance secret, cookie). A POST whose field does not match is refused with 422 before
its handler runs. Bearer-token APIs, inboxes and the OAuth token endpoints are exempt: they
are not authenticated by cookies, so a cross-site form cannot ride on them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from fedcoop.errors import ValidationError
from fedcoop.web.state import SECRET, SETTINGS

COOKIE = "fedcoop_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_NEW_COOKIE = web.RequestKey("csrf_new_cookie", str)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_EXEMPT_PREFIXES = (
    "/api/",
    "/oauth/token",
    "/oauth/revoke",
    "/inbox",
    "/nodeinfo/",
    "/.well-known/",
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _sign(secret: str, value: str) -> str:
    mac = hmac.new(secret.encode(), b"csrf:" + value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _cookie_value(request: web.Request) -> str:
    value = request.get(_NEW_COOKIE) or request.cookies.get(COOKIE)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(32)
        request[_NEW_COOKIE] = value
    return str(value)


def token_for(request: web.Request) -> str:
    """The token to put in a form on this page (sets the cookie if the browser has none)."""
    return _sign(request.app[SECRET], _cookie_value(request))


def is_exempt(path: str) -> bool:
    return path.startswith(_EXEMPT_PREFIXES) or path.endswith("/inbox")


async def check(request: web.Request) -> None:
    cookie = request.cookies.get(COOKIE)
    sent = request.headers.get(HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not cookie or not sent or not hmac.compare_digest(_sign(request.app[SECRET], cookie), sent):
        raise ValidationError(
            "The form's security token is missing or wrong; reload the page and try again.",
            field=FIELD,
        )


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in _SAFE_METHODS and not is_exempt(request.path):
        await check(request)
    response = await handler(request)
    new_cookie = request.get(_NEW_COOKIE)
    if new_cookie and not response.prepared:
        response.set_cookie(
            COOKIE,
            new_cookie,
            httponly=True,
            samesite="Lax",
            path="/",
            secure=request.app[SETTINGS].instance.scheme == "https",
        )
    return response
