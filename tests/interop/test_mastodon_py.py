"""Mastodon.py (the real library) against two live fedcoop instances.

Alice on A logs in (password grant, then the out-of-band code flow), reads her account and the
instance, posts, pages through her timelines, finds bob on B through search and follows him,
reads the mention he sends, and votes in her coop's poll. Everything goes over HTTP on
loopback; the only shortcuts are the other side's actions (bob posting, a coop opening a vote),
which take the domain's own services.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from mastodon import Mastodon

from fedcoop.config import Settings
from fedcoop.federation import mentions
from fedcoop.gigs import governance
from tests.support.federation import Federation, Node
from tests.support.live_clients import (
    OOB,
    PASSWORD,
    ids_of,
    no_proxy_session,
    oob_code,
    open_vote,
    post_gig,
    start_pair,
)

pytestmark = pytest.mark.interop
SCOPES = ["read", "write", "follow", "push"]


@pytest.fixture
async def pair(make_instance: Callable[..., Settings]) -> AsyncIterator[Federation]:
    async for fed in start_pair(make_instance):
        yield fed


async def registered(node: Node) -> Mastodon:
    client_id, secret = await asyncio.to_thread(
        Mastodon.create_app,
        "fedcoop interop",
        scopes=SCOPES,
        redirect_uris=OOB,
        api_base_url=node.base_url,
        session=no_proxy_session(),
    )
    return Mastodon(
        client_id=client_id,
        client_secret=secret,
        api_base_url=node.base_url,
        session=no_proxy_session(),
        ratelimit_method="throw",
    )


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_password_login_posting_timelines_follow_notifications_and_a_vote(
    pair: Federation,
) -> None:
    a, b = pair["A"], pair["B"]
    api = await registered(a)

    # log in with the password grant; Mastodon.py then reads the version from both instance docs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "version >= 4.3.0, but no API version found"
        token = await call(api.log_in, "alice", PASSWORD, scopes=SCOPES)
    assert token and api.mastodon_api_version == 2
    me = await call(api.account_verify_credentials)
    assert me.acct == "alice" and me.source.privacy == "public"
    instance = await call(api.instance)  # v2, chosen because the version is >= 4.0.0
    assert instance.domain == a.domain and instance.api_versions.mastodon == 2

    # post, then page through the home timeline two at a time with fetch_next
    posted = [(await call(api.status_post, f"Post number {n}")).id for n in range(5)]
    first = await call(api.timeline_home, limit=2)
    assert ids_of(first) == posted[::-1][:2]
    seen = ids_of(first)
    page = first
    while (page := await call(api.fetch_next, page)) is not None:
        seen += ids_of(page)
    assert seen == posted[::-1]
    public = await call(api.timeline_public, local=True, limit=3)
    assert ids_of(public) == posted[::-1][:3]
    assert ids_of(await call(api.fetch_next, public)) == posted[::-1][3:]

    # find bob on B through search (WebFinger + fetch) and follow him
    found = await call(api.search_v2, f"bob@{b.domain}", resolve=True, result_type="accounts")
    assert [acc.acct for acc in found.accounts] == [f"bob@{b.domain}"]
    bob_id = found.accounts[0].id
    relationship = await call(api.account_follow, bob_id)
    assert relationship.requested or relationship.following
    await pair.settle()
    [after] = await call(api.account_relationships, bob_id)
    assert after.following is True and after.requested is False

    # bob posts to his followers and mentions alice: both reach her
    bob = await b.local("bob")
    await mentions.post_note(b.ctx, bob.id, "Gig season opens tomorrow")
    await mentions.post_note(b.ctx, bob.id, f"@alice@{a.domain} welcome to rail's news")
    await pair.settle()
    home = await call(api.timeline_home, limit=3)
    assert "Gig season opens tomorrow" in " ".join(s.content for s in home)
    notes = await call(api.notifications)
    assert [(n.type, n.account.acct) for n in notes] == [("mention", f"bob@{b.domain}")]
    assert "welcome to rail" in notes[0].status.content

    # rail (bob's coop on B) posts a gig; once alice follows rail it is a status with a card
    rail = await call(api.search_v2, f"rail@{b.domain}", resolve=True, result_type="accounts")
    assert rail.accounts[0].group is True
    await call(api.account_follow, rail.accounts[0].id)
    await pair.settle()
    gig = await post_gig(b, "bob", "rail")
    await pair.settle()
    [shown] = [s for s in await call(api.timeline_home) if s.card]
    assert shown.card.url == gig.url and shown.card.title == gig.title
    assert shown.account.acct == f"bob@{b.domain}" and gig.title in shown.content

    # vote in the coop's poll
    proposal = await open_vote(a, "velo", "alice", "Open a second depot?")
    poll = await call(api.poll, proposal.id)
    assert [o.title for o in poll.options] == ["Yes", "No"] and poll.voted is False
    voted = await call(api.poll_vote, proposal.id, 0)
    assert voted.voted is True and voted.own_votes == [0]
    alice = await a.local("alice")
    assert await a.read(lambda c: governance.vote_of(c, proposal.id, alice.id)) == "Yes"
    # and open one from the client: a status with a poll (sent as JSON) is a vote of velo
    asked = await call(
        api.status_post, "Paint the depot green? @velo", poll=api.make_poll(["Yes", "No"], 600)
    )
    opened = await a.read(lambda c: governance.get_proposal(c, asked.poll.id))
    assert opened is not None and opened.options == ["Yes", "No"]


async def test_code_flow_out_of_band(pair: Federation) -> None:
    a = pair["A"]
    api = await registered(a)
    # The person opens the authorization URL Mastodon.py builds, signs in, agrees, copies the code
    url = await call(api.auth_request_url, redirect_uris=OOB, scopes=SCOPES)
    code = await call(oob_code, url, "alice")
    token = await call(api.log_in, code=code, redirect_uri=OOB, scopes=SCOPES)
    assert token
    me = await call(api.account_verify_credentials)
    assert me.username == "alice"
    # The code works once
    again = await registered(a)
    again.client_id, again.client_secret = api.client_id, api.client_secret
    with pytest.raises(Exception, match="Invalid access token or redirect_uris"):
        await call(again.log_in, code=code, redirect_uri=OOB, scopes=SCOPES)
