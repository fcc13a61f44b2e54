"""OAuth 2: app registration, RFC 8414 metadata, and bearer tokens on the API.

The helpers at the top are shared with test_oauth_authorize.py and test_oauth_grants.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from fedcoop.accounts import accounts
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.web.bearer import require_account, require_scopes
from tests.conftest import ADMIN_PASSWORD

CALLBACK = "https://app.example/callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


async def register(client: Any, **fields: Any) -> dict[str, Any]:
    """Register an app (form body unless `json=True`) and return Mastodon's Application."""
    as_json = fields.pop("json", False)
    body = {"client_name": "Test client", "redirect_uris": CALLBACK, "scopes": "read write"}
    body.update(fields)
    resp = await client.post("/api/v1/apps", **({"json": body} if as_json else {"data": body}))
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


async def consent(
    client: Any,
    app: dict[str, Any],
    *,
    path: str = "/oauth/authorize",
    redirect_uri: str = CALLBACK,
    decision: str = "authorize",
    credentials: dict[str, str] | None = None,
    **query: str,
) -> Any:
    """Open the authorization page as a browser would, then submit its form."""
    params = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect_uri}
    params.update(query)
    page = await client.get(path, params=params)
    assert page.status == 200, await page.text()
    form = hidden_fields(await page.text())
    form.update(
        credentials
        if credentials is not None
        else {"username": "alice", "password": ADMIN_PASSWORD}
    )
    form["decision"] = decision
    return await client.post(path, data=form, allow_redirects=False)


async def password_token(client: Any, app: dict[str, Any], **extra: str) -> dict[str, Any]:
    body = {
        "grant_type": "password",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "username": "alice",
        "password": ADMIN_PASSWORD,
    }
    body.update(extra)
    resp = await client.post("/oauth/token", data=body)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def app_token(client: Any, app: dict[str, Any], **extra: str) -> str:
    body = {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
    }
    body.update(extra)
    resp = await client.post("/oauth/token", data=body)
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _whoami(request: web.Request) -> web.Response:
    """A stand-in API handler: the requirement comes from the path."""
    grant = await require_scopes(request, *request.query.getall("scope", []))
    return web.json_response(
        {"account": grant.account.username if grant.account else None, "scopes": list(grant.scopes)}
    )


async def _as_user(request: web.Request) -> web.Response:
    account = await require_account(request, "read")
    return web.json_response({"account": account.username})


def app_with_probe(settings: Settings, *, signed_in_as: str | None = None) -> web.Application:
    """The real app plus two probe endpoints using the bearer helpers; optionally every
    request arrives as if a browser session had signed `signed_in_as` in."""
    app = make_app(settings)
    app.router.add_get("/api/v1/_probe", _whoami)
    app.router.add_get("/api/v1/_probe_user", _as_user)
    if signed_in_as is not None:
        account = Database(settings.database_path).read_sync(
            lambda conn: accounts.get_account_by_username(conn, signed_in_as)
        )

        @web.middleware
        async def session(request: web.Request, handler: Callable[..., Any]) -> Any:
            request["account"] = account
            return await handler(request)

        app.middlewares.append(session)
    return app


# registration --------------------------------------------------------------------------------


async def test_register_app_with_a_form_returns_mastodons_application(client: Any) -> None:
    # Given a form body as Mastodon.py sends it (a list of URIs joined by newlines)
    body = {
        "client_name": "Pinafore",
        "redirect_uris": f"{CALLBACK}\n{OOB}",
        "scopes": "read write follow",
        "website": "https://pinafore.example",
    }
    # When it is posted
    resp = await client.post("/api/v1/apps", data=body)
    # Then the Application entity comes back, ids as strings, scopes as a list
    assert resp.status == 200
    app = await resp.json()
    assert isinstance(app["id"], str) and app["name"] == "Pinafore"
    assert app["website"] == "https://pinafore.example"
    assert app["redirect_uris"] == [CALLBACK, OOB]
    assert app["redirect_uri"] == f"{CALLBACK}\n{OOB}"
    assert app["scopes"] == ["read", "write", "follow"]
    assert app["client_secret_expires_at"] == 0 and app["vapid_key"] == ""
    assert len(app["client_id"]) >= 32 and len(app["client_secret"]) >= 32
    assert app["client_id"] != app["client_secret"]


async def test_register_app_with_json_accepts_an_array_and_defaults_scopes_to_read(
    client: Any,
) -> None:
    resp = await client.post(
        "/api/v1/apps",
        json={"client_name": "toot", "redirect_uris": [OOB, "com.example.app:/cb"], "unknown": 1},
    )
    assert resp.status == 200
    app = await resp.json()
    assert app["redirect_uris"] == [OOB, "com.example.app:/cb"]
    assert app["scopes"] == ["read"]
    assert app["website"] is None


