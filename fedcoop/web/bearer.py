"""Bearer tokens for the APIs: who is calling, with which scopes.

API handlers call `await require_scopes(request, "read:statuses")` (or `require_account`) and
get a `Grant`; the token is looked up at most once per request, by its hash, on the read pool.
Handlers only raise; `oauth_middleware` renders what they raise with the headers RFC 6750 asks
for (`WWW-Authenticate: Bearer …`), which the general error middleware does not carry, and
RFC 6749's `{"error", "error_description"}` for the token endpoints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from fedcoop import clock
from fedcoop.accounts import oauth
from fedcoop.accounts.accounts import Account
from fedcoop.accounts.oauth import Grant, OAuthError
from fedcoop.errors import Forbidden, Unauthorized, ValidationError
from fedcoop.web.errors import error_response
from fedcoop.web.responses import is_api_path, plain_json
from fedcoop.web.state import DB

GRANT = web.RequestKey("oauth_grant", Grant)
REALM = "fedcoop"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InvalidToken(Unauthorized):
    """No token, or one that is unknown, revoked or expired (Mastodon's wording)."""

    def __init__(self, *, sent: bool = True) -> None:
        super().__init__("The access token is invalid")
        self.sent = sent


class OutsideScopes(Forbidden):
    def __init__(self, required: tuple[str, ...]) -> None:
        super().__init__("This action is outside the authorized scopes")
        self.required = required


def bearer_token(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer` header; None when no header is sent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        raise InvalidToken()
    return token


async def authenticate(request: web.Request) -> Grant | None:
    """The grant of the request's token, None when it sends none; a token that is sent but
    not valid is refused (401) rather than treated as anonymous."""
    cached = request.get(GRANT)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        return None
    now = clock.now()
    grant = await request.app[DB].read(lambda conn: oauth.find_grant(conn, token, now))
    if grant is None:
        raise InvalidToken()
    request[GRANT] = grant
    return grant


async def require_scopes(request: web.Request, *required: str) -> Grant:
    """A valid token holding every scope of `required` (none: any valid token), else 401/403."""
    grant = await authenticate(request)
    if grant is None:
        raise InvalidToken(sent=False)
    if not grant.allows(*required):
        raise OutsideScopes(required)
    return grant


async def require_account(request: web.Request, *required: str) -> Account:
    """As `require_scopes`, for endpoints that act as a user: an app token (client_credentials)
    is refused with Mastodon's 422."""
    grant = await require_scopes(request, *required)
    if grant.account is None:
        raise ValidationError("This method requires an authenticated user")
    return grant.account


def _challenge(error: str | None = None, scope: tuple[str, ...] = ()) -> str:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if scope:
        parts.append(f'scope="{" ".join(scope)}"')
    return "Bearer " + ", ".join(parts)


@web.middleware
async def oauth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InvalidToken as exc:
        # RFC 6750 section 3.1: no error code when the request carried no token at all.
        challenge = _challenge("invalid_token" if exc.sent else None)
        return error_response(request, 401, exc.safe_message, {"WWW-Authenticate": challenge})
    except OutsideScopes as exc:
        challenge = _challenge("insufficient_scope", exc.required)
        return error_response(request, 403, exc.safe_message, {"WWW-Authenticate": challenge})
    except OAuthError as exc:
        if not is_api_path(request.path):
            return error_response(request, exc.status, exc.safe_message)
        # RFC 6749 section 5.2; a failed client authentication names the Basic scheme.
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if exc.status == 401:
            headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        body = {"error": exc.error, "error_description": exc.safe_message}
        return plain_json(body, status=exc.status, headers=headers)
