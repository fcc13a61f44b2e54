"""The token endpoint's other grants, client authentication, and revocation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db import Database
from tests.component.test_oauth import (
    app_token,
    app_with_probe,
    bearer,
    password_token,
    register,
)
from tests.conftest import ADMIN_PASSWORD


def credentials(app: dict[str, Any]) -> dict[str, str]:
    return {"client_id": app["client_id"], "client_secret": app["client_secret"]}


async def test_password_grant_in_a_form_with_stray_fields(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(app_with_probe(settings))
    app = await register(client, scopes="read write follow")
    # Given the form Mastodon.py sends, stray `oauth_info` included (CLIENTS.md quirk 3)
    doc = await password_token(
        client, app, scope="read write", oauth_info="{}", redirect_uri="urn:ietf:wg:oauth:2.0:oob"
    )
    assert doc["token_type"] == "Bearer" and doc["scope"] == "read write"
    probe = await client.get("/api/v1/_probe", headers=bearer(doc["access_token"]))
    assert await probe.json() == {"account": "alice", "scopes": ["read", "write"]}


async def test_password_grant_in_json_defaults_to_the_apps_scopes(client: Any) -> None:
    app = await register(client, scopes="read write follow", json=True)
    resp = await client.post(
        "/oauth/token",
        json={"grant_type": "password", "username": "alice", "password": ADMIN_PASSWORD}
        | credentials(app),
    )
    assert resp.status == 200
    assert (await resp.json())["scope"] == "read write follow"


async def test_password_grant_refused_when_turned_off(
    aiohttp_client: Any, make_instance: Callable[..., Settings]
) -> None:
    settings = make_instance(extra={"auth": {"password_grant": False}})
    client = await aiohttp_client(make_app(settings))
    app = await register(client)
    body = {"grant_type": "password", "username": "alice", "password": ADMIN_PASSWORD}
    resp = await client.post("/oauth/token", data=body | credentials(app))
    assert resp.status == 400
    assert (await resp.json())["error"] == "unsupported_grant_type"


async def test_wrong_password_and_unknown_user_get_identical_answers(client: Any) -> None:
    app = await register(client)
    answers = []
    for username, password in (("alice", "wrong password!"), ("nobody", ADMIN_PASSWORD)):
        body = {"grant_type": "password", "username": username, "password": password}
        resp = await client.post("/oauth/token", data=body | credentials(app))
        answers.append((resp.status, await resp.read()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400 and b'"invalid_grant"' in answers[0][1]


async def test_repeated_password_failures_give_429(client: Any, settings: Settings) -> None:
    app = await register(client)
    body = {"grant_type": "password", "username": "alice", "password": "wrong password!"}
    for _ in range(settings.auth.signin_max_failures):
        assert (await client.post("/oauth/token", data=body | credentials(app))).status == 400
    right = body | {"password": ADMIN_PASSWORD}
    resp = await client.post("/oauth/token", data=right | credentials(app))
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) > 0


async def test_client_credentials_gives_an_app_token(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(app_with_probe(settings))
    app = await register(client, scopes="read write")
    token = await app_token(client, app)
    probe = await client.get("/api/v1/_probe", headers=bearer(token))
    assert await probe.json() == {"account": None, "scopes": ["read", "write"]}
    # A scope the app was not registered with is refused
    resp = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "follow"} | credentials(app),
    )
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_scope"


async def test_client_may_authenticate_with_http_basic(client: Any) -> None:
    app = await register(client)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    resp = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status == 200


async def test_bad_client_credentials_are_invalid_client_401(client: Any) -> None:
    app = await register(client)
    for creds in (
        {"client_id": app["client_id"], "client_secret": "wrong"},
        {"client_id": app["client_id"]},
        {"client_id": "nobody", "client_secret": app["client_secret"]},
        {},
    ):
        resp = await client.post("/oauth/token", data={"grant_type": "client_credentials", **creds})
        assert resp.status == 401, creds
        doc = await resp.json()
        assert doc["error"] == "invalid_client" and doc["error_description"]


async def test_unknown_or_missing_grant_type(client: Any) -> None:
    app = await register(client)
    for grant, error in (("refresh_token", "unsupported_grant_type"), (None, "invalid_request")):
        body = credentials(app) | ({"grant_type": grant} if grant else {})
        resp = await client.post("/oauth/token", data=body)
        assert resp.status == 400
        assert (await resp.json())["error"] == error


async def test_revoked_token_is_refused(client: Any) -> None:
    app = await register(client)
    token = (await password_token(client, app))["access_token"]
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status == 200
    resp = await client.post("/oauth/revoke", data={"token": token} | credentials(app))
    assert resp.status == 200 and await resp.json() == {}
    after = await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    assert after.status == 401


async def test_revoke_answers_200_for_unknown_tokens_and_ignores_other_apps_tokens(
    client: Any,
) -> None:
    app = await register(client)
    other = await register(client, client_name="Other")
    token = (await password_token(client, app))["access_token"]
    # Unknown token: still 200 (RFC 7009)
    resp = await client.post("/oauth/revoke", json={"token": "nothing"} | credentials(app))
    assert resp.status == 200
    # Another app cannot revoke this app's token
    resp = await client.post("/oauth/revoke", data={"token": token} | credentials(other))
    assert resp.status == 200
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status == 200
    # A wrong client secret is refused outright
    resp = await client.post(
        "/oauth/revoke", data={"token": token, "client_id": app["client_id"], "client_secret": "x"}
    )
    assert resp.status == 401


async def test_token_and_secret_are_never_stored_in_clear(client: Any, settings: Settings) -> None:
    app = await register(client)
    token = (await password_token(client, app))["access_token"]
    dump = "\n".join(Database(settings.database_path).read_sync(lambda c: list(c.iterdump())))
    assert token not in dump and app["client_secret"] not in dump
