"""toot (the real command-line client) against two live fedcoop instances.

toot keeps its apps and tokens under $XDG_CONFIG_HOME, here a temporary directory. It logs in
with `login_cli` (the password grant; the password is typed on stdin), then alice checks who
she is, posts, reads timelines (one page, and every page through the `Link` headers), follows
bob on B (toot finds him only through `/api/v2/search?resolve=true`), reads her notifications
and votes in her coop's poll. toot turns every entity into a strict dataclass, so a missing
field fails here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from toot import App, User, api
from toot.entities import Status, from_dict_list

from fedcoop.config import Settings
from fedcoop.federation import mentions
from fedcoop.gigs import governance
from fedcoop.social import follows
from tests.support.federation import Federation
from tests.support.live_clients import (
    PASSWORD,
    open_vote,
    post_gig,
    start_pair,
    toot,
    without_proxies,
)

pytestmark = pytest.mark.interop


def all_pages(saved: dict[str, Any]) -> list[list[Status]]:
    """The home timeline two at a time through toot's own paging (tokens from its config)."""
    user = User(**saved["users"][saved["active_user"]])
    app = App(**saved["apps"][user.instance])
    with without_proxies():
        return [
            from_dict_list(Status, batch)
            for batch in api.home_timeline_generator(app, user, limit=2)
            if batch
        ]


@pytest.fixture
async def pair(make_instance: Callable[..., Settings]) -> AsyncIterator[Federation]:
    async for fed in start_pair(make_instance):
        yield fed


async def test_toot_from_login_to_a_vote(pair: Federation, tmp_path: Path) -> None:
    a, b = pair["A"], pair["B"]
    home = tmp_path / "xdg"

    out = await toot(home, "login_cli", "-i", a.base_url, "-e", "alice", stdin=PASSWORD + "\n")
    assert "Successfully logged in" in out
    saved = json.loads((home / "toot" / "config.json").read_text())
    assert saved["active_user"] == f"alice@{a.domain}"

    me = json.loads(await toot(home, "whoami", "--json"))
    assert me["acct"] == "alice"
    assert "@alice" in await toot(home, "whoami")  # parsed into toot's Account

    out = await toot(home, "post", "Hello from toot")
    assert "Toot posted" in out
    for n in range(3):
        await toot(home, "post", f"Paged post {n}")
    single = await toot(home, "timelines", "home", "--no-pager", "--no-clear", "--limit", "2")
    assert "Paged post 2" in single and "Paged post 0" not in single
    public = await toot(home, "timelines", "public", "--local", "--no-pager", "--no-clear")
    assert "Hello from toot" in public
    # toot's pager needs a terminal to go on; its own generator follows `Link: rel="next"`
    pages = await asyncio.to_thread(all_pages, saved)
    assert [len(p) for p in pages] == [2, 2]
    assert [s.content for p in pages for s in p][-1] == "<p>Hello from toot</p>"

    out = await toot(home, "follow", f"bob@{b.domain}")
    assert "now following" in out.lower()
    await pair.settle()
    alice, bob_here = await a.local("alice"), await a.known(f"{b.base_url}/users/bob")
    assert bob_here is not None
    assert await a.read(lambda c: follows.is_following(c, alice.id, bob_here.id))

    # a gig of rail (a coop alice follows) is a status with a card, which toot parses
    await toot(home, "follow", f"rail@{b.domain}")
    await pair.settle()
    gig = await post_gig(b, "bob", "rail")
    await pair.settle()
    timeline = await toot(home, "timelines", "home", "--no-pager", "--no-clear", "--json")
    [shown] = [s for s in json.loads(timeline) if s["card"]]
    assert shown["card"]["url"] == gig.url and shown["tags"][0]["name"] == "cargobikecourier"
    assert gig.title in await toot(home, "timelines", "home", "--no-pager", "--no-clear")

    bob = await b.local("bob")
    await mentions.post_note(b.ctx, bob.id, f"@alice@{a.domain} saw your post")
    await pair.settle()
    out = await toot(home, "notifications")
    assert "saw your post" in out and f"bob@{b.domain}" in out

    proposal = await open_vote(a, "velo", "alice", "Open a second depot?")
    out = await toot(home, "polls", "vote", proposal.id, "1")
    assert "You voted" in out
    assert await a.read(lambda c: governance.vote_of(c, proposal.id, alice.id)) == "No"
