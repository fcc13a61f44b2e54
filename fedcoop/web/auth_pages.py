"""Sign-in and sign-out pages: a username and password form, a session cookie, a redirect.

A wrong password and an unknown name get the same page, status (401) and message, after
the same argon2 work, so the form does not tell which accounts exist.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fedcoop.accounts.accounts import authenticate
from fedcoop.web.headers import allow_any_form_target
from fedcoop.web.sessions import current_account, profile_path, sign_in, sign_out
from fedcoop.web.state import DB, SETTINGS, THROTTLE
from fedcoop.web.templating import render_page
from fedcoop.web.throttle import signin_keys

routes = web.RouteTableDef()

WRONG_CREDENTIALS = "Wrong username or password."
# Longer than any name or password we issue: refused before any hashing work.
_MAX_USERNAME = 64
_MAX_PASSWORD = 1024
_MAX_NEXT = 2048


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: no open redirects.

    Only one leading slash: `//host/x` and `/\\host/x` are read by browsers as another host.
    """
    if not target or len(target) > _MAX_NEXT or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    return target


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _render_form(
    request: web.Request,
    *,
    next_path: str | None,
    username: str = "",
    error: str | None = None,
    status: int = 200,
) -> web.StreamResponse:
    if next_path is not None and next_path.startswith("/oauth/authorize"):
        # Signing in there continues to the client's redirect_uri, off this site.
        allow_any_form_target(request)
    response = render_page(
        "auth/sign_in.html",
        request,
        {"next": next_path, "username": username, "error": error},
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/auth/sign_in")
async def sign_in_page(request: web.Request) -> web.StreamResponse:
    next_path = local_path(request.query.get("next"))
    account = current_account(request)
    if account is not None:
        raise web.HTTPSeeOther(next_path or profile_path(request, account))
    return _render_form(request, next_path=next_path)


@routes.post("/auth/sign_in")
async def sign_in_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = _field(form, "username").strip()[:_MAX_USERNAME]
    password = _field(form, "password")
    next_path = local_path(_field(form, "next"))
    if not username or not password:
        return _render_form(
            request,
            next_path=next_path,
            username=username,
            error="Enter your username and password.",
            status=422,
        )
    throttle = request.app[THROTTLE]
    account_key, address_key = signin_keys(
        request, username, request.app[SETTINGS].server.trust_proxy
    )
    throttle.check(account_key, address_key)
    # The account's attempt is counted before the slow password check, not after it, or a
    # burst of parallel guesses would all pass `check` before the first failure is recorded.
    throttle.failed(account_key)
    account = None
    if len(password) <= _MAX_PASSWORD:
        account = await request.app[DB].read(lambda conn: authenticate(conn, username, password))
    if account is None:
        throttle.failed(address_key)
        return _render_form(
            request, next_path=next_path, username=username, error=WRONG_CREDENTIALS, status=401
        )
    # Only the account's count is forgiven: forgiving the address too would let one address
    # reset its count by signing in to an account of its own between guesses at others.
    throttle.succeeded(account_key)
    response = web.Response(
        status=303, headers={"Location": next_path or profile_path(request, account)}
    )
    await sign_in(request, response, account)
    return response


@routes.post("/auth/sign_out")
async def sign_out_submit(request: web.Request) -> web.StreamResponse:
    response = web.Response(status=303, headers={"Location": "/"})
    await sign_out(request, response)
    return response
