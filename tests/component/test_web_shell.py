"""The web shell: sign-in and sign-out, throttling, error pages, pages and security headers.

A failed sign-in (wrong password or unknown name alike) answers 401 with the form again and
the message "Wrong username or password."; the throttle answers 429 with Retry-After.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from fedcoop.accounts.actors import get_local_actor, update_profile
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.web.pages import web_link
from fedcoop.web.sessions import COOKIE
from tests.conftest import ADMIN_PASSWORD

HTML = {"Accept": "text/html,application/xhtml+xml"}
_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    match = _TOKEN_RE.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


async def post_sign_in(
    client: Any, username: str, password: str, next_path: str | None = None
) -> Any:
    token = form_token(await (await client.get("/auth/sign_in")).text())
    data = {"username": username, "password": password, "csrf_token": token}
    if next_path is not None:
        data["next"] = next_path
    return await client.post("/auth/sign_in", data=data, allow_redirects=False)


async def post_sign_out(client: Any) -> Any:
    token = form_token(await (await client.get("/")).text())
    return await client.post("/auth/sign_out", data={"csrf_token": token}, allow_redirects=False)


def session_cookie(client: Any) -> str | None:
    values = [m.value for m in client.session.cookie_jar if m.key == COOKIE]
    assert len(values) <= 1
    return values[0] if values else None


def use_only_cookies(client: Any, cookies: dict[str, str]) -> None:
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies(cookies)


async def header_nav(client: Any) -> str:
    html = await (await client.get("/")).text()
    return html.split("<nav", 1)[1].split("</nav>", 1)[0]


# sign-in ------------------------------------------------------------------------------------


async def test_sign_in_sets_a_strict_session_cookie_and_lands_on_the_profile(
    client: Any, settings: Settings
) -> None:
    # given an anonymous visitor
    assert "Sign in" in await header_nav(client)
    # when alice signs in with her password
    resp = await post_sign_in(client, "alice", ADMIN_PASSWORD)
    # then she is sent to her profile with a session cookie only scripts cannot read
    assert resp.status == 303
    assert resp.headers["Location"] == "/@alice"
    morsel = resp.cookies[COOKIE]
    assert morsel.value and len(morsel.value) >= 40
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == str(settings.auth.session_days * 86400)
    assert not morsel["secure"]  # this test instance speaks http
    # and every page now shows who is signed in, with a sign-out button
    nav = await header_nav(client)
    assert "@alice" in nav and 'action="/auth/sign_out"' in nav
    # and the sign-in is recorded
    db = Database(settings.database_path)
    last = db.read_sync(
        lambda conn: conn.execute(
            "SELECT last_signin_at FROM accounts JOIN actors ON actors.id = accounts.actor_id "
            "WHERE actors.username = 'alice'"
        ).fetchone()[0]
    )
    assert last is not None


async def test_session_cookie_is_secure_on_https_instances(
    aiohttp_client: Any, make_instance: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(make_app(make_instance(http=False)))
    page = await client.get("/auth/sign_in")
    csrf_cookie = page.cookies["fedcoop_csrf"]
    assert csrf_cookie["secure"] is True
    # the test client speaks http, so it would not send a Secure cookie back on its own
    use_only_cookies(client, {"fedcoop_csrf": csrf_cookie.value})
    data = {
        "username": "alice",
        "password": ADMIN_PASSWORD,
        "csrf_token": form_token(await page.text()),
    }
    resp = await client.post("/auth/sign_in", data=data, allow_redirects=False)
    assert resp.status == 303
    assert resp.cookies[COOKIE]["secure"] is True


async def test_sign_in_follows_local_next_and_refuses_open_redirects(client: Any) -> None:
    resp = await post_sign_in(client, "alice", ADMIN_PASSWORD, next_path="/@velo?tab=gigs")
    assert resp.headers["Location"] == "/@velo?tab=gigs"
    for target in (
        "//evil.test/x",
        "/\\evil.test/x",
        "https://evil.test/",
        "javascript:alert(1)",
        "evil.test",
        "/ok\r\nSet-Cookie: x=y",
    ):
        resp = await post_sign_in(client, "alice", ADMIN_PASSWORD, next_path=target)
        assert resp.status == 303, target
        assert resp.headers["Location"] == "/@alice", target


async def test_each_sign_in_gets_a_new_token_and_a_planted_one_is_never_adopted(
    client: Any,
) -> None:
    # given a browser carrying a session token chosen by someone else
    planted = "planted-token-chosen-by-an-attacker"
    use_only_cookies(client, {COOKIE: planted})
    # when alice signs in twice
    first = (await post_sign_in(client, "alice", ADMIN_PASSWORD)).cookies[COOKIE].value
    use_only_cookies(client, {COOKIE: first})
    second = (await post_sign_in(client, "alice", ADMIN_PASSWORD)).cookies[COOKIE].value
    # then each sign-in minted its own token, none of them the planted one
    assert first and second and len({planted, first, second}) == 3
    # and the first token stopped working when the second replaced it
    use_only_cookies(client, {COOKIE: first})
    assert "@alice" not in await header_nav(client)
    use_only_cookies(client, {COOKIE: second})
    assert "@alice" in await header_nav(client)


async def test_wrong_password_and_unknown_user_get_the_same_answer(client: Any) -> None:
    wrong = await post_sign_in(client, "alice", "not her password")
    unknown = await post_sign_in(client, "nobody", "not her password")
    assert wrong.status == unknown.status == 401
    wrong_html, unknown_html = await wrong.text(), await unknown.text()
    assert "Wrong username or password." in wrong_html

    # the same page, but for the name typed back into the form and the form's token
    def normal(html: str, name: str) -> str:
        html = html.replace(f'value="{name}"', 'value="NAME"')
        return _TOKEN_RE.sub('name="csrf_token" value="T"', html)

    assert normal(wrong_html, "alice") == normal(unknown_html, "nobody")
    assert COOKIE not in wrong.cookies and COOKIE not in unknown.cookies
    assert "@alice" not in await header_nav(client)


async def test_empty_fields_are_refused_without_counting_as_a_failure(client: Any) -> None:
    resp = await post_sign_in(client, "alice", "")
    assert resp.status == 422
    assert "Enter your username and password." in await resp.text()


async def test_repeated_failures_are_throttled_with_retry_after(
    aiohttp_client: Any, make_instance: Callable[..., Settings]
) -> None:
    # given an instance allowing 3 failures per window
    settings = make_instance(extra={"auth": {"signin_max_failures": 3}})
    client = await aiohttp_client(make_app(settings))
    # when alice's password is guessed wrong 3 times
    for _ in range(3):
        assert (await post_sign_in(client, "alice", "guess guess")).status == 401
    # then the next attempt is refused with 429, even with the right password
    resp = await post_sign_in(client, "alice", ADMIN_PASSWORD)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.content_type == "text/html"
    html = await resp.text()
    assert "429" in html and "Too many failed sign-ins" in html and settings.instance.name in html
    assert COOKIE not in resp.cookies


async def test_a_success_forgives_the_accounts_failures(
    aiohttp_client: Any, make_instance: Callable[..., Settings]
) -> None:
    settings = make_instance(extra={"auth": {"signin_max_failures": 3}})
    client = await aiohttp_client(make_app(settings))
    for _ in range(2):
        assert (await post_sign_in(client, "alice", "guess guess")).status == 401
    assert (await post_sign_in(client, "alice", ADMIN_PASSWORD)).status == 303
    # two more failures: had the first two not been forgiven this would be the fourth
    assert (await post_sign_in(client, "alice", "guess guess")).status == 401


async def test_signed_in_visitors_are_sent_on_from_the_sign_in_page(client: Any) -> None:
    await post_sign_in(client, "alice", ADMIN_PASSWORD)
    resp = await client.get("/auth/sign_in", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/@alice"
    resp = await client.get("/auth/sign_in?next=/@velo", allow_redirects=False)
    assert resp.headers["Location"] == "/@velo"


# sign-out -----------------------------------------------------------------------------------


async def test_sign_out_deletes_the_session_and_its_cookie(client: Any) -> None:
    # given alice signed in
    await post_sign_in(client, "alice", ADMIN_PASSWORD)
    token = session_cookie(client)
    assert token
    # when she signs out
    resp = await post_sign_out(client)
    # then she is sent home, the cookie is expired, and the page shows nobody
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert resp.cookies[COOKIE].value == "" and resp.cookies[COOKIE]["max-age"] == "0"
    assert "Sign in" in await header_nav(client)
    # and the old token is dead on the server too, not only forgotten by the browser
    use_only_cookies(client, {COOKIE: token})
    assert "@alice" not in await header_nav(client)


async def test_sign_out_only_by_post(client: Any) -> None:
    await post_sign_in(client, "alice", ADMIN_PASSWORD)
    resp = await client.get("/auth/sign_out")
    assert resp.status == 405
    assert "POST" in resp.headers["Allow"]
    assert "@alice" in await header_nav(client)


async def test_a_dead_session_cookie_is_dropped(client: Any) -> None:
    use_only_cookies(client, {COOKIE: "no-such-session"})
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.cookies[COOKIE]["max-age"] == "0"
    assert "Sign in" in await header_nav(client)


# error pages --------------------------------------------------------------------------------


async def test_unknown_urls_are_404_pages_for_browsers_and_json_for_the_api(
    client: Any, settings: Settings
) -> None:
    resp = await client.get("/no/such/page", headers=HTML)
    assert resp.status == 404 and resp.content_type == "text/html"
    html = await resp.text()
    assert "404" in html and "Not found" in html and settings.instance.name in html
    resp = await client.get("/api/v1/no_such_thing")
    assert resp.status == 404 and resp.content_type == "application/json"
    assert set(await resp.json()) == {"error"}


async def test_wrong_method_is_405_with_allow(client: Any) -> None:
    token = form_token(await (await client.get("/auth/sign_in")).text())
    resp = await client.post("/", data={"csrf_token": token}, headers=HTML)
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
    assert "Method not allowed" in await resp.text()


async def test_a_crash_is_a_500_page_without_the_exception(
    aiohttp_client: Any, settings: Settings
) -> None:
    # given a handler that crashes with a secret in its message (added to this test app only)
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("database password is hunter2")

    app = make_app(settings)
    app.router.add_get("/boom", boom)
    client = await aiohttp_client(app)
    # when a browser asks for it
    resp = await client.get("/boom", headers=HTML)
    # then it gets the 500 page, and nothing of the exception
    assert resp.status == 500 and resp.content_type == "text/html"
    html = await resp.text()
    assert "Something went wrong" in html and settings.instance.name in html
    for leak in ("hunter2", "RuntimeError", "Traceback", "boom"):
        assert leak not in html, leak
    resp = await client.get("/boom", headers={"Accept": "application/activity+json"})
    assert resp.status == 500
    assert await resp.json(content_type=None) == {"error": "Something went wrong on our side."}


# pages --------------------------------------------------------------------------------------


async def test_home_lists_the_instances_coops(client: Any, settings: Settings) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    html = await resp.text()
    assert 'href="/@velo"' in html and "Vélo Coop" in html
    assert f"@velo@{settings.instance.domain}" in html


async def test_profiles_of_people_and_coops(client: Any, settings: Settings) -> None:
    domain = settings.instance.domain
    # a person: name, handle, memberships
    html = await (await client.get("/@alice")).text()
    assert f"@alice@{domain}" in html
    assert 'href="http://' + domain + '/@velo"' in html and "Vélo Coop" in html and "admin" in html
    # a coop: handle, admission, staff, at /@name and at its actor URL
    for path in ("/@velo", "/coops/velo"):
        resp = await client.get(path, headers=HTML)
        assert resp.status == 200 and resp.content_type == "text/html", path
        html = await resp.text()
        assert f"@velo@{domain}" in html and "cooperative" in html
        assert "Admission: approval" in html
        assert f"@alice@{domain}" in html  # alice is its admin
    # a coop is not a person, and strangers are nobody
    assert (await client.get("/users/velo", headers=HTML)).status == 404
    assert (await client.get("/@nobody", headers=HTML)).status == 404


async def test_profile_text_is_escaped(aiohttp_client: Any, settings: Settings) -> None:
    # given a summary holding markup
    db = Database(settings.database_path)

    def edit(conn: Any) -> None:
        actor = get_local_actor(conn, "alice")
        assert actor is not None
        update_profile(conn, actor.id, summary='<script>alert("x")</script><b>bold</b>')

    db.write_sync(edit)
    client = await aiohttp_client(make_app(settings))
    html = await (await client.get("/@alice")).text()
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


# headers ------------------------------------------------------------------------------------


async def test_html_responses_carry_security_headers(client: Any) -> None:
    for path, status in (("/", 200), ("/auth/sign_in", 200), ("/nowhere", 404)):
        resp = await client.get(path, headers=HTML)
        assert resp.status == status
        h = resp.headers
        assert h["X-Content-Type-Options"] == "nosniff", path
        assert h["Referrer-Policy"] == "same-origin", path
        assert h["X-Frame-Options"] == "DENY", path
        csp = h["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "img-src 'self' https: data:",
            "style-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ):
            assert directive in csp, (path, directive)
    css = await client.get("/static/fedcoop.css")
    assert css.status == 200 and css.headers["X-Content-Type-Options"] == "nosniff"


async def test_form_action_is_open_on_the_way_to_an_oauth_client(client: Any) -> None:
    # Signing in for an OAuth authorization ends in a redirect to the client's redirect_uri,
    # which browsers check against form-action.
    resp = await client.get("/auth/sign_in", params={"next": "/oauth/authorize?client_id=x"})
    csp = resp.headers["Content-Security-Policy"]
    assert "form-action" not in csp and "default-src 'self'" in csp
    assert 'name="next" value="/oauth/authorize?client_id=x"' in await resp.text()


async def test_signed_in_pages_are_not_cached(client: Any) -> None:
    assert "no-store" not in (await client.get("/")).headers.get("Cache-Control", "")
    await post_sign_in(client, "alice", ADMIN_PASSWORD)
    assert (await client.get("/")).headers["Cache-Control"] == "private, no-store"


async def test_actor_links_are_http_only(settings: Settings) -> None:
    # given an actor whose server sent a script URL as its `url` (the links on profile pages
    # come from remote data once remote members hold roles)
    db = Database(settings.database_path)
    alice = db.read_sync(lambda conn: get_local_actor(conn, "alice"))
    assert alice is not None
    hostile = dataclasses.replace(alice, url="JavaScript:alert(1)")
    # then the link falls back to its http(s) id, and to nothing when that is not http(s) either
    assert web_link(alice) == alice.url
    assert web_link(hostile) == alice.uri
    assert web_link(dataclasses.replace(hostile, uri="data:text/html,x")) is None
