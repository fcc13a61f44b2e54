"""Marketplace pages, as a member uses them in a browser without JavaScript: post a gig, find
it on the board, apply, accept, and follow the agreement to completion and payment. Also what
the pages must refuse (bad input, a second acceptance of the last slot) and never show
(scripts and event handlers in a description).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest

from fedcoop.accounts import accounts
from fedcoop.accounts.actors import get_actor_by_uri
from fedcoop.activitypub.httpsig import sign_request
from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.gigs import agreements, applications, offers
from fedcoop.gigs.offers import GigDraft
from fedcoop.uris import Uris
from tests.conftest import ADMIN_PASSWORD
from tests.support.fake_peer import RemoteActor, remote_actor, serve_actor, start_peer

HTML = {"Accept": "text/html"}
PASSWORDS = {"alice": ADMIN_PASSWORD, "bob": "password-bob-1", "carol": "password-carol-1"}
_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

GIG_FORM = {
    "purpose": "request",
    "coop_id": "",
    "title": "Cargo-bike deliveries, Croix-Rousse market",
    "description": "Riders with their own cargo bike.\n\nSaturday morning, 8 to 12.",
    "description_format": "text",
    "unit": "hour",
    "price": "18",
    "currency": "EUR",
    "available": "8",
    "minimum": "2",
    "unit_based": "1",
    "place_name": "Croix-Rousse, Lyon",
    "latitude": "45.774",
    "longitude": "4.832",
    "starts_at": "2030-06-01T08:00",
    "ends_at": "2030-06-01T12:00",
    "visibility": "public",
}


def add_members(settings: Settings, *names: str) -> None:
    uris = Uris(settings.instance.scheme, settings.instance.domain)
    db = Database(settings.database_path)
    db.write_sync(
        lambda conn: [accounts.create_account(conn, uris, n, PASSWORDS[n]) for n in names]
    )


@pytest.fixture
async def site(aiohttp_client: Any, settings: Settings) -> Any:
    add_members(settings, "bob", "carol")
    return await aiohttp_client(make_app(settings))


def token_in(page: str) -> str:
    match = _TOKEN_RE.search(page)
    assert match, "no csrf_token on the page"
    return match.group(1)


async def sign_in_as(client: Any, username: str) -> None:
    """A fresh browser for `username`: other members' cookies are dropped first."""
    client.session.cookie_jar.clear()
    page = await (await client.get("/auth/sign_in")).text()
    resp = await client.post(
        "/auth/sign_in",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": token_in(page)},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()


async def submit(client: Any, page_path: str, action: str, fields: dict[str, Any]) -> Any:
    """Open `page_path` for its CSRF token, then post `fields` to `action` as its form does."""
    page = await (await client.get(page_path, headers=HTML)).text()
    return await client.post(
        action, data={**fields, "csrf_token": token_in(page)}, allow_redirects=False
    )


async def post_gig(client: Any, **over: Any) -> str:
    resp = await submit(client, "/gigs/new", "/gigs/new", {**GIG_FORM, **over})
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    assert location.startswith("/gigs/")
    return str(location.rsplit("/", 1)[1])


async def text_of(client: Any, path: str, status: int = 200) -> str:
    resp = await client.get(path, headers=HTML)
    body = await resp.text()
    assert resp.status == status, body
    return str(body)


def between(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


async def results(client: Any, path: str) -> str:
    """The board's list of gigs, without the filter form (whose skill names would match)."""
    return between(await text_of(client, path), '<ul class="gigs">', "</ul>")


# the whole walk ----------------------------------------------------------------------------


async def test_post_find_apply_accept_deliver_and_pay(site: Any) -> None:
    # Given alice posts a gig through the form, for her coop, with a skill
    await sign_in_as(site, "alice")
    form = await text_of(site, "/gigs/new")
    assert "Vélo Coop" in form and "Cargo-bike courier" in form
    coop_id = re.search(r'<option value="([0-9A-Z]{26})"[^>]*>Vélo Coop</option>', form)
    skill = re.search(r'<option value="([^"]+/skills/cargo-bike-courier)"', form)
    assert coop_id and skill
    gig_id = await post_gig(site, coop_id=coop_id.group(1), skills=skill.group(1))
    await post_gig(
        site,
        title="Translate a menu to English",
        description="Two pages, French to English.",
        remote="1",
        place_name="",
        latitude="",
        longitude="",
        price="30",
    )

    # When anyone looks at the board, both gigs are there, and the filters narrow it down
    site.session.cookie_jar.clear()
    board = await results(site, "/gigs")
    assert "Cargo-bike deliveries" in board and "Translate a menu" in board
    assert "Translate a menu" not in await results(site, "/gigs?words=cargo")
    assert "Cargo-bike" not in await results(site, "/gigs?remote_only=1")
    by_skill = await results(site, f"/gigs?skill={skill.group(1)}")
    assert "Cargo-bike deliveries" in by_skill and "Translate a menu" not in by_skill
    near = await results(site, "/gigs?near_lat=45.77&near_lon=4.83&within_km=5&sort=distance")
    assert "Cargo-bike deliveries" in near and "Translate a menu" not in near
    pay = await results(site, "/gigs?min_hourly=20&currency=EUR")
    assert "Translate a menu" in pay and "Cargo-bike" not in pay
    assert "Cargo-bike" in await results(site, f"/gigs?coop_id={coop_id.group(1)}")
    assert "No gig matches." in await results(site, "/gigs?purpose=offer")

    # and bob applies for four hours from the gig page
    await sign_in_as(site, "bob")
    page = await text_of(site, f"/gigs/{gig_id}")
    assert 'action="/gigs/' + gig_id + '/apply"' in page
    resp = await submit(
        site,
        f"/gigs/{gig_id}",
        f"/gigs/{gig_id}/apply",
        {"quantity": "4", "cover_note": "I ride a Bullitt."},
    )
    assert resp.status == 303
    mine = await text_of(site, "/me/applications")
    assert "Cargo-bike deliveries" in mine and "pending" in mine and "72.00 EUR" in mine

    # Then alice sees it among the applications received and accepts it
    await sign_in_as(site, "alice")
    received = await text_of(site, "/me/applications/received")
    assert "I ride a Bullitt." in received
    application_id = re.search(r'action="/applications/([0-9A-Z]{26})/accept"', received)
    assert application_id
    resp = await submit(
        site, "/me/applications/received", f"/applications/{application_id.group(1)}/accept", {}
    )
    assert resp.status == 303
    agreement_path = resp.headers["Location"]
    assert agreement_path.startswith("/agreements/")

    # and the agreement page shows its terms, and the poster's payment button only
    agreement = await text_of(site, agreement_path)
    assert between(agreement, 'class="quantity">', "<") == "4 hours"
    assert between(agreement, 'class="amount">', "<") == "72.00 EUR"
    assert "Status: <strong>active</strong>" in agreement
    assert agreement_path + "/payment" in agreement
    assert agreement_path + "/completion" not in agreement

    # The worker records completion from the same page, the poster records the payment
    await sign_in_as(site, "bob")
    assert "accepted your application" in await text_of(site, "/notifications")
    page = await text_of(site, agreement_path)
    assert agreement_path + "/completion" in page and agreement_path + "/payment" not in page
    resp = await submit(site, agreement_path, agreement_path + "/completion", {})
    assert resp.status == 303
    assert "Status: <strong>delivered</strong>" in await text_of(site, agreement_path)
    await sign_in_as(site, "alice")
    resp = await submit(site, agreement_path, agreement_path + "/payment", {})
    assert resp.status == 303
    done = await text_of(site, agreement_path)
    assert "Status: <strong>completed</strong>" in done and "receipt issued" in done
    # and the gig now has four hours left
    assert "4 hours left of 8 hours" in await text_of(site, f"/gigs/{gig_id}")


async def test_an_agreement_page_is_only_for_its_parties(site: Any) -> None:
    await sign_in_as(site, "alice")
    gig_id = await post_gig(site)
    await sign_in_as(site, "bob")
    await submit(site, f"/gigs/{gig_id}", f"/gigs/{gig_id}/apply", {"quantity": "2"})
    await sign_in_as(site, "alice")
    received = await text_of(site, "/me/applications/received")
    application_id = re.search(r'action="/applications/([0-9A-Z]{26})/accept"', received)
    assert application_id
    resp = await submit(
        site, "/me/applications/received", f"/applications/{application_id.group(1)}/accept", {}
    )
    agreement_path = resp.headers["Location"]
    # carol is no party: the agreement does not exist for her
    await sign_in_as(site, "carol")
    await text_of(site, agreement_path, status=404)
    # and signed out, the page asks to sign in
    site.session.cookie_jar.clear()
    await text_of(site, agreement_path, status=401)


async def test_the_board_pages_with_a_next_page_link(site: Any) -> None:
    await sign_in_as(site, "alice")
    for n in range(3):
        await post_gig(site, title=f"Round number {n}")
    site.session.cookie_jar.clear()
    first = await text_of(site, "/gigs?limit=2&words=round")
    assert "Round number 2" in first and "Round number 0" not in first
    link = re.search(r'<a rel="next" href="([^"]+)">Next page</a>', first)
    assert link
    second = await results(site, link.group(1).replace("&amp;", "&"))
    assert "Round number 0" in second and "Round number 1" not in second
    assert 'rel="next"' not in await text_of(site, link.group(1).replace("&amp;", "&"))


# refusals ----------------------------------------------------------------------------------


async def test_the_second_acceptance_of_the_last_slot_gets_a_409_page(site: Any) -> None:
    # Given a gig with room for one application of four hours, and two applicants
    await sign_in_as(site, "alice")
    gig_id = await post_gig(site, available="4", minimum="4")
    for worker in ("bob", "carol"):
        await sign_in_as(site, worker)
        resp = await submit(site, f"/gigs/{gig_id}", f"/gigs/{gig_id}/apply", {"quantity": "4"})
        assert resp.status == 303
    await sign_in_as(site, "alice")
    received = await text_of(site, "/me/applications/received")
    first, second = re.findall(r'action="/applications/([0-9A-Z]{26})/accept"', received)
    # When alice accepts one, then the other
    ok = await submit(site, "/me/applications/received", f"/applications/{first}/accept", {})
    assert ok.status == 303
    refused = await submit(site, "/me/applications/received", f"/applications/{second}/accept", {})
    # Then the second gets a 409 page, and that application is declined, not left pending
    assert refused.status == 409
    assert "No capacity is left" in await refused.text()
    received = await text_of(site, "/me/applications/received")
    assert received.count("<strong>accepted</strong>") == 1
    assert received.count("<strong>rejected</strong>") == 1


async def test_refused_gig_forms_come_back_filled_in_with_the_field_named(site: Any) -> None:
    await sign_in_as(site, "alice")
    resp = await submit(site, "/gigs/new", "/gigs/new", {**GIG_FORM, "price": "cheap"})
    assert resp.status == 422
    page = await resp.text()
    assert 'id="price-error"' in page
    assert 'value="Cargo-bike deliveries, Croix-Rousse market"' in page
    # unit-based: 7.5 hours is not a whole number of hours
    resp = await submit(site, "/gigs/new", "/gigs/new", {**GIG_FORM, "available": "7.5"})
    assert resp.status == 422 and 'id="available-error"' in await resp.text()
    # neither remote nor a place
    resp = await submit(site, "/gigs/new", "/gigs/new", {**GIG_FORM, "place_name": ""})
    assert resp.status == 422 and 'id="place_name-error"' in await resp.text()
    # nothing was stored
    assert "No gig matches." in await results(site, "/gigs")


async def test_applying_for_a_part_hour_is_refused_on_the_gig_page(site: Any) -> None:
    await sign_in_as(site, "alice")
    gig_id = await post_gig(site)
    await sign_in_as(site, "bob")
    resp = await submit(site, f"/gigs/{gig_id}", f"/gigs/{gig_id}/apply", {"quantity": "2.5"})
    assert resp.status == 422
    page = await resp.text()
    assert 'id="quantity-error"' in page and "whole number of hours" in page
    assert "You have not applied" in await text_of(site, "/me/applications")


async def test_only_the_poster_edits_and_a_withdrawn_gig_is_gone(site: Any) -> None:
    await sign_in_as(site, "alice")
    gig_id = await post_gig(site)
    edit = await text_of(site, f"/gigs/{gig_id}/edit")
    # the description comes back as the text alice wrote
    assert "Riders with their own cargo bike.\n\nSaturday morning" in edit
    resp = await submit(
        site,
        f"/gigs/{gig_id}/edit",
        f"/gigs/{gig_id}/edit",
        {**GIG_FORM, "title": "Cargo-bike deliveries, Sunday"},
    )
    assert resp.status == 303
    assert "Cargo-bike deliveries, Sunday" in await text_of(site, f"/gigs/{gig_id}")
    await sign_in_as(site, "bob")
    await text_of(site, f"/gigs/{gig_id}/edit", status=403)
    resp = await submit(site, f"/gigs/{gig_id}", f"/gigs/{gig_id}/state", {"state": "closed"})
    assert resp.status == 403
    await sign_in_as(site, "alice")
    resp = await submit(site, f"/gigs/{gig_id}", f"/gigs/{gig_id}/state", {"state": "withdrawn"})
    assert resp.status == 303
    await text_of(site, f"/gigs/{gig_id}", status=404)


# what pages never show ---------------------------------------------------------------------

HOSTILE = (
    '<p onclick="steal()">Fine print</p><script>alert("s")</script>'
    '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
    '<a href="https://example.org/ok" onmouseover="alert(3)">safe link</a>'
)


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, to look for live markup, not text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def live_markup(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(page)
    return parser.tags


@pytest.mark.parametrize("fmt", ["html", "text"])
async def test_scripts_handlers_and_javascript_links_never_reach_the_page(
    site: Any, fmt: str
) -> None:
    # Given a description full of hostile markup, written as HTML or as plain text
    await sign_in_as(site, "alice")
    gig_id = await post_gig(site, description=HOSTILE, description_format=fmt)
    # When anyone opens the gig page
    site.session.cookie_jar.clear()
    page = await text_of(site, f"/gigs/{gig_id}")
    tags = live_markup(page)
    # Then no script element, no event-handler attribute and no javascript: link is live
    assert not [t for t, _ in tags if t == "script"]
    assert not [(t, a) for t, attrs in tags for a in attrs if a.startswith("on")]
    hrefs = [attrs.get("href") or "" for _, attrs in tags]
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")]
    assert not [t for t, _ in tags if t == "img"]
    # and what is harmless survives: the text, and (as HTML) the safe link
    assert "Fine print" in page
    if fmt == "html":
        assert "https://example.org/ok" in hrefs
    else:
        assert "&lt;script&gt;" in page


# ActivityPub clients -----------------------------------------------------------------------


async def test_the_gig_url_serves_the_proposal_and_its_note_to_activitypub_clients(
    site: Any, settings: Settings
) -> None:
    await sign_in_as(site, "alice")
    gig_id = await post_gig(site)
    site.session.cookie_jar.clear()
    uri = f"http://{settings.instance.domain}/gigs/{gig_id}"
    resp = await site.get(f"/gigs/{gig_id}", headers={"Accept": "application/activity+json"})
    assert resp.status == 200 and resp.content_type == "application/activity+json"
    proposal = await resp.json(content_type=None)
    assert proposal["type"] == "Proposal" and proposal["id"] == uri
    assert proposal["reciprocal"]["resourceQuantity"]["hasNumericalValue"] == "18"
    resp = await site.get(f"/gigs/{gig_id}/note", headers={"Accept": "application/activity+json"})
    note = await resp.json(content_type=None)
    assert note["type"] == "Note" and note["id"] == uri + "/note"
    assert any(t.get("href") == uri and t["type"] == "Link" for t in note["tag"])
    # a browser asking for the note is sent to the gig page
    resp = await site.get(f"/gigs/{gig_id}/note", headers=HTML, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/gigs/{gig_id}"


async def test_members_only_gigs_are_not_found_by_strangers(site: Any, settings: Settings) -> None:
    await sign_in_as(site, "alice")
    form = await text_of(site, "/gigs/new")
    coop_id = re.search(r'<option value="([0-9A-Z]{26})"[^>]*>Vélo Coop</option>', form)
    assert coop_id
    gig_id = await post_gig(site, coop_id=coop_id.group(1), visibility="members")
    assert "Cargo-bike deliveries" in await results(site, "/gigs")  # alice is a member
    await sign_in_as(site, "bob")
    assert "Cargo-bike deliveries" not in await results(site, "/gigs")
    await text_of(site, f"/gigs/{gig_id}", status=404)
    resp = await site.get(f"/gigs/{gig_id}", headers={"Accept": "application/activity+json"})
    assert resp.status == 404


# agreements as AS2: for their parties only -------------------------------------------------

AS2 = {"Accept": "application/activity+json"}


def signed_get(actor: RemoteActor, settings: Settings, path: str) -> dict[str, str]:
    headers = {"Host": settings.instance.domain, **AS2}
    now = datetime.now(UTC)
    return headers | sign_request("GET", path, headers, None, actor.key_id, actor.private_key, now)


async def test_an_agreement_is_served_as_as2_to_a_signed_get_by_a_party_only(
    aiohttp_client: Any, aiohttp_server: Any, make_instance: Any
) -> None:
    # Given an instance with authorized fetch on, and two actors on a peer
    settings = make_instance(extra={"federation": {"authorized_fetch": True}})
    client = await aiohttp_client(make_app(settings))
    peer = await start_peer(aiohttp_server)
    ana, bea = remote_actor(peer.base, "ana"), remote_actor(peer.base, "bea")
    serve_actor(peer, ana)
    serve_actor(peer, bea)
    uris = Uris(settings.instance.scheme, settings.instance.domain)
    db = Database(settings.database_path)

    def post(conn: sqlite3.Connection) -> str:
        alice = accounts.get_account_by_username(conn, "alice")
        assert alice is not None
        draft = GigDraft(
            purpose="request",
            title="Move a piano",
            description="",
            unit="task",
            price=Decimal("120"),
            currency="EUR",
            available=Decimal("1"),
            minimum=Decimal("1"),
            remote=False,
            place_name="Lyon",
        )
        return offers.create_gig(conn, uris, poster_id=alice.actor_id, coop_id=None, draft=draft).id

    gig_id = db.write_sync(post)
    # The Proposal answers a signed GET, and refuses an unsigned one here
    path = f"/gigs/{gig_id}"
    assert (await client.get(path, headers=AS2)).status == 401
    resp = await client.get(path, headers=signed_get(ana, settings, path))
    assert resp.status == 200 and (await resp.json(content_type=None))["type"] == "Proposal"
    assert (await client.get(path, headers=signed_get(bea, settings, path))).status == 200

    # and once ana's Offer was accepted, the agreement is ana's and alice's
    def agree(conn: sqlite3.Connection) -> str:
        alice = accounts.get_account_by_username(conn, "alice")
        worker = get_actor_by_uri(conn, ana.id)
        assert alice is not None and worker is not None
        application = applications.apply(
            conn,
            uris,
            gig_id=gig_id,
            worker_id=worker.id,
            quantity=Decimal("1"),
            offer_uri=peer.url("/offers/1"),
        )
        outcome = agreements.accept(conn, uris, application.id, alice.actor_id)
        assert outcome.agreement is not None
        return outcome.agreement.id

    path = f"/agreements/{db.write_sync(agree)}"
    # When the worker fetches it with a signed GET, it gets the Agreement signed by the poster
    resp = await client.get(path, headers=signed_get(ana, settings, path))
    assert resp.status == 200
    doc = await resp.json(content_type=None)
    assert doc["type"] == "Agreement" and doc["stipulates"]["provider"] == ana.id
    assert doc["stipulatesReciprocal"]["resourceQuantity"]["hasNumericalValue"] == "120"
    assert doc["proof"]["type"] == "DataIntegrityProof"
    # Then anyone else is told there is no such thing, and an unsigned GET is refused
    assert (await client.get(path, headers=signed_get(bea, settings, path))).status == 404
    assert (await client.get(path, headers=AS2)).status == 401
