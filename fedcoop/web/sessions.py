"""Browser sessions over HTTP: the `fedcoop_session` cookie in, the signed-in account out.

The middleware looks the cookie up on the read pool and, for a live session, puts the
`Account` at `request["account"]` (templates and handlers read it with `request.get`, or
`current_account(request)` for a typed answer); otherwise the key stays absent. Requests
without the cookie (federation, API clients, first visits) cost no database read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from fedcoop.accounts import sessions
from fedcoop.accounts.accounts import Account
from fedcoop.errors import Unauthorized
from fedcoop.web import csrf
from fedcoop.web.state import DB, SETTINGS, URIS

COOKIE = "fedcoop_session"
# A plain string key on purpose: templating.py and other handlers read `request.get("account")`.
ACCOUNT = "account"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def current_account(request: web.Request) -> Account | None:
    account = request.get(ACCOUNT)
    return account if isinstance(account, Account) else None


def require_account(request: web.Request) -> Account:
    """The signed-in account, or 401 (the error page offers the sign-in link)."""
    account = current_account(request)
    if account is None:
        raise Unauthorized("Sign in to see this page.")
    return account


def profile_path(request: web.Request, account: Account) -> str:
    """Where a member lands after signing in: their own profile, as a path on this host."""
    return urlsplit(request.app[URIS].profile(account.username)).path


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.cookies.get(COOKIE)
    stale = False
    if token and not request.path.startswith("/static/"):
        account = await request.app[DB].read(lambda conn: sessions.account_for_session(conn, token))
        if account is None:
            stale = True
        else:
            request[ACCOUNT] = account
    response = await handler(request)
    # An expired or deleted session's cookie is dropped so the browser stops sending it (and
    # we stop looking it up), unless this very response signed someone in.
    if stale and not response.prepared and COOKIE not in response.cookies:
        _expire_cookie(request, response, COOKIE)
    return response


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].instance.scheme == "https"


def _expire_cookie(request: web.Request, response: web.StreamResponse, name: str) -> None:
    # Deleted with the attributes it was set with: a browser overwrites a cookie with the same
    # name and path, and a Secure one only from a Secure Set-Cookie.
    response.del_cookie(name, path="/", secure=_secure(request), httponly=True, samesite="Lax")


async def sign_in(request: web.Request, response: web.StreamResponse, account: Account) -> None:
    """Start a new session for `account` and put its cookie on `response`.

    The browser's previous session token, if any, is deleted rather than upgraded (no
    session fixation), and so is its CSRF cookie: a token planted before sign-in must not
    keep working after it. The next page with a form mints a fresh one.
    """
    days = request.app[SETTINGS].auth.session_days
    previous = request.cookies.get(COOKIE)
    new = await request.app[DB].write(
        lambda conn: sessions.start_session(conn, account.id, days=days, replaces=previous)
    )
    response.set_cookie(
        COOKIE,
        new.token,
        max_age=days * 86400,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="Lax",
    )
    _expire_cookie(request, response, csrf.COOKIE)
    request[ACCOUNT] = account


async def sign_out(request: web.Request, response: web.StreamResponse) -> None:
    """End this browser's session: delete its row and its cookie (other browsers stay in)."""
    token = request.cookies.get(COOKIE)
    if token:
        await request.app[DB].write(lambda conn: sessions.delete_session(conn, token))
    _expire_cookie(request, response, COOKIE)
    _expire_cookie(request, response, csrf.COOKIE)
    request.pop(ACCOUNT, None)
