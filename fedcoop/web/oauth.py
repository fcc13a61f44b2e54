"""OAuth 2 endpoints as Mastodon clients call them: app registration, the sign-in and consent
page, the token and revocation endpoints, and RFC 8414 metadata.

Bodies are accepted as forms or JSON alike (Mastodon.py sends forms, toot and masto.js JSON),
and unknown parameters are ignored (Mastodon.py sends a stray `oauth_info`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from aiohttp import BasicAuth, web

from fedcoop import clock
from fedcoop.accounts import accounts, oauth
from fedcoop.accounts import scopes as scope_rules
from fedcoop.accounts.accounts import Account
from fedcoop.accounts.oauth import AuthorizationRequest, IssuedToken, OAuthApp, OAuthError
from fedcoop.errors import BadRequest, NotFound
from fedcoop.web.bearer import require_scopes
from fedcoop.web.bodies import read_body
from fedcoop.web.responses import plain_json
from fedcoop.web.state import DB, SETTINGS, THROTTLE, URIS
from fedcoop.web.templating import render_page
from fedcoop.web.throttle import signin_keys

routes = web.RouteTableDef()

AUTHORIZE_PATHS = ("/oauth/authorize", "/oauth/authorize/")  # toot adds the slash
# The consent page must not be framed (clickjacking, RFC 6749 section 10.13; the site-wide
# CSP adds frame-ancestors), neither it nor a page showing a code may be cached, and its URL
# (client_id, state) is not passed on to the app's website link.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_TRUE = frozenset({"1", "true", "yes", "on"})


# request parsing -----------------------------------------------------------------------------


async def _body(request: web.Request) -> dict[str, Any]:
    """A form or JSON body as one mapping; repeated form fields (and `name[]`) become lists."""
    return await read_body(request)


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _words(value: Any) -> str | list[str] | None:
    """A field that may come as one string or a list of strings (redirect_uris, scopes)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return _text(value)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _with_query(uri: str, **params: str | None) -> str:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


# apps ----------------------------------------------------------------------------------------


def _application_json(app: OAuthApp) -> dict[str, Any]:
    return {
        "id": app.id,
        "name": app.name,
        "website": app.website,
        "scopes": list(app.scopes),
        # Mastodon keeps the newline-joined string for clients older than `redirect_uris`.
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": list(app.redirect_uris),
        "vapid_key": "",
    }


@routes.post("/api/v1/apps")
async def create_app(request: web.Request) -> web.Response:
    params = await _body(request)
    now = clock.now()
    made = await request.app[DB].write(
        lambda conn: oauth.create_app(
            conn,
            name=_text(params.get("client_name")),
            redirect_uris=_words(params.get("redirect_uris")),
            scopes=_words(params.get("scopes")),
            website=_text(params.get("website")),
            now=now,
        )
    )
    body = _application_json(made.app) | {
        "client_id": made.app.client_id,
        "client_secret": made.client_secret,
        "client_secret_expires_at": 0,
    }
    return plain_json(body, headers=_NO_STORE)


@routes.get("/api/v1/apps/verify_credentials")
async def verify_app_credentials(request: web.Request) -> web.Response:
    # Mastodon accepts any valid token here, an app token included.
    grant = await require_scopes(request)
    return plain_json(_application_json(grant.app))


# authorization -------------------------------------------------------------------------------


async def _authorization(request: web.Request, params: Mapping[str, str]) -> AuthorizationRequest:
    client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
    # Client and redirect URI first: until both are known good, nothing may be redirected.
    app = await request.app[DB].read(
        lambda conn: oauth.check_client_redirect(conn, client_id, redirect_uri)
    )
    assert redirect_uri is not None
    try:
        return oauth.authorization_request(
            app,
            redirect_uri,
            response_type=params.get("response_type"),
            scope=params.get("scope"),
            state=params.get("state"),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
        )
    except OAuthError as exc:
        if redirect_uri == oauth.OOB_REDIRECT_URI:
            raise BadRequest(exc.safe_message) from None
        # RFC 6749 section 4.1.2.1: other errors go back to the (now trusted) client.
        location = _with_query(
            redirect_uri,
            error=exc.error,
            error_description=exc.safe_message,
            state=params.get("state"),
        )
        raise web.HTTPFound(location) from None