async def test_register_app_refuses_missing_name_bad_uris_and_unknown_scopes(client: Any) -> None:
    cases = [
        ({"redirect_uris": CALLBACK}, "client_name"),
        ({"client_name": "x"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "/relative/path"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "https://a.example/cb#frag"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": CALLBACK, "scopes": "read everything"}, "scopes"),
        ({"client_name": "x", "redirect_uris": CALLBACK, "website": "ftp://x"}, "website"),
    ]
    for body, field in cases:
        resp = await client.post("/api/v1/apps", json=body)
        assert resp.status == 422, body
        doc = await resp.json()
        assert doc["field"] == field, body
        assert doc["error"]


# metadata ------------------------------------------------------------------------------------


async def test_metadata_is_not_served_over_http(client: Any) -> None:
    # Mastodon.py refuses to log in when the metadata advertises http:// (CLIENTS.md quirk 4)
    resp = await client.get("/.well-known/oauth-authorization-server")
    assert resp.status == 404


async def test_metadata_over_https_describes_the_endpoints(
    aiohttp_client: Any, make_instance: Callable[..., Settings]
) -> None:
    settings = make_instance(http=False)  # https, password grant off by default
    client = await aiohttp_client(make_app(settings))
    resp = await client.get("/.well-known/oauth-authorization-server")
    assert resp.status == 200
    doc = await resp.json()
    base = f"https://{settings.instance.domain}"
    assert doc["issuer"] == f"{base}/"
    assert doc["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert doc["token_endpoint"] == f"{base}/oauth/token"
    assert doc["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert doc["app_registration_endpoint"] == f"{base}/api/v1/apps"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "client_credentials"}
    assert {"read", "write", "follow", "push", "read:statuses", "write:gigs"} <= set(
        doc["scopes_supported"]
    )


# bearer tokens -------------------------------------------------------------------------------


async def test_verify_credentials_names_the_app_of_the_token(client: Any) -> None:
    app = await register(client, client_name="Tusky", website="https://tusky.example")
    token = await app_token(client, app)
    resp = await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    assert resp.status == 200
    doc = await resp.json()
    assert doc["name"] == "Tusky" and doc["website"] == "https://tusky.example"
    assert doc["scopes"] == ["read", "write"]
    assert "client_secret" not in doc


async def test_missing_or_unknown_token_is_401_with_a_bearer_challenge(client: Any) -> None:
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic Zm9vOmJhcg=="}):
        resp = await client.get("/api/v1/apps/verify_credentials", headers=headers)
        assert resp.status == 401, headers
        assert await resp.json() == {"error": "The access token is invalid"}
        assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
    sent = await client.get("/api/v1/apps/verify_credentials", headers=bearer("nope"))
    assert 'error="invalid_token"' in sent.headers["WWW-Authenticate"]


async def test_scope_outside_the_token_is_403_and_children_are_covered(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(app_with_probe(settings))
    app = await register(client, scopes="read write")
    read_only = await app_token(client, app, scope="read")
    # A parent scope covers its children
    ok = await client.get(
        "/api/v1/_probe", params={"scope": "read:statuses"}, headers=bearer(read_only)
    )
    assert ok.status == 200
    assert await ok.json() == {"account": None, "scopes": ["read"]}
    # But never a sibling
    refused = await client.get(
        "/api/v1/_probe", params={"scope": "write:statuses"}, headers=bearer(read_only)
    )
    assert refused.status == 403
    assert await refused.json() == {"error": "This action is outside the authorized scopes"}
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


async def test_app_token_is_refused_where_a_user_is_needed(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(app_with_probe(settings))
    app = await register(client)
    resp = await client.get("/api/v1/_probe_user", headers=bearer(await app_token(client, app)))
    assert resp.status == 422
    assert await resp.json() == {"error": "This method requires an authenticated user"}
    user = await password_token(client, app)
    resp = await client.get("/api/v1/_probe_user", headers=bearer(user["access_token"]))
    assert await resp.json() == {"account": "alice"}


async def test_expired_token_is_refused(
    aiohttp_client: Any, make_instance: Callable[..., Settings]
) -> None:
    settings = make_instance(extra={"auth": {"token_days": 1}})
    client = await aiohttp_client(make_app(settings))
    app = await register(client)
    issued = await password_token(client, app)
    assert issued["expires_in"] == 86400
    token = issued["access_token"]
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status == 200
    # When the clock passes the expiry (moved back in the database: tokens are hashed)
    Database(settings.database_path).write_sync(
        lambda conn: conn.execute("UPDATE oauth_tokens SET expires_at = '2000-01-01T00:00:00.000Z'")
    )
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status == 401
