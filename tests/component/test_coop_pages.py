"""The coop pages in a browser's shoes: about, members, joining, proposals, votes, decisions.

One instance: coop velo (admin alice), and the local people bob and carol. Forms are posted
with the CSRF token of the page that shows them, as a browser does.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fedcoop import clock
from fedcoop.accounts import accounts
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.gigs import decisions
from fedcoop.social import domain_policies
from fedcoop.uris import Uris
from fedcoop.web.state import DB, URIS
from tests.conftest import ADMIN_PASSWORD

HTML = {"Accept": "text/html"}
AS2 = {"Accept": "application/activity+json"}
PASSWORDS = {"alice": ADMIN_PASSWORD, "bob": "password-bob-1", "carol": "password-carol-1"}
_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def site(aiohttp_client: Any, settings: Settings) -> Any:
    uris = Uris(settings.instance.scheme, settings.instance.domain)
    Database(settings.database_path).write_sync(
        lambda conn: [
            accounts.create_account(conn, uris, n, PASSWORDS[n]) for n in ("bob", "carol")
        ]
    )
    return await aiohttp_client(make_app(settings))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def token_in(page: str) -> str:
    match = _TOKEN_RE.search(page)
    assert match, "no csrf_token on the page"
    return match.group(1)


async def sign_in_as(client: Any, username: str) -> None:
    client.session.cookie_jar.clear()
    page = await (await client.get("/auth/sign_in")).text()
    resp = await client.post(
        "/auth/sign_in",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": token_in(page)},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()


async def text_of(client: Any, path: str, status: int = 200) -> str:
    resp = await client.get(path, headers=HTML)
    body = await resp.text()
    assert resp.status == status, body
    return str(body)


async def submit(client: Any, page_path: str, action: str, fields: dict[str, Any]) -> Any:
    page = await text_of(client, page_path)
    return await client.post(
        action, data={**fields, "csrf_token": token_in(page)}, allow_redirects=False
    )


async def make_member(client: Any, username: str) -> None:
    """`username` asks to join velo; alice admits the request from the members page."""
    await sign_in_as(client, username)
    resp = await submit(client, "/coops/velo/join", "/coops/velo/join", {})
    assert resp.status == 303 and "waiting-for-an-admin" in resp.headers["Location"]
    await sign_in_as(client, "alice")
    page = await text_of(client, "/coops/velo/members")
    (action,) = re.findall(r'action="(/coops/velo/memberships/[^"]+/admit)"', page)
    resp = await client.post(action, data={"csrf_token": token_in(page)}, allow_redirects=False)
    assert resp.status == 303


async def test_about_page_shows_rules_rates_and_admission(site: Any) -> None:
    page = await text_of(site, "/coops/velo/about")
    assert "an admin approves each request" in page
    assert "Fee" in page and "0%" in page
    assert "No open gig right now." in page or "Open gigs" in page
    await text_of(site, "/coops/nobody/about", status=404)


async def test_joining_by_approval_from_the_pages(site: Any) -> None:
    await make_member(site, "bob")
    page = await text_of(site, "/coops/velo/members")
    assert "@bob@" in page and "No request waiting." in page
    # bob's profile lists velo
    assert "Vélo Coop" in await text_of(site, "/@bob")


async def test_a_non_admin_cannot_answer_requests(site: Any) -> None:
    await sign_in_as(site, "bob")
    await submit(site, "/coops/velo/join", "/coops/velo/join", {})
    await sign_in_as(site, "carol")
    page = await text_of(site, "/coops/velo/members")
    assert "/admit" not in page  # the form is not even shown
    request = await site.server.app[DB].read(
        lambda c: c.execute("SELECT id FROM memberships WHERE state = 'pending'").fetchone()
    )
    resp = await site.post(
        f"/coops/velo/memberships/{request[0]}/admit",
        data={"csrf_token": token_in(page)},
        allow_redirects=False,
    )
    assert resp.status == 403


async def test_a_visitor_from_elsewhere_is_told_to_join_from_home(site: Any) -> None:
    page = await text_of(site, "/coops/velo/join")
    assert 'name="handle"' in page
    # a handle whose server advertises no remote-interaction page (here: nothing answers)
    resp = await site.post(
        "/coops/velo/join",
        data={"handle": "dan@127.0.0.1:1", "csrf_token": token_in(page)},
        allow_redirects=False,
    )
    assert resp.status == 200
    assert "Ask to join from home" in await resp.text()


async def test_propose_vote_close_and_read_the_decision(site: Any) -> None:
    await make_member(site, "bob")
    await sign_in_as(site, "bob")
    resp = await submit(
        site,
        "/coops/velo/proposals",
        "/coops/velo/proposals",
        {
            "kind": "block",
            "title": "Block spam.example",
            "domain": "Spam.Example",
            "days": "2",
            "quorum": "50%",
            "threshold": "simple",
        },
    )
    assert resp.status == 303, await resp.text()
    path = resp.headers["Location"]
    page = await text_of(site, path)
    assert "spam.example" in page and 'name="option"' in page
    # bob votes; a second vote is refused
    vote = path + "/vote"
    first = await site.post(
        vote, data={"option": "Yes", "csrf_token": token_in(page)}, allow_redirects=False
    )
    assert first.headers["Location"].endswith("done=voted")
    again = await site.post(
        vote, data={"option": "No", "csrf_token": token_in(page)}, allow_redirects=False
    )
    assert again.headers["Location"].endswith("done=already-voted")
    # carol, not a member, sees no voting form
    await sign_in_as(site, "carol")
    assert 'name="option"' not in await text_of(site, path)
    # when the vote closes
    later = clock.now() + timedelta(days=3)
    db = site.server.app[DB]
    await db.write(lambda c: decisions.close_due(c, later))
    log = await text_of(site, "/coops/velo/decisions")
    assert "Block spam.example" in log and "Adopted" in log and "1/2 (50%)" in log
    # alice, an admin, applies the federation decision with one click
    await sign_in_as(site, "alice")
    page = await text_of(site, "/coops/velo/decisions")
    (apply,) = re.findall(r'action="(/coops/velo/policy-actions/[^"]+/apply)"', page)
    resp = await site.post(apply, data={"csrf_token": token_in(page)}, allow_redirects=False)
    assert resp.status == 303
    rule = await db.read(lambda c: domain_policies.get_policy(c, "spam.example"))
    assert rule is not None and rule.policy == "block"


async def test_a_proposal_is_a_question_for_activitypub_clients(site: Any) -> None:
    await sign_in_as(site, "alice")
    resp = await submit(
        site,
        "/coops/velo/proposals",
        "/coops/velo/proposals",
        {"kind": "text", "title": "Meeting day?", "options": "Tuesday\nThursday", "days": "1"},
    )
    proposal_id = resp.headers["Location"].rsplit("/", 1)[1]
    doc = await (await site.get(f"/proposals/{proposal_id}", headers=AS2)).json(content_type=None)
    assert doc["type"] == "Question" and [o["name"] for o in doc["oneOf"]] == [
        "Tuesday",
        "Thursday",
    ]
    assert "endTime" in doc and "closed" not in doc
    browser = await site.get(f"/proposals/{proposal_id}", headers=HTML, allow_redirects=False)
    assert browser.status == 303
    assert browser.headers["Location"] == f"/coops/velo/proposals/{proposal_id}"


async def test_my_coops_page_lists_memberships_and_open_votes(site: Any) -> None:
    await make_member(site, "bob")
    await sign_in_as(site, "alice")
    await submit(
        site,
        "/coops/velo/proposals",
        "/coops/velo/proposals",
        {"kind": "text", "title": "Summer party?", "days": "1"},
    )
    await sign_in_as(site, "bob")
    page = await text_of(site, "/me/coops")
    assert "Vélo Coop" in page and "Summer party?" in page
    (vote,) = re.findall(r'action="(/me/proposals/[^"]+/vote)"', page)
    resp = await site.post(
        vote, data={"option": "Yes", "csrf_token": token_in(page)}, allow_redirects=False
    )
    assert resp.headers["Location"] == "/me/coops?done=voted"


async def test_affiliations_are_served_signed(site: Any) -> None:
    await make_member(site, "bob")
    collection = await (await site.get("/coops/velo/affiliations", headers=AS2)).json(
        content_type=None
    )
    assert collection["totalItems"] == 2
    page = await (await site.get(path_of(collection["first"]), headers=AS2)).json(content_type=None)
    subjects = sorted(r["relationship"] for r in page["orderedItems"])
    assert subjects == ["admin", "member"]
    assert all("proof" in r for r in page["orderedItems"])
    one = page["orderedItems"][0]
    assert (await (await site.get(path_of(one["id"]), headers=AS2)).json(content_type=None)) == one
    mine = await (await site.get("/users/bob/affiliations", headers=AS2)).json(content_type=None)
    assert [r["relationship"] for r in mine["orderedItems"]] == ["member"]


async def test_a_visitor_is_sent_to_their_servers_remote_interaction_page(
    site: Any, aiohttp_server: Any
) -> None:
    from aiohttp import web

    async def webfinger(request: web.Request) -> web.Response:
        host = request.host
        return web.json_response(
            {
                "subject": request.query["resource"],
                "links": [
                    {
                        "rel": "http://ostatus.org/schema/1.0/subscribe",
                        "template": f"http://{host}/authorize_interaction?uri={{uri}}",
                    }
                ],
            }
        )

    home = web.Application()
    home.router.add_get("/.well-known/webfinger", webfinger)
    server = await aiohttp_server(home, host="127.0.0.1")
    page = await text_of(site, "/coops/velo/join")
    resp = await site.post(
        "/coops/velo/join",
        data={"handle": f"@dan@127.0.0.1:{server.port}", "csrf_token": token_in(page)},
        allow_redirects=False,
    )
    assert resp.status == 303
    velo_uri = site.server.app[URIS].group("velo")
    target = urlsplit(resp.headers["Location"])
    assert (target.netloc, target.path) == (f"127.0.0.1:{server.port}", "/authorize_interaction")
    assert parse_qs(target.query)["uri"] == [velo_uri]
