"""The Mastodon client API on one instance: entities, scopes, bodies, paging, rate limits.

Tokens come from the OAuth endpoints themselves (a registered app and the password grant), so
what is tested is what a client gets. The live clients (Mastodon.py, toot) are driven in
tests/interop/; the gig, vote and notification mappings in test_mastodon_api_market.py.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fedcoop.accounts import accounts
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.federation.discovery import MASTODON_COMPAT_VERSION
from fedcoop.web.state import SETTINGS
from tests.component.test_oauth import bearer, password_token, register
from tests.conftest import ADMIN_PASSWORD
from tests.support.tokens import issue_token

ACCOUNT_FIELDS = {
    "id", "username", "acct", "display_name", "locked", "bot", "discoverable", "group",
    "created_at", "note", "url", "uri", "avatar", "avatar_static", "header", "header_static",
    "followers_count", "following_count", "statuses_count", "last_status_at", "emojis", "fields",
}  # fmt: skip
STATUS_FIELDS = {
    "id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive",
    "spoiler_text", "media_attachments", "application", "mentions", "tags", "emojis",
    "reblogs_count", "favourites_count", "replies_count", "in_reply_to_id",
    "in_reply_to_account_id", "reblog", "poll", "card", "language", "edited_at", "favourited",
    "reblogged", "muted", "bookmarked", "pinned", "filtered",
}  # fmt: skip
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def login(client: Any, username: str = "alice", scopes: str = "read write follow") -> str:
    app = await register(client, scopes=scopes)
    token = await password_token(client, app, username=username, scope=scopes)
    return str(token["access_token"])


def add_member(settings: Settings, username: str) -> None:
    """A second person with an account on the instance."""
    db = Database(settings.database_path)
    try:
        db.write_sync(
            lambda conn: accounts.create_account(
                conn, _uris(settings), username, ADMIN_PASSWORD, display_name=username.title()
            )
        )
    finally:
        db.close()


def _uris(settings: Settings) -> Any:
    from fedcoop.uris import Uris

    return Uris(settings.instance.scheme, settings.instance.domain)


def links(resp: Any) -> dict[str, dict[str, str]]:
    """rel -> the query of its URL, from a `Link` header."""
    out = {}
    for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', resp.headers.get("Link", "")):
        out[rel] = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return out


# instance -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/"])
async def test_instance_v1_reports_the_compatible_version_with_and_without_a_slash(
    client: Any, path: str
) -> None:
    resp = await client.get(path)
    assert resp.status == 200
    doc = await resp.json()
    assert doc["version"].startswith(f"{MASTODON_COMPAT_VERSION} (compatible; fedcoop ")
    assert doc["uri"] == client.server.app[SETTINGS].instance.domain
    assert doc["contact_account"]["username"] == "alice"
    assert set(doc["configuration"]) >= {"statuses", "media_attachments", "polls"}
    assert doc["stats"]["user_count"] == 1


@pytest.mark.parametrize("path", ["/api/v2/instance", "/api/v2/instance/"])
async def test_instance_v2_names_its_api_version_as_mastodon_4_3_does(
    client: Any, path: str
) -> None:
    doc = await (await client.get(path)).json()
    assert doc["api_versions"] == {"mastodon": 2}
    assert doc["version"].startswith(MASTODON_COMPAT_VERSION)
    assert {"domain", "configuration", "registrations", "contact", "usage"} <= set(doc)
    assert doc["configuration"]["polls"]["max_options"] >= 2


async def test_nodeinfo_says_the_same_mastodon_version(client: Any) -> None:
    nodeinfo = await (await client.get("/nodeinfo/2.0")).json()
    instance = await (await client.get("/api/v1/instance")).json()
    upstream = nodeinfo["metadata"]["upstream"]
    assert upstream["name"] == "mastodon"
    assert instance["version"].startswith(upstream["version"] + " ")


# accounts -------------------------------------------------------------------------------------


async def test_verify_credentials_is_a_complete_credential_account(client: Any) -> None:
    token = await login(client)
    resp = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert resp.status == 200
    doc = await resp.json()
    assert ACCOUNT_FIELDS <= set(doc)
    assert doc["acct"] == "alice" and doc["username"] == "alice"
    assert isinstance(doc["id"], str) and ISO.match(doc["created_at"])
    assert set(doc["source"]) >= {"privacy", "sensitive", "language", "note", "fields"}


async def test_lookup_and_show_find_the_same_account(client: Any) -> None:
    token = await login(client)
    found = await (await client.get("/api/v1/accounts/lookup", params={"acct": "alice"})).json()
    shown = await (
        await client.get(f"/api/v1/accounts/{found['id']}", headers=bearer(token))
    ).json()
    assert shown["id"] == found["id"] and shown["acct"] == "alice"
    missing = await client.get("/api/v1/accounts/lookup", params={"acct": "nobody"})
    assert missing.status == 404 and "error" in await missing.json()
    junk = await client.get("/api/v1/accounts/not-an-id")
    assert junk.status == 404


async def test_follow_a_local_member_and_read_relationships_both_ways(
    aiohttp_client: Any, settings: Settings
) -> None:
    add_member(settings, "dora")
    client = await aiohttp_client(make_app(settings))
    token = await login(client)
    dora = await (await client.get("/api/v1/accounts/lookup", params={"acct": "dora"})).json()
    # When alice follows dora (a form body, as Mastodon.py sends it, with its stray fields)
    resp = await client.post(
        f"/api/v1/accounts/{dora['id']}/follow",
        data={"reblogs": "1", "notify": "0"},
        headers=bearer(token),
    )
    assert resp.status == 200
    assert (await resp.json())["following"] is True
    # Then relationships answer to `id=` (Mastodon.py) and `id[]=` (masto.js) alike
    for key in ("id", "id[]"):
        rel = await client.get(
            "/api/v1/accounts/relationships", params={key: dora["id"]}, headers=bearer(token)
        )
        assert [r["following"] for r in await rel.json()] == [True]
    # And unfollowing undoes it
    undo = await client.post(f"/api/v1/accounts/{dora['id']}/unfollow", headers=bearer(token))
    assert (await undo.json())["following"] is False


# statuses -------------------------------------------------------------------------------------


async def test_post_a_status_as_a_form_and_as_json(client: Any) -> None:
    token = await login(client)
    form = await client.post(
        "/api/v1/statuses",
        data={"status": "Hello from a form", "visibility": "unlisted", "sensitive": "0"},
        headers=bearer(token),
    )
    assert form.status == 200, await form.text()
    doc = await form.json()
    assert STATUS_FIELDS <= set(doc)
    assert doc["visibility"] == "unlisted" and "Hello from a form" in doc["content"]
    assert doc["account"]["acct"] == "alice" and ISO.match(doc["created_at"])
    as_json = await client.post(
        "/api/v1/statuses",
        json={"status": "Hello from JSON", "spoiler_text": "cw", "in_reply_to_id": doc["id"]},
        headers=bearer(token),
    )
    reply = await as_json.json()
    assert reply["in_reply_to_id"] == doc["id"] and reply["spoiler_text"] == "cw"
    assert reply["sensitive"] is True
    shown = await (await client.get(f"/api/v1/statuses/{doc['id']}")).json()
    assert shown["replies_count"] == 1
    context = await (
        await client.get(f"/api/v1/statuses/{reply['id']}/context", headers=bearer(token))
    ).json()
    assert [s["id"] for s in context["ancestors"]] == [doc["id"]]


async def test_a_status_without_text_or_poll_is_422(client: Any) -> None:
    token = await login(client)
    for body in ({"status": "   "}, {}, {"status": "", "poll": {"options": []}}):
        resp = await client.post("/api/v1/statuses", json=body, headers=bearer(token))
        assert resp.status == 422, body
        assert "error" in await resp.json()


async def test_deleting_returns_the_text_to_redraft_and_the_status_is_gone(client: Any) -> None:
    token = await login(client)
    made = await (
        await client.post("/api/v1/statuses", json={"status": "oops"}, headers=bearer(token))
    ).json()
    gone = await client.delete(f"/api/v1/statuses/{made['id']}", headers=bearer(token))
    assert gone.status == 200 and (await gone.json())["text"] == "oops"
    assert (await client.get(f"/api/v1/statuses/{made['id']}")).status == 404


# scopes and tokens ----------------------------------------------------------------------------


async def test_a_token_without_the_write_scope_cannot_post(client: Any) -> None:
    token = await login(client, scopes="read")
    resp = await client.post("/api/v1/statuses", json={"status": "hi"}, headers=bearer(token))
    assert resp.status == 403
    assert "insufficient_scope" in resp.headers["WWW-Authenticate"]
    assert "error" in await resp.json()
    # A read token still reads
    home = await client.get("/api/v1/timelines/home", headers=bearer(token))
    assert home.status == 200


async def test_a_read_statuses_token_cannot_read_notifications(client: Any) -> None:
    token = await login(client, scopes="read:statuses")
    assert (await client.get("/api/v1/timelines/home", headers=bearer(token))).status == 200
    resp = await client.get("/api/v1/notifications", headers=bearer(token))
    assert resp.status == 403


async def test_a_revoked_token_is_401_on_the_client_api(client: Any) -> None:
    app = await register(client)
    token = (await password_token(client, app))["access_token"]
    path = "/api/v1/accounts/verify_credentials"
    assert (await client.get(path, headers=bearer(token))).status == 200
    await client.post(
        "/oauth/revoke",
        data={"token": token, "client_id": app["client_id"], "client_secret": app["client_secret"]},
    )
    resp = await client.get(path, headers=bearer(token))
    assert resp.status == 401 and "error" in await resp.json()
    missing = await client.get("/api/v1/timelines/home")
    assert missing.status == 401


# paging ---------------------------------------------------------------------------------------


async def test_home_timeline_pages_through_link_headers(client: Any) -> None:
    token = await login(client)
    posted = []
    for n in range(5):
        made = await client.post(
            "/api/v1/statuses", json={"status": f"post {n}"}, headers=bearer(token)
        )
        posted.append((await made.json())["id"])
    newest_first = list(reversed(posted))
    # Given a first page of two
    first = await client.get("/api/v1/timelines/home?limit=2", headers=bearer(token))
    assert [s["id"] for s in await first.json()] == newest_first[:2]
    rel = links(first)
    assert rel["next"]["max_id"] == newest_first[1] and rel["next"]["limit"] == "2"
    assert rel["prev"]["min_id"] == newest_first[0]
    # When the client follows `next` twice
    second = await client.get("/api/v1/timelines/home", params=rel["next"], headers=bearer(token))
    assert [s["id"] for s in await second.json()] == newest_first[2:4]
    third = await client.get(
        "/api/v1/timelines/home", params=links(second)["next"], headers=bearer(token)
    )
    # Then the last page holds what is left and has no `next`
    assert [s["id"] for s in await third.json()] == newest_first[4:]
    assert "next" not in links(third)
    # And `min_id` walks forward from the oldest without gaps
    newer = await client.get(
        "/api/v1/timelines/home",
        params={"min_id": posted[0], "limit": "2"},
        headers=bearer(token),
    )
    assert [s["id"] for s in await newer.json()] == [posted[2], posted[1]]
    public = await (await client.get("/api/v1/timelines/public?local=true")).json()
    assert [s["id"] for s in public] == newest_first


# rate limits ----------------------------------------------------------------------------------


async def test_rate_limit_headers_and_429(aiohttp_client: Any, make_instance: Any) -> None:
    settings = make_instance(extra={"api": {"rate_limit": 3, "rate_limit_window_seconds": 60}})
    token = issue_token(settings, "alice", "read")
    client = await aiohttp_client(make_app(settings))
    answers = [await client.get("/api/v1/instance") for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    assert ISO.match(answers[0].headers["X-RateLimit-Reset"])
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert "error" in await answers[3].json()
    # A token has its own allowance, apart from the address's
    resp = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert resp.status == 200 and resp.headers["X-RateLimit-Remaining"] == "2"
    # Pages, federation and app registration are not counted
    assert "X-RateLimit-Limit" not in (await client.get("/.well-known/nodeinfo")).headers
    assert (await register(client))["client_id"]


async def test_browser_clients_get_cors_and_their_preflight_answered(client: Any) -> None:
    # Elk and masto.js in a browser: a preflight for a bearer-authenticated JSON post
    pre = await client.options(
        "/api/v1/statuses",
        headers={
            "Origin": "https://elk.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    answer = await client.get("/api/v1/timelines/public", headers={"Origin": "https://elk.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Link" in answer.headers["Access-Control-Expose-Headers"]
    page = await client.get("/")
    assert "Access-Control-Allow-Origin" not in page.headers