def _render_authorize(
    request: web.Request,
    auth: AuthorizationRequest,
    params: Mapping[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    account: Account | None = request.get("account")
    force_login = _truthy(params.get("force_login"))
    hidden = {
        name: params[name]
        for name in (
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "force_login",
        )
        if params.get(name) is not None
    }
    context = {
        "app": auth.app,
        "scopes": auth.scopes,
        "hidden": hidden,
        "account": account,
        "ask_credentials": account is None or force_login,
        "error": error,
        "action": request.path,
    }
    response = render_page("oauth/authorize.html", request, context, status=status)
    response.headers.update(_PAGE_HEADERS)
    return response


@routes.get(AUTHORIZE_PATHS[0])
@routes.get(AUTHORIZE_PATHS[1])
async def authorize_page(request: web.Request) -> web.StreamResponse:
    params = dict(request.query)
    auth = await _authorization(request, params)
    return _render_authorize(request, auth, params)


async def _consenting_account(request: web.Request, params: Mapping[str, str]) -> Account | None:
    """The account agreeing: the signed-in one, or whoever the form's credentials prove.
    None for wrong credentials, whether the user exists or not (one answer for both)."""
    signed_in: Account | None = request.get("account")
    username = (params.get("username") or "").strip()
    password = params.get("password") or ""
    if signed_in is not None and not username and not _truthy(params.get("force_login")):
        return signed_in
    if not username or not password:
        return None
    throttle = request.app[THROTTLE]
    keys = signin_keys(request, username, request.app[SETTINGS].server.trust_proxy)
    throttle.check(*keys)
    account = await request.app[DB].read(
        lambda conn: accounts.authenticate(conn, username, password)
    )
    if account is None:
        throttle.failed(*keys)
        return None
    # Only the account's count is cleared: clearing the address too would let one address
    # reset its count by signing in to an account of its own between guesses.
    throttle.succeeded(keys[0])
    return account


@routes.post(AUTHORIZE_PATHS[0])
@routes.post(AUTHORIZE_PATHS[1])
async def authorize_decision(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    auth = await _authorization(request, params)
    decision = params.get("decision")
    if decision == "deny":
        if auth.redirect_uri == oauth.OOB_REDIRECT_URI:
            return _render_oob(request, auth, None)
        raise web.HTTPFound(_with_query(auth.redirect_uri, error="access_denied", state=auth.state))
    if decision != "authorize":
        raise BadRequest("Choose Authorize or Deny.")
    account = await _consenting_account(request, params)
    if account is None:
        return _render_authorize(
            request, auth, params, error="Wrong username or password.", status=401
        )
    now = clock.now()
    code = await request.app[DB].write(lambda conn: oauth.issue_code(conn, auth, account.id, now))
    if auth.redirect_uri == oauth.OOB_REDIRECT_URI:
        return _render_oob(request, auth, code)
    raise web.HTTPFound(_with_query(auth.redirect_uri, code=code, state=auth.state))


def _render_oob(request: web.Request, auth: AuthorizationRequest, code: str | None) -> web.Response:
    response = render_page("oauth/oob.html", request, {"app": auth.app, "code": code})
    response.headers.update(_PAGE_HEADERS)
    return response


# tokens --------------------------------------------------------------------------------------


def _client_credentials(
    request: web.Request, params: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """From HTTP Basic (RFC 6749 section 2.3.1: each part form-encoded first) or the body."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            basic = BasicAuth.decode(header)
        except ValueError:
            raise OAuthError("invalid_client", "Malformed Basic credentials.", status=401) from None
        return unquote_plus(basic.login), unquote_plus(basic.password)
    return _text(params.get("client_id")), _text(params.get("client_secret"))


async def _authenticated_client(request: web.Request, params: Mapping[str, Any]) -> OAuthApp:
    client_id, client_secret = _client_credentials(request, params)
    return await request.app[DB].read(
        lambda conn: oauth.authenticate_client(conn, client_id, client_secret)
    )


def _token_json(issued: IssuedToken) -> web.Response:
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": scope_rules.format_scopes(issued.scopes),
        "created_at": int(issued.created_at.timestamp()),
    }
    if issued.expires_at is not None:
        body["expires_in"] = int((issued.expires_at - issued.created_at).total_seconds())
    return plain_json(body, headers=_NO_STORE)


async def _password_grant(
    request: web.Request, app: OAuthApp, params: Mapping[str, Any]
) -> IssuedToken:
    settings = request.app[SETTINGS]
    scopes = oauth.narrow_scopes(app, _text(params.get("scope")))
    username = (_text(params.get("username")) or "").strip()
    password = _text(params.get("password")) or ""
    throttle = request.app[THROTTLE]
    keys = signin_keys(request, username, settings.server.trust_proxy)
    throttle.check(*keys)
    account = await request.app[DB].read(
        lambda conn: accounts.authenticate(conn, username, password)
    )
    if account is None:
        throttle.failed(*keys)
        raise OAuthError("invalid_grant", "Invalid username or password.")
    throttle.succeeded(keys[0])
    now = clock.now()
    return await request.app[DB].write(
        lambda conn: oauth.issue_password_token(
            conn, app, account, scopes=scopes, now=now, token_days=settings.auth.token_days
        )
    )


@routes.post("/oauth/token")
async def token(request: web.Request) -> web.Response:
    params = await _body(request)
    app = await _authenticated_client(request, params)
    settings = request.app[SETTINGS]
    db = request.app[DB]
    grant_type = _text(params.get("grant_type"))
    now = clock.now()
    if grant_type == "authorization_code":
        result = await db.write(
            lambda conn: oauth.redeem_code(
                conn,
                app,
                code=_text(params.get("code")),
                redirect_uri=_text(params.get("redirect_uri")),
                code_verifier=_text(params.get("code_verifier")),
                now=now,
                token_days=settings.auth.token_days,
            )
        )
        if isinstance(result, OAuthError):
            raise result
        return _token_json(result)
    if grant_type == "client_credentials":
        scopes = oauth.narrow_scopes(app, _text(params.get("scope")))
        issued = await db.write(
            lambda conn: oauth.issue_token(
                conn,
                app,
                account_id=None,
                scopes=scopes,
                now=now,
                token_days=settings.auth.token_days,
            )
        )
        return _token_json(issued)
    if grant_type == "password" and settings.auth.password_grant:
        return _token_json(await _password_grant(request, app, params))
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required.")
    raise OAuthError("unsupported_grant_type", f"grant_type {grant_type[:40]!r} is not supported.")


@routes.post("/oauth/revoke")
async def revoke(request: web.Request) -> web.Response:
    params = await _body(request)
    app = await _authenticated_client(request, params)
    token_value = _text(params.get("token"))
    if not token_value:
        raise OAuthError("invalid_request", "token is required.")
    now = clock.now()
    await request.app[DB].write(lambda conn: oauth.revoke_token(conn, app, token_value, now))
    # RFC 7009 section 2.2: the same answer whether or not there was anything to revoke.
    return plain_json({})


# metadata ------------------------------------------------------------------------------------


@routes.get("/.well-known/oauth-authorization-server")
async def authorization_server_metadata(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    # Mastodon.py refuses to sign in when this advertises http:// endpoints, but falls back
    # to the default paths when it is missing (CLIENTS.md quirk 4).
    if settings.instance.scheme != "https":
        raise NotFound("OAuth metadata is served over https only.")
    uris = request.app[URIS]
    grant_types = ["authorization_code", "client_credentials"]
    if settings.auth.password_grant:
        grant_types.append("password")
    top = list(scope_rules.TOP_LEVEL)
    doc = {
        "issuer": uris.absolute("/"),
        "authorization_endpoint": uris.absolute("/oauth/authorize"),
        "token_endpoint": uris.absolute("/oauth/token"),
        "revocation_endpoint": uris.absolute("/oauth/revoke"),
        "app_registration_endpoint": uris.absolute("/api/v1/apps"),
        "scopes_supported": top + sorted(scope_rules.ALL_SCOPES - set(top)),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }
    return plain_json(doc, headers={"Access-Control-Allow-Origin": "*"})
