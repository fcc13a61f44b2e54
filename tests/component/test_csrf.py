"""CSRF: every cookie-authenticated form POST needs the token signed for its browser's cookie.

Refusals answer 422 before the handler runs; the sign-in form is the witness, since a
sign-in that got through would set a session cookie.
"""

from __future__ import annotations

import re
from typing import Any

from fedcoop.web import csrf
from fedcoop.web.sessions import COOKIE as SESSION_COOKIE
from tests.conftest import ADMIN_PASSWORD

_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CREDENTIALS = {"username": "alice", "password": ADMIN_PASSWORD}


async def fresh_token(client: Any) -> tuple[str, str]:
    """(form token, cookie) for a browser that arrives with no cookie at all."""
    client.session.cookie_jar.clear()
    page = await client.get("/auth/sign_in")
    match = _TOKEN_RE.search(await page.text())
    assert match
    return match.group(1), page.cookies[csrf.COOKIE].value


def with_cookie(client: Any, cookie: str | None) -> None:
    client.session.cookie_jar.clear()
    if cookie is not None:
        client.session.cookie_jar.update_cookies({csrf.COOKIE: cookie})


async def sign_in_with(client: Any, token: str | None) -> Any:
    data = dict(CREDENTIALS)
    if token is not None:
        data["csrf_token"] = token
    return await client.post("/auth/sign_in", data=data, allow_redirects=False)


async def assert_refused(resp: Any) -> None:
    assert resp.status == 422
    assert SESSION_COOKIE not in resp.cookies
    assert "security token is missing or wrong" in await resp.text()


async def test_the_right_token_with_its_cookie_is_accepted(client: Any) -> None:
    token, cookie = await fresh_token(client)
    with_cookie(client, cookie)
    resp = await sign_in_with(client, token)
    assert resp.status == 303 and resp.cookies[SESSION_COOKIE].value


async def test_missing_field_is_refused(client: Any) -> None:
    _, cookie = await fresh_token(client)
    with_cookie(client, cookie)
    await assert_refused(await sign_in_with(client, None))


async def test_wrong_value_is_refused(client: Any) -> None:
    token, cookie = await fresh_token(client)
    with_cookie(client, cookie)
    await assert_refused(
        await sign_in_with(client, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    )
    await assert_refused(await sign_in_with(client, ""))


async def test_missing_cookie_is_refused(client: Any) -> None:
    token, _ = await fresh_token(client)
    with_cookie(client, None)
    await assert_refused(await sign_in_with(client, token))


async def test_a_token_made_for_another_cookie_is_refused(client: Any) -> None:
    # given two browsers, each with its own cookie and token
    token_a, _ = await fresh_token(client)
    _, cookie_b = await fresh_token(client)
    # when browser B posts the token shown to browser A
    with_cookie(client, cookie_b)
    # then it is refused
    await assert_refused(await sign_in_with(client, token_a))
    # and a token that is merely the cookie itself is refused too
    await assert_refused(await sign_in_with(client, cookie_b))


async def test_sign_out_needs_the_token_too(client: Any) -> None:
    token, cookie = await fresh_token(client)
    with_cookie(client, cookie)
    assert (await sign_in_with(client, token)).status == 303
    resp = await client.post("/auth/sign_out", data={}, allow_redirects=False)
    assert resp.status == 422
    # still signed in
    page = await (await client.get("/")).text()
    assert "@alice" in page


async def test_the_refusal_is_a_full_page_for_browsers(client: Any, settings: Any) -> None:
    _, cookie = await fresh_token(client)
    with_cookie(client, cookie)
    resp = await sign_in_with(client, None)
    assert resp.content_type == "text/html"
    html = await resp.text()
    # the error page is rendered with the site's frame, though the refusal came from a
    # middleware that runs before the template context is normally built
    assert settings.instance.name in html and "422" in html and 'href="/auth/sign_in"' in html


async def test_the_header_carries_the_token_for_scripts(client: Any) -> None:
    token, cookie = await fresh_token(client)
    with_cookie(client, cookie)
    resp = await client.post(
        "/auth/sign_in", data=CREDENTIALS, headers={csrf.HEADER: token}, allow_redirects=False
    )
    assert resp.status == 303


async def test_bearer_api_paths_are_exempt(client: Any) -> None:
    # no cookie, no token: not a CSRF refusal, but whatever the API itself answers
    client.session.cookie_jar.clear()
    resp = await client.post("/api/v1/no_such_endpoint", data={"x": "y"})
    assert resp.status == 404
    assert resp.content_type == "application/json"
