"""The demo's cooperatives across instances: members from each other's instances, one decided
vote and one open vote, made through real federation once the demo's servers listen.

`seed_governance` runs on first start only (a proposal on the first instance marks it done).
It talks to the running instances the way their own pages would: through each one's database
(the same file the server uses; SQLite serialises the writers) and its federation services,
and waits for the servers' background workers to carry the Joins, Accepts, Adds, Questions
and votes between them. Every wait is bounded; a demo that cannot federate still starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from fedcoop import clock
from fedcoop.accounts.actors import Actor, get_local_actor
from fedcoop.app import build_federation, open_database
from fedcoop.config import load_settings
from fedcoop.federation.context import FederationContext
from fedcoop.gigs import decisions, governance, membership
from fedcoop.gigs.governance import ProposalDraft
from fedcoop.uris import Uris

log = logging.getLogger(__name__)
T = TypeVar("T")
WAIT_SECONDS = 20.0


class DemoPlace(Protocol):  # fedcoop.demo.DemoInstance, without importing it back
    @property
    def data_dir(self) -> Any: ...

    @property
    def coop(self) -> Any: ...


@dataclass
class Site:
    place: DemoPlace
    ctx: FederationContext

    @property
    def coop_name(self) -> str:
        return str(self.place.coop.name)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.ctx.db.read(fn)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.ctx.db.write(fn)

    async def local(self, name: str) -> Actor:
        found = await self.read(lambda conn: get_local_actor(conn, name))
        assert found is not None, name
        return found

    async def remote(self, other: Site, name: str) -> Actor:
        return await self.ctx.fetcher.get_actor(other.ctx.uris.actor("Group", name))


@contextlib.asynccontextmanager
async def _sites(places: Sequence[DemoPlace]) -> AsyncIterator[list[Site]]:
    sites = []
    try:
        for place in places:
            settings = load_settings(place.data_dir)
            db = open_database(settings)
            db.start()
            uris = Uris(settings.instance.scheme, settings.instance.domain)
            ctx = build_federation(settings, db, uris)
            await ctx.http.start()
            sites.append(Site(place, ctx))
        yield sites
    finally:
        for site in sites:
            await site.ctx.http.close()
            site.ctx.db.close()


async def _until(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.3)
    raise TimeoutError(f"demo: {what} did not happen within {WAIT_SECONDS} s")


async def _join_locally(site: Site, username: str) -> None:
    coop, person = await site.local(site.coop_name), await site.local(username)
    admin = await site.local(site.place.coop.admin)

    def apply(conn: sqlite3.Connection) -> None:
        request = membership.open_request(conn, coop.id, person.id)
        membership.admit(conn, request.id, by_actor_id=admin.id)

    await site.write(apply)


async def _join_across(home: Site, username: str, host: Site) -> None:
    person = await home.local(username)
    coop_there = await home.remote(host, host.coop_name)
    await home.write(
        lambda conn: membership.send_join(conn, home.ctx.uris, person.id, coop_there.id)
    )
    coop = await host.local(host.coop_name)
    admin = await host.local(host.place.coop.admin)

    async def request() -> Any:
        rows = await host.read(lambda conn: membership.pending_requests(conn, coop.id))
        return [m for m, actor in rows if actor.uri == person.uri]

    (found,) = await _until(f"{username}'s Join to {host.coop_name}", request)
    await host.write(lambda conn: membership.admit(conn, found.id, by_actor_id=admin.id))

    async def admitted() -> bool:
        mine = await home.read(
            lambda conn: membership.find_membership(conn, coop_there.id, person.id)
        )
        return mine is not None and mine.state == "active"

    await _until(f"{username}'s membership of {host.coop_name}", admitted)


async def _vote(site: Site, proposal_id: str, username: str, option: str) -> None:
    voter = await site.local(username)
    await site.write(
        lambda conn: governance.cast_vote(conn, site.ctx.uris, proposal_id, voter.id, option)
    )


async def _proposals(first: Site, second: Site, remote_voter: str) -> None:
    coop = await first.local(first.coop_name)
    author = await first.local(first.place.coop.admin)
    members = [name for name, _ in first.place.coop.members]
    now = clock.now()
    decided = ProposalDraft(
        kind="solidarity",
        title="Raise the solidarity fund to 3%",
        body="Three riders were injured this winter; the fund ran dry in February.",
        ends_at=now + timedelta(days=7),
        rate=Decimal("0.03"),
    )
    open_vote = ProposalDraft(
        kind="text",
        title="Which evening for the monthly assembly?",
        body="The assembly moves to an evening so that day riders can come.",
        ends_at=now + timedelta(days=7),
        options=("Tuesday", "Thursday", "Friday"),
    )

    def open_both(conn: sqlite3.Connection) -> list[governance.Proposal]:
        return [
            governance.open_proposal(conn, first.ctx.uris, coop.id, d, author_id=author.id)
            for d in (decided, open_vote)
        ]

    solidarity, assembly = await first.write(open_both)
    for username, option in (
        (first.place.coop.admin, "Yes"),
        (members[0], "Yes"),
        (members[1], "No"),
    ):
        await _vote(first, solidarity.id, username, option)
    await _vote(first, assembly.id, members[0], "Thursday")

    # The member on the second instance votes from home: the vote travels as a Note reply.
    async def copy() -> Any:
        return await second.read(lambda conn: governance.get_proposal_by_uri(conn, solidarity.uri))

    remote_copy = await _until("the Question's arrival", copy)
    await _vote(second, remote_copy.id, remote_voter, "Yes")

    async def counted() -> bool:
        tally = await first.read(
            lambda conn: governance.current_tally(
                conn, governance.require_proposal(conn, solidarity.id)
            )
        )
        return sum(tally.values()) == 4

    await _until("the remote vote", counted)
    # Closed now rather than in a week, so the demo shows a decision (and its Update(Question)).
    await first.write(lambda conn: decisions.close_proposal(conn, solidarity.id, now=clock.now()))


async def seed_governance(places: Sequence[DemoPlace]) -> None:
    """Cross-instance memberships and two votes, once; needs the demo's servers running."""
    if len(places) < 2:
        return
    async with _sites(places) as sites:
        first = sites[0]
        coop = await first.local(first.coop_name)
        if await first.read(lambda conn: governance.list_proposals(conn, coop.id)):
            return  # seeded on an earlier run
        for site in sites:
            for username, _ in site.place.coop.members:
                await _join_locally(site, username)
        n = len(sites)
        joins = []
        for i, home in enumerate(sites):
            names = [name for name, _ in home.place.coop.members]
            if names:
                joins.append(_join_across(home, names[0], sites[(i + 1) % n]))
            if len(names) > 1 and n > 2:
                joins.append(_join_across(home, names[1], sites[(i - 1) % n]))
        await asyncio.gather(*joins)
        # sites[-1]'s first member joined the first coop: they vote from home.
        voter_home = sites[-1]
        voter = voter_home.place.coop.members[0][0]
        await _proposals(first, voter_home, voter)
