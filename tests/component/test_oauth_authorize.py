"""The authorization code grant: sign-in and consent page, codes, PKCE, redirect URI rules."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fedcoop.config import Settings
from tests.component.test_oauth import (
    CALLBACK,
    OOB,
    app_with_probe,
    bearer,
    consent,
    hidden_fields,
    register,
)
from tests.conftest import ADMIN_PASSWORD

# RFC 7636 appendix B: a published verifier and its S256 challenge.
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
PKCE = {"code_challenge": CHALLENGE, "code_challenge_method": "S256"}


def redirect_query(resp: Any, target: str = CALLBACK) -> dict[str, str]:
    assert resp.status == 302, resp.status
    location = resp.headers["Location"]
    assert location.startswith(target + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def exchange(client: Any, app: dict[str, Any], code: str, **extra: str) -> Any:
    body = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": code,
        "redirect_uri": CALLBACK,
    }
    body.update(extra)
    return await client.post("/oauth/token", data=body)


async def test_code_flow_with_pkce_returns_the_state_and_a_working_token(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(app_with_probe(settings))
    app = await register(client, scopes="read write follow")
    # Given alice agrees on the page, with a PKCE challenge and a state
    resp = await consent(client, app, scope="read write", state="s-123 &x", **PKCE)
    # Then the browser is sent back to the client with a code and the same state
    query = redirect_query(resp)
    assert query["state"] == "s-123 &x" and query["code"]
    # When the client exchanges the code with the verifier
    token = await exchange(client, app, query["code"], code_verifier=VERIFIER)
    # Then it gets a bearer token for alice with exactly the scopes agreed to
    assert token.status == 200
    assert token.headers["Cache-Control"] == "no-store"
    doc = await token.json()
    assert doc["token_type"] == "Bearer" and doc["scope"] == "read write"
    assert isinstance(doc["created_at"], int)
    probe = await client.get("/api/v1/_probe", headers=bearer(doc["access_token"]))
    assert await probe.json() == {"account": "alice", "scopes": ["read", "write"]}


async def test_oob_flow_shows_the_code_on_a_page(client: Any) -> None:
    app = await register(client, redirect_uris=OOB)
    resp = await consent(client, app, redirect_uri=OOB, scope="read")
    assert resp.status == 200
    page = await resp.text()
    code = re.search(r'id="oob-code">([^<]+)<', page)
    assert code is not None
    token = await exchange(client, app, code.group(1), redirect_uri=OOB)
    assert token.status == 200


async def test_trailing_slash_variant_works_as_toot_builds_it(client: Any) -> None:
    app = await register(client)
    resp = await consent(client, app, path="/oauth/authorize/", scope="read")
    assert "code" in redirect_query(resp)


async def test_a_reused_code_is_refused_and_revokes_its_token(client: Any) -> None:
    app = await register(client)
    code = redirect_query(await consent(client, app, scope="read"))["code"]
    first = await exchange(client, app, code)
    token = (await first.json())["access_token"]
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status == 200
    # When the code is presented a second time
    second = await exchange(client, app, code)
    # Then it is refused, and the token it issued no longer works (RFC 6749 section 4.1.2)
    assert second.status == 400
    assert (await second.json())["error"] == "invalid_grant"
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status == 401


async def test_a_code_presented_by_another_client_is_refused(client: Any) -> None:
    app = await register(client)
    other = await register(client, client_name="Other")
    code = redirect_query(await consent(client, app, scope="read"))["code"]
    stolen = await exchange(client, other, code)
    assert stolen.status == 400
    assert (await stolen.json())["error"] == "invalid_grant"
    # The rightful client can still redeem it
    assert (await exchange(client, app, code)).status == 200


async def test_wrong_redirect_uri_or_client_at_authorize_is_an_error_page_never_a_redirect(
    client: Any,
) -> None:
    app = await register(client)
    cases = [
        {"client_id": app["client_id"], "redirect_uri": "https://evil.example/cb"},
        {"client_id": app["client_id"], "redirect_uri": CALLBACK + "/"},
        {"client_id": app["client_id"]},
        {"client_id": "nobody", "redirect_uri": CALLBACK},
    ]
    for params in cases:
        resp = await client.get(
            "/oauth/authorize", params={"response_type": "code", **params}, allow_redirects=False
        )
        assert resp.status == 400, params
        assert "Location" not in resp.headers
        assert resp.content_type == "text/html"


async def test_wrong_redirect_uri_at_token_is_refused(client: Any) -> None:
    app = await register(client, redirect_uris=f"{CALLBACK} https://app.example/other")
    code = redirect_query(await consent(client, app, scope="read"))["code"]
    resp = await exchange(client, app, code, redirect_uri="https://app.example/other")
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_grant"


async def test_wrong_or_missing_pkce_verifier_is_refused(client: Any) -> None:
    app = await register(client)
    for verifier in ("A" * 43, None):
        code = redirect_query(await consent(client, app, scope="read", **PKCE))["code"]
        extra = {"code_verifier": verifier} if verifier else {}
        resp = await exchange(client, app, code, **extra)
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_grant"


async def test_plain_pkce_and_excess_scopes_are_sent_back_as_errors(client: Any) -> None:
    app = await register(client, scopes="read")
    for params, error in (
        ({"code_challenge": CHALLENGE, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": CHALLENGE}, "invalid_request"),  # no method means plain
        ({"scope": "read write"}, "invalid_scope"),
        ({"scope": "read bogus"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ):
        query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": CALLBACK}
        resp = await client.get(
            "/oauth/authorize", params={**query, **params, "state": "st"}, allow_redirects=False
        )
        got = redirect_query(resp)
        assert got["error"] == error, params
        assert got["state"] == "st"


async def test_deny_sends_access_denied_with_the_state(client: Any) -> None:
    app = await register(client)
    resp = await consent(client, app, scope="read", state="abc", decision="deny", credentials={})
    assert redirect_query(resp) == {"error": "access_denied", "state": "abc"}


async def test_the_form_needs_its_csrf_token(client: Any) -> None:
    app = await register(client)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": CALLBACK}
    page = await client.get("/oauth/authorize", params=query)
    form = hidden_fields(await page.text())
    form.pop("csrf_token")
    form.update({"username": "alice", "password": ADMIN_PASSWORD, "decision": "authorize"})
    resp = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    assert resp.status == 422
    assert "Location" not in resp.headers


async def test_wrong_password_and_unknown_user_look_the_same(client: Any) -> None:
    app = await register(client)
    answers = []
    for username, password in (("alice", "wrong password!"), ("nobody", ADMIN_PASSWORD)):
        resp = await consent(
            client, app, scope="read", credentials={"username": username, "password": password}
        )
        answers.append((resp.status, await resp.text()))
    assert answers[0][0] == 401
    assert answers[0] == answers[1]
    assert "Wrong username or password" in answers[0][1]


async def test_repeated_failures_are_throttled(client: Any, settings: Settings) -> None:
    app = await register(client)
    wrong = {"username": "alice", "password": "wrong password!"}
    for _ in range(settings.auth.signin_max_failures):
        assert (await consent(client, app, scope="read", credentials=wrong)).status == 401
    # Even the right password is refused until the window passes
    blocked = await consent(client, app, scope="read")
    assert blocked.status == 429
    assert "Retry-After" in blocked.headers


async def test_a_signed_in_member_only_consents(aiohttp_client: Any, settings: Settings) -> None:
    client = await aiohttp_client(app_with_probe(settings, signed_in_as="alice"))
    app = await register(client)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": CALLBACK}
    page = await client.get("/oauth/authorize", params=query)
    text = await page.text()
    assert 'name="password"' not in text and "@alice" in text
    resp = await consent(client, app, scope="read", credentials={})
    code = redirect_query(resp)["code"]
    token = await (await exchange(client, app, code)).json()
    probe = await client.get("/api/v1/_probe", headers=bearer(token["access_token"]))
    assert (await probe.json())["account"] == "alice"
    # force_login asks for credentials again
    forced = await client.get("/oauth/authorize", params={**query, "force_login": "true"})
    assert 'name="password"' in await forced.text()
